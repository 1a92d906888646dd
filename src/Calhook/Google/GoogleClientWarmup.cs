using Microsoft.Extensions.Hosting;

namespace Calhook.Google;

/// <summary>
/// Builds the Google client's handler chain (the resilience pipeline, the budget and metrics handlers) as the service
/// starts, not at its first Google call: built there, it held the first channel open of a new watch for 50–60 ms, and
/// every other call waiting on the same chain with it. The factory renews the chain later by itself; only the first
/// build pays for loading and compiling its code.
/// </summary>
internal sealed class GoogleClientWarmup(IHttpClientFactory factory) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        using var client = factory.CreateClient(GoogleCalendarClient.HttpClientName);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
