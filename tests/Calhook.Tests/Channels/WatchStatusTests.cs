using System.Net;
using Calhook.Channels;
using Calhook.Receiving;
using Calhook.Storage;
using Calhook.TestKit;
using Calhook.Tests.Receiving;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Channels;

/// <summary>
/// The watch status over loopback against the emulator: the channel's and the sync's problems are kept apart, and a
/// failing store or Google call is recorded on the watch and retried until it recovers.
/// </summary>
public sealed class WatchStatusTests
{
    private const string Alice = "alice@example.com";
    private const string Bob = "bob@example.com";

    [Fact]
    public async Task A_renewal_404_while_syncs_succeed_keeps_the_watch_failing()
    {
        await using var proxy = await FaultProxy.StartAsync();
        await using var world = await StartThroughAsync(proxy);
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        await world.WaitForStatusAsync(watchId, "active");

        proxy.WatchStatus = 404;
        // On a slow machine the 2-second channel may expire before the renewal's 404 arrives (shown as failing too).
        var failing = await Polling.EventuallyAsync(() => world.WatchStateAsync(watchId),
            w => w["status"]!.GetValue<string>() == "failing" && w["error"]!.GetValue<string>().Contains("not found", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the renewal's 404 shows on the watch");

        // Syncs still work: a forced sync finds a new event…
        var (alice, _) = await world.SignInAsync(Alice);
        using var google = alice;
        await EmulatorWorld.InsertEventAsync(google, Alice, "made while the channel is gone");
        Assert.Equal(HttpStatusCode.Accepted, (await world.Api.PostAsync($"v1/watches/{watchId}/sync", null)).StatusCode);
        await Polling.EventuallyAsync(async () => (await world.FeedAsync()).Any(c => c["event"]?["summary"]?.GetValue<string>() == "made while the channel is gone"), TimeSpan.FromSeconds(15), "the event made while the channel was gone reaches the feed");

        // …and do not hide the channel's problem.
        var after = await world.WatchStateAsync(watchId);
        Assert.Equal("failing", after["status"]!.GetValue<string>());
        Assert.Equal(failing["error"]!.GetValue<string>(), after["error"]!.GetValue<string>());
        Assert.True(after["lastSyncAt"]!.GetValue<DateTimeOffset>() > failing["lastSyncAt"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task A_recovered_channel_clears_only_its_own_error()
    {
        await using var proxy = await FaultProxy.StartAsync();
        await using var world = await StartThroughAsync(proxy);
        var store = world.Calhook.Services.GetRequiredService<ICalhookStore>();
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        await world.WaitForStatusAsync(watchId, "active");

        // Both fail: renewals (the channel lapses) and events.list (a forced sync).
        proxy.WatchStatus = 503;
        proxy.ListStatus = 503;
        await world.Api.PostAsync($"v1/watches/{watchId}/sync", null);
        await Polling.EventuallyAsync(async () => await store.GetWatchAsync(watchId, CancellationToken.None) is { ChannelProblem: not null, SyncProblem: not null }, TimeSpan.FromSeconds(15), () => "the channel and the sync never both failed");

        // The channel recovers: its problem goes, the sync's stays and is what the API shows.
        proxy.WatchStatus = null;
        await Polling.EventuallyAsync(async () => await store.GetWatchAsync(watchId, CancellationToken.None) is { ChannelProblem: null }, TimeSpan.FromSeconds(15), "the channel problem clears");
        var watch = await world.WatchStateAsync(watchId);
        var stored = (await store.GetWatchAsync(watchId, CancellationToken.None))!;
        Assert.Equal("failing", watch["status"]!.GetValue<string>());
        Assert.NotNull(stored.SyncProblem);
        Assert.Equal(stored.SyncProblem.Message, watch["error"]!.GetValue<string>());
        Assert.Contains("503", watch["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(watch["channelId"]);

        // Then the sync recovers too.
        proxy.ListStatus = null;
        await world.Api.PostAsync($"v1/watches/{watchId}/sync", null);
        var active = await world.WaitForStatusAsync(watchId, "active");
        Assert.Null(active["error"]);
    }

    [Fact]
    public async Task A_store_failure_while_opening_a_channel_is_recorded_and_retried_until_it_recovers()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var account = await world.ConnectAsync(Alice);
        // The store fails after Google opened the channel (recording Google's answer): the worst moment.
        await ExecuteAsync(world, """
            CREATE TRIGGER injected_failure BEFORE UPDATE OF resource_id ON channels
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END;
            """);

        var watchId = (string)(await world.WatchAsync(account, Alice))["id"]!;
        var failing = await world.WaitForStatusAsync(watchId, "failing");
        Assert.Contains("injected store failure", failing["error"]!.GetValue<string>(), StringComparison.Ordinal);

        await ExecuteAsync(world, "DROP TRIGGER injected_failure;");
        var active = await world.WaitForStatusAsync(watchId, "active");
        Assert.Null(active["error"]);
        // The channels Google opened during the failed attempts were stopped, not leaked.
        var channel = Assert.Single(await world.Control.GetChannelsAsync(Alice));
        Assert.Equal(active["channelId"]!.GetValue<string>(), channel.Id);
    }

    [Fact]
    public async Task A_restore_that_fails_for_one_watch_restores_the_others_and_retries_it()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        await world.Control.SetConfigAsync(maxChannelTtlSeconds: 2);
        // Alice's watch is the first one restored: its failure must not leave Bob's unrestored.
        var aliceWatch = await world.WatchOwnCalendarAsync(Alice);
        var bobWatch = await world.WatchOwnCalendarAsync(Bob);
        await world.WaitForStatusAsync(aliceWatch, "active");
        await world.WaitForStatusAsync(bobWatch, "active");
        await world.Calhook.StopAsync();

        // Every channel lapses while the service is down, so each watch needs a new one at start-up.
        await Polling.EventuallyAsync(async () => (await world.Control.GetChannelsAsync()).Count == 0, TimeSpan.FromSeconds(15), "every channel is stopped");
        await ExecuteAsync(world, $"""
            CREATE TRIGGER injected_failure BEFORE INSERT ON channels WHEN NEW.watch_id = '{aliceWatch}'
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END;
            """);

        await world.Calhook.StartAsync();
        await world.Calhook.Services.GetRequiredService<ChannelSupervisor>().Restored;
        await world.WaitForStatusAsync(bobWatch, "active");
        var failing = await world.WaitForStatusAsync(aliceWatch, "failing");
        Assert.Contains("injected store failure", failing["error"]!.GetValue<string>(), StringComparison.Ordinal);

        await ExecuteAsync(world, "DROP TRIGGER injected_failure;");
        await world.WaitForStatusAsync(aliceWatch, "active");
        Assert.NotEmpty(await world.Control.GetChannelsAsync(Alice));
        Assert.NotEmpty(await world.Control.GetChannelsAsync(Bob));
    }

    [Fact]
    public async Task An_unknown_channel_on_a_calendar_of_another_account_is_stopped_with_that_account()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var aliceWatch = await world.WatchOwnCalendarAsync(Alice);
        var bobWatch = await world.WatchOwnCalendarAsync(Bob);
        await world.WaitForStatusAsync(aliceWatch, "active");
        await world.WaitForStatusAsync(bobWatch, "active");

        // Only Bob can stop a channel Bob opened (the emulator checks, as Google does).
        var (bob, _) = await world.SignInAsync(Bob);
        using var google = bob;
        await EmulatorWorld.OpenChannelAsync(google, Bob, "orphan-of-bob", "orphan-token", new Uri(world.Calhook.BaseAddress, ReceiverEndpoint.Path));

        await Polling.EventuallyAsync(async () => (await world.Control.GetChannelsAsync(Bob)).All(c => c.Id != "orphan-of-bob"), TimeSpan.FromSeconds(15), () => "the orphan on Bob's calendar was never stopped");
        Assert.Single(await world.Control.GetChannelsAsync(Bob));
        Assert.Single(await world.Control.GetChannelsAsync(Alice));
    }

    [Fact]
    public async Task A_flood_of_pings_for_one_unknown_channel_stops_it_once()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        using var pings = new ReceiverCounts(world.Calhook);
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        await world.WaitForStatusAsync(watchId, "active");
        var resourceId = Assert.Single(await world.Control.GetChannelsAsync(Alice)).ResourceId;
        var stopper = world.Calhook.Services.GetRequiredService<UnknownChannelStopper>();

        for (var batch = 0; batch < 10; batch++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => PingAsync(world, "flooded", resourceId, batch * 50 + i + 1)));
            Assert.All(answers, status => Assert.Equal(HttpStatusCode.OK, status));
        }

        // Queued after every flooded ping: once it is handled, so are they.
        Assert.Equal(HttpStatusCode.OK, await PingAsync(world, "sentinel", resourceId, 1));
        await Polling.EventuallyAsync(() => Task.FromResult(stopper.StopCalls >= 2), TimeSpan.FromSeconds(15), "the stopper is called again");
        Assert.Equal(2, stopper.StopCalls);
        Assert.Equal(501, pings.Unknown);
    }

    /// <summary>Calhook calls Google through <paramref name="proxy"/>, once per call, on channels of 2 s.</summary>
    private static async Task<EmulatorWorld> StartThroughAsync(FaultProxy proxy)
    {
        var world = await EmulatorWorld.StartAsync(o => proxy.Between(o.WithQuickRecovery()).Settings["Calhook:Google:MaxRetryAttempts"] = "1");
        await world.Control.SetConfigAsync(maxChannelTtlSeconds: 2);
        return world;
    }

    private static async Task<HttpStatusCode> PingAsync(EmulatorWorld world, string channelId, string resourceId, int number)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ReceiverEndpoint.Path);
        request.Headers.Authorization = null;
        request.Headers.Add("X-Goog-Channel-ID", channelId);
        request.Headers.Add("X-Goog-Channel-Token", "not-ours");
        request.Headers.Add("X-Goog-Resource-ID", resourceId);
        request.Headers.Add("X-Goog-Resource-State", "exists");
        request.Headers.Add("X-Goog-Message-Number", number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await world.Api.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Runs SQL on the service's own store file: a real SQLite failure (a trigger) in the real store.</summary>
    private static async Task ExecuteAsync(EmulatorWorld world, string sql)
    {
        var path = Path.Combine(world.Calhook.DataDirectory, StorageSetup.SqliteFileName);
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
