using Microsoft.Extensions.Hosting;

namespace Calhook.Hosting;

/// <summary>
/// Settles the API key while the host is starting, before any hosted service runs or request arrives, so the key
/// file exists (and its location is logged) as soon as the service is up. Taking <see cref="CalhookMetrics"/> here
/// starts its listener before anything counts, so no early measurement is missed.
/// </summary>
#pragma warning disable CS9113 // metrics is taken only to be created at start-up.
internal sealed class CalhookStartup(ApiKeyProvider apiKey, CalhookMetrics metrics) : IHostedLifecycleService
#pragma warning restore CS9113
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _ = apiKey.Key;
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
