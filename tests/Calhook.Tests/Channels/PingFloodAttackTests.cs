using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Calhook.Channels;
using Calhook.Receiving;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Calhook.Tests.Channels;

/// <summary>
/// Pings for channels nobody knows are unverified input: however many arrive, renewals and opens run on time, the
/// stops they cause are deduplicated and rate-limited with bounded memory, and a watch without an open channel does
/// not say <c>active</c>. The flood test prints its figures (run with <c>--logger "console;verbosity=detailed"</c>).
/// </summary>
public sealed class PingFloodAttackTests(ITestOutputHelper output)
{
    private const string Alice = "alice@example.com";

    [Fact]
    public async Task A_flood_of_unknown_channel_pings_does_not_delay_a_renewal()
    {
        // 12-second channels renew about 2.4-3.6 s before they expire (a fifth of their life, plus up to a tenth).
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        await world.Control.SetConfigAsync(maxChannelTtlSeconds: 12);
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        var active = await world.WaitForStatusAsync(watchId, "active");
        var first = active["channelId"]!.GetValue<string>();
        var expiresAt = active["channelExpiresAt"]!.GetValue<DateTimeOffset>();
        // The real resource id: each forged channel id is one that Calhook could try to stop with Google.
        var resourceId = (await world.Control.GetChannelsAsync(Alice)).First().ResourceId;

        using var flooding = new CancellationTokenSource();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = world.Calhook.BaseAddress };
        long sent = 0;
        var clock = Stopwatch.StartNew();
        var flood = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !flooding.IsCancellationRequested; i++)
            {
                using var ping = new HttpRequestMessage(HttpMethod.Post, ReceiverEndpoint.Path);
                ping.Headers.Add("X-Goog-Channel-ID", $"forged-{worker}-{i}");
                ping.Headers.Add("X-Goog-Channel-Token", "forged");
                ping.Headers.Add("X-Goog-Resource-ID", resourceId);
                ping.Headers.Add("X-Goog-Resource-State", "exists");
                ping.Headers.Add("X-Goog-Message-Number", "1");
                try
                {
                    using var answer = await http.SendAsync(ping, flooding.Token);
                    Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                    Interlocked.Increment(ref sent);
                }
                catch (OperationCanceledException) when (flooding.IsCancellationRequested)
                {
                }
            }
        })).ToList();

        // Watch the watch through the flood until its channel is replaced (3 s after the old one expired at the latest).
        DateTimeOffset? renewedAt = null;
        var sawActiveWithoutChannel = false;
        double floodSeconds;
        try
        {
            await Polling.EventuallyAsync(
                async () =>
                {
                    var watch = await world.WatchStateAsync(watchId);
                    var now = TimeProvider.System.GetUtcNow();
                    if (watch["channelId"]?.GetValue<string>() is { } channel && channel != first)
                    {
                        renewedAt = now;
                        return true;
                    }

                    sawActiveWithoutChannel |= now > expiresAt && watch["status"]!.GetValue<string>() == "active";
                    return false;
                },
                expiresAt + TimeSpan.FromSeconds(3) - TimeProvider.System.GetUtcNow(),
                "the channel is renewed during the flood");
        }
        finally
        {
            floodSeconds = clock.Elapsed.TotalSeconds;
            await flooding.CancelAsync();
            await Task.WhenAll(flood);
        }

        var stopper = world.Calhook.Services.GetRequiredService<UnknownChannelStopper>();
        var stopCalls = stopper.StopCalls;

        output.WriteLine($"flood: {Interlocked.Read(ref sent)} unknown-channel pings in {floodSeconds:0.0} s ({Interlocked.Read(ref sent) / floodSeconds:0} pings/s)");
        output.WriteLine(renewedAt is { } at
            ? $"renewal: seen {(expiresAt - at).TotalSeconds:0.00} s before the old channel expired (due 2.4-3.6 s before)"
            : $"renewal: none by {3:0} s after the old channel expired");
        output.WriteLine($"stops sent to Google: {stopCalls}; recent ids held: {stopper.RecentCount}");

        Assert.True(renewedAt < expiresAt, "the renewal ran before the old channel expired, flood or not");
        Assert.False(sawActiveWithoutChannel, "the watch said 'active' after its channel expired");
        // Rate-limited: at most the configured stops per second, plus one burst.
        var allowed = (floodSeconds + 1) * new ChannelOptions().UnknownChannelStopsPerSecond + 1;
        Assert.True(stopCalls <= allowed, $"{stopCalls} stops in {floodSeconds:0.0} s exceed the rate limit ({allowed:0})");
        Assert.True(stopper.RecentCount <= UnknownChannelStopper.RecentCapacity, "the recent-ids set stays within its capacity");
    }

    [Fact]
    public async Task A_watch_whose_channel_expired_while_google_hangs_is_not_reported_active()
    {
        await using var proxy = await FaultProxy.StartAsync();
        await using var world = await EmulatorWorld.StartAsync(o => proxy.Between(o.WithQuickRecovery()));
        await world.Control.SetConfigAsync(maxChannelTtlSeconds: 4);
        var watchId = await world.WatchOwnCalendarAsync(Alice);
        var active = await world.WaitForStatusAsync(watchId, "active");
        var expiresAt = active["channelExpiresAt"]!.GetValue<DateTimeOffset>();

        // From now on the renewal's watch call hangs, and the channel's short life runs out meanwhile.
        proxy.HoldWatch = true;
        var expired = await Polling.EventuallyAsync(() => world.WatchStateAsync(watchId),
            watch => TimeProvider.System.GetUtcNow() > expiresAt && watch["status"]!.GetValue<string>() != "active",
            TimeSpan.FromSeconds(20), "the watch stops saying 'active' once its channel expired");

        Assert.True(proxy.HeldWatchCalls > 0, "the renewal was waiting for Google");
        Assert.Equal("failing", expired["status"]!.GetValue<string>());
        Assert.Contains("expired", expired["error"]!.GetValue<string>(), StringComparison.Ordinal);

        proxy.HoldWatch = false;
        var renewed = await world.WaitForStatusAsync(watchId, "active");
        Assert.NotEqual(active["channelId"]!.GetValue<string>(), renewed["channelId"]!.GetValue<string>());
    }
}
