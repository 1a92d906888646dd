using System.Text.Json;
using Calhook.Changes;

namespace Calhook.Tests.Changes;

/// <summary>
/// The one rule set, driven the way the syncer drives it: an incremental sync (every page observed, then finished),
/// a baseline and a resync (page by page, then finished with the stored events the list did not name).
/// </summary>
public sealed class ChangeDetectorTests
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static string Ev(string id, string summary, string etag = "1", int sequence = 0) =>
        $$$"""{"id":"{{{id}}}","etag":"{{{etag}}}","status":"confirmed","summary":"{{{summary}}}","sequence":{{{sequence}}},"start":{"date":"2026-12-01"},"end":{"date":"2026-12-02"}}""";

    private static string Tombstone(string id) => $$"""{"id":"{{id}}","status":"cancelled"}""";

    private readonly Detections _detections = new();

    private Detections.Result Sync(SyncKind kind, string[][] pages, params (string Id, string Json)[] snapshots) => _detections.Sync(kind, pages, snapshots);

    private Detections.Result Incremental(string[] items, params (string Id, string Json)[] snapshots) => Sync(SyncKind.Incremental, [items], snapshots);

    // The baseline ----------------------------------------------------------------------------------------------

    [Fact]
    public void Baseline_stores_every_page_and_reports_nothing()
    {
        var r = Sync(SyncKind.Baseline, [[Ev("a", "A"), Ev("b", "B")], [Ev("c", "C"), Tombstone("gone")]]);
        Assert.Empty(r.Changes);
        Assert.Equal(["a", "b", "c"], r.Rows.Select(s => s.EventId));
        Assert.Equal(["gone"], r.Detection.Forgotten);
    }

    // Incremental syncs -----------------------------------------------------------------------------------------

    [Fact]
    public void New_changed_and_deleted_events_are_created_updated_and_deleted()
    {
        var r = Incremental([Ev("new", "N"), Ev("a", "A2", etag: "2"), Tombstone("b")], ("a", Ev("a", "A")), ("b", Ev("b", "B")));

        Assert.Equal("event.created:new, event.updated:a, event.deleted:b", r.Summary);
        var created = r.Changes[0];
        Assert.Null(created.PreviousJson);
        Assert.Empty(created.Diff);
        var field = Assert.Single(r.Changes[1].Diff);
        Assert.Equal("summary", field.Path);
        Assert.Equal("A", field.Before!.Value.GetString());
        Assert.Equal("A2", field.After!.Value.GetString());
        var deleted = r.Changes[2];
        Assert.Null(deleted.EventJson);
        Assert.Equal("B", J(deleted.PreviousJson!).GetProperty("summary").GetString());
        Assert.Equal(["chg_1", "chg_2", "chg_3"], r.Changes.Select(c => c.Id));
        Assert.Equal(["b"], r.Detection.Forgotten);
    }

    [Fact]
    public void A_bookkeeping_only_update_is_stored_but_not_reported()
    {
        var r = Incremental([Ev("a", "A", etag: "2", sequence: 3)], ("a", Ev("a", "A", etag: "1", sequence: 2)));
        Assert.Empty(r.Changes);
        Assert.Equal(Ev("a", "A", etag: "2", sequence: 3), r.Row("a"));
    }

    [Fact]
    public void A_real_update_leaves_the_bookkeeping_fields_out_of_its_diff()
    {
        var r = Incremental([Ev("a", "A2", etag: "2", sequence: 1)], ("a", Ev("a", "A", etag: "1", sequence: 0)));
        Assert.Equal(["summary"], Assert.Single(r.Changes).Diff.Select(d => d.Path));
    }

    [Fact]
    public void Deleting_an_event_never_seen_emits_nothing()
    {
        var r = Incremental([Tombstone("ghost")]);
        Assert.Empty(r.Changes);
        Assert.Empty(r.Rows);
    }

    [Fact]
    public void An_event_listed_twice_is_one_change_and_the_later_copy_wins()
    {
        var r = Incremental([Ev("a", "first"), Ev("b", "B"), Ev("a", "second")]);
        Assert.Equal("event.created:b, event.created:a", r.Summary);
        Assert.Equal("second", J(r.Changes[1].EventJson!).GetProperty("summary").GetString());
        Assert.Equal(Ev("a", "second"), r.Row("a"));
    }

    [Fact]
    public void Created_then_deleted_between_two_syncs_is_nothing()
    {
        var r = Incremental([Ev("a", "A"), Tombstone("a")]);
        Assert.Empty(r.Changes);
        Assert.Equal(["a"], r.Detection.Forgotten);
    }

    [Fact]
    public void An_incremental_sync_never_deletes_what_it_did_not_list()
    {
        var r = Incremental([Ev("a", "A2")], ("a", Ev("a", "A")), ("b", Ev("b", "B")));
        Assert.Equal("event.updated:a", r.Summary);
        Assert.Empty(r.Detection.Forgotten);
    }

    // Series occurrences ----------------------------------------------------------------------------------------

    private const string LateBreakfast = """
        {"id":"breakfast_20250325T130000Z","etag":"2","status":"confirmed","summary":"Late breakfast",
         "recurringEventId":"breakfast","originalStartTime":{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"},
         "start":{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"},
         "end":{"dateTime":"2025-03-25T09:00:00-05:00","timeZone":"America/Chicago"},
         "iCalUID":"breakfast@google.com","sequence":0,"kind":"calendar#event"}
        """;

    private const string CancelledBreakfast = """
        {"id":"breakfast_20250325T130000Z","status":"cancelled","recurringEventId":"breakfast",
         "originalStartTime":{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"}}
        """;

    [Fact]
    public void An_edited_instance_of_a_known_series_is_an_update_against_the_derived_occurrence()
    {
        var r = Incremental([LateBreakfast], ("breakfast", SeriesOccurrencesTests.DailyMaster));

        var change = Assert.Single(r.Changes);
        Assert.Equal(ChangeTypes.Updated, change.Type);
        Assert.Equal("breakfast", change.RecurringEventId);
        Assert.Contains("2025-03-25T08:00:00-05:00", change.OriginalStartTimeJson, StringComparison.Ordinal);
        Assert.Equal(["summary"], change.Diff.Select(f => f.Path));
        Assert.Equal("breakfast", J(change.PreviousJson!).GetProperty("recurringEventId").GetString());
    }

    [Fact]
    public void A_cancelled_instance_of_a_known_series_is_that_instance_deleted_and_its_tombstone_is_kept()
    {
        var r = Incremental([CancelledBreakfast], ("breakfast", SeriesOccurrencesTests.DailyMaster));

        var change = Assert.Single(r.Changes);
        Assert.Equal(ChangeTypes.Deleted, change.Type);
        Assert.Equal("breakfast", change.RecurringEventId);
        Assert.Null(change.EventJson);
        Assert.Equal("Breakfast", J(change.PreviousJson!).GetProperty("summary").GetString());
        Assert.NotNull(r.Row("breakfast_20250325T130000Z"));
        Assert.Empty(r.Detection.Forgotten);
    }

    [Fact]
    public void A_tombstone_for_an_occurrence_the_series_does_not_have_emits_nothing()
    {
        var tombstone = """
            {"id":"breakfast_20250320T130000Z","status":"cancelled","recurringEventId":"breakfast",
             "originalStartTime":{"dateTime":"2025-03-20T08:00:00-05:00"}}
            """;
        Assert.Empty(Incremental([tombstone], ("breakfast", SeriesOccurrencesTests.DailyMaster)).Changes);
        Assert.Empty(Incremental([tombstone]).Changes);
    }

    // Full resyncs (after the sync token was refused) -----------------------------------------------------------

    [Fact]
    public void A_resync_reports_only_real_differences_and_what_was_deleted_during_the_gap()
    {
        var r = Sync(
            SyncKind.FullResync,
            [[Ev("same", "S", etag: "9", sequence: 4), Ev("changed", "C2")], [Ev("new", "N"), Tombstone("gone-with-tombstone")]],
            ("same", Ev("same", "S")), ("changed", Ev("changed", "C")), ("gone-with-tombstone", Ev("gone-with-tombstone", "G")),
            ("vanished", Ev("vanished", "V")), ("old-instance-tombstone", """{"id":"old-instance-tombstone","status":"cancelled","recurringEventId":"x"}"""));

        Assert.Equal("event.updated:changed, event.created:new, event.deleted:gone-with-tombstone, event.deleted:vanished", r.Summary);
        Assert.Equal("V", J(r.Changes[3].PreviousJson!).GetProperty("summary").GetString());
        Assert.Equal(["gone-with-tombstone", "old-instance-tombstone", "vanished"], r.Detection.Forgotten.Order(StringComparer.Ordinal));
        Assert.Equal(Ev("same", "S", etag: "9", sequence: 4), r.Row("same"));
    }

    [Fact]
    public void A_resync_of_events_identical_to_their_snapshots_reports_and_rewrites_nothing()
    {
        var r = Sync(SyncKind.FullResync, [[Ev("a", "A")], [Ev("b", "B")]], ("a", Ev("a", "A")), ("b", Ev("b", "B")));
        Assert.Empty(r.Changes);
        Assert.Empty(r.Rows);
        Assert.Empty(r.Detection.Forgotten);
    }

    [Fact]
    public void A_resync_listing_an_event_twice_across_pages_reports_its_last_copy_once()
    {
        var r = Sync(SyncKind.FullResync, [[Ev("a", "A2", "2"), Ev("b", "B")], [Ev("a", "A")]], ("a", Ev("a", "A")), ("b", Ev("b", "B")));
        Assert.Empty(r.Changes);
        Assert.Equal(Ev("a", "A"), r.Row("a"));
    }

    [Fact]
    public void A_resync_diffs_series_occurrences_like_an_incremental_sync_and_a_kept_tombstone_is_known()
    {
        var first = Sync(SyncKind.FullResync, [[SeriesOccurrencesTests.DailyMaster, LateBreakfast]], ("breakfast", SeriesOccurrencesTests.DailyMaster));
        var change = Assert.Single(first.Changes);
        Assert.Equal(ChangeTypes.Updated, change.Type);
        Assert.Equal(["summary"], change.Diff.Select(f => f.Path));

        var again = Sync(SyncKind.FullResync, [[CancelledBreakfast, SeriesOccurrencesTests.DailyMaster]],
            ("breakfast", SeriesOccurrencesTests.DailyMaster), ("breakfast_20250325T130000Z", CancelledBreakfast));
        Assert.Empty(again.Changes);
        Assert.Empty(again.Detection.Forgotten);
    }
}
