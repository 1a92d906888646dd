using Calhook.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Storage;

/// <summary>
/// Opens and migrates the store in <see cref="IHostedLifecycleService.StartingAsync"/>, which runs before any hosted
/// service's <c>StartAsync</c>: the loops find the schema ready, and a store that cannot open stops the start-up
/// with a message that says so.
/// </summary>
internal sealed partial class StoreStartup(ICalhookStore store, ILogger<StoreStartup> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.MigrateAsync(cancellationToken);
        }
        catch (StoreUnusableException)
        {
            // Its message is the whole story (the file and what to do); a stack trace would only bury it.
            throw;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            Log.StoreFailed(logger, exception);
            throw new InvalidOperationException($"Calhook could not open its store: {exception.Message}", exception);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.StoreOpenFailed, Level = LogLevel.Critical, Message = "The store could not be opened")]
        public static partial void StoreFailed(ILogger logger, Exception exception);
    }
}
