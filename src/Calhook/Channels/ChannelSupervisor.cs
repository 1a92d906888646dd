using System.Threading.Channels;
using Calhook.Accounts;
using Calhook.Coordination;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Channels;

/// <summary>
/// The one owner of push channels: keeps one open channel per watched calendar for as long as it is watched.
/// One loop, one command queue and one renewal schedule: opens channels for new watches, renews them ahead of
/// expiry (new id, overlap, then stop the old one), restores them on start-up and stops them on unwatch. Its queue
/// carries only verified work (admin requests); channels nobody knows are stopped by the
/// <see cref="UnknownChannelStopper"/>, so a flood of forged pings cannot delay a renewal. The loop takes the work that
/// is due (renewals, retries, restores, stops of replaced channels) and runs up to <see cref="MaxConcurrentSteps"/> of
/// it at once, each on its own watch or channel; the schedule and the slots they share are guarded by a lock.
/// </summary>
internal sealed partial class ChannelSupervisor : BackgroundService
{
    /// <summary>
    /// Channel operations in flight at once. One at a time, a renewal wave of 10,000 channels (a Google call and store
    /// writes each) took longer than short channels live; the request budget still paces the calls to Google.
    /// </summary>
    private const int MaxConcurrentSteps = 8;

    private readonly Lock _gate = new();
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PriorityQueue<string, DateTimeOffset> _schedule = new();
    private readonly PriorityQueue<RetiringChannel, DateTimeOffset> _retiring = new();
    private readonly Dictionary<string, WatchSlot> _slots = new(StringComparer.Ordinal);
    private readonly ICalhookStore _store;
    private readonly GoogleCalendarClient _google;
    private readonly ChannelMap _map;
    private readonly SecretProtector _secrets;
    private readonly SyncScheduler _sync;
    private readonly TimeProvider _time;
    private readonly ChannelOptions _options;
    private readonly RenewalPolicy _policy;
    private readonly IOptions<CalhookOptions> _calhook;
    private readonly ILogger<ChannelSupervisor> _logger;
    private readonly ChannelLeadership _leadership;
    private readonly TaskCompletionSource _restored = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset? _restoreDueAt;
    private DateTimeOffset? _reconcileDueAt;
    private int _restoreFailures;

    public ChannelSupervisor(
        ICalhookStore store, GoogleCalendarClient google, ChannelMap map, SecretProtector secrets, SyncScheduler sync,
        TimeProvider time, IOptions<ChannelOptions> options, IOptions<CalhookOptions> calhook, ChannelLeadership leadership,
        ILogger<ChannelSupervisor> logger)
    {
        _leadership = leadership;
        _store = store;
        _google = google;
        _map = map;
        _secrets = secrets;
        _sync = sync;
        _time = time;
        _options = options.Value;
        _policy = new RenewalPolicy(_options);
        _calhook = calhook;
        _logger = logger;
    }

    /// <summary>
    /// Completes when the first start-up restoration attempt (store and Google) is done; tests and readiness can await
    /// it. Watches whose restoration failed are retried with backoff after that.
    /// </summary>
    public Task Restored => _restored.Task;

    /// <summary>Opens a channel for a new watch.</summary>
    public void Watch(string watchId) => _commands.Writer.TryWrite(new Command(CommandKind.Open, watchId));

    /// <summary>Stops every channel of a watch that was just stopped.</summary>
    public void Unwatch(string watchId) => _commands.Writer.TryWrite(new Command(CommandKind.Unwatch, watchId));

    /// <summary>Loads open channels into the map before the host starts serving, so no ping of ours looks unknown.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await LoadMapAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Resolves a channel the map does not know from the store (one another instance opened, when instances share the
    /// store) and adds it to the map; null when it is not an open channel of a watch that is not stopped.
    /// </summary>
    public async Task<KnownChannel?> ResolveAsync(string channelId, CancellationToken cancellationToken)
    {
        if (await _store.GetChannelAsync(channelId, cancellationToken) is not { StoppedAt: null } channel
            || await _store.GetWatchAsync(channel.WatchId, cancellationToken) is not { Status: not WatchStatus.Stopped } watch
            || TryUnprotect(channel) is not { } token)
        {
            return null;
        }

        var known = KnownChannel.Create(channel.Id, watch.Id, watch.AccountId, token) with { ResourceId = channel.ResourceId, ExpiresAt = channel.ExpiresAt };
        _map.Add(known);
        return known;
    }

    private async Task LoadMapAsync(CancellationToken cancellationToken)
    {
        foreach (var channel in await _store.ListOpenChannelsAsync(cancellationToken))
        {
            if (await _store.GetWatchAsync(channel.WatchId, cancellationToken) is not { } watch || TryUnprotect(channel) is not { } token)
            {
                continue;
            }

            _map.Add(KnownChannel.Create(channel.Id, watch.Id, watch.AccountId, token) with { ResourceId = channel.ResourceId, ExpiresAt = channel.ExpiresAt });
        }
    }

    /// <summary>
    /// Works while this instance leads the channel work: always on one process (SQLite). When instances share the
    /// store, only the holder of the <c>channels</c> lease runs: a new term starts from the store (the channels the
    /// previous leader opened, renewed before they expire) and reconciles with the watches every third of the lease
    /// time to live (watches added or stopped through other instances); a lost term drops this loop's state.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Every Google request of this loop (opens, renewals, stops) counts as channel work in the request budget.
        using var priority = RequestBudgetHandler.WithPriority(GoogleRequestPriority.Renewal);
        while (!stoppingToken.IsCancellationRequested)
        {
            await using var term = await _leadership.LeadAsync(stoppingToken);
            try
            {
                if (term.Shared)
                {
                    await BeginSharedTermAsync(term.Token);
                }

                await RunTermAsync(term.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // Lost the lease: another instance leads now. Forget this term's state; the channels stay in the store.
                _slots.Clear();
                _schedule.Clear();
                _retiring.Clear();
                _restoreDueAt = null;
                _reconcileDueAt = null;
            }
        }
    }

    /// <summary>
    /// A shared term starts from the store: the map learns the channels other leaders opened, and commands queued while
    /// another instance led are dropped (the restore reads every watch from the store).
    /// </summary>
    private async Task BeginSharedTermAsync(CancellationToken cancellationToken)
    {
        while (_commands.Reader.TryRead(out _))
        {
        }

        _reconcileDueAt = _time.GetUtcNow() + _leadership.RenewInterval;
        await LoadMapAsync(cancellationToken);
    }

    private async Task RunTermAsync(CancellationToken stoppingToken)
    {
        await RunRestoreAsync(stoppingToken);
        _restored.TrySetResult();

        while (true)
        {
            stoppingToken.ThrowIfCancellationRequested();

            // Commands first (new watches, unwatches), then a restore retry, a reconciliation with the store (shared
            // store only), every renewal or retry that is due, the old channels whose overlap is over; then sleep until
            // the next of those.
            var opens = new List<string>();
            var opening = new HashSet<string>(StringComparer.Ordinal);
            while (_commands.Reader.TryRead(out var command))
            {
                if (command.Kind == CommandKind.Open)
                {
                    if (opening.Add(command.Id))
                    {
                        opens.Add(command.Id);
                    }

                    continue;
                }

                // An unwatch acts after the opens queued before it (a watch added then stopped ends without a channel).
                await OpenAllAsync(opens, stoppingToken);
                opens.Clear();
                opening.Clear();
                await RunSafelyAsync(command.Kind.ToString(), () => HandleAsync(command, stoppingToken));
            }

            await OpenAllAsync(opens, stoppingToken);

            var now = _time.GetUtcNow();
            if (_restoreDueAt <= now)
            {
                await RunRestoreAsync(stoppingToken);
            }

            if (_reconcileDueAt <= now)
            {
                _reconcileDueAt = now + _leadership.RenewInterval;
                await RunSafelyAsync("reconcile", () => ReconcileAsync(stoppingToken));
            }

            var dueSlots = new List<WatchSlot>();
            var dueStops = new List<RetiringChannel>();
            lock (_gate)
            {
                while (_schedule.TryPeek(out var watchId, out var due) && due <= now)
                {
                    _schedule.Dequeue();
                    // A slot may have been rescheduled or removed since this entry was queued: only its own time counts.
                    if (_slots.TryGetValue(watchId, out var slot) && slot.DueAt == due)
                    {
                        slot.DueAt = null;
                        dueSlots.Add(slot);
                    }
                }

                while (_retiring.TryPeek(out var channel, out var stopAt) && stopAt <= now)
                {
                    _retiring.Dequeue();
                    dueStops.Add(channel);
                }
            }

            await ForEachConcurrentlyAsync(dueSlots, slot => RunWatchStepAsync(slot, slot.Restoring ? RestoreWatchAsync : OpenChannelAsync, stoppingToken), stoppingToken);
            await ForEachConcurrentlyAsync(dueStops, channel => RunSafelyAsync("stop-old", () => StopRetiredAsync(channel, stoppingToken)), stoppingToken);

            await WaitForWorkAsync(stoppingToken);
        }
    }

    /// <summary>
    /// Instances sharing the store: watches added through another instance get their channel here, and watches stopped
    /// through another instance lose theirs. A watch this loop gave up on (its channel problem is recorded) waits for
    /// the next restore, as on one process.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var watches = await _store.ListWatchesAsync(cancellationToken);
        await OpenAllAsync([.. watches.Where(w => w.ChannelProblem is null && !_slots.ContainsKey(w.Id)).Select(w => w.Id)], cancellationToken);

        var watched = watches.Select(w => w.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var watchId in _slots.Keys.Where(id => !watched.Contains(id)).ToList())
        {
            await HandleAsync(new Command(CommandKind.Unwatch, watchId), cancellationToken);
        }
    }

    /// <summary>Restores, and when the store fails before any watch could be looked at, tries again with backoff.</summary>
    private async Task RunRestoreAsync(CancellationToken stoppingToken)
    {
        _restoreDueAt = null;
        try
        {
            await RestoreAsync(stoppingToken);
            _restoreFailures = 0;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogLoopError(_logger, "restore", ex);
            _restoreFailures++;
            var now = _time.GetUtcNow();
            _restoreDueAt = now + _policy.RetryDelay(_restoreFailures, now, null, Random.Shared.NextDouble());
        }
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var waits = new List<Task> { _commands.Reader.WaitToReadAsync(wake.Token).AsTask() };
        DateTimeOffset? next = _restoreDueAt;
        if (_reconcileDueAt is { } reconcile && (next is null || reconcile < next))
        {
            next = reconcile;
        }

        if (_schedule.TryPeek(out _, out var due) && (next is null || due < next))
        {
            next = due;
        }

        if (_retiring.TryPeek(out _, out var stopAt) && (next is null || stopAt < next))
        {
            next = stopAt;
        }

        if (next is { } at)
        {
            var delay = at - _time.GetUtcNow();
            waits.Add(delay > TimeSpan.Zero ? Task.Delay(delay, _time, wake.Token) : Task.CompletedTask);
        }

        await Task.WhenAny(waits);
        await wake.CancelAsync();
    }

    /// <summary>
    /// Opens the channels of new watches (added through the API, or found by a reconciliation), up to
    /// <see cref="MaxConcurrentSteps"/> at once: 10,000 watches added together would otherwise wait for each other's
    /// Google call and store writes. Each watch appears once in <paramref name="watchIds"/>.
    /// </summary>
    private Task OpenAllAsync(List<string> watchIds, CancellationToken cancellationToken) =>
        ForEachConcurrentlyAsync(watchIds, id => RunSafelyAsync(nameof(CommandKind.Open), () => OpenAsync(id, cancellationToken)), cancellationToken);

    private async Task OpenAsync(string watchId, CancellationToken cancellationToken)
    {
        WatchSlot slot;
        lock (_gate)
        {
            if (_slots.TryGetValue(watchId, out var existing))
            {
                slot = existing;
            }
            else
            {
                // Until the watch is read, the slot knows only its id: a failure here is retried as a restore.
                slot = _slots[watchId] = new WatchSlot(watchId) { Restoring = true };
            }
        }

        if (!slot.Restoring)
        {
            await RunWatchStepAsync(slot, OpenChannelAsync, cancellationToken);
            return;
        }

        await RunWatchStepAsync(slot, async (s, ct) =>
        {
            // An all-calendars watch has no channel: its account's calendar-list watch has it.
            if (await _store.GetWatchAsync(s.WatchId, ct) is { Status: not WatchStatus.Stopped, Kind: not WatchKind.AllCalendars } watch)
            {
                s.Bind(watch);
                s.Restoring = false;
                await OpenChannelAsync(s, ct);
            }
            else
            {
                RemoveSlot(s.WatchId);
            }
        }, cancellationToken);
    }

    private async Task HandleAsync(Command command, CancellationToken cancellationToken)
    {
        switch (command.Kind)
        {
            case CommandKind.Open:
                await OpenAsync(command.Id, cancellationToken);
                break;
            case CommandKind.Unwatch:
                if (_slots.Remove(command.Id, out var removed))
                {
                    removed.DueAt = null;
                }

                _map.ClearWatch(command.Id);
                foreach (var channel in await _store.ListOpenChannelsAsync(cancellationToken))
                {
                    if (channel.WatchId == command.Id && await _store.GetWatchAsync(channel.WatchId, cancellationToken) is { } w)
                    {
                        await StopChannelAsync(channel.Id, channel.ResourceId, w.AccountId, cancellationToken);
                    }
                }

                break;
        }
    }

    private async Task RunSafelyAsync(string what, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // One bad watch must not stop the loop that keeps every other channel alive.
            LogLoopError(_logger, what, ex);
        }
    }

    private void Schedule(WatchSlot slot, DateTimeOffset at)
    {
        lock (_gate)
        {
            slot.DueAt = at;
            _schedule.Enqueue(slot.WatchId, at);
        }
    }

    /// <summary>Forgets a watch's slot (steps running beside each other may do so at once).</summary>
    private void RemoveSlot(string watchId)
    {
        lock (_gate)
        {
            _slots.Remove(watchId);
        }
    }

    /// <summary>Runs <paramref name="step"/> for each item, up to <see cref="MaxConcurrentSteps"/> at once; each step handles its own failures.</summary>
    private static Task ForEachConcurrentlyAsync<T>(List<T> items, Func<T, Task> step, CancellationToken cancellationToken) =>
        items.Count switch
        {
            0 => Task.CompletedTask,
            1 => step(items[0]),
            _ => Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentSteps, CancellationToken = cancellationToken },
                async (item, _) => await step(item)),
        };

    private string Address => (_calhook.Value.PublicUrl ?? "").TrimEnd('/') + Receiving.ReceiverEndpoint.Path;

    private string? TryUnprotect(ChannelRecord channel)
    {
        try
        {
            return _secrets.UnprotectChannelToken(channel.ProtectedToken);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private enum CommandKind { Open, Unwatch }

    private sealed record Command(CommandKind Kind, string Id);

    /// <summary>A replaced channel, kept open for the renewal overlap so pings already on their way are still accepted.</summary>
    private sealed record RetiringChannel(string ChannelId, string? ResourceId, string AccountId, DateTimeOffset? ExpiresAt);

    /// <summary>
    /// The loop's view of one watch: its identity, current channel, failures and next due time. A slot that is
    /// <see cref="Restoring"/> re-reads its watch and channels from the store when it is due (its last attempt failed
    /// before it knew them); otherwise it opens a new channel when due.
    /// </summary>
    private sealed class WatchSlot(string watchId)
    {
        public WatchSlot(WatchRecord watch) : this(watch.Id) => Bind(watch);

        public string WatchId { get; } = watchId;
        public string AccountId { get; private set; } = "";
        public string CalendarId { get; private set; } = "";
        public WatchKind Kind { get; private set; }
        public KnownChannel? Current { get; set; }
        public int Failures { get; set; }
        public DateTimeOffset? DueAt { get; set; }
        public bool Restoring { get; set; }

        public void Bind(WatchRecord watch)
        {
            AccountId = watch.AccountId;
            CalendarId = watch.CalendarId;
            Kind = watch.Kind;
        }
    }
}
