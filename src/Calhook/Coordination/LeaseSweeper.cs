using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Coordination;

/// <summary>
/// Hands a dead instance's syncs to this one: every third of the lease time to live it lists the sync leases that
/// expired without being released (their holder died or stalled mid-sync) and the pending pings no sync started for
/// within the time to live (<see cref="PendingPings"/>: the instance that received them died first), and asks this
/// instance's scheduler for those watches. Several instances may ask at once; the lease lets one of them sync, the others fold into its
/// follow-up. Runs only when the store is shared.
/// </summary>
internal sealed partial class LeaseSweeper(
    ICalhookStore store, SyncScheduler scheduler, TimeSpan timeToLive, TimeProvider time, ILogger<LeaseSweeper> logger) : BackgroundService
{
    private static readonly string[] SweptPrefixes = [SyncLeases.Prefix, PendingPings.Prefix];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(timeToLive / 3, time, stoppingToken);
                var now = time.GetUtcNow();
                foreach (var prefix in SweptPrefixes)
                {
                    foreach (var name in await store.ListExpiredLeasesAsync(prefix, now, stoppingToken))
                    {
                        LogTakingOver(logger, name);
                        scheduler.RequestSync(name[prefix.Length..]);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogSweepFailed(logger, exception);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.LeaseExpiredTakenHere, Level = LogLevel.Information, Message = "Lease {Lease} expired with its holder gone; syncing it here")]
    private static partial void LogTakingOver(ILogger logger, string lease);

    [LoggerMessage(EventId = LogEvents.LeaseSweepFailed, Level = LogLevel.Warning, Message = "Looking for expired leases failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
