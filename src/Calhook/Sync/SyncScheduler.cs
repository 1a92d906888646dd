using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Sync;

/// <summary>Runs one sync of a watch.</summary>
internal delegate Task<SyncOutcome> SyncRunner(string watchId, CancellationToken cancellationToken);

/// <summary>Lists the ids of every watch to sync (start-up catch-up and the safety net).</summary>
internal delegate Task<IReadOnlyList<string>> WatchLister(CancellationToken cancellationToken);

/// <summary>
/// Runs at most one sync per watch at a time; requests that arrive during a sync fold into one follow-up.
/// Different watches sync concurrently up to <see cref="SyncOptions.MaxConcurrentSyncs"/>. On start it requests a
/// catch-up sync of every watch, then a jittered safety-net sync of every watch each
/// <see cref="SyncOptions.SafetyNetInterval"/>; rate-limited and transient failures are retried with backoff.
/// The receiver and the API call <see cref="RequestSync"/>; it never blocks.
/// </summary>
/// <remarks>
/// One owner loop holds all state; everything else (requests, finished syncs, timers) only posts messages to
/// its inbox, so the folding logic needs no locks.
/// </remarks>
internal sealed partial class SyncScheduler : IHostedService, IAsyncDisposable
{
    private enum WatchState { Queued, Running, RunningWithFollowUp }

    private abstract record Message;

    private sealed record Requested(string WatchId) : Message;

    private sealed record Finished(string WatchId, SyncOutcome Outcome) : Message;

    private sealed record Paced(string WatchId) : Message;

    private readonly SyncRunner _sync;
    private readonly WatchLister _listWatches;
    private readonly SyncOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SyncScheduler> _logger;
    private readonly Channel<Message> _inbox = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();

    // Watches with a request in the inbox (not yet taken by the loop).
    private readonly ConcurrentDictionary<string, byte> _posted = new(StringComparer.Ordinal);

    // Owned by the loop.
    private readonly Dictionary<string, WatchState> _states = new(StringComparer.Ordinal);
    private readonly Queue<string> _ready = new();
    private readonly Dictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ITimer> _retries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _startedAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ITimer> _pacing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastRequest = new(StringComparer.Ordinal);

    private Task _loop = Task.CompletedTask;
    private Task _safetyNet = Task.CompletedTask;

    public SyncScheduler(SyncRunner sync, WatchLister listWatches, SyncOptions options, TimeProvider timeProvider, ILogger<SyncScheduler> logger)
    {
        _sync = sync;
        _listWatches = listWatches;
        _options = options;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>Observes each finished sync, after any follow-up it caused has started. For tests and metrics.</summary>
    public Action<string, SyncOutcome>? SyncFinished { get; init; }

    /// <summary>
    /// Asks for a sync of the watch soon. Never blocks, never throws for an unknown watch. A request while an earlier
    /// one of the same watch still waits in the inbox posts nothing: the loop would fold it into that one anyway, and
    /// a burst of pings then wakes the loop once instead of once per ping.
    /// </summary>
    public void RequestSync(string watchId)
    {
        ArgumentNullException.ThrowIfNull(watchId);
        if (_posted.TryAdd(watchId, 0))
        {
            _inbox.Writer.TryWrite(new Requested(watchId));
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunLoopAsync, CancellationToken.None);
        _safetyNet = Task.Run(() => RunSafetyNetAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops scheduling, cancels syncs in flight (they commit nothing) and waits for them to end.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync();
        }

        _inbox.Writer.TryComplete();
        await Task.WhenAll(_loop, _safetyNet).WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    private async Task RunLoopAsync()
    {
        await foreach (var message in _inbox.Reader.ReadAllAsync(CancellationToken.None))
        {
            switch (message)
            {
                case Requested(var watchId):
                    // Taken before acting: a request from now on posts again, so none is lost.
                    _posted.TryRemove(watchId, out _);
                    // Folding: a watch already waiting needs nothing more; one running gets exactly one follow-up.
                    if (_states.TryGetValue(watchId, out var state))
                    {
                        _states[watchId] = state == WatchState.Queued ? WatchState.Queued : WatchState.RunningWithFollowUp;
                        _lastRequest[watchId] = _time.GetTimestamp();
                    }
                    else
                    {
                        _states[watchId] = Enqueue(watchId);
                    }

                    StartReady();
                    break;

                case Finished(var watchId, var outcome):
                    _running.Remove(watchId);
                    if (_states[watchId] == WatchState.RunningWithFollowUp)
                    {
                        // The follow-up waits until the pings go quiet (or MinSyncInterval from this sync's start);
                        // requests meanwhile fold into it (it is Queued), so a burst costs one more sync, not one per ping.
                        var wait = FollowUpWait(watchId);
                        _states[watchId] = wait > TimeSpan.Zero ? Pace(watchId, wait) : Enqueue(watchId);
                    }
                    else
                    {
                        _states.Remove(watchId);
                        _startedAt.Remove(watchId);
                        _lastRequest.Remove(watchId);
                    }

                    ScheduleRetry(watchId, outcome);
                    StartReady();
                    SyncFinished?.Invoke(watchId, outcome);
                    break;

                case Paced(var watchId):
                    if (_pacing.Remove(watchId, out var timer))
                    {
                        await timer.DisposeAsync();
                        // Pings that came while it waited push a paced follow-up on, up to MinSyncInterval.
                        var wait = FollowUpWait(watchId);
                        if (wait > TimeSpan.Zero)
                        {
                            Pace(watchId, wait);
                        }
                        else
                        {
                            _ready.Enqueue(watchId);
                            StartReady();
                        }
                    }

                    break;
            }

            if (_stopping.IsCancellationRequested && _running.Count == 0)
            {
                break;
            }
        }

        // Shutdown: syncs in flight were cancelled; wait for them so nothing runs after StopAsync returns.
        await Task.WhenAll(_running.Values);
        foreach (var timer in _retries.Values.Concat(_pacing.Values))
        {
            await timer.DisposeAsync();
        }
    }

    private WatchState Enqueue(string watchId)
    {
        _ready.Enqueue(watchId);
        return WatchState.Queued;
    }

    private TimeSpan FollowUpWait(string watchId) => FollowUpPacing.Wait(
        _time.GetElapsedTime(_startedAt[watchId]),
        _lastRequest.TryGetValue(watchId, out var last) ? _time.GetElapsedTime(last) : null,
        _options);

    private WatchState Pace(string watchId, TimeSpan wait)
    {
        _pacing[watchId] = _time.CreateTimer(_ => _inbox.Writer.TryWrite(new Paced(watchId)), null, wait, Timeout.InfiniteTimeSpan);
        return WatchState.Queued;
    }

    private void StartReady()
    {
        while (!_stopping.IsCancellationRequested && _running.Count < _options.MaxConcurrentSyncs && _ready.TryDequeue(out var watchId))
        {
            _states[watchId] = WatchState.Running;
            _startedAt[watchId] = _time.GetTimestamp();
            _running[watchId] = RunOneAsync(watchId);
        }
    }

    private async Task RunOneAsync(string watchId)
    {
        SyncOutcome outcome;
        try
        {
            outcome = await _sync(watchId, _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            outcome = SyncOutcome.Cancelled;
        }
        catch (Exception e)
        {
            // A bug or an unexpected failure (the store is down…): keep the watch's state and retry with backoff.
            LogSyncCrashed(e, watchId);
            outcome = new SyncOutcome(SyncResult.RetryLater);
        }

        _inbox.Writer.TryWrite(new Finished(watchId, outcome));
    }

    private void ScheduleRetry(string watchId, SyncOutcome outcome)
    {
        if (_retries.Remove(watchId, out var pending))
        {
            pending.Dispose();
        }

        if (outcome.Result != SyncResult.RetryLater)
        {
            _failures.Remove(watchId);
            return;
        }

        var failures = _failures[watchId] = _failures.GetValueOrDefault(watchId) + 1;
        var delay = RetryBackoff.Delay(failures, _options.RetryDelay, _options.SafetyNetInterval, Random.Shared);
        if (outcome.Error?.RetryAt is { } retryAt && retryAt - _time.GetUtcNow() > delay)
        {
            // A spent quota: nothing is asked of Google before it resets.
            delay = retryAt - _time.GetUtcNow();
        }

        LogRetryScheduled(watchId, failures, delay);
        _retries[watchId] = _time.CreateTimer(_ => RequestSync(watchId), null, delay, Timeout.InfiniteTimeSpan);
    }

    private async Task RunSafetyNetAsync(CancellationToken cancellationToken)
    {
        // The first pass is the start-up catch-up: a sync interrupted by a crash is redone here.
        try
        {
            while (true)
            {
                var wait = RetryBackoff.Jitter(_options.SafetyNetInterval, _options.SafetyNetJitter, Random.Shared);
                try
                {
                    foreach (var watchId in await _listWatches(cancellationToken))
                    {
                        RequestSync(watchId);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The store may not be ready yet (start-up): try again soon rather than after a full interval.
                    LogSafetyNetFailed(e);
                    wait = _options.RetryDelay;
                }

                await Task.Delay(wait, _time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
