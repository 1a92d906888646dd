using System.Text.Json;
using Calhook.Changes;
using Calhook.Storage;

namespace Calhook.Tests.Changes;

public sealed class ChangeDetectorTests
{
    private int _ids;

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static string Ev(string id, string summary, string etag = "1") =>
        $$$"""{"id":"{{{id}}}","etag":"{{{etag}}}","status":"confirmed","summary":"{{{summary}}}","start":{"date":"2026-12-01"},"end":{"date":"2026-12-02"}}""";

    private static string Tombstone(string id) => $$"""{"id":"{{id}}","status":"cancelled"}""";

    private Detection Detect(SyncKind kind, string[] items, params (string Id, string Json)[] snapshots) =>
        ChangeDetector.Detect(kind, [.. items.Select(J)], snapshots.ToDictionary(s => s.Id, s => s.Json), () => $"chg_{++_ids}");

    private static string Summary(Detection d) => string.Join(", ", d.Changes.Select(c => $"{c.Type}:{c.EventId}"));

    [Fact]
    public void Baseline_stores_every_event_and_reports_nothing()
    {
        var d = Detect(SyncKind.Baseline, [Ev("a", "A"), Ev("b", "B")]);
        Assert.Empty(d.Changes);
        Assert.Equal(["a", "b"], d.Snapshots.Select(s => s.EventId));
    }

    [Fact]
    public void New_changed_and_deleted_events_are_created_updated_and_deleted()
    {
        var d = Detect(SyncKind.Incremental, [Ev("new", "N"), Ev("a", "A2", etag: "2"), Tombstone("b")], ("a", Ev("a", "A")), ("b", Ev("b", "B")));

        Assert.Equal("event.created:new, event.updated:a, event.deleted:b", Summary(d));
        var created = d.Changes[0];
        Assert.Null(created.PreviousJson);
        Assert.Empty(created.Diff);
        var updated = d.Changes[1];
        var field = Assert.Single(updated.Diff);
        Assert.Equal("summary", field.Path);
        Assert.Equal("A", field.Before!.Value.GetString());
        Assert.Equal("A2", field.After!.Value.GetString());
        var deleted = d.Changes[2];
        Assert.Null(deleted.EventJson);
        Assert.Equal("B", J(deleted.PreviousJson!).GetProperty("summary").GetString());
        Assert.Equal(["chg_1", "chg_2", "chg_3"], d.Changes.Select(c => c.Id));
        Assert.Contains(d.Snapshots, s => s.EventId == "b" && s.Json is null);
    }

    [Fact]
    public void A_bookkeeping_only_update_is_stored_but_not_reported()
    {
        var d = Detect(SyncKind.Incremental, [Ev("a", "A", etag: "2")], ("a", Ev("a", "A", etag: "1")));
        Assert.Empty(d.Changes);
        Assert.Single(d.Snapshots);
    }

    [Fact]
    public void Deleting_an_event_never_seen_emits_nothing()
    {
        var d = Detect(SyncKind.Incremental, [Tombstone("ghost")]);
        Assert.Empty(d.Changes);
        Assert.Empty(d.Snapshots);
    }

    [Fact]
    public void An_event_listed_twice_is_one_change_and_the_later_copy_wins()
    {
        var d = Detect(SyncKind.Incremental, [Ev("a", "first"), Ev("b", "B"), Ev("a", "second")]);
        Assert.Equal("event.created:b, event.created:a", Summary(d));
        Assert.Equal("second", J(d.Changes[1].EventJson!).GetProperty("summary").GetString());
    }

    [Fact]
    public void Created_then_deleted_between_two_syncs_is_nothing()
    {
        var d = Detect(SyncKind.Incremental, [Ev("a", "A"), Tombstone("a")]);
        Assert.Empty(d.Changes);
    }

    [Fact]
    public void Full_resync_reports_only_real_differences_and_what_disappeared()
    {
        var d = Detect(
            SyncKind.FullResync,
            [Ev("same", "S", etag: "9"), Ev("changed", "C2"), Ev("new", "N"), Tombstone("gone-with-tombstone")],
            ("same", Ev("same", "S")), ("changed", Ev("changed", "C")), ("gone-with-tombstone", Ev("gone-with-tombstone", "G")),
            ("vanished", Ev("vanished", "V")), ("old-instance-tombstone", """{"id":"old-instance-tombstone","status":"cancelled","recurringEventId":"x"}"""));

        Assert.Equal("event.updated:changed, event.created:new, event.deleted:gone-with-tombstone, event.deleted:vanished", Summary(d));
        Assert.Contains(d.Snapshots, s => s.EventId == "vanished" && s.Json is null);
        Assert.Contains(d.Snapshots, s => s.EventId == "old-instance-tombstone" && s.Json is null);
    }

    [Fact]
    public void An_edited_instance_of_a_known_series_is_an_update_against_the_derived_occurrence()
    {
        var exception = """
            {"id":"breakfast_20250325T130000Z","etag":"2","status":"confirmed","summary":"Late breakfast",
             "recurringEventId":"breakfast","originalStartTime":{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"},
             "start":{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"},
             "end":{"dateTime":"2025-03-25T09:00:00-05:00","timeZone":"America/Chicago"},
             "iCalUID":"breakfast@google.com","sequence":0,"kind":"calendar#event"}
            """;
        var d = Detect(SyncKind.Incremental, [exception], ("breakfast", SeriesOccurrencesTests.DailyMaster));

        var change = Assert.Single(d.Changes);
        Assert.Equal(ChangeTypes.Updated, change.Type);
        Assert.Equal("breakfast", change.RecurringEventId);
        Assert.Contains("2025-03-25T08:00:00-05:00", change.OriginalStartTimeJson, StringComparison.Ordinal);
        Assert.Equal(["summary"], change.Diff.Select(f => f.Path));
        Assert.Equal("breakfast", J(change.PreviousJson!).GetProperty("recurringEventId").GetString());
    }

    [Fact]
    public void A_cancelled_instance_of_a_known_series_is_that_instance_deleted_and_its_tombstone_is_kept()
    {
        var tombstone = """
            {"id":"breakfast_20250325T130000Z","status":"cancelled","recurringEventId":"breakfast",
             "originalStartTime":{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"}}
            """;
        var d = Detect(SyncKind.Incremental, [tombstone], ("breakfast", SeriesOccurrencesTests.DailyMaster));

        var change = Assert.Single(d.Changes);
        Assert.Equal(ChangeTypes.Deleted, change.Type);
        Assert.Equal("breakfast", change.RecurringEventId);
        Assert.Null(change.EventJson);
        Assert.Equal("Breakfast", J(change.PreviousJson!).GetProperty("summary").GetString());
        Assert.NotNull(Assert.Single(d.Snapshots).Json);

        // Listed again by a full resync, the kept tombstone is known: nothing to report.
        var again = Detect(SyncKind.FullResync, [tombstone, SeriesOccurrencesTests.DailyMaster],
            ("breakfast", SeriesOccurrencesTests.DailyMaster), ("breakfast_20250325T130000Z", tombstone));
        Assert.Empty(again.Changes);
    }

    [Fact]
    public void A_tombstone_for_an_occurrence_the_series_does_not_have_emits_nothing()
    {
        var tombstone = """
            {"id":"breakfast_20250320T130000Z","status":"cancelled","recurringEventId":"breakfast",
             "originalStartTime":{"dateTime":"2025-03-20T08:00:00-05:00"}}
            """;
        Assert.Empty(Detect(SyncKind.Incremental, [tombstone], ("breakfast", SeriesOccurrencesTests.DailyMaster)).Changes);
        Assert.Empty(Detect(SyncKind.Incremental, [tombstone]).Changes);
    }

    [Fact]
    public void Events_identical_to_their_snapshot_are_neither_reported_nor_rewritten()
    {
        var d = Detect(SyncKind.FullResync, [Ev("a", "A"), Ev("b", "B")], ("a", Ev("a", "A")), ("b", Ev("b", "B")));
        Assert.Empty(d.Changes);
        Assert.Empty(d.Snapshots);
    }
}
