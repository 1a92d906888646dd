using System.Text.Json.Nodes;

namespace Calhook.Tests.Sync;

/// <summary>Recurring series end to end: instance edits and cancellations are that instance's changes, not new events.</summary>
public sealed class EndToEndRecurrenceTests
{
    [Fact]
    public async Task Editing_and_cancelling_instances_moving_and_deleting_the_series_are_reported_per_instance_and_series()
    {
        await using var world = await SyncWorld.StartAsync();
        var master = await world.InsertAsync(new
        {
            summary = "Daily sync",
            start = new { dateTime = "2026-12-01T09:00:00+01:00", timeZone = "Europe/Paris" },
            end = new { dateTime = "2026-12-01T09:30:00+01:00", timeZone = "Europe/Paris" },
            recurrence = new[] { "RRULE:FREQ=DAILY;COUNT=10" },
        });
        await world.FeedWithAsync(1, "the series' creation is in the feed");
        var instances = (JsonArray)(await world.GoogleAsync(HttpMethod.Get, $"{SyncWorld.Events}/{master}/instances"))!["items"]!;
        var edited = (string)instances[2]!["id"]!;
        var cancelled = (string)instances[4]!["id"]!;

        // Edit one instance: an update of that instance, diffed against the occurrence the series had.
        await world.PatchAsync(edited, new { summary = "Daily sync (moved room)" });
        var feed = await world.FeedWithAsync(2, "the instance edit is in the feed");
        var edit = feed[1];
        Assert.Equal("event.updated", (string)edit["type"]!);
        Assert.Equal(edited, (string)edit["eventId"]!);
        Assert.Equal(master, (string)edit["recurringEventId"]!);
        Assert.True(SyncWorld.SameJson(instances[2]!["originalStartTime"], edit["originalStartTime"]));
        // Only `summary` was changed; the exception keeps its series' `created`, as Google's does.
        Assert.Equal(["summary"], ((JsonArray)edit["diff"]!).Select(d => (string)d!["path"]!));
        Assert.Equal("Daily sync", (string)edit["previous"]!["summary"]!);

        // Cancel another: a deletion of that instance, with the series' state as its previous state.
        await world.DeleteAsync(cancelled);
        feed = await world.FeedWithAsync(3, "the cancellation is in the feed");
        var cancel = feed[2];
        Assert.Equal("event.deleted", (string)cancel["type"]!);
        Assert.Equal(cancelled, (string)cancel["eventId"]!);
        Assert.Equal(master, (string)cancel["recurringEventId"]!);
        Assert.Null(cancel["event"]);
        Assert.Equal("Daily sync", (string)cancel["previous"]!["summary"]!);
        Assert.True(SyncWorld.SameJson(instances[4]!["start"], cancel["previous"]!["start"]));

        // Move the whole series: an update of the master.
        await world.PatchAsync(master, new
        {
            start = new { dateTime = "2026-12-01T10:00:00+01:00", timeZone = "Europe/Paris" },
            end = new { dateTime = "2026-12-01T10:30:00+01:00", timeZone = "Europe/Paris" },
        });
        feed = await world.FeedWithAsync(4, "the series move is in the feed");
        var move = feed.Skip(3).Single(c => (string)c["eventId"]! == master);
        Assert.Equal("event.updated", (string)move["type"]!);
        Assert.Contains("start.dateTime", ((JsonArray)move["diff"]!).Select(d => (string)d!["path"]!));
        var afterMove = feed.Count;

        // Delete the series: the master and its live exception are deleted; the cancelled instance stays silent.
        await world.DeleteAsync(master);
        feed = await world.FeedWithAsync(afterMove + 1, "the series deletion is in the feed");
        await world.ForceSyncAsync();
        feed = await world.FeedWithAsync(afterMove + 1, "the series deletion is in the feed");
        var deletions = feed.Skip(afterMove).ToList();
        Assert.All(deletions, c => Assert.Equal("event.deleted", (string)c["type"]!));
        Assert.Contains(deletions, c => (string)c["eventId"]! == master);
        Assert.DoesNotContain(deletions, c => (string)c["eventId"]! == cancelled);

        // The whole story matches the emulator's ground truth, event by event.
        var history = await world.Control.GetHistoryAsync(SyncWorld.Alice);
        var truthIds = history.Where(h => h.EventId != cancelled || h.Kind == "deleted")
            .Select(h => h.EventId).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(truthIds, feed.Select(c => (string)c["eventId"]!).Distinct().Order(StringComparer.Ordinal));
    }
}
