using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.Logging;

namespace Calhook.Coordination;

/// <summary>
/// Invariant 5 (docs/architecture.md) across instances: a sync of a calendar runs only under the lease <c>sync:{watchId}</c>. An instance
/// that finds the lease held by another does not sync; the store records that it asked, and the holder, when it
/// releases the lease, learns that and runs one more sync itself (a ping received anywhere is never lost, and a burst
/// spread over instances still folds into the holder's follow-up). The holder renews the lease every third of its
/// time to live while the sync runs; a sync whose lease was lost (this instance stalled past the time to live and
/// another took over) is cancelled (a commit already under way may still land; the next sync starts from its token).
/// A holder that dies leaves an expired lease behind, which <see cref="LeaseSweeper"/> hands to a live instance. A sync
/// that starts deletes the watch's pending ping (<see cref="PendingPings"/>): it covers every ping received before it.
/// Used only when the store is shared: on SQLite the runner is not wrapped.
/// </summary>
internal sealed partial class SyncLeases(ICalhookStore store, StoreKind kind, TimeSpan timeToLive, TimeProvider time, ILogger<SyncLeases> logger)
{
    public const string Prefix = "sync:";

    /// <summary>
    /// <paramref name="sync"/> run under the watch's lease; <paramref name="requestFollowUp"/> asks this instance's
    /// scheduler for one more sync of a watch (it folds into the running one's follow-up).
    /// </summary>
    public SyncRunner Wrap(SyncRunner sync, Action<string> requestFollowUp) => async (watchId, cancellationToken) =>
    {
        // Taking the lease deletes the watch's pending ping in the same transaction: this sync covers every ping of the
        // watch received so far.
        var name = Prefix + watchId;
        if (!await store.TryAcquireLeaseReleasingAsync(
                name, kind.InstanceId, time.GetUtcNow(), timeToLive, PendingPings.Prefix + watchId, PendingPings.Holder, cancellationToken))
        {
            LogHeldElsewhere(logger, watchId);
            return SyncOutcome.Skipped;
        }

        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopRenewing = new CancellationTokenSource();
        var renewing = RenewAsync(name, lost, stopRenewing.Token);
        try
        {
            return await sync(watchId, lost.Token);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The lease went to another instance, which syncs the watch now; this sync stopped without committing.
            return SyncOutcome.Skipped;
        }
        finally
        {
            await stopRenewing.CancelAsync();
            await renewing;
            await ReleaseAsync(name, watchId, requestFollowUp);
        }
    };

    /// <summary>
    /// Released even when the sync failed. When another instance asked for the lease meanwhile (pings reached it), this
    /// instance runs the watch's sync once more. A release that fails leaves the lease to expire; the sweeper of some
    /// instance then syncs the watch.
    /// </summary>
    private async Task ReleaseAsync(string name, string watchId, Action<string> requestFollowUp)
    {
        try
        {
            if (await store.ReleaseLeaseAsync(name, kind.InstanceId, CancellationToken.None))
            {
                requestFollowUp(watchId);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogReleaseFailed(logger, name, exception);
        }
    }

    private async Task RenewAsync(string name, CancellationTokenSource lost, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(timeToLive / 3, time, stop);
                bool held;
                try
                {
                    held = await store.TryAcquireLeaseAsync(name, kind.InstanceId, time.GetUtcNow(), timeToLive, stop);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // One failed renewal is not a lost lease: two more tries come before it expires.
                    LogRenewFailed(logger, name, exception);
                    continue;
                }

                if (!held)
                {
                    LogLeaseLost(logger, name);
                    await lost.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = LogEvents.LeaseBusy, Level = LogLevel.Debug, Message = "Watch {WatchId} is being synced by another instance; it will sync once more")]
    private static partial void LogHeldElsewhere(ILogger logger, string watchId);

    [LoggerMessage(EventId = LogEvents.LeaseTakenOver, Level = LogLevel.Warning, Message = "Lease {Lease} was taken over while this instance held it; its work is cancelled")]
    private static partial void LogLeaseLost(ILogger logger, string lease);

    [LoggerMessage(EventId = LogEvents.LeaseReleaseFailed, Level = LogLevel.Warning, Message = "Releasing lease {Lease} failed; it expires instead")]
    private static partial void LogReleaseFailed(ILogger logger, string lease, Exception exception);

    [LoggerMessage(EventId = LogEvents.LeaseRenewFailed, Level = LogLevel.Warning, Message = "Renewing lease {Lease} failed")]
    private static partial void LogRenewFailed(ILogger logger, string lease, Exception exception);
}
