using System.Text.Json.Nodes;
using Calhook.Emulator.Faults;
using Calhook.TestKit;

namespace Calhook.Tests.Sync;

/// <summary>Mutations in the emulator → pushes → syncs → the feed, all over loopback, checked against the ground truth.</summary>
public sealed class EndToEndSyncTests
{
    private static object Timed(string summary, int hour) => new
    {
        summary,
        start = new { dateTime = $"2026-12-01T{hour:00}:00:00+01:00", timeZone = "Europe/Paris" },
        end = new { dateTime = $"2026-12-01T{hour + 1:00}:00:00+01:00", timeZone = "Europe/Paris" },
    };

    [Fact]
    public async Task With_one_mutation_per_sync_the_feed_matches_the_history_one_for_one()
    {
        await using var world = await SyncWorld.StartAsync();
        var baseline = await world.LastHistorySeqAsync();
        var expectedDiffs = new List<string[]>();

        var id = await world.InsertAsync(Timed("Standup", 10));
        await world.FeedWithAsync(1, "the creation is in the feed");
        expectedDiffs.Add([]);

        await world.PatchAsync(id, new { summary = "Daily standup" });
        await world.FeedWithAsync(2, "the rename is in the feed");
        expectedDiffs.Add(["summary"]);

        await world.PatchAsync(id, new { start = new { dateTime = "2026-12-01T11:00:00+01:00", timeZone = "Europe/Paris" }, end = new { dateTime = "2026-12-01T12:00:00+01:00", timeZone = "Europe/Paris" } });
        await world.FeedWithAsync(3, "the move is in the feed");
        expectedDiffs.Add(["start.dateTime", "end.dateTime"]);

        await world.PatchAsync(id, new { attendees = new[] { new { email = "bob@example.com", responseStatus = "needsAction" } } });
        await world.FeedWithAsync(4, "the invitation is in the feed");
        expectedDiffs.Add(["attendees"]);

        await world.PatchAsync(id, new { attendees = new[] { new { email = "bob@example.com", responseStatus = "accepted" } } });
        await world.FeedWithAsync(5, "the reply is in the feed");
        expectedDiffs.Add(["attendees[email=bob@example.com].responseStatus"]);

        await world.DeleteAsync(id);
        var feed = await world.FeedWithAsync(6, "the deletion is in the feed");
        expectedDiffs.Add([]);

        var history = await world.Control.GetHistoryAsync(SyncWorld.Alice, baseline);
        Assert.Equal(history.Count, feed.Count);
        for (var i = 0; i < feed.Count; i++)
        {
            var (change, truth) = (feed[i], history[i]);
            Assert.Equal("event." + truth.Kind, (string)change["type"]!);
            Assert.Equal(truth.EventId, (string)change["eventId"]!);
            Assert.Equal(i + 1, (long)change["sequence"]!);
            Assert.Equal(SyncWorld.Alice, (string)change["calendarId"]!);
            Assert.StartsWith("chg_", (string)change["id"]!, StringComparison.Ordinal);
            Assert.Equal(expectedDiffs[i], ((JsonArray)change["diff"]!).Select(d => (string)d!["path"]!).ToArray());
            if (truth.Kind == "deleted")
            {
                Assert.Null(change["event"]);
                Assert.True(SyncWorld.SameJson(history[i - 1].Event, change["previous"]), "previous is the last state before the deletion");
            }
            else
            {
                Assert.True(SyncWorld.SameJson(truth.Event, change["event"]), $"change {i + 1} carries the event as the emulator has it");
                Assert.Equal(i == 0, change["previous"] is null);
            }
        }

        var reply = feed[4]["diff"]![0]!;
        Assert.Equal("needsAction", (string)reply["before"]!);
        Assert.Equal("accepted", (string)reply["after"]!);
    }

    [Fact]
    public async Task Mutations_between_two_syncs_merge_into_one_change_per_event()
    {
        await using var world = await SyncWorld.StartAsync();
        var kept = await world.InsertAsync(Timed("Kept", 9));
        await world.FeedWithAsync(1, "the first event is in the feed");

        // No pings reach Calhook now: every mutation lands before the next (forced) sync.
        await world.Control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { DropRate = 1.0 } });
        var created = await world.InsertAsync(Timed("Created", 10));
        await world.PatchAsync(created, new { summary = "Created and renamed" });
        await world.PatchAsync(kept, new { summary = "Kept, renamed once" });
        await world.PatchAsync(kept, new { summary = "Kept, renamed twice" });
        var fleeting = await world.InsertAsync(Timed("Fleeting", 11));
        await world.DeleteAsync(fleeting);
        await world.ForceSyncAsync();

        var feed = await world.FeedWithAsync(3, "the merged changes are in the feed");
        await world.ForceSyncAsync();
        await world.ForceSyncAsync();
        feed = await world.FeedAsync();

        Assert.Equal(3, feed.Count);
        var byEvent = feed.Skip(1).ToDictionary(c => (string)c["eventId"]!);
        Assert.Equal("event.created", (string)byEvent[created]["type"]!);
        Assert.Equal("Created and renamed", (string)byEvent[created]["event"]!["summary"]!);
        Assert.Equal("event.updated", (string)byEvent[kept]["type"]!);
        var rename = Assert.Single((JsonArray)byEvent[kept]["diff"]!)!;
        Assert.Equal("Kept", (string)rename["before"]!);
        Assert.Equal("Kept, renamed twice", (string)rename["after"]!);
        Assert.DoesNotContain(fleeting, byEvent.Keys);
    }

    [Fact]
    public async Task A_forced_410_resyncs_with_no_spurious_change_and_reports_deletions_from_the_gap()
    {
        await using var world = await SyncWorld.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await world.InsertAsync(Timed($"Event {i}", 8 + i)));
        }

        await world.FeedWithAsync(5, "the five creations are in the feed");
        await world.Control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { DropRate = 1.0 } });
        await world.DeleteAsync(ids[0]);
        await world.PatchAsync(ids[1], new { location = "Room 2" });
        await world.Control.ExpireSyncTokensAsync(SyncWorld.Alice);
        await world.ForceSyncAsync();

        var feed = await world.FeedWithAsync(7, "the resync's changes are in the feed");
        await world.ForceSyncAsync();
        await world.ForceSyncAsync();
        feed = await world.FeedAsync(after: 5);

        Assert.Equal(
            ["event.deleted:" + ids[0], "event.updated:" + ids[1]],
            feed.Select(c => $"{c["type"]}:{c["eventId"]}").Order(StringComparer.Ordinal));
        var update = feed.Single(c => (string)c["type"]! == "event.updated");
        Assert.Equal("location", (string)update["diff"]![0]!["path"]!);
        Assert.Equal("Event 0", (string)feed.Single(c => (string)c["type"]! == "event.deleted")["previous"]!["summary"]!);
    }

    [Fact]
    public async Task Under_dropped_duplicated_reordered_pings_and_api_errors_the_log_converges_to_the_ground_truth()
    {
        await using var world = await SyncWorld.StartAsync(safetyNet: TimeSpan.FromSeconds(1));
        var baseline = await world.LastHistorySeqAsync();
        await world.Control.SetFaultsAsync(new FaultSettings
        {
            Seed = 7,
            Notifications = new NotificationFaults { DropRate = 0.4, DuplicateRate = 0.3, DelayMs = [0, 200], Reorder = true },
            Api = new ApiFaults { ErrorRate = 0.1, ErrorStatus = 503, RateLimitRate = 0.1 },
        });

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await world.InsertAsync(Timed($"Event {i}", 8 + i)));
        }

        for (var i = 0; i < 6; i += 2)
        {
            await world.PatchAsync(ids[i], new { summary = $"Event {i} renamed" });
        }

        await world.DeleteAsync(ids[1]);
        await world.DeleteAsync(ids[3]);
        await world.Control.ResetFaultsAsync();

        // The final state each event reached, per the ground truth; the feed must reach the same, through the safety net.
        var history = await world.Control.GetHistoryAsync(SyncWorld.Alice, baseline);
        var truth = history.GroupBy(h => h.EventId).ToDictionary(g => g.Key, g => g.Last());
        string Mismatches(List<JsonObject> changes) => string.Join("; ", truth
            .Where(t => changes.LastOrDefault(c => (string)c["eventId"]! == t.Key) is not { } last
                ? t.Value.Kind != "deleted" // created and deleted between two syncs: rightly nothing
                : t.Value.Kind == "deleted"
                    ? (string)last["type"]! != "event.deleted"
                    : (string)last["type"]! == "event.deleted" || !SyncWorld.SameJson(t.Value.Event, last["event"]))
            .Select(t => $"{t.Key}: truth {t.Value.Kind} {t.Value.Event["summary"]}, feed "
                + string.Join(",", changes.Where(c => (string)c["eventId"]! == t.Key).Select(c => $"{c["type"]} {c["event"]?["summary"]}"))));
        await Polling.EventuallyAsync(
            async () => Mismatches(await world.FeedAsync()), m => m.Length == 0,
            TimeSpan.FromSeconds(30), "every event's last change matches its final state in the emulator");
        var feed = await world.FeedAsync();

        // Nothing lost, nothing invented, nothing twice: each change shows a state the event really had, in order.
        foreach (var change in feed)
        {
            var eventId = (string)change["eventId"]!;
            var states = history.Where(h => h.EventId == eventId).ToList();
            Assert.NotEmpty(states);
            if (change["event"] is { } now)
            {
                Assert.Contains(states, s => SyncWorld.SameJson(s.Event, now));
            }
        }

        foreach (var group in feed.GroupBy(c => (string)c["eventId"]!))
        {
            var events = group.Select(c => c["event"]?.ToJsonString() ?? "deleted").ToList();
            Assert.Equal(events.Count, events.Distinct().Count());
        }
    }

    [Fact]
    public async Task Changes_made_while_the_service_is_down_are_found_by_the_start_up_catch_up()
    {
        await using var world = await SyncWorld.StartAsync();
        var id = await world.InsertAsync(Timed("Before the outage", 9));
        await world.FeedWithAsync(1, "the creation is in the feed");

        await world.Calhook.StopAsync();
        await world.PatchAsync(id, new { summary = "Changed during the outage" });
        var added = await world.InsertAsync(Timed("Added during the outage", 10));
        await world.Calhook.StartAsync();

        var feed = await world.FeedWithAsync(3, "the outage's changes are in the feed after the restart");
        Assert.Equal(
            new[] { $"event.created:{added}", $"event.updated:{id}" },
            feed.Skip(1).Select(c => $"{c["type"]}:{c["eventId"]}").Order(StringComparer.Ordinal));
        Assert.Equal(3, feed.Count);
    }
}
