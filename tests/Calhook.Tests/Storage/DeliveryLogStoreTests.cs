using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

/// <summary>
/// The store's attempt log as people and pruning read it, and what an attempt's verdict does to a subscription's last
/// error. SQLite only for now: the PostgreSQL store's delivery methods are not there yet (they throw
/// NotSupportedException); once they are, these belong in <see cref="StoreContractTests"/>.
/// </summary>
public sealed class DeliveryLogStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly TestDirectory _directory = new();
    private SqliteStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(_directory.File("data/calhook.db"));
        await _store.MigrateAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        _directory.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_latest_attempts_come_newest_first_and_only_of_that_subscription()
    {
        var a = await SubscribeAsync("sub_a");
        var b = await SubscribeAsync("sub_b");
        for (var i = 1; i <= 5; i++)
        {
            await AttemptAsync(a, sequence: i, at: Start.AddMinutes(i));
            await AttemptAsync(b, sequence: 100 + i, at: Start.AddMinutes(i));
        }

        var latest = await _store.ListLatestDeliveryAttemptsAsync(a, 3, CancellationToken.None);

        Assert.Equal([5L, 4L, 3L], latest.Select(x => x.Sequence));
        Assert.All(latest, x => Assert.Equal(a, x.SubscriptionId));
        Assert.Empty(await _store.ListLatestDeliveryAttemptsAsync("sub_unknown", 3, CancellationToken.None));
    }

    [Fact]
    public async Task Pruning_keeps_each_subscriptions_newest_attempts_and_drops_those_older_than_the_cutoff()
    {
        var a = await SubscribeAsync("sub_a");
        var b = await SubscribeAsync("sub_b");
        var c = await SubscribeAsync("sub_c");
        for (var i = 1; i <= 6; i++)
        {
            await AttemptAsync(a, sequence: i, at: Start.AddDays(i));
        }

        await AttemptAsync(b, sequence: 1, at: Start.AddDays(1)); // old: goes by age although it is b's only attempt
        await AttemptAsync(b, sequence: 2, at: Start.AddDays(5));
        await AttemptAsync(c, sequence: 1, at: Start.AddDays(6));

        var deleted = await _store.PruneDeliveryAttemptsAsync(keepPerSubscription: 3, olderThan: Start.AddDays(2), CancellationToken.None);

        Assert.Equal(4, deleted); // a's 1 (age), 2 and 3 (count); b's 1 (age)
        Assert.Equal([4L, 5L, 6L], (await AllAsync(a)).Select(x => x.Sequence));
        Assert.Equal([2L], (await AllAsync(b)).Select(x => x.Sequence));
        Assert.Equal([1L], (await AllAsync(c)).Select(x => x.Sequence));
        Assert.Equal(0, await _store.PruneDeliveryAttemptsAsync(3, Start.AddDays(2), CancellationToken.None));
        Assert.NotNull(await _store.GetSubscriptionAsync(a, CancellationToken.None));
    }

    [Fact]
    public async Task A_success_clears_the_last_error_of_an_active_subscription_but_not_of_a_failing_one()
    {
        var id = await SubscribeAsync("sub_a");
        await AttemptAsync(id, 1, Start, DeliveryVerdict.RetryLater, "HTTP 500");
        Assert.Equal("HTTP 500", (await _store.GetSubscriptionAsync(id, CancellationToken.None))!.LastError);

        await AttemptAsync(id, 1, Start.AddMinutes(1), DeliveryVerdict.Delivered);
        var recovered = (await _store.GetSubscriptionAsync(id, CancellationToken.None))!;
        Assert.Null(recovered.LastError);
        Assert.Equal(Start.AddMinutes(1), recovered.LastSuccessAt);
        Assert.Equal(SubscriptionStatus.Active, recovered.Status);

        // Given up: failing, and the error that made it so stays, whatever succeeds later, until someone enables it.
        await AttemptAsync(id, 2, Start.AddMinutes(2), DeliveryVerdict.Failed, "HTTP 503");
        await AttemptAsync(id, 3, Start.AddMinutes(3), DeliveryVerdict.Delivered);
        var failing = (await _store.GetSubscriptionAsync(id, CancellationToken.None))!;
        Assert.Equal((SubscriptionStatus.Failing, "HTTP 503", Start.AddMinutes(3)), (failing.Status, failing.LastError, failing.LastSuccessAt));

        await _store.EnableSubscriptionAsync(id, Start.AddMinutes(4), CancellationToken.None);
        await AttemptAsync(id, 4, Start.AddMinutes(5), DeliveryVerdict.Delivered);
        Assert.Null((await _store.GetSubscriptionAsync(id, CancellationToken.None))!.LastError);
    }

    private async Task<string> SubscribeAsync(string id)
    {
        await _store.AddSubscriptionAsync(
            new SubscriptionRecord(id, "https://hooks.example.com/", null, null, null, "protected", null, null, SubscriptionStatus.Active, 0, Start, null, null),
            CancellationToken.None);
        return id;
    }

    private Task AttemptAsync(string subscriptionId, long sequence, DateTimeOffset at, DeliveryVerdict verdict = DeliveryVerdict.Delivered, string? error = null) =>
        _store.CompleteDeliveryAsync(
            new DeliveryCompletion("me", new DeliveryAttemptRecord(0, subscriptionId, $"chg_{sequence}", sequence, 1, at,
                verdict == DeliveryVerdict.Delivered ? 200 : 500, 1.5, error, verdict), verdict == DeliveryVerdict.RetryLater ? at.AddSeconds(5) : null),
            CancellationToken.None);

    private Task<IReadOnlyList<DeliveryAttemptRecord>> AllAsync(string subscriptionId) =>
        _store.ListDeliveryAttemptsAsync(subscriptionId, 0, 100, CancellationToken.None);
}
