using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.Bench;

/// <summary>A Calhook service on loopback, as <c>calhook serve</c> runs it, for the benchmarks.</summary>
internal sealed class BenchHost : IAsyncDisposable
{
    public const string ApiKey = "chk_bench_0123456789abcdefghijklmnop";

    private readonly WebApplication _app;
    private readonly DirectoryInfo _data;
    private readonly bool _ownsData;

    private BenchHost(WebApplication app, DirectoryInfo data, bool ownsData, Uri baseAddress)
    {
        _app = app;
        _data = data;
        _ownsData = ownsData;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>The service's data directory (kept after disposal when the caller gave it).</summary>
    public DirectoryInfo Data => _data;

    public IServiceProvider Services => _app.Services;

    public static async Task<BenchHost> StartAsync(
        Uri google, Action<IServiceCollection>? configure = null, IReadOnlyDictionary<string, string?>? settings = null, DirectoryInfo? dataDirectory = null,
        Action<WebApplication>? configureApp = null)
    {
        var port = FreePort();
        var data = dataDirectory ?? Directory.CreateTempSubdirectory("calhook-bench-");
        // As calhook serve builds it (CalhookApp): settings are not watched, so writes to the data directory wake nothing.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = Calhook.Hosting.HostingSetup.ReadSettingsOnce });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Calhook:DataDirectory"] = data.FullName,
            ["Calhook:Google:BaseUrl"] = google.ToString().TrimEnd('/'),
            ["Calhook:PublicUrl"] = $"http://127.0.0.1:{port}",
            ["Calhook:ApiKey"] = ApiKey,
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("CALHOOK_BENCH_LOG") is { Length: > 0 } level)
        {
            // For looking into a slow measure: the service's own log, with timestamps, on stderr.
            builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ");
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(level, ignoreCase: true));
        }
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddCalhook(builder.Configuration);
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapCalhook();
        configureApp?.Invoke(app);
        await app.StartAsync();
        return new BenchHost(app, data, dataDirectory is null, new Uri($"http://127.0.0.1:{port}/"));
    }

    /// <summary>Connects an emulator user and watches its primary calendar; returns the watch id once the baseline is done.</summary>
    public async Task<string> WatchAsync(Uri emulator, string user, TimeSpan timeout) =>
        await WatchAsync(await AddAccountAsync(emulator, user), user, timeout);

    /// <summary>Connects an emulator user; returns the account id.</summary>
    public async Task<string> AddAccountAsync(Uri emulator, string user)
    {
        var tokens = await Emulator.TokensAsync(emulator, user);
        var account = await PostAsync(Client, "/v1/accounts", new JsonObject { ["type"] = "oauth", ["email"] = user, ["refreshToken"] = tokens.RefreshToken });
        return (string)account["id"]!;
    }

    /// <summary>Watches the user's primary calendar with a connected account; returns the watch id once the baseline is done.</summary>
    public async Task<string> WatchAsync(string accountId, string user, TimeSpan timeout)
    {
        var watch = await PostAsync(Client, "/v1/watches", new JsonObject { ["accountId"] = accountId, ["calendarId"] = user });
        var id = (string)watch["id"]!;
        await WaitForBaselineAsync(id, timeout);
        return id;
    }

    public async Task WaitForBaselineAsync(string watchId, TimeSpan timeout)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (JsonNode.Parse(await Client.GetStringAsync(new Uri($"/v1/watches/{watchId}", UriKind.Relative)))!["lastSyncAt"] is null)
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"The baseline of watch {watchId} did not finish within {timeout}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
    }

    public static async Task<JsonObject> PostAsync(HttpClient http, string path, JsonObject body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST {path} answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text)!.AsObject();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (!_ownsData)
        {
            return;
        }

        try
        {
            _data.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Talking to the emulator as a user would.</summary>
internal static class Emulator
{
    public static async Task<EmulatorTokens> TokensAsync(Uri emulator, string user)
    {
        using var control = new EmulatorControlClient(emulator);
        return await control.CreateTokensAsync(user);
    }

    /// <summary>A client of <c>calendars/primary/</c> acting as <paramref name="user"/>.</summary>
    public static async Task<HttpClient> CalendarAsync(Uri emulator, string user)
    {
        var tokens = await TokensAsync(emulator, user);
        var http = new HttpClient { BaseAddress = new Uri(emulator, "calendar/v3/calendars/primary/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return http;
    }

    public static JsonObject Event(int i) => new()
    {
        ["summary"] = $"Event {i}",
        ["description"] = "Seeded by the benchmark.",
        ["start"] = new JsonObject { ["dateTime"] = $"2026-12-{1 + (i % 28):00}T{8 + (i % 10):00}:00:00Z" },
        ["end"] = new JsonObject { ["dateTime"] = $"2026-12-{1 + (i % 28):00}T{8 + (i % 10):00}:30:00Z" },
    };

    /// <summary>Inserts <paramref name="count"/> events with a few concurrent writers.</summary>
    public static async Task SeedAsync(HttpClient calendar, int count)
    {
        var next = -1;
        var writers = Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var response = await calendar.PostAsJsonAsync("events", Event(i));
                response.EnsureSuccessStatusCode();
            }
        });
        await Task.WhenAll(writers);
    }
}
