using System.Collections.Concurrent;
using System.Threading.Channels;
using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Coordination;

/// <summary>
/// Makes a ping's sync request durable when instances share the store, so that an instance dying between
/// acknowledging a ping and starting its sync loses nothing. Off the receiver's path (invariant 4), each accepted ping
/// writes the lease <c>ping:{watchId}</c> (holder <see cref="Holder"/>, whichever instance writes it; a newer ping
/// extends it) and only then asks this instance's scheduler for the sync. A sync of the watch that starts on any
/// instance deletes the row in the transaction that takes its lease (<see cref="SyncLeases"/>): from then on that sync
/// covers the ping. A row that outlives the lease time to live (its instance died before the sync started) is found by
/// every instance's <see cref="LeaseSweeper"/>, which asks for the watch's sync. Pings of one watch arriving while its
/// write waits fold into it, and the pings queued while one write runs are written together by the next (one call, one
/// transaction). On SQLite (one process) requests go straight to the scheduler.
/// </summary>
internal sealed partial class PendingPings(
    ICalhookStore store, StoreKind kind, SyncScheduler scheduler, TimeSpan timeToLive, TimeProvider time, ILogger<PendingPings> logger) : BackgroundService
{
    public const string Prefix = "ping:";

    /// <summary>The holder of every ping lease: it names no instance, so any instance's ping extends it and any sync deletes it.</summary>
    public const string Holder = "pending";

    /// <summary>Most pings written in one call.</summary>
    public const int MaxBatch = 512;

    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    // Watches whose write waits in the queue: a ping of one of them posts nothing more. Bounded by the number of watches
    // (only verified pings come here).
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);

    /// <summary>On the receiver's path: never blocks. Asks for a sync of the watch, durably when the store is shared.</summary>
    public void Record(string watchId)
    {
        if (!kind.Shared)
        {
            scheduler.RequestSync(watchId);
            return;
        }

        if (_queued.TryAdd(watchId, 0))
        {
            _queue.Writer.TryWrite(watchId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<string>();
        try
        {
            // One write for every ping queued meanwhile: under load the next batch gathers the pings that arrived
            // while this one was written, so the writes stay few however many watches are pinged.
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var watchId))
                {
                    // Taken before the write: a ping from now on queues again, so none is lost.
                    _queued.TryRemove(watchId, out _);
                    batch.Add(watchId);
                }

                try
                {
                    await store.TryAcquireLeasesAsync([.. batch.Select(id => Prefix + id)], Holder, time.GetUtcNow(), timeToLive, stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The syncs are asked for anyway; only their durability across a crash is lost for these pings.
                    LogWriteFailed(logger, batch.Count, exception);
                }

                foreach (var watchId in batch)
                {
                    scheduler.RequestSync(watchId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: a ping still queued was acknowledged but not written; the safety net covers it, as it
            // covers a sync the shutdown cancelled.
        }
    }

    [LoggerMessage(EventId = LogEvents.PendingPingWriteFailed, Level = LogLevel.Warning, Message = "Recording {Count} pings in the store failed; their syncs are asked for here only")]
    private static partial void LogWriteFailed(ILogger logger, int count, Exception exception);
}
