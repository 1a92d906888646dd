using Microsoft.Extensions.Hosting;

namespace Calhook.Hosting;

/// <summary>
/// Settles the API key while the host is starting, before any hosted service runs or request arrives, so the key
/// file exists (and its location is logged) as soon as the service is up.
/// </summary>
internal sealed class HostingStartup(ApiKeyProvider apiKey) : IHostedLifecycleService
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
