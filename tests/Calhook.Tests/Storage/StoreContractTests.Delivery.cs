using Calhook.Changes;
using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

// Delivery: subscriptions, their cursors and queues, leases and the attempt log (ICalhookStore's delivery section).
public abstract partial class StoreContractTests
{
    private static SubscriptionRecord Subscription(string? id = null) => new(
        id ?? Some.Id("sub"), "https://hooks.example.com/calhook", null, null, null, "protected-secret", null, null,
        SubscriptionStatus.Active, Cursor: 999, Some.Time, null, null);

    private static DeliveryAttemptRecord Attempt(DeliveryLease lease, DeliveryVerdict verdict, int? status = 200, string? error = null) =>
        new(0, lease.SubscriptionId, lease.Change.Id, lease.Sequence, lease.Attempt, Some.Time, status, 12.5, error, verdict);

    /// <summary>Commits one change per event on the watch's calendar; returns them in order.</summary>
    private Task<IReadOnlyList<Change>> CommitChangesAsync(WatchRecord watch, params string[] eventIds) =>
        Store.CommitNextAsync(Some.Commit(watch, Some.Id("tok"), [.. eventIds.Select(Some.Created)]), Ct);

    /// <summary>Queues every given change for the subscription, moving its cursor from where it is to the last of them.</summary>
    private async Task<int> ScheduleAsync(string subscriptionId, IReadOnlyList<Change> changes)
    {
        var cursor = (await Store.GetSubscriptionAsync(subscriptionId, Ct))!.Cursor;
        return await Store.ScheduleDeliveriesAsync(
            [new DeliverySchedule(subscriptionId, cursor, changes[^1].Sequence, [.. changes.Select(c => new ScheduledDelivery(c.Sequence, c.CalendarId))])],
            Some.Time, Ct);
    }

    private Task<IReadOnlyList<DeliveryLease>> LeaseAsync(string owner = "instance-a", DateTimeOffset? now = null, int limit = 100) =>
        Store.LeaseDueDeliveriesAsync(owner, now ?? Some.Time, (now ?? Some.Time).AddMinutes(1), limit, Ct);

    [Fact]
    public async Task A_subscription_starts_at_the_end_of_the_log_and_round_trips()
    {
        var watch = await AddWatchAsync();
        var before = await CommitChangesAsync(watch, "e1", "e2");
        var subscription = Subscription() with { Types = ["created"], CalendarIds = ["alice@example.com"], IgnorePaths = ["attendees[*].responseStatus"] };

        var stored = await Store.AddSubscriptionAsync(subscription, Ct);

        Assert.Equal(before[^1].Sequence, stored.Cursor);
        var read = await Store.GetSubscriptionAsync(subscription.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(subscription.Types, read.Types);
        Assert.Equal(subscription.CalendarIds, read.CalendarIds);
        Assert.Equal(subscription.IgnorePaths, read.IgnorePaths);
        Assert.Equal(stored with { Types = read.Types, CalendarIds = read.CalendarIds, IgnorePaths = read.IgnorePaths }, read);
        Assert.Equal([subscription.Id], (await Store.ListSubscriptionsAsync(Ct)).Select(s => s.Id));
        Assert.Null(await Store.GetSubscriptionAsync("sub_missing", Ct));
    }

    [Fact]
    public async Task Scheduling_moves_a_cursor_only_from_the_value_read_and_queues_each_change_once()
    {
        var watch = await AddWatchAsync();
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);
        var changes = await CommitChangesAsync(watch, "e1", "e2", "e3");
        var all = changes.Select(c => new ScheduledDelivery(c.Sequence, c.CalendarId)).ToList();

        var first = await Store.ScheduleDeliveriesAsync([new DeliverySchedule(subscription.Id, subscription.Cursor, changes[^1].Sequence, all)], Some.Time, Ct);
        // A second scheduler that read the same cursor (another instance) finds it moved and queues nothing.
        var stale = await Store.ScheduleDeliveriesAsync([new DeliverySchedule(subscription.Id, subscription.Cursor, changes[^1].Sequence, all)], Some.Time, Ct);
        var gone = await Store.ScheduleDeliveriesAsync([new DeliverySchedule("sub_missing", 0, changes[^1].Sequence, all)], Some.Time, Ct);

        Assert.Equal((3, 0, 0), (first, stale, gone));
        var read = await Store.GetSubscriptionAsync(subscription.Id, Ct);
        Assert.Equal((changes[^1].Sequence, 3L), (read!.Cursor, read.Backlog));
    }

    [Fact]
    public async Task Only_the_head_of_each_subscription_and_calendar_queue_is_leased_and_it_goes_to_one_owner()
    {
        var alice = await AddWatchAsync("alice@example.com");
        var bob = await AddWatchAsync("bob@example.com");
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);
        var aliceChanges = await CommitChangesAsync(alice, "a1", "a2");
        var bobChanges = await CommitChangesAsync(bob, "b1");
        await ScheduleAsync(subscription.Id, [.. aliceChanges, .. bobChanges]);

        var leased = await LeaseAsync("instance-a");
        var other = await LeaseAsync("instance-b");

        Assert.Equal([aliceChanges[0].Sequence, bobChanges[0].Sequence], leased.Select(l => l.Sequence).Order());
        Assert.All(leased, l => Assert.Equal(1, l.Attempt));
        Assert.Equal(aliceChanges[0].Id, leased.Single(l => l.Sequence == aliceChanges[0].Sequence).Change.Id);
        Assert.Empty(other);

        // Delivered: the next change of the calendar becomes the head.
        var head = leased.Single(l => l.Sequence == aliceChanges[0].Sequence);
        await Store.CompleteDeliveryAsync(new DeliveryCompletion("instance-a", Attempt(head, DeliveryVerdict.Delivered), null), Ct);
        Assert.Equal([aliceChanges[1].Sequence], (await LeaseAsync("instance-b")).Select(l => l.Sequence));
        var read = await Store.GetSubscriptionAsync(subscription.Id, Ct);
        Assert.Equal((2L, (DateTimeOffset?)Some.Time), (read!.Backlog, read.LastSuccessAt));
    }

    [Fact]
    public async Task Owners_leasing_at_once_never_take_the_same_delivery()
    {
        var subscriptions = new List<SubscriptionRecord>();
        for (var i = 0; i < 3; i++)
        {
            subscriptions.Add(await Store.AddSubscriptionAsync(Subscription(), Ct));
        }

        var changes = new List<Change>();
        for (var i = 0; i < 8; i++)
        {
            var watch = await AddWatchAsync($"calendar{i}@example.com");
            changes.AddRange(await CommitChangesAsync(watch, $"e{i}"));
        }

        foreach (var subscription in subscriptions)
        {
            await ScheduleAsync(subscription.Id, changes);
        }

        var owners = Enumerable.Range(0, 6).Select(i => $"instance-{i}").ToList();
        var leases = await Task.WhenAll(owners.Select(owner => Task.Run(() => LeaseAsync(owner, limit: 5))));

        var taken = leases.SelectMany(l => l).Select(l => (l.SubscriptionId, l.Sequence)).ToList();
        Assert.Equal(taken.Count, taken.Distinct().Count());
        Assert.Equal(subscriptions.Count * changes.Count, taken.Count);
    }

    [Fact]
    public async Task A_retry_waits_until_due_and_the_last_attempt_fails_the_change_and_lets_the_calendar_move_on()
    {
        var watch = await AddWatchAsync();
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);
        var changes = await CommitChangesAsync(watch, "e1", "e2");
        await ScheduleAsync(subscription.Id, changes);

        var first = Assert.Single(await LeaseAsync());
        var retryAt = Some.Time.AddSeconds(30);
        await Store.CompleteDeliveryAsync(new DeliveryCompletion("instance-a", Attempt(first, DeliveryVerdict.RetryLater, 500, "HTTP 500"), retryAt), Ct);

        Assert.Empty(await LeaseAsync(now: Some.Time.AddSeconds(29)));
        Assert.Equal(retryAt, await Store.GetNextDeliveryDueAsync(Ct));
        Assert.Equal("HTTP 500", (await Store.GetSubscriptionAsync(subscription.Id, Ct))!.LastError);

        var second = Assert.Single(await LeaseAsync(now: retryAt));
        Assert.Equal((first.Sequence, 2), (second.Sequence, second.Attempt));
        await Store.CompleteDeliveryAsync(new DeliveryCompletion("instance-a", Attempt(second, DeliveryVerdict.Failed, null, "timed out"), null), Ct);

        var read = await Store.GetSubscriptionAsync(subscription.Id, Ct);
        Assert.Equal((SubscriptionStatus.Failing, "timed out", 1L), (read!.Status, read.LastError, read.Backlog));
        Assert.Equal([changes[1].Sequence], (await LeaseAsync(now: retryAt)).Select(l => l.Sequence));

        var attempts = await Store.ListDeliveryAttemptsAsync(subscription.Id, 0, 10, Ct);
        Assert.Equal([DeliveryVerdict.RetryLater, DeliveryVerdict.Failed], attempts.Select(a => a.Verdict));
        Assert.Equal((500, "HTTP 500", 12.5), (attempts[0].StatusCode, attempts[0].Error, attempts[0].LatencyMs));
        Assert.Null(attempts[1].StatusCode);
        Assert.Equal([attempts[1].Id], (await Store.ListDeliveryAttemptsAsync(subscription.Id, attempts[0].Id, 10, Ct)).Select(a => a.Id));
    }

    [Fact]
    public async Task Verdicts_recorded_at_once_are_each_written_whole()
    {
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);
        var changes = new List<Change>();
        for (var i = 0; i < 40; i++)
        {
            changes.AddRange(await CommitChangesAsync(await AddWatchAsync($"c{i}@example.com"), $"e{i}"));
        }

        await ScheduleAsync(subscription.Id, changes);
        var leases = await LeaseAsync();
        Assert.Equal(40, leases.Count);

        // Stores may write verdicts that arrive together in one transaction; each must land as if written alone.
        var retryAt = Some.Time.AddSeconds(30);
        await Task.WhenAll(leases.Select((lease, i) => Task.Run(() => Store.CompleteDeliveryAsync(i % 4 == 3
            ? new DeliveryCompletion("instance-a", Attempt(lease, DeliveryVerdict.RetryLater, 503, "HTTP 503"), retryAt)
            : new DeliveryCompletion("instance-a", Attempt(lease, DeliveryVerdict.Delivered), null), Ct))));

        var attempts = await Store.ListDeliveryAttemptsAsync(subscription.Id, 0, 100, Ct);
        Assert.Equal(leases.Select(l => l.Sequence).Order(), attempts.Select(a => a.Sequence).Order());
        Assert.Equal(10, attempts.Count(a => a.Verdict == DeliveryVerdict.RetryLater));
        var read = await Store.GetSubscriptionAsync(subscription.Id, Ct);
        Assert.Equal((10L, Some.Time), (read!.Backlog, read.LastSuccessAt));
        Assert.Empty(await LeaseAsync(now: retryAt.AddSeconds(-1)));
        Assert.Equal(leases.Where((_, i) => i % 4 == 3).Select(l => l.Sequence).Order(), (await LeaseAsync(now: retryAt)).Select(l => l.Sequence).Order());
    }

    [Fact]
    public async Task A_disabled_subscription_leases_nothing_until_enabled_with_its_attempts_reset()
    {
        var watch = await AddWatchAsync();
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);
        var changes = await CommitChangesAsync(watch, "e1");
        await ScheduleAsync(subscription.Id, changes);
        var lease = Assert.Single(await LeaseAsync());

        await Store.CompleteDeliveryAsync(new DeliveryCompletion("instance-a", Attempt(lease, DeliveryVerdict.Disabled, 410, "HTTP 410"), null), Ct);

        Assert.Equal(SubscriptionStatus.Disabled, (await Store.GetSubscriptionAsync(subscription.Id, Ct))!.Status);
        Assert.Empty(await LeaseAsync(now: Some.Time.AddDays(1)));
        Assert.Null(await Store.GetNextDeliveryDueAsync(Ct));

        var later = Some.Time.AddHours(1);
        Assert.True(await Store.EnableSubscriptionAsync(subscription.Id, later, Ct));
        Assert.False(await Store.EnableSubscriptionAsync("sub_missing", later, Ct));
        Assert.Equal(SubscriptionStatus.Active, (await Store.GetSubscriptionAsync(subscription.Id, Ct))!.Status);
        var again = Assert.Single(await LeaseAsync(now: later));
        Assert.Equal((lease.Sequence, 1), (again.Sequence, again.Attempt));
    }

    [Fact]
    public async Task A_lease_that_ended_goes_to_another_owner_and_an_owner_starting_again_takes_its_own_back()
    {
        var alice = await AddWatchAsync("alice@example.com");
        var bob = await AddWatchAsync("bob@example.com");
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);
        await ScheduleAsync(subscription.Id, [.. await CommitChangesAsync(alice, "a1"), .. await CommitChangesAsync(bob, "b1")]);
        var leased = await Store.LeaseDueDeliveriesAsync("instance-a", Some.Time, Some.Time.AddSeconds(10), 1, Ct);
        var held = Assert.Single(leased);

        // Before the lease ends another owner gets only the other calendar's delivery; when it ends, the held one too.
        var meanwhile = await LeaseAsync("instance-b", now: Some.Time.AddSeconds(9));
        Assert.DoesNotContain(held.Sequence, meanwhile.Select(l => l.Sequence));
        var takenOver = Assert.Single(await LeaseAsync("instance-b", now: Some.Time.AddSeconds(10)));
        Assert.Equal(held.Sequence, takenOver.Sequence);

        await Store.ReleaseDeliveryLeasesAsync("instance-b", Ct);
        Assert.Equal(2, (await LeaseAsync("instance-b", now: Some.Time.AddSeconds(10))).Count);
    }

    [Fact]
    public async Task Replay_requeues_delivered_changes_and_deleting_a_subscription_removes_its_queue_and_log()
    {
        var watch = await AddWatchAsync();
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);
        var changes = await CommitChangesAsync(watch, "e1", "e2");
        await ScheduleAsync(subscription.Id, changes);
        foreach (var _ in changes)
        {
            var lease = Assert.Single(await LeaseAsync());
            await Store.CompleteDeliveryAsync(new DeliveryCompletion("instance-a", Attempt(lease, DeliveryVerdict.Delivered), null), Ct);
        }

        Assert.Equal(0, (await Store.GetSubscriptionAsync(subscription.Id, Ct))!.Backlog);
        var replay = changes.Select(c => new ScheduledDelivery(c.Sequence, c.CalendarId)).ToList();
        Assert.Equal(2, await Store.ReplayDeliveriesAsync(subscription.Id, 0, replay, Some.Time, Ct));
        Assert.Equal(0, await Store.ReplayDeliveriesAsync("sub_missing", 0, replay, Some.Time, Ct));
        Assert.Equal(new ReplayProgress(0, changes[1].Sequence, 2, Some.Time, Remaining: 2, Failed: 0), (await Store.GetSubscriptionAsync(subscription.Id, Ct))!.Replay);
        var first = Assert.Single(await LeaseAsync());
        Assert.Equal(changes[0].Id, first.Change.Id);
        await Store.CompleteDeliveryAsync(new DeliveryCompletion("instance-a", Attempt(first, DeliveryVerdict.Delivered), null), Ct);
        var progress = (await Store.GetSubscriptionAsync(subscription.Id, Ct))!.Replay!;
        Assert.Equal((1L, 0L, 1L), (progress.Remaining, progress.Failed, progress.Delivered));

        Assert.True(await Store.DeleteSubscriptionAsync(subscription.Id, Ct));
        Assert.False(await Store.DeleteSubscriptionAsync(subscription.Id, Ct));
        Assert.Empty(await Store.ListDeliveryAttemptsAsync(subscription.Id, 0, 10, Ct));
        Assert.Empty(await LeaseAsync(now: Some.Time.AddDays(1)));
        Assert.Empty(await Store.ListSubscriptionsAsync(Ct));
    }

    [Fact]
    public async Task Secret_rotation_keeps_the_old_secret_until_the_overlap_ends()
    {
        var subscription = await Store.AddSubscriptionAsync(Subscription(), Ct);

        Assert.True(await Store.RotateSubscriptionSecretAsync(subscription.Id, "protected-new", Some.Time.AddHours(24), Ct));
        Assert.False(await Store.RotateSubscriptionSecretAsync("sub_missing", "protected-new", Some.Time, Ct));

        var read = await Store.GetSubscriptionAsync(subscription.Id, Ct);
        Assert.Equal(("protected-new", "protected-secret", (DateTimeOffset?)Some.Time.AddHours(24)),
            (read!.ProtectedSecret, read.ProtectedPreviousSecret, read.PreviousSecretExpiresAt));
    }

    [Fact]
    public async Task The_last_sequence_before_a_time_names_the_changes_detected_earlier()
    {
        var watch = await AddWatchAsync();
        var early = await Store.CommitSyncAsync(Some.Commit(watch, "t1", Some.Created("e1")), Ct);
        await Store.CommitSyncAsync(Some.Commit(watch, "t2", Some.Created("e2")) with { DetectedAt = Some.Time.AddMinutes(5), ExpectedSyncToken = "t1" }, Ct);

        Assert.Equal(0, await Store.GetLastSequenceBeforeAsync(Some.Time, Ct));
        Assert.Equal(early[0].Sequence, await Store.GetLastSequenceBeforeAsync(Some.Time.AddMinutes(1), Ct));
    }
}
