using System.Collections.Concurrent;
using Calhook.Google;
using Calhook.Sync;
using Calhook.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Sync;

public sealed class SyncSchedulerTests
{
    private readonly FakeSyncs _syncs = new();
    private readonly FakeTimeProvider _time = new();

    private SyncScheduler Scheduler(int maxConcurrent = 8, WatchLister? list = null, TimeSpan? safetyNet = null, TimeSpan? minInterval = null,
        TimeSpan? quietTime = null) =>
        new(_syncs.RunAsync, list ?? (_ => Task.FromResult<IReadOnlyList<WatchLastSync>>([])),
            new SyncOptions
            {
                MaxConcurrentSyncs = maxConcurrent, SafetyNetInterval = safetyNet ?? TimeSpan.FromMinutes(5), SafetyNetJitter = 0,
                MinSyncInterval = minInterval ?? TimeSpan.Zero, FollowUpQuietTime = quietTime ?? minInterval ?? TimeSpan.Zero,
            },
            _time, NullLogger<SyncScheduler>.Instance)
        { SyncFinished = _syncs.OnFinished };

    [Fact]
    public async Task A_burst_of_100_requests_during_a_sync_folds_into_exactly_one_follow_up()
    {
        await using var scheduler = Scheduler();
        await scheduler.StartAsync(CancellationToken.None);

        scheduler.RequestSync("w1");
        var first = await _syncs.NextStartAsync();
        for (var i = 0; i < 100; i++)
        {
            scheduler.RequestSync("w1");
        }

        first.Complete();
        var followUp = await _syncs.NextStartAsync();
        Assert.Equal("w1", followUp.WatchId);
        Assert.Equal("w1", (await _syncs.NextFinishAsync()).WatchId);

        followUp.Complete();
        await _syncs.NextFinishAsync();

        // The observer runs after any follow-up has started, so nothing more is coming.
        Assert.True(_syncs.NoPendingStart);
        Assert.Equal(2, _syncs.Runs["w1"]);
    }

    [Fact]
    public async Task A_spent_quota_is_retried_when_it_resets_not_on_the_short_schedule()
    {
        await using var scheduler = Scheduler();
        await scheduler.StartAsync(CancellationToken.None);
        scheduler.RequestSync("w1");
        var first = await _syncs.NextStartAsync();
        var resetAt = _time.GetUtcNow().AddHours(10);
        first.Completion.SetResult(new SyncOutcome(SyncResult.RetryLater, 0,
            new GoogleError(GoogleErrorKind.QuotaExhausted, 403, "dailyLimitExceeded", "spent", resetAt)));
        await _syncs.NextFinishAsync();

        // Past every short retry: a request for another watch starts first, so no retry of w1 was posted before it.
        _time.Advance(TimeSpan.FromHours(10) - TimeSpan.FromSeconds(1));
        scheduler.RequestSync("w2");
        var other = await _syncs.NextStartAsync();
        Assert.Equal("w2", other.WatchId);
        other.Complete();

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("w1", (await _syncs.NextStartAsync()).WatchId);
    }

    [Fact]
    public async Task A_follow_up_waits_out_the_minimum_interval_and_requests_meanwhile_fold_into_it()
    {
        await using var scheduler = Scheduler(minInterval: TimeSpan.FromMilliseconds(200));
        await scheduler.StartAsync(CancellationToken.None);

        scheduler.RequestSync("w1");
        var first = await _syncs.NextStartAsync();
        scheduler.RequestSync("w1");
        _time.Advance(TimeSpan.FromMilliseconds(50));
        first.Complete();
        await _syncs.NextFinishAsync();

        // 50 ms after the first sync started: the follow-up waits; more pings join it.
        for (var i = 0; i < 10; i++)
        {
            scheduler.RequestSync("w1");
        }

        _time.Advance(TimeSpan.FromMilliseconds(149));
        Assert.True(_syncs.NoPendingStart);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var followUp = await _syncs.NextStartAsync();
        followUp.Complete();
        await _syncs.NextFinishAsync();

        Assert.Equal(2, _syncs.Runs["w1"]);
    }

    [Fact]
    public async Task A_single_request_during_a_sync_is_followed_up_once_the_pings_have_been_quiet_for_the_quiet_time()
    {
        await using var scheduler = Scheduler(minInterval: TimeSpan.FromMilliseconds(200), quietTime: TimeSpan.FromMilliseconds(20));
        await scheduler.StartAsync(CancellationToken.None);

        scheduler.RequestSync("w1");
        var first = await _syncs.NextStartAsync();
        scheduler.RequestSync("w1");
        first.Complete();
        await _syncs.NextFinishAsync();

        // Not the 200 ms of MinSyncInterval: 20 ms after the last request.
        _time.Advance(TimeSpan.FromMilliseconds(19));
        Assert.True(_syncs.NoPendingStart);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var followUp = await _syncs.NextStartAsync();
        followUp.Complete();
        await _syncs.NextFinishAsync();
        Assert.Equal(2, _syncs.Runs["w1"]);
    }

    [Fact]
    public async Task The_first_request_after_a_quiet_spell_is_synced_at_once()
    {
        await using var scheduler = Scheduler(minInterval: TimeSpan.FromMinutes(1));
        await scheduler.StartAsync(CancellationToken.None);

        scheduler.RequestSync("w1");
        (await _syncs.NextStartAsync()).Complete();
        await _syncs.NextFinishAsync();
        scheduler.RequestSync("w1");

        // No time passed, yet the second request starts at once: only follow-ups of a running sync are paced.
        (await _syncs.NextStartAsync()).Complete();
        await _syncs.NextFinishAsync();
        Assert.Equal(2, _syncs.Runs["w1"]);
    }

    [Fact]
    public async Task Requests_while_queued_fold_and_different_watches_run_concurrently_up_to_the_limit()
    {
        await using var scheduler = Scheduler(maxConcurrent: 2);
        await scheduler.StartAsync(CancellationToken.None);

        foreach (var id in new[] { "a", "b", "c", "c", "c" })
        {
            scheduler.RequestSync(id);
        }

        var a = await _syncs.NextStartAsync();
        var b = await _syncs.NextStartAsync();
        Assert.Equal(["a", "b"], new[] { a.WatchId, b.WatchId });

        a.Complete();
        var c = await _syncs.NextStartAsync();
        Assert.Equal("c", c.WatchId);
        b.Complete();
        c.Complete();
        for (var i = 0; i < 3; i++)
        {
            await _syncs.NextFinishAsync();
        }

        Assert.True(_syncs.NoPendingStart);
        Assert.Equal(2, _syncs.MaxInFlight);
        Assert.Equal(1, _syncs.Runs["c"]);
    }

    [Fact]
    public async Task Start_up_catches_up_every_watch_and_the_safety_net_syncs_them_again_each_interval()
    {
        await using var scheduler = Scheduler(list: _ => Task.FromResult<IReadOnlyList<WatchLastSync>>([new("w1", null), new("w2", null)]), safetyNet: TimeSpan.FromMinutes(1));
        await scheduler.StartAsync(CancellationToken.None);

        var catchUp = new[] { await _syncs.NextStartAsync(), await _syncs.NextStartAsync() };
        Assert.Equal(["w1", "w2"], catchUp.Select(s => s.WatchId).Order());
        foreach (var sync in catchUp)
        {
            sync.Complete();
            await _syncs.NextFinishAsync();
        }

        // Move time until the safety net fires (its timer is armed asynchronously, so poll with a deadline).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_syncs.NoPendingStart && DateTime.UtcNow < deadline)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            await Task.Yield();
        }

        var again = await _syncs.NextStartAsync();
        Assert.Contains(again.WatchId, new[] { "w1", "w2" });
    }

    [Fact]
    public async Task The_catch_up_holds_at_most_half_the_slots_and_a_push_overtakes_it()
    {
        var watches = Enumerable.Range(0, 10).Select(i => $"bg{i}").ToList();
        await using var scheduler = Scheduler(maxConcurrent: 4, list: _ => Task.FromResult<IReadOnlyList<WatchLastSync>>([.. watches.Select(id => new WatchLastSync(id, null))]));
        await scheduler.StartAsync(CancellationToken.None);

        var background = new[] { await _syncs.NextStartAsync(), await _syncs.NextStartAsync() };
        Assert.All(background, s => Assert.Equal(GoogleRequestPriority.CatchUp, s.Priority));

        // Two slots are free but background syncs may not take them: the push does, at once.
        scheduler.RequestSync("bg7");
        scheduler.RequestSync("push");
        var pushes = new[] { await _syncs.NextStartAsync(), await _syncs.NextStartAsync() };
        Assert.Equal(["bg7", "push"], pushes.Select(s => s.WatchId).Order());
        Assert.All(pushes, s => Assert.Equal(GoogleRequestPriority.Push, s.Priority));
        Assert.True(_syncs.NoPendingStart);

        // A finished background sync frees a background slot: the catch-up goes on, without bg7 again.
        background[0].Complete();
        var next = await _syncs.NextStartAsync();
        Assert.Equal(GoogleRequestPriority.CatchUp, next.Priority);
        Assert.NotEqual("bg7", next.WatchId);
    }

    [Fact]
    public async Task A_watch_pushed_ahead_of_the_catch_up_and_finished_does_not_stop_the_scheduler_when_its_old_place_comes_up()
    {
        var watches = Enumerable.Range(0, 6).Select(i => $"bg{i}").ToList();
        await using var scheduler = Scheduler(maxConcurrent: 2, list: _ => Task.FromResult<IReadOnlyList<WatchLastSync>>([.. watches.Select(id => new WatchLastSync(id, null))]));
        await scheduler.StartAsync(CancellationToken.None);
        var first = await _syncs.NextStartAsync();

        // bg4 leaves its place in the catch-up queue for the push queue, runs and finishes.
        scheduler.RequestSync("bg4");
        var pushed = await _syncs.NextStartAsync();
        Assert.Equal(("bg4", GoogleRequestPriority.Push), (pushed.WatchId, pushed.Priority));
        pushed.Complete();
        Assert.Equal("bg4", (await _syncs.NextFinishAsync()).WatchId);

        // The catch-up goes on past bg4's old place (skipped: it has no state left), and a push still runs after it.
        var caughtUp = new List<string> { first.WatchId };
        first.Complete();
        while (caughtUp.Count < 5)
        {
            var next = await _syncs.NextStartAsync();
            Assert.Equal(GoogleRequestPriority.CatchUp, next.Priority);
            caughtUp.Add(next.WatchId);
            next.Complete();
        }

        Assert.Equal(["bg0", "bg1", "bg2", "bg3", "bg5"], caughtUp.Order());
        scheduler.RequestSync("later");
        Assert.Equal("later", (await _syncs.NextStartAsync()).WatchId);
    }

    [Fact]
    public async Task The_safety_net_syncs_each_watch_an_interval_after_its_last_sync_so_one_kept_synced_by_pushes_costs_nothing()
    {
        var start = new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
        // The safety net waits 30 s (a tenth of the interval) after each look: its timer is armed once the look has
        // requested what was due, so the test advances only then.
        var time = new TimerSignal(TimeSpan.FromSeconds(30), start);
        // "quiet" gets no ping and its syncs never commit (its last sync stays unknown); "busy" is synced by pushes
        // every two minutes, on this instance or another (the store's last sync time is all the safety net sees).
        var lastSync = new ConcurrentDictionary<string, DateTimeOffset?>(StringComparer.Ordinal) { ["quiet"] = null, ["busy"] = null };
        var runs = new ConcurrentQueue<(string WatchId, TimeSpan At, GoogleRequestPriority Priority)>();
        var barriers = new ConcurrentDictionary<string, TaskCompletionSource>(StringComparer.Ordinal);
        var scheduler = new SyncScheduler(
            (watchId, _) =>
            {
                if (barriers.TryGetValue(watchId, out var barrier))
                {
                    barrier.TrySetResult();
                }
                else
                {
                    runs.Enqueue((watchId, time.GetUtcNow() - start, RequestBudgetHandler.CurrentPriority));
                }

                return Task.FromResult(new SyncOutcome(SyncResult.Synced));
            },
            _ => Task.FromResult<IReadOnlyList<WatchLastSync>>([.. lastSync.Select(p => new WatchLastSync(p.Key, p.Value))]),
            new SyncOptions { SafetyNetInterval = TimeSpan.FromMinutes(5), SafetyNetJitter = 0, MinSyncInterval = TimeSpan.Zero, FollowUpQuietTime = TimeSpan.Zero },
            time, NullLogger<SyncScheduler>.Instance);
        await using var _ = scheduler;

        // The inbox is first in, first out and a sync starts as its request is taken: once a barrier's sync has run,
        // every request the look made before it (before arming its timer) has started its sync. (Waiting for the look's
        // listing instead let the barrier overtake the look's requests, whose syncs then ran after the clock moved.)
        async Task BarrierAsync(int n)
        {
            var barrier = barriers.GetOrAdd($"barrier-{n}", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            scheduler.RequestSync($"barrier-{n}");
            await barrier.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        await scheduler.StartAsync(CancellationToken.None);
        await time.NextTimerAsync(TimeSpan.FromSeconds(30));
        await BarrierAsync(0);

        // A look every 30 s (a tenth of the interval), over 16 minutes.
        for (var step = 1; step <= 32; step++)
        {
            if (step % 4 == 0)
            {
                lastSync["busy"] = time.GetUtcNow();
            }

            time.Advance(TimeSpan.FromSeconds(30));
            await time.NextTimerAsync(TimeSpan.FromSeconds(30));
            await BarrierAsync(step);
        }

        // Both are caught up at start; then "quiet" comes due every five minutes (asked for once each interval, though
        // its last sync never moves) and "busy" never does.
        Assert.Equal(
            [("busy", TimeSpan.Zero, GoogleRequestPriority.CatchUp), ("quiet", TimeSpan.Zero, GoogleRequestPriority.CatchUp),
             ("quiet", TimeSpan.FromMinutes(5), GoogleRequestPriority.SafetyNet), ("quiet", TimeSpan.FromMinutes(10), GoogleRequestPriority.SafetyNet),
             ("quiet", TimeSpan.FromMinutes(15), GoogleRequestPriority.SafetyNet)],
            runs.OrderBy(r => r.At).ThenBy(r => r.WatchId, StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_safety_net_runs_at_the_interval_the_budget_affords_and_says_so()
    {
        var chosen = new List<TimeSpan>();
        var scheduler = new SyncScheduler(_syncs.RunAsync, _ => Task.FromResult<IReadOnlyList<WatchLastSync>>([new("w1", null)]),
            new SyncOptions { SafetyNetInterval = TimeSpan.FromMinutes(5), SafetyNetJitter = 0, MinSyncInterval = TimeSpan.Zero },
            _time, NullLogger<SyncScheduler>.Instance)
        {
            SyncFinished = _syncs.OnFinished,
            SafetyNetInterval = _ => TimeSpan.FromMinutes(20),
            SafetyNetIntervalChosen = chosen.Add,
        };
        await using var _ = scheduler;
        await scheduler.StartAsync(CancellationToken.None);
        (await _syncs.NextStartAsync()).Complete();
        await _syncs.NextFinishAsync();

        // Five minutes (the configured interval) bring nothing; twenty bring the next pass.
        _time.Advance(TimeSpan.FromMinutes(19));
        Assert.True(_syncs.NoPendingStart);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_syncs.NoPendingStart && DateTime.UtcNow < deadline)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            await Task.Yield();
        }

        var again = await _syncs.NextStartAsync();
        Assert.Equal(GoogleRequestPriority.SafetyNet, again.Priority);
        Assert.Equal(TimeSpan.FromMinutes(20), chosen[0]);
    }

    [Fact]
    public async Task A_transient_failure_is_retried_after_a_backoff_and_a_hard_failure_is_not()
    {
        await using var scheduler = Scheduler();
        await scheduler.StartAsync(CancellationToken.None);

        scheduler.RequestSync("flaky");
        (await _syncs.NextStartAsync()).Complete(SyncResult.RetryLater);
        await _syncs.NextFinishAsync();
        Assert.True(_syncs.NoPendingStart);

        _time.Advance(TimeSpan.FromSeconds(6)); // RetryDelay 5 s, +20 % jitter at most
        var retry = await _syncs.NextStartAsync();
        Assert.Equal("flaky", retry.WatchId);
        retry.Complete(SyncResult.Failed);
        await _syncs.NextFinishAsync();

        _time.Advance(TimeSpan.FromMinutes(4));
        scheduler.RequestSync("probe");
        Assert.Equal("probe", (await _syncs.NextStartAsync()).WatchId);
        Assert.Equal(2, _syncs.Runs["flaky"]);
    }

    [Fact]
    public async Task Stopping_cancels_syncs_in_flight_and_waits_for_them()
    {
        var scheduler = Scheduler();
        await scheduler.StartAsync(CancellationToken.None);
        scheduler.RequestSync("w1");
        var running = await _syncs.NextStartAsync();

        await scheduler.StopAsync(CancellationToken.None);

        Assert.True(running.CancellationToken.IsCancellationRequested);
        Assert.True(running.Completion.Task.IsCanceled);
        scheduler.RequestSync("w1"); // after shutdown: ignored, never throws
        Assert.True(_syncs.NoPendingStart);
        await scheduler.DisposeAsync();
    }
}
