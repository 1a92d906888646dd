using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Channels;
using Calhook.Receiving;
using Calhook.Storage;
using Calhook.TestKit;
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
        await using var emulator = await EmulatorClient.StartAsync(maxChannelTtlSeconds: 2);
        await using var proxy = await FaultProxy.StartAsync(emulator.BaseAddress);
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data, settings: Through(proxy));
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(watchId, "active");

        proxy.WatchStatus = 404;
        // On a slow machine the 2-second channel may expire before the renewal's 404 arrives (shown as failing too).
        var failing = await Polling.EventuallyAsync(() => host.GetWatchAsync(watchId),
            w => w["status"]!.GetValue<string>() == "failing" && w["error"]!.GetValue<string>().Contains("not found", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the renewal's 404 shows on the watch");

        // Syncs still work: a forced sync finds a new event…
        var access = (await emulator.Control.CreateTokensAsync(Alice)).AccessToken;
        await emulator.CreateEventAsync(access, Alice, "made while the channel is gone");
        Assert.Equal(HttpStatusCode.Accepted, (await host.Client.PostAsync($"v1/watches/{watchId}/sync", null)).StatusCode);
        await Polling.EventuallyAsync(async () => (await ChangesAsync(host)).Any(c => c["event"]?["summary"]?.GetValue<string>() == "made while the channel is gone"), TimeSpan.FromSeconds(15), "the event made while the channel was gone reaches the feed");

        // …and do not hide the channel's problem.
        var after = await host.GetWatchAsync(watchId);
        Assert.Equal("failing", after["status"]!.GetValue<string>());
        Assert.Equal(failing["error"]!.GetValue<string>(), after["error"]!.GetValue<string>());
        Assert.True(after["lastSyncAt"]!.GetValue<DateTimeOffset>() > failing["lastSyncAt"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task A_recovered_channel_clears_only_its_own_error()
    {
        await using var emulator = await EmulatorClient.StartAsync(maxChannelTtlSeconds: 2);
        await using var proxy = await FaultProxy.StartAsync(emulator.BaseAddress);
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data, settings: Through(proxy));
        var store = host.Services.GetRequiredService<ICalhookStore>();
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(watchId, "active");

        // Both fail: renewals (the channel lapses) and events.list (a forced sync).
        proxy.WatchStatus = 503;
        proxy.ListStatus = 503;
        await host.Client.PostAsync($"v1/watches/{watchId}/sync", null);
        await Polling.EventuallyAsync(async () => await store.GetWatchAsync(watchId, CancellationToken.None) is { ChannelProblem: not null, SyncProblem: not null }, TimeSpan.FromSeconds(15), () => "the channel and the sync never both failed");

        // The channel recovers: its problem goes, the sync's stays and is what the API shows.
        proxy.WatchStatus = null;
        await Polling.EventuallyAsync(async () => await store.GetWatchAsync(watchId, CancellationToken.None) is { ChannelProblem: null }, TimeSpan.FromSeconds(15), "the channel problem clears");
        var watch = await host.GetWatchAsync(watchId);
        var stored = (await store.GetWatchAsync(watchId, CancellationToken.None))!;
        Assert.Equal("failing", watch["status"]!.GetValue<string>());
        Assert.NotNull(stored.SyncProblem);
        Assert.Equal(stored.SyncProblem.Message, watch["error"]!.GetValue<string>());
        Assert.Contains("503", watch["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(watch["channelId"]);

        // Then the sync recovers too.
        proxy.ListStatus = null;
        await host.Client.PostAsync($"v1/watches/{watchId}/sync", null);
        var active = await host.WaitForStatusAsync(watchId, "active");
        Assert.Null(active["error"]);
    }

    [Fact]
    public async Task A_store_failure_while_opening_a_channel_is_recorded_and_retried_until_it_recovers()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        // The store fails after Google opened the channel (recording Google's answer): the worst moment.
        await ExecuteAsync(data, """
            CREATE TRIGGER injected_failure BEFORE UPDATE OF resource_id ON channels
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END;
            """);

        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        var failing = await host.WaitForStatusAsync(watchId, "failing");
        Assert.Contains("injected store failure", failing["error"]!.GetValue<string>(), StringComparison.Ordinal);

        await ExecuteAsync(data, "DROP TRIGGER injected_failure;");
        var active = await host.WaitForStatusAsync(watchId, "active");
        Assert.Null(active["error"]);
        // The channels Google opened during the failed attempts were stopped, not leaked.
        var channel = Assert.Single(await emulator.Control.GetChannelsAsync(Alice));
        Assert.Equal(active["channelId"]!.GetValue<string>(), channel.Id);
    }

    [Fact]
    public async Task A_restore_that_fails_for_one_watch_restores_the_others_and_retries_it()
    {
        await using var emulator = await EmulatorClient.StartAsync(maxChannelTtlSeconds: 2);
        using var data = new TestDirectory();
        string aliceWatch, bobWatch;
        int port;
        await using (var first = await CoreHost.StartAsync(emulator.BaseAddress, data))
        {
            // Alice's watch is the first one restored: its failure must not leave Bob's unrestored.
            aliceWatch = (await first.WatchAsync(await first.AddOAuthAccountAsync(emulator, Alice), Alice))["id"]!.GetValue<string>();
            bobWatch = (await first.WatchAsync(await first.AddOAuthAccountAsync(emulator, Bob), Bob))["id"]!.GetValue<string>();
            await first.WaitForStatusAsync(aliceWatch, "active");
            await first.WaitForStatusAsync(bobWatch, "active");
            port = first.Port;
        }

        // Every channel lapses while the service is down, so each watch needs a new one at start-up.
        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync()).Count == 0, TimeSpan.FromSeconds(15), "every channel is stopped");
        await ExecuteAsync(data, $"""
            CREATE TRIGGER injected_failure BEFORE INSERT ON channels WHEN NEW.watch_id = '{aliceWatch}'
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END;
            """);

        await using var second = await CoreHost.StartAsync(emulator.BaseAddress, data, port);
        await second.Services.GetRequiredService<ChannelSupervisor>().Restored;
        await second.WaitForStatusAsync(bobWatch, "active");
        var failing = await second.WaitForStatusAsync(aliceWatch, "failing");
        Assert.Contains("injected store failure", failing["error"]!.GetValue<string>(), StringComparison.Ordinal);

        await ExecuteAsync(data, "DROP TRIGGER injected_failure;");
        await second.WaitForStatusAsync(aliceWatch, "active");
        Assert.NotEmpty(await emulator.Control.GetChannelsAsync(Alice));
        Assert.NotEmpty(await emulator.Control.GetChannelsAsync(Bob));
    }

    [Fact]
    public async Task An_unknown_channel_on_a_calendar_of_another_account_is_stopped_with_that_account()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var aliceWatch = (await host.WatchAsync(await host.AddOAuthAccountAsync(emulator, Alice), Alice))["id"]!.GetValue<string>();
        var bobWatch = (await host.WatchAsync(await host.AddOAuthAccountAsync(emulator, Bob), Bob))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(aliceWatch, "active");
        await host.WaitForStatusAsync(bobWatch, "active");

        // Only Bob can stop a channel Bob opened (the emulator checks, as Google does).
        var bobAccess = (await emulator.Control.CreateTokensAsync(Bob)).AccessToken;
        await emulator.WatchDirectlyAsync(bobAccess, Bob, "orphan-of-bob", "orphan-token", new Uri(host.BaseAddress, ReceiverEndpoint.Path).ToString());

        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync(Bob)).All(c => c.Id != "orphan-of-bob"), TimeSpan.FromSeconds(15), () => "the orphan on Bob's calendar was never stopped");
        Assert.Single(await emulator.Control.GetChannelsAsync(Bob));
        Assert.Single(await emulator.Control.GetChannelsAsync(Alice));
    }

    [Fact]
    public async Task A_flood_of_pings_for_one_unknown_channel_stops_it_once()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var watchId = (await host.WatchAsync(await host.AddOAuthAccountAsync(emulator, Alice), Alice))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(watchId, "active");
        var resourceId = Assert.Single(await emulator.Control.GetChannelsAsync(Alice)).ResourceId;
        var stopper = host.Services.GetRequiredService<UnknownChannelStopper>();

        for (var batch = 0; batch < 10; batch++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => PingAsync(host, "flooded", resourceId, batch * 50 + i + 1)));
            Assert.All(answers, status => Assert.Equal(HttpStatusCode.OK, status));
        }

        // Queued after every flooded ping: once it is handled, so are they.
        Assert.Equal(HttpStatusCode.OK, await PingAsync(host, "sentinel", resourceId, 1));
        await Polling.EventuallyAsync(() => Task.FromResult(stopper.StopCalls >= 2), TimeSpan.FromSeconds(15), "the stopper is called again");
        Assert.Equal(2, stopper.StopCalls);
        Assert.Equal(501, host.Unknown);
    }

    private static Dictionary<string, string?> Through(FaultProxy proxy) => new()
    {
        ["Calhook:Google:BaseUrl"] = proxy.BaseAddress.ToString(),
        ["Calhook:Google:MaxRetryAttempts"] = "1",
    };

    private static async Task<List<JsonObject>> ChangesAsync(CoreHost host)
    {
        var body = (await host.Client.GetFromJsonAsync<JsonObject>("v1/changes?after=0&limit=1000"))!;
        return body["changes"]!.AsArray().Select(c => c!.AsObject()).ToList();
    }

    private static async Task<HttpStatusCode> PingAsync(CoreHost host, string channelId, string resourceId, int number)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ReceiverEndpoint.Path);
        request.Headers.Authorization = null;
        request.Headers.Add("X-Goog-Channel-ID", channelId);
        request.Headers.Add("X-Goog-Channel-Token", "not-ours");
        request.Headers.Add("X-Goog-Resource-ID", resourceId);
        request.Headers.Add("X-Goog-Resource-State", "exists");
        request.Headers.Add("X-Goog-Message-Number", number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await host.Client.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Runs SQL on the service's own store file: a real SQLite failure (a trigger) in the real store.</summary>
    private static async Task ExecuteAsync(TestDirectory data, string sql)
    {
        var path = Path.Combine(data.Path, StorageSetup.SqliteFileName);
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
