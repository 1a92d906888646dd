using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

// The attempt log as people (the dashboard) and pruning read it, and what a success does to a subscription's last error.
public abstract partial class StoreContractTests
{
    private static readonly DateTimeOffset LogStart = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_latest_attempts_come_newest_first_and_only_of_that_subscription()
    {
        var a = await SubscribeForLogAsync();
        var b = await SubscribeForLogAsync();
        for (var i = 1; i <= 5; i++)
        {
            await LogAttemptAsync(a, sequence: i, at: LogStart.AddMinutes(i));
            await LogAttemptAsync(b, sequence: 100 + i, at: LogStart.AddMinutes(i));
        }

        var latest = await Store.ListLatestDeliveryAttemptsAsync(a, 3, Ct);

        Assert.Equal([5L, 4L, 3L], latest.Select(x => x.Sequence));
        Assert.All(latest, x => Assert.Equal(a, x.SubscriptionId));
        Assert.Empty(await Store.ListLatestDeliveryAttemptsAsync("sub_unknown", 3, Ct));
    }

    [Fact]
    public async Task Pruning_keeps_each_subscriptions_newest_attempts_and_drops_those_older_than_the_cutoff()
    {
        var a = await SubscribeForLogAsync();
        var b = await SubscribeForLogAsync();
        var c = await SubscribeForLogAsync();
        for (var i = 1; i <= 6; i++)
        {
            await LogAttemptAsync(a, sequence: i, at: LogStart.AddDays(i));
        }

        await LogAttemptAsync(b, sequence: 1, at: LogStart.AddDays(1)); // old: goes by age although it is b's only attempt
        await LogAttemptAsync(b, sequence: 2, at: LogStart.AddDays(5));
        await LogAttemptAsync(c, sequence: 1, at: LogStart.AddDays(6));

        var deleted = await Store.PruneDeliveryAttemptsAsync(keepPerSubscription: 3, olderThan: LogStart.AddDays(2), Ct);

        Assert.Equal(4, deleted); // a's 1 (age), 2 and 3 (count); b's 1 (age)
        Assert.Equal([4L, 5L, 6L], (await AttemptsOfAsync(a)).Select(x => x.Sequence));
        Assert.Equal([2L], (await AttemptsOfAsync(b)).Select(x => x.Sequence));
        Assert.Equal([1L], (await AttemptsOfAsync(c)).Select(x => x.Sequence));
        Assert.Equal(0, await Store.PruneDeliveryAttemptsAsync(3, LogStart.AddDays(2), Ct));
        Assert.NotNull(await Store.GetSubscriptionAsync(a, Ct));
    }

    [Fact]
    public async Task A_success_clears_the_last_error_of_an_active_subscription_but_not_of_a_failing_one()
    {
        var id = await SubscribeForLogAsync();
        await LogAttemptAsync(id, 1, LogStart, DeliveryVerdict.RetryLater, "HTTP 500");
        Assert.Equal("HTTP 500", (await Store.GetSubscriptionAsync(id, Ct))!.LastError);

        await LogAttemptAsync(id, 1, LogStart.AddMinutes(1), DeliveryVerdict.Delivered);
        var recovered = (await Store.GetSubscriptionAsync(id, Ct))!;
        Assert.Equal((SubscriptionStatus.Active, null, LogStart.AddMinutes(1)), (recovered.Status, recovered.LastError, recovered.LastSuccessAt));

        // Given up: failing, and the error that made it so stays, whatever succeeds later, until someone enables it.
        await LogAttemptAsync(id, 2, LogStart.AddMinutes(2), DeliveryVerdict.Failed, "HTTP 503");
        await LogAttemptAsync(id, 3, LogStart.AddMinutes(3), DeliveryVerdict.Delivered);
        var failing = (await Store.GetSubscriptionAsync(id, Ct))!;
        Assert.Equal((SubscriptionStatus.Failing, "HTTP 503", LogStart.AddMinutes(3)), (failing.Status, failing.LastError, failing.LastSuccessAt));

        await Store.EnableSubscriptionAsync(id, LogStart.AddMinutes(4), Ct);
        await LogAttemptAsync(id, 4, LogStart.AddMinutes(5), DeliveryVerdict.Delivered);
        Assert.Null((await Store.GetSubscriptionAsync(id, Ct))!.LastError);
    }

    [Fact]
    public async Task The_last_success_is_kept_to_the_second_but_an_error_is_cleared_by_the_next_success()
    {
        var id = await SubscribeForLogAsync();
        await LogAttemptAsync(id, 1, LogStart, DeliveryVerdict.Delivered);
        await LogAttemptAsync(id, 2, LogStart.AddMilliseconds(400), DeliveryVerdict.Delivered);
        Assert.Equal(LogStart, (await Store.GetSubscriptionAsync(id, Ct))!.LastSuccessAt);

        await LogAttemptAsync(id, 3, LogStart.AddMilliseconds(1500), DeliveryVerdict.Delivered);
        Assert.Equal(LogStart.AddMilliseconds(1500), (await Store.GetSubscriptionAsync(id, Ct))!.LastSuccessAt);

        // An error within the second is still cleared by the success after it, which is recorded.
        await LogAttemptAsync(id, 4, LogStart.AddMilliseconds(1600), DeliveryVerdict.RetryLater, "HTTP 502");
        await LogAttemptAsync(id, 4, LogStart.AddMilliseconds(1700), DeliveryVerdict.Delivered);
        var recovered = (await Store.GetSubscriptionAsync(id, Ct))!;
        Assert.Equal((null, LogStart.AddMilliseconds(1700)), (recovered.LastError, recovered.LastSuccessAt));
    }

    private async Task<string> SubscribeForLogAsync() =>
        (await Store.AddSubscriptionAsync(
            new SubscriptionRecord(Some.Id("sub"), "https://hooks.example.com/", null, null, null, "protected", null, null, SubscriptionStatus.Active, 0, LogStart, null, null),
            Ct)).Id;

    /// <summary>Records one attempt (the queue row need not exist: only the log and the subscription are read back).</summary>
    private Task LogAttemptAsync(string subscriptionId, long sequence, DateTimeOffset at, DeliveryVerdict verdict = DeliveryVerdict.Delivered, string? error = null) =>
        Store.CompleteDeliveryAsync(
            new DeliveryCompletion("instance-a", new DeliveryAttemptRecord(0, subscriptionId, $"chg_{sequence}", sequence, 1, at,
                verdict == DeliveryVerdict.Delivered ? 200 : 500, 1.5, error, verdict), verdict == DeliveryVerdict.RetryLater ? at.AddSeconds(5) : null),
            Ct);

    private Task<IReadOnlyList<DeliveryAttemptRecord>> AttemptsOfAsync(string subscriptionId) => Store.ListDeliveryAttemptsAsync(subscriptionId, 0, 100, Ct);
}
