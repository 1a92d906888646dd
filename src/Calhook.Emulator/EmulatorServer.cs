using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Emulator;

/// <summary>The emulator on its own Kestrel host. Start with <see cref="StartAsync"/>; dispose to stop.</summary>
public sealed class EmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmulatorServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>The origin the emulator serves, with a trailing slash, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts a real Kestrel host on <paramref name="url"/> (port 0 picks a free port).</summary>
    public static async Task<EmulatorServer> StartAsync(EmulatorOptions options, string url = "http://127.0.0.1:0",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddCalendarEmulator(o => Copy(options, o));
        var app = builder.Build();
        app.MapCalendarEmulator();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EmulatorServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>Completes when the host stops (Ctrl+C, or <paramref name="ct"/> cancelled).</summary>
    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal IServiceProvider Services => _app.Services;

    private static void Copy(EmulatorOptions from, EmulatorOptions to)
    {
        to.MaxChannelTtlSeconds = from.MaxChannelTtlSeconds;
        to.SyncTokenLifetimeSeconds = from.SyncTokenLifetimeSeconds;
        to.RequireHttpsAddress = from.RequireHttpsAddress;
        to.InstanceTombstonesOnSeriesDelete = from.InstanceTombstonesOnSeriesDelete;
        to.TimeProvider = from.TimeProvider;
        to.AccessTokenLifetimeSeconds = from.AccessTokenLifetimeSeconds;
        to.MaxRequestBodyBytes = from.MaxRequestBodyBytes;
        to.MaxInstancesPerSeries = from.MaxInstancesPerSeries;
        to.NotificationRetryDelay = from.NotificationRetryDelay;
        to.NotificationMaxAttempts = from.NotificationMaxAttempts;
        to.NotificationTimeout = from.NotificationTimeout;
        to.ReorderWindow = from.ReorderWindow;
        to.StateFile = from.StateFile;
    }
}
