using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.Tests.RealGoogle;

namespace Calhook.Tests.Changes;

/// <summary>
/// Whole series deleted, truncated and split, as Google records them (the compass recordings), through the one rule
/// set: every instance Calhook knew individually and the series lost is reported deleted exactly once.
/// </summary>
public sealed class SeriesLifecycleTests
{
    private const string Dishes = "1kmd7abo2uok36n1pkaemqncba";
    private readonly Detections _detections = new();

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement;

    private static (string Id, string Json) Stored(string json) => (J(json).GetProperty("id").GetString()!, json);

    /// <summary>The recorded series with three edited instances, as Calhook stored it.</summary>
    private static (string Id, string Json)[] DishesWithThreeExceptions() =>
        [.. Recorded.Items("events-incremental-three-instance-exceptions-edited").Select(Stored)];

    /// <summary>The recorded id-only tombstone of a deleted series, for the series of the test.</summary>
    private static string SeriesTombstone(string id) =>
        Recorded.With(Recorded.Items("events-incremental-series-deleted-tombstone-id-only")[0], ("id", id));

    private static string InstanceTombstone(string instance) => Recorded.With(instance, ("status", "cancelled"));

    [Fact]
    public void Deleting_a_series_given_only_the_masters_id_only_tombstone_deletes_each_known_instance_once_and_forgets_them()
    {
        var stored = DishesWithThreeExceptions();

        var r = _detections.Incremental([SeriesTombstone(Dishes)], stored);

        Assert.Equal(
            $"event.deleted:{Dishes}, event.deleted:{Dishes}_20250326T123000Z, event.deleted:{Dishes}_20250327T123000Z, event.deleted:{Dishes}_20250328T123000Z",
            r.Summary);
        Assert.All(r.Changes.Skip(1), c => Assert.Equal(Dishes, c.RecurringEventId));
        Assert.All(r.Changes.Skip(1), c => Assert.NotNull(c.OriginalStartTimeJson));
        Assert.Equal("🧼 Dishes-Edited Just This One", J(r.Changes[1].PreviousJson!).GetProperty("summary").GetString());
        Assert.Empty(r.Apply(stored));

        // Instance tombstones arriving later (Google's behaviour there is not recorded) find nothing left to delete.
        var later = _detections.Incremental([.. stored.Skip(1).Select(s => InstanceTombstone(s.Json))], r.Apply(stored));
        Assert.Empty(later.Changes);
    }

    [Fact]
    public void Deleting_a_series_with_its_instance_tombstones_in_the_same_sync_deletes_each_instance_once()
    {
        var stored = DishesWithThreeExceptions();
        var cancelledEarlier = Recorded.With(stored[1].Json, ("id", $"{Dishes}_20250329T123000Z"), ("status", "cancelled"),
            ("originalStartTime", JsonNode.Parse("""{"dateTime":"2025-03-29T07:30:00-05:00","timeZone":"America/Chicago"}""")));
        stored = [.. stored, Stored(cancelledEarlier)];

        var r = _detections.Incremental([InstanceTombstone(stored[2].Json), SeriesTombstone(Dishes), InstanceTombstone(stored[3].Json)], stored);

        Assert.Equal(4, r.Changes.Count);
        Assert.Equal(4, r.Changes.Select(c => c.EventId).Distinct().Count());
        Assert.All(r.Changes, c => Assert.Equal(ChangeTypes.Deleted, c.Type));
        Assert.DoesNotContain(r.Changes, c => c.EventId == $"{Dishes}_20250329T123000Z");
        Assert.Empty(r.Apply(stored));
    }

    [Fact]
    public void Delete_this_and_following_deletes_the_known_instances_past_the_new_end_once_and_keeps_the_earlier_ones()
    {
        var recorded = Recorded.Items("events-incremental-delete-this-and-following-until-cancelled-id-only");
        var master = recorded[0];
        var id = J(master).GetProperty("id").GetString()!;
        (string, string)[] stored =
        [
            Stored(Recorded.Unending(master)),
            Stored(Recorded.Exception(master, id + "_20250325T150000Z", "2025-03-25T10:00:00-05:00", "2025-03-25T11:30:00-05:00", "Kept")),
            Stored(Recorded.Exception(master, id + "_20250327T150000Z", "2025-03-27T10:00:00-05:00", "2025-03-27T11:30:00-05:00", "Past the end")),
            Stored(Recorded.Exception(master, id + "_20250328T150000Z", "2025-03-28T10:00:00-05:00", "2025-03-28T11:30:00-05:00", "Tombstoned")),
        ];

        var r = _detections.Incremental(recorded, stored);

        Assert.Equal($"event.updated:{id}, event.deleted:{id}_20250327T150000Z, event.deleted:{id}_20250328T150000Z", r.Summary);
        Assert.Equal(["recurrence"], r.Changes[0].Diff.Select(d => d.Path));
        Assert.All(r.Changes.Skip(1), c => Assert.Equal(id, c.RecurringEventId));
        Assert.Equal([id, id + "_20250325T150000Z"], r.Apply(stored).Select(s => s.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_resync_after_delete_this_and_following_reports_the_lost_instance_once()
    {
        var recorded = Recorded.Items("events-incremental-delete-this-and-following-until-cancelled-id-only");
        var master = recorded[0];
        var id = J(master).GetProperty("id").GetString()!;
        var kept = Recorded.Exception(master, id + "_20250325T150000Z", "2025-03-25T10:00:00-05:00", "2025-03-25T11:30:00-05:00", "Kept");
        (string, string)[] stored =
        [
            Stored(Recorded.Unending(master)),
            Stored(kept),
            Stored(Recorded.Exception(master, id + "_20250327T150000Z", "2025-03-27T10:00:00-05:00", "2025-03-27T11:30:00-05:00", "Past the end")),
        ];

        var r = _detections.Sync(SyncKind.FullResync, [[master, kept], [recorded[1]]], stored);

        Assert.Equal($"event.updated:{id}, event.deleted:{id}_20250327T150000Z", r.Summary);
    }

    [Fact]
    public void A_split_into_an_R_series_links_the_new_series_and_deletes_the_known_instances_the_truncation_removed()
    {
        var created = Recorded.Items("events-incremental-new-recurring-series-daily")[0];
        var id = J(created).GetProperty("id").GetString()!;
        var pastEnd = Recorded.Exception(created, id + "_20250327T123000Z", "2025-03-27T07:30:00-05:00", "2025-03-27T08:15:00-05:00", "Moved dishes");
        (string, string)[] stored = [Stored(created), Stored(pastEnd)];

        var r = _detections.Incremental(Recorded.Items("events-incremental-edit-all-split-R-suffix-series"), stored);

        Assert.Equal(
            $"event.updated:{id}, event.deleted:{id}_20250327T123000Z, event.updated:{id}_20250324T123000Z, event.created:{id}_R20250326T123000",
            r.Summary);
        Assert.Equal(id, r.Changes[3].SplitFrom);
        Assert.All(r.Changes.Take(3), c => Assert.Null(c.SplitFrom));
        Assert.Contains("description", r.Changes[2].Diff.Select(d => d.Path));
    }

    [Fact]
    public void A_split_into_a_series_with_a_new_id_is_linked_to_the_series_the_same_sync_truncated()
    {
        var recorded = Recorded.Items("events-incremental-this-and-following-new-series-id");
        var master = recorded[0];
        var id = J(master).GetProperty("id").GetString()!;
        var newId = J(recorded[1]).GetProperty("id").GetString()!;
        var unrelated = Recorded.With(Recorded.Items("events-incremental-new-recurring-series-daily")[0], ("id", "unrelated0series"));
        var pastEnd = Recorded.Exception(master, id + "_20250403T130000Z", "2025-04-03T08:00:00-05:00", "2025-04-03T09:00:00-05:00", "Late");
        (string, string)[] stored = [Stored(Recorded.Unending(master)), Stored(pastEnd)];

        var r = _detections.Incremental([.. recorded, unrelated], stored);

        Assert.Equal($"event.updated:{id}, event.deleted:{id}_20250403T130000Z, event.created:{newId}, event.created:unrelated0series", r.Summary);
        Assert.Equal(id, r.Changes[2].SplitFrom);
        Assert.Null(r.Changes[3].SplitFrom);
    }

    [Fact]
    public void A_series_edit_that_does_not_end_it_deletes_no_instance()
    {
        var stored = DishesWithThreeExceptions();
        var master = Recorded.With(stored[0].Json, ("recurrence", new JsonArray("RRULE:FREQ=DAILY;INTERVAL=1;WKST=MO")));

        var r = _detections.Incremental([master], stored);

        Assert.Equal($"event.updated:{Dishes}", r.Summary);
        Assert.Equal(4, r.Apply(stored).Length);
    }

    [Fact]
    public void An_instance_of_a_series_in_an_unknown_time_zone_is_still_reported_and_the_problem_is_said()
    {
        var master = SeriesOccurrencesTests.DailyMaster.Replace("America/Chicago", "Mars/Olympus_Mons", StringComparison.Ordinal);
        var instance = """
            {"id":"breakfast_20250325T130000Z","status":"confirmed","summary":"Late breakfast","recurringEventId":"breakfast",
             "originalStartTime":{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"Mars/Olympus_Mons"},
             "start":{"dateTime":"2025-03-25T08:30:00-05:00"},"end":{"dateTime":"2025-03-25T09:30:00-05:00"}}
            """;

        var r = _detections.Incremental([instance], ("breakfast", master));

        var change = Assert.Single(r.Changes);
        Assert.Equal("breakfast", change.RecurringEventId);
        Assert.Contains("Mars/Olympus_Mons", Assert.Single(r.Problems), StringComparison.Ordinal);
        Assert.NotNull(r.Row("breakfast_20250325T130000Z"));
    }
}
