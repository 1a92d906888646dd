using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Calhook.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.TestKit;

/// <summary>
/// A real Calhook service on <c>http://127.0.0.1:{port}</c>: <c>AddCalhook</c> + <c>MapCalhook</c> in a
/// <see cref="WebApplication"/>, a temp data directory, a fixed API key, and <c>PublicUrl</c> = its own address.
/// It can stop and start again on the same port and data directory (restart tests).
/// </summary>
public sealed class CalhookTestHost : IAsyncDisposable
{
    /// <summary>The API key every test host uses unless a test overrides <c>Calhook:ApiKey</c>.</summary>
    public const string TestApiKey = "chk_test_0123456789abcdefghijklmnop";

    private readonly CalhookTestHostOptions _options;
    private readonly TestDirectory? _ownedDirectory;
    private WebApplication? _app;
    private int _port;

    private CalhookTestHost(CalhookTestHostOptions options)
    {
        _options = options;
        if (options.DataDirectory is null)
        {
            _ownedDirectory = new TestDirectory();
        }

        DataDirectory = options.DataDirectory ?? _ownedDirectory!.Path;
        _port = options.Port ?? 0;
        Client = new HttpClient();
    }

    /// <summary>Starts a host; throws what the host throws when it cannot start (e.g. an invalid setting).</summary>
    public static async Task<CalhookTestHost> StartAsync(CalhookTestHostOptions? options = null, CancellationToken cancellationToken = default)
    {
        var host = new CalhookTestHost(options ?? new CalhookTestHostOptions());
        try
        {
            await host.StartAsync(cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public string DataDirectory { get; }

    /// <summary><c>http://127.0.0.1:{port}/</c>; stays the same across restarts.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{_port}/");

    /// <summary>The running host's services; replaced on each start.</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The host is not running.");

    /// <summary>Sends the API key; its base address is <see cref="BaseAddress"/>.</summary>
    public HttpClient Client { get; }

    /// <summary>Every log entry of every start of this host.</summary>
    public TestLogSink Logs { get; } = new();

    /// <summary>A client without any Authorization header, for auth tests.</summary>
    public HttpClient CreateAnonymousClient() => new() { BaseAddress = BaseAddress };

    /// <summary>Starts (again) on the same port and data directory.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("The host is already running.");
        }

        // The port is chosen before the app is built because PublicUrl must name it. Another process could take it
        // between the probe and Kestrel's bind, so a first start retries with a new port.
        for (var attempt = 1; ; attempt++)
        {
            var firstStart = _port == 0;
            if (firstStart)
            {
                _port = FreePort();
            }

            var app = Build();
            try
            {
                await app.StartAsync(cancellationToken);
                _app = app;
                break;
            }
            catch (IOException) when (firstStart && attempt < 3)
            {
                await app.DisposeAsync();
                _port = 0;
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
        }

        // A restart keeps the port and the key; an HttpClient that has sent requests refuses a new base address.
        Client.BaseAddress ??= BaseAddress;
        Client.DefaultRequestHeaders.Authorization ??= new AuthenticationHeaderValue("Bearer", EffectiveApiKey());
    }

    /// <summary>The configured key, or the one the service generated into its data directory.</summary>
    private string EffectiveApiKey()
    {
        if (!_options.Settings.TryGetValue("Calhook:ApiKey", out var key))
        {
            return TestApiKey;
        }

        var generated = Path.Combine(DataDirectory, "api-key");
        return !string.IsNullOrEmpty(key) ? key : File.Exists(generated) ? File.ReadAllText(generated).Trim() : "";
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_app is { } app)
        {
            _app = null;
            try
            {
                await app.StopAsync(cancellationToken);
            }
            finally
            {
                await app.DisposeAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Client.Dispose();
        Logs.Dispose();
        _ownedDirectory?.Dispose();
    }

    private WebApplication Build()
    {
        // The full builder, as the service uses, minus file watching: hundreds of test hosts would exhaust inotify.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.WebHost.UseUrls(BaseAddress.ToString());
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(Logs);

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Calhook:DataDirectory"] = DataDirectory,
            ["Calhook:ApiKey"] = TestApiKey,
            ["Calhook:PublicUrl"] = BaseAddress.ToString().TrimEnd('/'),
            ["Calhook:Delivery:AllowPrivateNetworks"] = "true",
        };
        if (_options.GoogleBaseUrl is { } google)
        {
            settings["Calhook:Google:BaseUrl"] = google.ToString().TrimEnd('/');
        }

        foreach (var (key, value) in _options.Settings)
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddCalhook(builder.Configuration);
        _options.ConfigureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapCalhook();
        _options.ConfigureApp?.Invoke(app);
        return app;
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
