using System.Net;
using System.Text;
using Calhook.Channels;
using Calhook.TestKit;
using Calhook.Tests.Receiving;
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
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var account = await world.ConnectAsync(Alice);

        var created = await world.WatchAsync(account, Alice);
        Assert.Equal("starting", created["status"]!.GetValue<string>());
        var watchId = created["id"]!.GetValue<string>();
        var active = await world.WaitForStatusAsync(watchId, "active");

        var channels = await world.Control.GetChannelsAsync(Alice);
        var channel = Assert.Single(channels);
        Assert.Equal(active["channelId"]!.GetValue<string>(), channel.Id);
        Assert.Equal(new Uri(world.Calhook.BaseAddress, "google/notifications"), channel.Address);
        var token = channel.Token!;
        Assert.True(token.Length >= 43, "a token of at least 32 random bytes");
        Assert.True(ChannelsOf(world).TryGet(channel.Id, out var known));
        Assert.Equal(Encoding.UTF8.GetBytes(token), known.Token);
        Assert.NotNull(active["channelExpiresAt"]);

        // The token is stored encrypted, never in the clear.
        foreach (var file in Directory.GetFiles(world.Calhook.DataDirectory, "calhook.db*"))
        {
            Assert.DoesNotContain(token, await ReadSharedAsync(file));
        }
    }

    [Fact]
    public async Task Short_lived_channels_are_renewed_before_expiry_without_a_gap_or_a_leftover()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        await world.Control.SetConfigAsync(maxChannelTtlSeconds: 3);
        using var pings = new ReceiverCounts(world.Calhook);
        var (alice, _) = await world.SignInAsync(Alice);
        using var google = alice;
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        await world.WaitForStatusAsync(watchId, "active");

        // Change the calendar, one change at a time, until two renewals were seen; a channel must always be open.
        // Each round waits for its change to reach the feed, so the rounds run at the service's pace. A round that
        // fails ends the rounds (the polling would otherwise retry it) and fails the test below.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var failures = new List<string>();
        var mutations = 0;
        await Polling.EventuallyAsync(async () =>
        {
            try
            {
                var open = await world.Control.GetChannelsAsync(Alice);
                Assert.NotEmpty(open);
                Assert.True(open.Count <= 2, $"at most the old and the new channel overlap, saw {open.Count}");
                seen.UnionWith(open.Select(c => c.Id));
                await EmulatorWorld.InsertEventAsync(google, Alice, $"event {++mutations}");
                await Polling.EventuallyAsync(async () => (await world.FeedAsync()).Count == mutations, TimeSpan.FromSeconds(15), "the feed holds one change per mutation");
                return seen.Count >= 3;
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                failures.Add(failure.ToString());
                return true;
            }
        }, TimeSpan.FromSeconds(60), () => $"expected at least two renewals, saw channels {string.Join(", ", seen)}");

        Assert.Empty(failures);
        // Every change was announced on some open channel (duplicates during overlaps are fine), and no ping on a
        // replaced channel was turned away as unknown: the old channel stays accepted for the renewal overlap.
        await Polling.EventuallyAsync(() => Task.FromResult(pings.AcceptedExists >= mutations), TimeSpan.FromSeconds(15), () => $"{pings.AcceptedExists} pings for {mutations} changes");
        Assert.Equal(0, pings.Refused);
        Assert.Equal(0, pings.Unknown);
        // No notification lost: every mutation reached the feed.
        await Polling.EventuallyAsync(async () => (await world.FeedAsync()).Count == mutations, TimeSpan.FromSeconds(15), "the feed holds one change per mutation");
        // The channels keep renewing every few seconds, so the one open channel and the watch's channel are read
        // together: between two separate reads the next renewal can open its overlapping channel.
        await Polling.EventuallyAsync(async () =>
        {
            var open = await world.Control.GetChannelsAsync(Alice);
            var watch = await world.WatchStateAsync(watchId);
            return open.Count == 1 && (string?)watch["status"] == "active" && (string?)watch["channelId"] == open[0].Id;
        }, TimeSpan.FromSeconds(15), "alice has exactly one open channel, the active watch's");
    }

    [Fact]
    public async Task A_seven_day_channel_is_renewed_inside_its_renewal_window_on_the_service_clock()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery().ConfigureServices = services => services.AddSingleton<TimeProvider>(time));
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        var first = (await world.WaitForStatusAsync(watchId, "active"))["channelId"]!.GetValue<string>();

        // Default policy: renew one day before expiry, up to six hours earlier (jitter). Not before that window…
        time.Advance(TimeSpan.FromDays(5) + TimeSpan.FromHours(17));
        await Polling.EventuallyAsync(async () => (await world.Control.GetChannelsAsync(Alice)).Count >= 1, TimeSpan.FromSeconds(15), "alice has an open channel");
        Assert.Equal(first, Assert.Single(await world.Control.GetChannelsAsync(Alice)).Id);

        // …and within it: a new channel (new id); the old one stays open and accepted for the overlap…
        time.Advance(TimeSpan.FromHours(7) + TimeSpan.FromSeconds(1));
        await Polling.EventuallyAsync(async () => (await world.WatchStateAsync(watchId))["channelId"]!.GetValue<string>() != first, TimeSpan.FromSeconds(15), "the watch moves to a new channel");
        var renewed = (await world.WatchStateAsync(watchId))["channelId"]!.GetValue<string>();
        var open = (await world.Control.GetChannelsAsync(Alice)).Select(c => c.Id).ToHashSet();
        Assert.Equal(new HashSet<string> { first, renewed }, open);
        Assert.True(ChannelsOf(world).TryGet(first, out _), "the old channel is still accepted during the overlap");

        // …and is stopped once the default 30 s overlap is over.
        time.Advance(TimeSpan.FromSeconds(30));
        await Polling.EventuallyAsync(async () => (await world.Control.GetChannelsAsync(Alice)) is [var only] && only.Id == renewed, TimeSpan.FromSeconds(15), "only the renewed channel stays open");
        Assert.False(ChannelsOf(world).TryGet(first, out _));
    }

    [Fact]
    public async Task A_restarted_service_keeps_exactly_one_channel_per_watch()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        var channelId = (await world.WaitForStatusAsync(watchId, "active"))["channelId"]!.GetValue<string>();

        // The same port and data directory: the address the open channel points at.
        await world.Calhook.StopAsync();
        await world.Calhook.StartAsync();
        using var pings = new ReceiverCounts(world.Calhook);
        await world.Calhook.Services.GetRequiredService<ChannelSupervisor>().Restored;
        var watch = await world.WaitForStatusAsync(watchId, "active");
        var channel = Assert.Single(await world.Control.GetChannelsAsync(Alice));
        Assert.Equal(channelId, channel.Id);
        Assert.Equal(channelId, watch["channelId"]!.GetValue<string>());

        // Its pings are still recognised after the restart.
        var (alice, _) = await world.SignInAsync(Alice);
        using var google = alice;
        await EmulatorWorld.InsertEventAsync(google, Alice, "after restart");
        await Polling.EventuallyAsync(() => Task.FromResult(pings.AcceptedExists >= 1), TimeSpan.FromSeconds(15), "the restarted host accepts a ping");
    }

    [Fact]
    public async Task A_channel_that_expired_while_the_service_was_down_is_replaced_at_start_up()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        await world.Control.SetConfigAsync(maxChannelTtlSeconds: 2);
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        var channelId = (await world.WaitForStatusAsync(watchId, "active"))["channelId"]!.GetValue<string>();

        await world.Calhook.StopAsync();
        await Polling.EventuallyAsync(async () => (await world.Control.GetChannelsAsync(Alice)).Count == 0, TimeSpan.FromSeconds(15), "alice's channels are all stopped");

        await world.Calhook.StartAsync();
        await world.Calhook.Services.GetRequiredService<ChannelSupervisor>().Restored;
        await world.WaitForStatusAsync(watchId, "active");
        // Channels of 2 s are renewed all the time: compare the emulator's one open channel and the watch's at one moment.
        await Polling.EventuallyAsync(async () => await world.Control.GetChannelsAsync(Alice) is [var open]
            && open.Id != channelId && open.Id == (await world.WatchStateAsync(watchId))["channelId"]?.GetValue<string>(), TimeSpan.FromSeconds(15), "the one open channel is the restarted host's new one");
        Assert.False(ChannelsOf(world).TryGet(channelId, out _));
    }

    [Fact]
    public async Task Unwatch_stops_the_channel()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        await world.WaitForStatusAsync(watchId, "active");

        var response = await world.Api.DeleteAsync($"v1/watches/{watchId}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await Polling.EventuallyAsync(async () => (await world.Control.GetChannelsAsync(Alice)).Count == 0, TimeSpan.FromSeconds(15), "alice's channels are all stopped");
        var watch = await world.WatchStateAsync(watchId);
        Assert.Equal("stopped", watch["status"]!.GetValue<string>());
        Assert.Null(watch["channelId"]);
        // The account's last watch is gone, so its calendar list is no longer watched either.
        await Polling.EventuallyAsync(async () => ChannelsOf(world).Count == 0 && (await world.Control.GetChannelsAsync()).Count == 0, TimeSpan.FromSeconds(15), "no channel is left, in Calhook or in the emulator");
        Assert.Equal(HttpStatusCode.NotFound, (await world.Api.DeleteAsync("v1/watches/wch_nope")).StatusCode);
    }

    private static ChannelMap ChannelsOf(EmulatorWorld world) => world.Calhook.Services.GetRequiredService<ChannelMap>();

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.Latin1);
        return await reader.ReadToEndAsync();
    }
}
