using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Receiving;
using Calhook.TestKit;

namespace Calhook.Tests.Sync;

public sealed class EndToEndPingBurstTests
{
    [Fact]
    public async Task A_burst_of_100_pings_during_a_slow_sync_costs_at_most_two_events_list_runs()
    {
        var gate = new ListGate();
        await using var world = await SyncWorld.StartAsync(configureServices: gate.Install);
        var channel = await Polling.EventuallyAsync(
            // The calendar's channel (the account's calendar-list channel is open too).
            async () => (await world.Control.GetChannelsAsync(SyncWorld.Alice)).FirstOrDefault(),
            c => c is not null, TimeSpan.FromSeconds(10), "the watch has an open channel");

        // Google is slow from now on: the sync this mutation's ping starts waits at the gate.
        gate.Close();
        var before = gate.Calls;
        await world.InsertAsync(new { summary = "Burst", start = new { date = "2026-12-01" }, end = new { date = "2026-12-02" } });
        await gate.Arrived.WaitAsync(TimeSpan.FromSeconds(10));

        using var receiver = new HttpClient { BaseAddress = world.Calhook.BaseAddress };
        for (var i = 0; i < 100; i++)
        {
            using var ping = new HttpRequestMessage(HttpMethod.Post, ReceiverEndpoint.Path);
            ping.Headers.Add("X-Goog-Channel-ID", channel!.Id);
            ping.Headers.Add("X-Goog-Channel-Token", channel!.Token);
            ping.Headers.Add("X-Goog-Resource-ID", channel!.ResourceId);
            ping.Headers.Add("X-Goog-Resource-State", "exists");
            ping.Headers.Add("X-Goog-Message-Number", (1000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(HttpStatusCode.OK, (await receiver.SendAsync(ping)).StatusCode);
        }

        gate.Open();
        var feed = await world.FeedWithAsync(1, "the burst's change is in the feed");
        await Polling.EventuallyAsync(() => Task.FromResult(gate.Completed - before >= 2), TimeSpan.FromSeconds(10), "the one follow-up sync ran");

        // A forced sync after the burst is the third and last run: the 100 pings folded into one follow-up.
        await world.ForceSyncAsync();
        await Polling.EventuallyAsync(() => Task.FromResult(gate.Completed - before >= 3), TimeSpan.FromSeconds(10), "the forced sync ran");
        Assert.Equal(3, gate.Calls - before);
        Assert.Single(await world.FeedAsync());
        Assert.Equal("Burst", (string)feed[0]["event"]!["summary"]!);
    }
}
