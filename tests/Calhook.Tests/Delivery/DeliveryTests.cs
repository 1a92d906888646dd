using System.Text.Json.Nodes;
using Calhook.PostgreSql;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Calhook.Tests.Changes;
using Calhook.Tests.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Delivery;

/// <summary>
/// Webhooks end to end over loopback: a real host, a subscriber verifying every signature. Written once, run on each
/// store (<see cref="SqliteDeliveryTests"/>, <see cref="PostgresDeliveryTests"/>).
/// </summary>
public abstract class DeliveryTests
{
    /// <summary>A delivery rig on this class's store.</summary>
    private protected abstract Task<DeliveryRig> StartRigAsync(Action<CalhookTestHostOptions>? configure = null);

    /// <summary>The rig's store opened beside the host, as another process would (the host itself is stopped).</summary>
    private protected abstract Task<ICalhookStore> OpenStoreAsync(DeliveryRig rig);

    [Fact]
    public async Task Every_change_is_delivered_once_in_log_order_per_calendar()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        await rig.SubscribeAsync(subscriber);

        var committed = new List<Calhook.Changes.Change>();
        for (var i = 0; i < 10; i++)
        {
            committed.AddRange(await rig.CreateAsync(i % 2 == 0 ? "a@example.com" : "b@example.com", count: 3));
        }

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, committed.Count, "every committed change is delivered");
        Assert.Equal(committed.Select(c => c.Id).Order(), accepted.Select(w => w.Id).Order());
        foreach (var calendar in accepted.GroupBy(w => w.CalendarId))
        {
            var sequences = calendar.Select(w => w.Sequence).ToList();
            Assert.Equal(sequences.Order(), sequences);
        }

        Assert.All(accepted, w => Assert.Equal(w.Id, (string)w.Envelope["id"]!));
        Assert.Equal(0, subscriber.Unverified);
    }

    [Fact]
    public async Task A_new_subscription_receives_only_changes_appended_after_it_was_created()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        await rig.CreateAsync("a@example.com", count: 2);
        await rig.SubscribeAsync(subscriber);

        var later = await rig.CreateAsync("a@example.com");

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 1, "the change after the subscription arrives");
        Assert.Equal(later[0].Id, Assert.Single(accepted).Id);
    }

    [Fact]
    public async Task A_subscriber_failing_for_a_while_gets_everything_and_duplicates_only_as_retries_of_one_webhook_id()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var failuresLeft = 3;
        subscriber.Respond = _ => Task.FromResult(Interlocked.Decrement(ref failuresLeft) >= 0 ? 500 : 200);
        await rig.SubscribeAsync(subscriber);

        var committed = (await rig.CreateAsync("a@example.com", count: 5)).ToList();

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 5, "all five arrive after the subscriber recovers");
        Assert.Equal(committed.Select(c => c.Id), accepted.Select(w => w.Id));
        var received = subscriber.Received;
        Assert.Equal(8, received.Count);
        Assert.All(received.Take(3), w => Assert.Equal(committed[0].Id, w.Id));
    }

    [Fact]
    public async Task After_the_last_attempt_the_change_is_recorded_failed_the_subscription_is_failing_and_the_calendar_moves_on()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var doomed = "";
        subscriber.Respond = w => Task.FromResult(w.Id == doomed ? 503 : 200);
        var id = await rig.SubscribeAsync(subscriber);

        var first = await rig.CreateAsync("a@example.com");
        doomed = first[0].Id;
        var second = await rig.CreateAsync("a@example.com");

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 1, "the change behind the failed one is delivered");
        Assert.Equal(second[0].Id, Assert.Single(accepted).Id);
        Assert.Equal(4, subscriber.Received.Count(w => w.Id == doomed)); // 1 + the 3 retries of the rig's schedule

        var state = await rig.GetAsync($"/v1/subscriptions/{id}");
        Assert.Equal("failing", (string?)state["status"]);
        Assert.Contains("503", (string?)state["lastError"], StringComparison.Ordinal);
        var attempts = await Calhook.TestKit.Polling.EventuallyAsync(
            async () => (await rig.GetAsync($"/v1/subscriptions/{id}/deliveries"))["items"]!.AsArray(),
            items => items.Count == 5, TimeSpan.FromSeconds(20), "all five attempts are recorded");
        Assert.Equal(["retry", "retry", "retry", "failed", "delivered"], attempts.Select(a => (string)a!["outcome"]!));
        Assert.Equal([1, 2, 3, 4, 1], attempts.Select(a => (int)a!["attempt"]!));
        Assert.All(attempts.Take(4), a => Assert.Equal(503, (int)a!["statusCode"]!));

        // Failing stays until someone looks: enabling sets it active again.
        Assert.Equal("active", (string?)(await rig.PostAsync($"/v1/subscriptions/{id}/enable"))["status"]);
    }

    [Fact]
    public async Task Gone_disables_the_subscription_and_enabling_it_catches_up_in_order()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var gone = true;
        subscriber.Respond = _ => Task.FromResult(Volatile.Read(ref gone) ? 410 : 200);
        var id = await rig.SubscribeAsync(subscriber);

        var committed = (await rig.CreateAsync("a@example.com")).ToList();
        await Calhook.TestKit.Polling.EventuallyAsync(
            async () => (string?)(await rig.GetAsync($"/v1/subscriptions/{id}"))["status"] == "disabled", TimeSpan.FromSeconds(20), "410 disables");
        committed.AddRange(await rig.CreateAsync("a@example.com", count: 2));
        await Calhook.TestKit.Polling.EventuallyAsync(
            async () => (long)(await rig.GetAsync($"/v1/subscriptions/{id}"))["backlog"]! == 3, TimeSpan.FromSeconds(20),
            "while disabled, new changes queue up behind the one that got 410");
        Assert.Single(subscriber.Received);

        Volatile.Write(ref gone, false);
        Assert.Equal("active", (string?)(await rig.PostAsync($"/v1/subscriptions/{id}/enable"))["status"]);

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 3, "enabled again, it catches up");
        Assert.Equal(committed.Select(c => c.Id), accepted.Select(w => w.Id));
    }

    [Fact]
    public async Task A_slow_subscriber_does_not_delay_a_fast_one()
    {
        await using var rig = await StartRigAsync();
        await using var slow = await VerifyingSubscriber.StartAsync();
        await using var fast = await VerifyingSubscriber.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        slow.Respond = async _ => { await release.Task; return 200; };
        await rig.SubscribeAsync(slow);
        await rig.SubscribeAsync(fast);

        await rig.CreateAsync("a@example.com", count: 5);

        await DeliveryRig.AcceptedAsync(fast, 5, "the fast subscriber gets everything while the slow one still holds its first webhook");
        Assert.Empty(slow.Accepted);
        release.SetResult();
        await DeliveryRig.AcceptedAsync(slow, 5, "the slow one gets everything once it answers");
    }

    [Fact]
    public async Task A_failing_calendar_holds_back_only_its_own_later_changes()
    {
        await using var rig = await StartRigAsync(o => o.Settings["Calhook:Delivery:RetryDelays:0"] = "00:10:00");
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        subscriber.Respond = w => Task.FromResult(w.CalendarId == "stuck@example.com" ? 500 : 200);
        var id = await rig.SubscribeAsync(subscriber);

        var stuck = await rig.CreateAsync("stuck@example.com", count: 3);
        var fine = await rig.CreateAsync("fine@example.com", count: 3);

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 3, "the other calendar's changes are delivered");
        Assert.Equal(fine.Select(c => c.Id), accepted.Select(w => w.Id));
        // Only the head of the stuck calendar was tried; its later changes wait behind it, in order.
        Assert.Equal([stuck[0].Id], subscriber.Received.Where(w => w.CalendarId == "stuck@example.com").Select(w => w.Id));
        await Calhook.TestKit.Polling.EventuallyAsync(
            async () => (long)(await rig.GetAsync($"/v1/subscriptions/{id}"))["backlog"]! == 3, TimeSpan.FromSeconds(20),
            "the stuck calendar's three changes stay queued");
    }

    [Fact]
    public async Task Replay_redelivers_from_a_sequence_or_a_time_with_the_original_webhook_ids()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        var committed = (await rig.CreateAsync("a@example.com", count: 4)).ToList();
        await DeliveryRig.AcceptedAsync(subscriber, 4, "first delivery");

        var replay = await rig.PostAsync($"/v1/subscriptions/{id}/replay", new JsonObject { ["after"] = committed[1].Sequence });
        Assert.Equal(2, (int)replay["scheduled"]!);
        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 6, "the replayed changes arrive again");
        Assert.Equal(committed.Skip(2).Select(c => c.Id), accepted.Skip(4).Select(w => w.Id));

        var since = await rig.PostAsync($"/v1/subscriptions/{id}/replay", new JsonObject { ["since"] = "2026-01-01T00:00:00Z" });
        Assert.Equal(4, (int)since["scheduled"]!);
        accepted = await DeliveryRig.AcceptedAsync(subscriber, 10, "a replay since a time sends everything detected after it");
        Assert.Equal(committed.Select(c => c.Id), accepted.Skip(6).Select(w => w.Id));
    }

    [Fact]
    public async Task A_subscription_created_after_changes_reaches_them_through_replay()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var older = await rig.CreateAsync("a@example.com", count: 2);
        var id = await rig.SubscribeAsync(subscriber);

        await rig.PostAsync($"/v1/subscriptions/{id}/replay", new JsonObject { ["after"] = 0 });

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 2, "replay reaches the changes before the subscription");
        Assert.Equal(older.Select(c => c.Id), accepted.Select(w => w.Id));
    }

    [Fact]
    public async Task During_a_rotation_both_secrets_sign_and_afterwards_only_the_new_one()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        await rig.CreateAsync("a@example.com");
        var before = (await DeliveryRig.AcceptedAsync(subscriber, 1, "before rotation"))[0];
        var oldSecret = Assert.Single(before.VerifiedWith);

        var rotated = await rig.PostAsync($"/v1/subscriptions/{id}/rotate-secret");
        var newSecret = (string)rotated["secret"]!;
        subscriber.Trust(newSecret);
        Assert.NotEqual(oldSecret, newSecret);
        Assert.True(DateTimeOffset.Parse((string)rotated["previousSecretExpiresAt"]!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UnixEpoch);
        await rig.CreateAsync("a@example.com");

        var during = (await DeliveryRig.AcceptedAsync(subscriber, 2, "after rotation"))[1];
        Assert.Equal(2, during.Signature.Split(' ').Length);
        Assert.Equal([oldSecret, newSecret], during.VerifiedWith);
    }

    [Fact]
    public async Task With_no_overlap_the_old_secret_stops_signing_at_once()
    {
        await using var rig = await StartRigAsync(o => o.Settings["Calhook:Delivery:SecretRotationOverlap"] = "00:00:00");
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        var newSecret = (string)(await rig.PostAsync($"/v1/subscriptions/{id}/rotate-secret"))["secret"]!;
        subscriber.Trust(newSecret);

        await rig.CreateAsync("a@example.com");

        var webhook = (await DeliveryRig.AcceptedAsync(subscriber, 1, "signed with the new secret"))[0];
        Assert.Equal([newSecret], webhook.VerifiedWith);
        Assert.Single(webhook.Signature.Split(' '));
    }

    [Fact]
    public async Task Ignore_paths_skip_updates_made_only_of_ignored_fields_and_filters_choose_types_and_calendars()
    {
        await using var rig = await StartRigAsync();
        await using var echoes = await VerifyingSubscriber.StartAsync();
        await using var onlyB = await VerifyingSubscriber.StartAsync();
        await rig.SubscribeAsync(echoes, new JsonObject { ["ignorePaths"] = new JsonArray("attendees[*].responseStatus", "extendedProperties.private.*") });
        await rig.SubscribeAsync(onlyB, new JsonObject { ["calendarIds"] = new JsonArray("b@example.com"), ["types"] = new JsonArray("event.updated") });

        var created = await rig.CreateAsync("a@example.com");
        var eventId = created[0].EventId;
        await rig.CommitAsync("a@example.com", DeliveryRig.Updated(eventId, "attendees[email=me@example.com].responseStatus", "extendedProperties.private.syncId"));
        var real = await rig.CommitAsync("a@example.com", DeliveryRig.Updated(eventId, "attendees[email=me@example.com].responseStatus", "summary"));
        await rig.CreateAsync("b@example.com");
        var updatedB = await rig.CommitAsync("b@example.com", DeliveryRig.Updated("x", "summary"));

        var accepted = await DeliveryRig.AcceptedAsync(echoes, 4, "everything but the echo reaches the first subscriber");
        Assert.Equal(4, accepted.Count);
        Assert.Contains(accepted, w => w.Id == real[0].Id);
        Assert.Contains(accepted, w => w.Id == created[0].Id);
        var filtered = await DeliveryRig.AcceptedAsync(onlyB, 1, "the filtered subscriber gets only updates of b");
        Assert.Equal(updatedB[0].Id, Assert.Single(filtered).Id);
        await DeliveryRig.AcceptedAsync(echoes, 4, "settled");
        Assert.Equal(4, echoes.Received.Count);
    }

    [Fact]
    public async Task A_subscriber_down_across_a_restart_gets_everything_after_it()
    {
        // Enough short retries (60 × 0.5 s) that nothing is given up while the subscriber is down.
        await using var rig = await StartRigAsync(o =>
        {
            for (var i = 0; i < 60; i++)
            {
                o.Settings[$"Calhook:Delivery:RetryDelays:{i}"] = "00:00:00.500";
            }
        });
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var down = true;
        subscriber.Respond = _ => Task.FromResult(Volatile.Read(ref down) ? 503 : 200);
        var id = await rig.SubscribeAsync(subscriber);
        var committed = (await rig.CreateAsync("a@example.com", count: 3)).ToList();
        await Calhook.TestKit.Polling.EventuallyAsync(() => Task.FromResult(subscriber.Received.Count > 0), TimeSpan.FromSeconds(20), "a first attempt was made");

        await rig.Host.StopAsync();
        await rig.Host.StartAsync();
        committed.AddRange(await rig.CreateAsync("a@example.com", count: 2));
        Volatile.Write(ref down, false);

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 5, "after the restart everything arrives");
        Assert.Equal(committed.Select(c => c.Id), accepted.Select(w => w.Id));
        await Calhook.TestKit.Polling.EventuallyAsync(
            async () => (long)(await rig.GetAsync($"/v1/subscriptions/{id}"))["backlog"]! == 0, TimeSpan.FromSeconds(20), "nothing is left queued");
    }

    [Fact]
    public async Task Changes_committed_while_the_service_is_stopped_are_delivered_when_it_starts()
    {
        await using var rig = await StartRigAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        await rig.SubscribeAsync(subscriber);
        var store = rig.Store;
        await rig.Host.StopAsync();

        // A commit lands in the store but no process is running to signal it: it is behind no cursor yet.
        var offline = await OpenStoreAsync(rig);
        var appended = await offline.CommitNextAsync(new Calhook.Storage.SyncCommit(FeedHost.WatchId, "a@example.com", DateTimeOffset.UnixEpoch, [], [rig.Created()], "tok_offline", ExpectedSyncToken: null), CancellationToken.None);
        Assert.NotNull(store);
        (offline as IDisposable)?.Dispose();
        await rig.Host.StartAsync();

        var accepted = await DeliveryRig.AcceptedAsync(subscriber, 1, "the change committed while stopped is delivered");
        Assert.Equal(appended[0].Id, accepted[0].Id);
    }
}

public sealed class SqliteDeliveryTests : DeliveryTests
{
    private protected override Task<DeliveryRig> StartRigAsync(Action<CalhookTestHostOptions>? configure = null) => DeliveryRig.StartAsync(configure);

    private protected override Task<ICalhookStore> OpenStoreAsync(DeliveryRig rig) =>
        Task.FromResult<ICalhookStore>(new SqliteStore(Path.Combine(rig.Host.DataDirectory, "calhook.db")));
}

/// <summary>The same stories on PostgreSQL (each test on its own database of the run's server).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresDeliveryTests(PostgresFixture postgres) : DeliveryTests
{
    private string? _connectionString;

    private protected override async Task<DeliveryRig> StartRigAsync(Action<CalhookTestHostOptions>? configure = null)
    {
        _connectionString = await postgres.Server.CreateDatabaseAsync("delivery");
        return await DeliveryRig.StartAsync(options =>
        {
            options.Settings["Calhook:Postgres:ConnectionString"] = _connectionString;
            options.ConfigureServices = services => services.AddCalhookPostgreSql();
            configure?.Invoke(options);
        });
    }

    private protected override Task<ICalhookStore> OpenStoreAsync(DeliveryRig rig) =>
        Task.FromResult<ICalhookStore>(new PostgresStore(_connectionString!));
}
