using System.Text.Json.Nodes;

namespace Calhook.Tests.Sync;

/// <summary>
/// Series lifecycles as Google performs them (the emulator reproduces the recorded behaviour, including "this and
/// following" from the web UI), end to end through a real Calhook service, compared change by change with the
/// emulator's ground-truth history: with one Google operation per sync, every committed mutation is one change.
/// </summary>
public sealed class EndToEndSeriesStoriesTests
{
    private static string TypeOf(string kind) => kind switch
    {
        "created" => "event.created",
        "updated" => "event.updated",
        _ => "event.deleted",
    };

    /// <summary>Waits until the feed holds one change per history entry after <paramref name="afterSeq"/>, and checks they pair up.</summary>
    private static async Task<List<JsonObject>> MatchesHistoryAsync(SyncWorld world, long afterSeq, int feedBefore, string step)
    {
        var truth = (await world.Control.GetHistoryAsync(SyncWorld.Alice, afterSeq)).Select(h => (TypeOf(h.Kind), h.EventId)).ToList();
        var feed = await world.FeedWithAsync(feedBefore + truth.Count, step);
        var observed = feed.Skip(feedBefore).Select(c => ((string)c["type"]!, (string)c["eventId"]!)).ToList();
        Assert.True(truth.Order().SequenceEqual(observed.Order()),
            $"{step}: history {string.Join(", ", truth)} but feed {string.Join(", ", observed)}");
        return feed;
    }

    [Fact]
    public async Task Create_edit_cancel_split_delete_following_and_delete_series_match_the_ground_truth()
    {
        await using var world = await SyncWorld.StartAsync();
        var seq = await world.LastHistorySeqAsync();
        var master = await world.InsertAsync(new
        {
            summary = "Dishes",
            start = new { dateTime = "2026-12-01T07:30:00", timeZone = "America/Chicago" },
            end = new { dateTime = "2026-12-01T08:15:00", timeZone = "America/Chicago" },
            recurrence = new[] { "RRULE:FREQ=DAILY" },
        });
        var feed = await MatchesHistoryAsync(world, seq, 0, "the series is created");
        var instances = (JsonArray)(await world.GoogleAsync(HttpMethod.Get, $"{SyncWorld.Events}/{master}/instances?maxResults=12"))!["items"]!;
        string Instance(int i) => (string)instances[i]!["id"]!;

        // Two instances edited (one moved), one cancelled: each its own change.
        foreach (var (id, patch) in new (string, object)[]
        {
            (Instance(1), new { summary = "Dishes (guests)" }),
            (Instance(6), new { start = new { dateTime = "2026-12-07T09:00:00", timeZone = "America/Chicago" }, end = new { dateTime = "2026-12-07T09:45:00", timeZone = "America/Chicago" } }),
        })
        {
            seq = await world.LastHistorySeqAsync();
            await world.PatchAsync(id, patch);
            feed = await MatchesHistoryAsync(world, seq, feed.Count, $"instance {id} is edited");
        }

        seq = await world.LastHistorySeqAsync();
        await world.DeleteAsync(Instance(2));
        feed = await MatchesHistoryAsync(world, seq, feed.Count, "an instance is cancelled");

        // "This and following" from the 5th instance: the original is truncated, the moved instance past the split is
        // orphaned (deleted), and the new series says which series it was split from.
        seq = await world.LastHistorySeqAsync();
        var split = await world.Control.EditThisAndFollowingAsync(SyncWorld.Alice, Instance(4), new JsonObject { ["summary"] = "Dishes (new rota)" });
        var newSeries = (string)split["id"]!;
        feed = await MatchesHistoryAsync(world, seq, feed.Count, "the series is split");
        Assert.Contains(feed, c => (string)c["eventId"]! == Instance(6) && (string)c["type"]! == "event.deleted");
        Assert.Equal(master, (string?)feed.Single(c => (string)c["eventId"]! == newSeries)["splitFrom"]);

        // The new series: one instance edited, then "delete this and following" from its 3rd instance.
        var newInstances = (JsonArray)(await world.GoogleAsync(HttpMethod.Get, $"{SyncWorld.Events}/{newSeries}/instances?maxResults=6"))!["items"]!;
        seq = await world.LastHistorySeqAsync();
        await world.PatchAsync((string)newInstances[4]!["id"]!, new { summary = "Dishes (holiday)" });
        feed = await MatchesHistoryAsync(world, seq, feed.Count, "an instance of the new series is edited");
        seq = await world.LastHistorySeqAsync();
        await world.Control.DeleteThisAndFollowingAsync(SyncWorld.Alice, (string)newInstances[2]!["id"]!);
        feed = await MatchesHistoryAsync(world, seq, feed.Count, "this and following is deleted");

        // Delete the original series: Google lists only the master's tombstone; the instance edited before is deleted too.
        seq = await world.LastHistorySeqAsync();
        await world.DeleteAsync(master);
        feed = await MatchesHistoryAsync(world, seq, feed.Count, "the series is deleted");
        Assert.Contains(feed.Skip(feed.Count - 2), c => (string)c["eventId"]! == Instance(1) && (string)c["type"]! == "event.deleted");
    }
}
