using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Channels;

/// <summary>Watches against the emulator over loopback: one channel per watch, renewed, restored, stopped.</summary>
public sealed class WatchChannelTests
{
    private const string Alice = "alice@example.com";

    [Fact]
    public async Task Watch_opens_exactly_one_channel_with_the_public_address_and_a_fresh_token()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);

        var created = await host.WatchAsync(account, Alice);
        Assert.Equal("starting", created["status"]!.GetValue<string>());
        var watchId = created["id"]!.GetValue<string>();
        var active = await host.WaitForStatusAsync(watchId, "active");

        var channels = await emulator.Control.GetChannelsAsync(Alice);
        var channel = Assert.Single(channels);
        Assert.Equal(active["channelId"]!.GetValue<string>(), channel.Id);
        Assert.Equal(new Uri(host.BaseAddress, "google/notifications"), channel.Address);
        var token = channel.Token!;
        Assert.True(token.Length >= 43, "a token of at least 32 random bytes");
        Assert.True(host.Channels.TryGet(channel.Id, out var known));
        Assert.Equal(Encoding.UTF8.GetBytes(token), known.Token);
        Assert.NotNull(active["channelExpiresAt"]);

        // The token is stored encrypted, never in the clear.
        foreach (var file in Directory.GetFiles(data.Path, "calhook.db*"))
        {
            Assert.DoesNotContain(token, await ReadSharedAsync(file));
        }
    }

    [Fact]
    public async Task Short_lived_channels_are_renewed_before_expiry_without_a_gap_or_a_leftover()
    {
        await using var emulator = await EmulatorClient.StartAsync(maxChannelTtlSeconds: 3);
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var access = (await emulator.Control.CreateTokensAsync(Alice)).AccessToken;
        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(watchId, "active");

        // Change the calendar, one change at a time, until two renewals were seen; a channel must always be open.
        // Each round waits for its change to reach the feed, so the loop runs at the service's pace, not a timer's.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var mutations = 0;
        var deadline = TimeProvider.System.GetTimestamp() + 60 * TimeProvider.System.TimestampFrequency;
        while (seen.Count < 3 && TimeProvider.System.GetTimestamp() < deadline)
        {
            var open = await emulator.Control.GetChannelsAsync(Alice);
            Assert.NotEmpty(open);
            Assert.True(open.Count <= 2, $"at most the old and the new channel overlap, saw {open.Count}");
            seen.UnionWith(open.Select(c => c.Id));
            await emulator.CreateEventAsync(access, Alice, $"event {mutations++}");
            await Polling.EventuallyAsync(async () =>
                (await host.Client.GetFromJsonAsync<JsonObject>("v1/changes?after=0&limit=1000"))!["changes"]!.AsArray().Count == mutations, TimeSpan.FromSeconds(15), "the feed holds one change per mutation");
        }

        Assert.True(seen.Count >= 3, $"expected at least two renewals, saw channels {string.Join(", ", seen)}");
        // Every change was announced on some open channel (duplicates during overlaps are fine), and no ping on a
        // replaced channel was turned away as unknown: the old channel stays accepted for the renewal overlap.
        await Polling.EventuallyAsync(() => Task.FromResult(host.AcceptedExists >= mutations), TimeSpan.FromSeconds(15), () => $"{host.AcceptedExists} pings for {mutations} changes");
        Assert.Equal(0, host.Refused);
        Assert.Equal(0, host.Unknown);
        // No notification lost: every mutation reached the feed.
        await Polling.EventuallyAsync(async () =>
            (await host.Client.GetFromJsonAsync<JsonObject>("v1/changes?after=0&limit=1000"))!["changes"]!.AsArray().Count == mutations, TimeSpan.FromSeconds(15), "the feed holds one change per mutation");
        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync(Alice)).Count == 1, TimeSpan.FromSeconds(15), "alice has exactly one open channel");
        var watch = await host.GetWatchAsync(watchId);
        Assert.Equal("active", watch["status"]!.GetValue<string>());
        Assert.Equal(watch["channelId"]!.GetValue<string>(), Assert.Single(await emulator.Control.GetChannelsAsync(Alice)).Id);
    }

    [Fact]
    public async Task A_seven_day_channel_is_renewed_inside_its_renewal_window_on_the_service_clock()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data, time: time);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        var first = (await host.WaitForStatusAsync(watchId, "active"))["channelId"]!.GetValue<string>();

        // Default policy: renew one day before expiry, up to six hours earlier (jitter). Not before that window…
        time.Advance(TimeSpan.FromDays(5) + TimeSpan.FromHours(17));
        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync(Alice)).Count >= 1, TimeSpan.FromSeconds(15), "alice has an open channel");
        Assert.Equal(first, Assert.Single(await emulator.Control.GetChannelsAsync(Alice)).Id);

        // …and within it: a new channel (new id); the old one stays open and accepted for the overlap…
        time.Advance(TimeSpan.FromHours(7) + TimeSpan.FromSeconds(1));
        await Polling.EventuallyAsync(async () => (await host.GetWatchAsync(watchId))["channelId"]!.GetValue<string>() != first, TimeSpan.FromSeconds(15), "the watch moves to a new channel");
        var renewed = (await host.GetWatchAsync(watchId))["channelId"]!.GetValue<string>();
        var open = (await emulator.Control.GetChannelsAsync(Alice)).Select(c => c.Id).ToHashSet();
        Assert.Equal(new HashSet<string> { first, renewed }, open);
        Assert.True(host.Channels.TryGet(first, out _), "the old channel is still accepted during the overlap");

        // …and is stopped once the default 30 s overlap is over.
        time.Advance(TimeSpan.FromSeconds(30));
        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync(Alice)) is [var only] && only.Id == renewed, TimeSpan.FromSeconds(15), "only the renewed channel stays open");
        Assert.False(host.Channels.TryGet(first, out _));
    }

    [Fact]
    public async Task A_restarted_service_keeps_exactly_one_channel_per_watch()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        string watchId, channelId;
        int port;
        await using (var first = await CoreHost.StartAsync(emulator.BaseAddress, data))
        {
            var account = await first.AddOAuthAccountAsync(emulator, Alice);
            watchId = (await first.WatchAsync(account, Alice))["id"]!.GetValue<string>();
            channelId = (await first.WaitForStatusAsync(watchId, "active"))["channelId"]!.GetValue<string>();
            port = first.Port;
        }

        await using var second = await CoreHost.StartAsync(emulator.BaseAddress, data, port);
        await second.Services.GetService<Calhook.Channels.ChannelSupervisor>()!.Restored;
        var watch = await second.WaitForStatusAsync(watchId, "active");
        var channel = Assert.Single(await emulator.Control.GetChannelsAsync(Alice));
        Assert.Equal(channelId, channel.Id);
        Assert.Equal(channelId, watch["channelId"]!.GetValue<string>());

        // Its pings are still recognised after the restart.
        var access = (await emulator.Control.CreateTokensAsync(Alice)).AccessToken;
        await emulator.CreateEventAsync(access, Alice, "after restart");
        await Polling.EventuallyAsync(() => Task.FromResult(second.AcceptedExists >= 1), TimeSpan.FromSeconds(15), "the second host accepts a ping");
    }

    [Fact]
    public async Task A_channel_that_expired_while_the_service_was_down_is_replaced_at_start_up()
    {
        await using var emulator = await EmulatorClient.StartAsync(maxChannelTtlSeconds: 2);
        using var data = new TestDirectory();
        string watchId, channelId;
        int port;
        await using (var first = await CoreHost.StartAsync(emulator.BaseAddress, data))
        {
            var account = await first.AddOAuthAccountAsync(emulator, Alice);
            watchId = (await first.WatchAsync(account, Alice))["id"]!.GetValue<string>();
            channelId = (await first.WaitForStatusAsync(watchId, "active"))["channelId"]!.GetValue<string>();
            port = first.Port;
        }

        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync(Alice)).Count == 0, TimeSpan.FromSeconds(15), "alice's channels are all stopped");

        await using var second = await CoreHost.StartAsync(emulator.BaseAddress, data, port);
        await second.Services.GetService<Calhook.Channels.ChannelSupervisor>()!.Restored;
        await second.WaitForStatusAsync(watchId, "active");
        // Channels of 2 s are renewed all the time: compare the emulator's one open channel and the watch's at one moment.
        await Polling.EventuallyAsync(async () => await emulator.Control.GetChannelsAsync(Alice) is [var open]
            && open.Id != channelId && open.Id == (await second.GetWatchAsync(watchId))["channelId"]?.GetValue<string>(), TimeSpan.FromSeconds(15), "the one open channel is the second host's new one");
        Assert.False(second.Channels.TryGet(channelId, out _));
    }

    [Fact]
    public async Task Unwatch_stops_the_channel()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(watchId, "active");

        var response = await host.Client.DeleteAsync($"v1/watches/{watchId}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync(Alice)).Count == 0, TimeSpan.FromSeconds(15), "alice's channels are all stopped");
        var watch = await host.GetWatchAsync(watchId);
        Assert.Equal("stopped", watch["status"]!.GetValue<string>());
        Assert.Null(watch["channelId"]);
        // The account's last watch is gone, so its calendar list is no longer watched either.
        await Polling.EventuallyAsync(async () => host.Channels.Count == 0 && (await emulator.Control.GetChannelsAsync()).Count == 0, TimeSpan.FromSeconds(15), "no channel is left, in Calhook or in the emulator");
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.DeleteAsync("v1/watches/wch_nope")).StatusCode);
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.Latin1);
        return await reader.ReadToEndAsync();
    }
}
