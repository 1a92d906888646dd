using System.Collections.Concurrent;
using System.Threading.Channels;
using Calhook.Google;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Sync;

/// <summary>Runs one sync of a watch.</summary>
internal delegate Task<SyncOutcome> SyncRunner(string watchId, CancellationToken cancellationToken);

/// <summary>Lists every watch to sync (start-up catch-up and the safety net), each with the time of its last sync.</summary>
internal delegate Task<IReadOnlyList<WatchLastSync>> WatchLister(CancellationToken cancellationToken);

/// <summary>A watch, when its last sync committed (null: never) on any instance, and its account.</summary>
internal readonly record struct WatchLastSync(string WatchId, DateTimeOffset? LastSyncAt, string AccountId = "");

/// <summary>
/// Runs at most one sync per watch at a time; requests that arrive during a sync fold into one follow-up.
/// Different watches sync concurrently up to <see cref="SyncOptions.MaxConcurrentSyncs"/>. On start it requests a
/// catch-up sync of every watch; from then on the safety net syncs each watch a jittered
/// <see cref="SyncOptions.SafetyNetInterval"/> (stretched when Google's request budget cannot afford it) after its last
/// sync, so a calendar that pushes keep synced costs the safety net nothing. Rate-limited and transient failures are
/// retried with backoff. The receiver and the API call <see cref="RequestSync(string)"/>; it never blocks.
/// </summary>
/// <remarks>
/// Each request has a <see cref="GoogleRequestPriority"/>: syncs asked for by pushes, the API and retries run first;
/// the catch-up and the safety net wait in a background queue and hold at most half of the concurrent syncs, so a
/// push never waits behind them. Each sync's Google requests count at its priority in the <see cref="RequestBudget"/>.
/// </remarks>
/// <remarks>
/// One owner loop holds all state; everything else (requests, finished syncs, timers) only posts messages to
/// its inbox, so the folding logic needs no locks.
/// </remarks>
internal sealed partial class SyncScheduler : IHostedService, IAsyncDisposable
{
    private enum WatchState { Queued, Running, RunningWithFollowUp }

    private abstract record Message;

    private sealed record Requested(string WatchId, GoogleRequestPriority Priority) : Message;

    private sealed record Finished(string WatchId, SyncOutcome Outcome, GoogleRequestPriority Priority) : Message;

    private sealed record Paced(string WatchId) : Message;

    private readonly SyncRunner _sync;
    private readonly WatchLister _listWatches;
    private readonly SyncOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SyncScheduler> _logger;
    private readonly Channel<Message> _inbox = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();

    // Watches with a request in the inbox (not yet taken by the loop), with the highest priority posted.
    private readonly ConcurrentDictionary<string, GoogleRequestPriority> _posted = new(StringComparer.Ordinal);

    // Owned by the loop.
    private readonly Dictionary<string, WatchState> _states = new(StringComparer.Ordinal);
    private readonly Queue<string> _ready = new();
    private readonly Queue<string> _background = new();
    private readonly Dictionary<string, GoogleRequestPriority> _priorities = new(StringComparer.Ordinal);
    private int _runningBackground;
    private readonly Dictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ITimer> _retries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _startedAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ITimer> _pacing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastRequest = new(StringComparer.Ordinal);

    // Owned by the safety net's loop: per watch, the time its interval counts from and the jitter of this round.
    private readonly Dictionary<string, (DateTimeOffset From, double Jitter)> _safetyNetDue = new(StringComparer.Ordinal);
    private TimeSpan _lastChosenInterval;

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

    /// <summary>
    /// The safety net's interval at a look, from the watches that look listed: the configured one, or longer when the
    /// request budget cannot afford it (see <see cref="RequestBudget.SafetyNetInterval"/>). Default:
    /// <see cref="SyncOptions.SafetyNetInterval"/>.
    /// </summary>
    public Func<IReadOnlyList<WatchLastSync>, TimeSpan>? SafetyNetInterval { get; init; }

    /// <summary>Observes the safety net's interval at each look (for metrics and the status API).</summary>
    public Action<TimeSpan>? SafetyNetIntervalChosen { get; init; }

    /// <summary>
    /// On a store shared by several instances: returns once this instance runs the catch-up and the safety net for all
    /// of them (see <see cref="Coordination.SafetyNetLeadership"/>); the term's token is cancelled when it no longer
    /// does. Each term starts with a catch-up pass. Null: this instance always runs them (one process).
    /// </summary>
    public Func<CancellationToken, Task<Coordination.Leadership.Term>>? LeadSafetyNet { get; init; }

    /// <summary>Observes each finished sync, after any follow-up it caused has started. For tests and metrics.</summary>
    public Action<string, SyncOutcome>? SyncFinished { get; init; }

    /// <summary>
    /// Asks for a sync of the watch soon. Never blocks, never throws for an unknown watch. A request while an earlier
    /// one of the same watch still waits in the inbox posts nothing: the loop would fold it into that one anyway, and
    /// a burst of pings then wakes the loop once instead of once per ping.
    /// </summary>
    public void RequestSync(string watchId) => RequestSync(watchId, GoogleRequestPriority.Push);

    /// <summary>Asks for a sync at <paramref name="priority"/>; a request of a higher priority overtakes a lower one still waiting.</summary>
    public void RequestSync(string watchId, GoogleRequestPriority priority)
    {
        ArgumentNullException.ThrowIfNull(watchId);
        while (true)
        {
            if (_posted.TryAdd(watchId, priority))
            {
                _inbox.Writer.TryWrite(new Requested(watchId, priority));
                return;
            }

            // Posted already: only a higher priority (a lower number) needs a message of its own.
            if (!_posted.TryGetValue(watchId, out var posted))
            {
                continue; // taken by the loop meanwhile: post again
            }

            if (posted <= priority)
            {
                return;
            }

            if (_posted.TryUpdate(watchId, priority, posted))
            {
                _inbox.Writer.TryWrite(new Requested(watchId, priority));
                return;
            }
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
                case Requested(var watchId, var priority):
                    // Taken before acting: a request from now on posts again, so none is lost.
                    _posted.TryRemove(watchId, out _);
                    // Folding: a watch already waiting needs nothing more (but may move ahead); one running gets
                    // exactly one follow-up, at the best priority asked for.
                    if (!_states.TryGetValue(watchId, out var state))
                    {
                        _states[watchId] = Enqueue(watchId, priority);
                    }
                    else if (state == WatchState.Queued)
                    {
                        Promote(watchId, priority);
                        _lastRequest[watchId] = _time.GetTimestamp();
                    }
                    else
                    {
                        _states[watchId] = WatchState.RunningWithFollowUp;
                        _priorities[watchId] = Best(_priorities.GetValueOrDefault(watchId, priority), priority);
                        _lastRequest[watchId] = _time.GetTimestamp();
                    }

                    StartReady();
                    break;

                case Finished(var watchId, var outcome, var ranAt):
                    _running.Remove(watchId);
                    if (ranAt != GoogleRequestPriority.Push)
                    {
                        _runningBackground--;
                    }

                    if (_states[watchId] == WatchState.RunningWithFollowUp)
                    {
                        // The follow-up waits until the pings go quiet (or MinSyncInterval from this sync's start);
                        // requests meanwhile fold into it (it is Queued), so a burst costs one more sync, not one per ping.
                        var wait = FollowUpWait(watchId);
                        _states[watchId] = wait > TimeSpan.Zero ? Pace(watchId, wait) : Enqueue(watchId, _priorities[watchId]);
                    }
                    else
                    {
                        _states.Remove(watchId);
                        _startedAt.Remove(watchId);
                        _priorities.Remove(watchId);
                        _lastRequest.Remove(watchId);
                    }

                    ScheduleRetry(watchId, outcome, ranAt);
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
                            Enqueue(watchId, _priorities[watchId]);
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

    private WatchState Enqueue(string watchId, GoogleRequestPriority priority)
    {
        _priorities[watchId] = priority;
        (priority == GoogleRequestPriority.Push ? _ready : _background).Enqueue(watchId);
        return WatchState.Queued;
    }

    /// <summary>A queued watch asked for again at a higher priority moves to the front queue (its old entry is skipped).</summary>
    private void Promote(string watchId, GoogleRequestPriority priority)
    {
        var queued = _priorities[watchId];
        if (priority >= queued)
        {
            return;
        }

        _priorities[watchId] = priority;
        if (queued != GoogleRequestPriority.Push && priority == GoogleRequestPriority.Push && !_pacing.ContainsKey(watchId))
        {
            _ready.Enqueue(watchId);
        }
    }

    private static GoogleRequestPriority Best(GoogleRequestPriority a, GoogleRequestPriority b) => a < b ? a : b;

    private TimeSpan FollowUpWait(string watchId) => FollowUpPacing.Wait(
        _time.GetElapsedTime(_startedAt[watchId]),
        _lastRequest.TryGetValue(watchId, out var last) ? _time.GetElapsedTime(last) : null,
        _options);

    private WatchState Pace(string watchId, TimeSpan wait)
    {
        // _priorities keeps the follow-up's priority until the timer fires.
        _pacing[watchId] = _time.CreateTimer(_ => _inbox.Writer.TryWrite(new Paced(watchId)), null, wait, Timeout.InfiniteTimeSpan);
        return WatchState.Queued;
    }

    private void StartReady()
    {
        // Background syncs (catch-up, safety net) hold at most half of the slots, so pushes always find one.
        var backgroundSlots = Math.Max(1, _options.MaxConcurrentSyncs / 2);
        while (!_stopping.IsCancellationRequested && _running.Count < _options.MaxConcurrentSyncs)
        {
            if (!TakeQueued(_ready, push: true, out var watchId)
                && (_runningBackground >= backgroundSlots || !TakeQueued(_background, push: false, out watchId)))
            {
                return;
            }

            var priority = _priorities[watchId];
            if (priority != GoogleRequestPriority.Push)
            {
                _runningBackground++;
            }

            _states[watchId] = WatchState.Running;
            _startedAt[watchId] = _time.GetTimestamp();
            _running[watchId] = RunOneAsync(watchId, priority);
        }
    }

    /// <summary>Takes the next watch of a queue that is still waiting in that queue's class (entries left behind by a promotion are skipped).</summary>
    private bool TakeQueued(Queue<string> queue, bool push, out string watchId)
    {
        while (queue.TryDequeue(out watchId!))
        {
            // A stale entry may name a watch that has since run and finished (no state left): skip it too.
            if (_states.TryGetValue(watchId, out var state) && state == WatchState.Queued && !_pacing.ContainsKey(watchId)
                && (_priorities[watchId] == GoogleRequestPriority.Push) == push)
            {
                return true;
            }
        }

        return false;
    }

    private async Task RunOneAsync(string watchId, GoogleRequestPriority priority)
    {
        SyncOutcome outcome;
        try
        {
            using (RequestBudgetHandler.WithPriority(priority))
            {
                outcome = await _sync(watchId, _stopping.Token);
            }
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

        _inbox.Writer.TryWrite(new Finished(watchId, outcome, priority));
    }

    private void ScheduleRetry(string watchId, SyncOutcome outcome, GoogleRequestPriority priority)
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
        _retries[watchId] = _time.CreateTimer(_ => RequestSync(watchId, priority), null, delay, Timeout.InfiniteTimeSpan);
    }

    private async Task RunSafetyNetAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (LeadSafetyNet is null)
            {
                await RunPassesAsync(stoppingToken);
                return;
            }

            while (true)
            {
                // Only the leader's passes run; one that stops leading waits to lead again (and then catches up first).
                await using var term = await LeadSafetyNet(stoppingToken);
                try
                {
                    await RunPassesAsync(term.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The start-up catch-up (every watch), then a look every tenth of the configured interval for the watches whose
    /// safety-net sync is due, until <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <remarks>
    /// A watch is due a jittered interval after the later of its last sync (from the store, so a push's sync on any
    /// instance counts) and the safety net's last request for it (so one whose syncs keep failing is asked for once per
    /// interval, not at every look). A watch first seen after the catch-up counts from then: a new watch is baselined by
    /// whoever added it. Each watch is asked for before the look after its due time, so the longest wait between two
    /// syncs of a calendar without pings stays the jittered interval, as with a pass over all watches; but the requests
    /// are spread over the interval instead of coming as one wave, and a calendar that pings keep synced costs nothing.
    /// </remarks>
    private async Task RunPassesAsync(CancellationToken cancellationToken)
    {
        // The first look is the start-up catch-up: a sync interrupted by a crash is redone here.
        var catchUp = true;
        var look = _options.SafetyNetInterval / 10;
        while (true)
        {
            var wait = look;
            try
            {
                // One listing per look serves both the budget's interval and the due watches.
                var watches = await _listWatches(cancellationToken);
                var interval = SafetyNetInterval?.Invoke(watches) ?? _options.SafetyNetInterval;
                SafetyNetIntervalChosen?.Invoke(interval);
                if (interval > _options.SafetyNetInterval && interval != _lastChosenInterval)
                {
                    LogSafetyNetStretched(_options.SafetyNetInterval, interval);
                }

                _lastChosenInterval = interval;
                RequestDue(watches, interval, look, catchUp);
                catchUp = false;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store may not be ready yet (start-up): try again soon rather than after a full look.
                LogSafetyNetFailed(e);
                wait = _options.RetryDelay < look ? _options.RetryDelay : look;
            }

            await Task.Delay(wait, _time, cancellationToken);
        }
    }

    /// <summary>Requests the watches due before the next look (all of them for the catch-up) and forgets removed ones.</summary>
    private void RequestDue(IReadOnlyList<WatchLastSync> watches, TimeSpan interval, TimeSpan look, bool catchUp)
    {
        var now = _time.GetUtcNow();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (watchId, lastSyncAt, _) in watches)
        {
            listed.Add(watchId);
            if (catchUp || !_safetyNetDue.TryGetValue(watchId, out var due))
            {
                if (catchUp)
                {
                    RequestSync(watchId, GoogleRequestPriority.CatchUp);
                }

                _safetyNetDue[watchId] = (now, NextJitter());
                continue;
            }

            var from = lastSyncAt > due.From ? lastSyncAt.Value : due.From;
            if (from + (interval * due.Jitter) < now + look)
            {
                RequestSync(watchId, GoogleRequestPriority.SafetyNet);
                _safetyNetDue[watchId] = (now, NextJitter());
            }
            else if (from != due.From)
            {
                _safetyNetDue[watchId] = (from, due.Jitter);
            }
        }

        if (listed.Count < _safetyNetDue.Count)
        {
            foreach (var gone in _safetyNetDue.Keys.Where(id => !listed.Contains(id)).ToList())
            {
                _safetyNetDue.Remove(gone);
            }
        }
    }

    /// <summary>A factor of the interval within ±<see cref="SyncOptions.SafetyNetJitter"/>.</summary>
    private double NextJitter() => RetryBackoff.JitterFactor(_options.SafetyNetJitter, Random.Shared);
}
