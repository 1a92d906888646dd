using System.Text.Json;
using Calhook.Calendars;
using Calhook.Changes;

namespace Calhook.Tests.Calendars;

public sealed class CalendarListDetectionTests
{
    private static int Ids;

    private static string NextId() => "chg_" + Interlocked.Increment(ref Ids);

    private static JsonElement Entry(string id, string summary, string etag = "\"1\"") =>
        JsonElement.Parse($$"""{"kind":"calendar#calendarListEntry","etag":{{JsonSerializer.Serialize(etag)}},"id":"{{id}}","summary":"{{summary}}","accessRole":"reader"}""");

    private static JsonElement Deleted(string id) => JsonElement.Parse($$"""{"kind":"calendar#calendarListEntry","etag":"\"9\"","id":"{{id}}","deleted":true}""");

    private static Dictionary<string, string> Stored(params JsonElement[] entries) =>
        entries.ToDictionary(e => e.GetProperty("id").GetString()!, e => e.GetRawText());

    [Fact]
    public void The_baseline_reports_nothing_and_stores_every_entry()
    {
        var result = CalendarListDetection.Detect([Entry("a", "A"), Entry("b", "B")], Stored(), full: true, baseline: true, NextId);

        Assert.Empty(result.Changes);
        Assert.Equal(["a", "b"], result.Entries.Select(e => e.CalendarId));
    }

    [Fact]
    public void An_incremental_list_adds_updates_beyond_the_etag_and_removes_deleted_entries_it_knew()
    {
        var stored = Stored(Entry("a", "A"), Entry("b", "B"), Entry("c", "C"));
        var items = new[] { Entry("a", "A", etag: "\"2\""), Entry("b", "B renamed"), Deleted("c"), Deleted("never-seen"), Entry("d", "D") };

        var result = CalendarListDetection.Detect(items, stored, full: false, baseline: false, NextId);

        Assert.Equal([(ChangeTypes.CalendarUpdated, "b"), (ChangeTypes.CalendarRemoved, "c"), (ChangeTypes.CalendarAdded, "d")],
            result.Changes.Select(c => (c.Type, c.CalendarId)));
        Assert.Equal(["summary"], result.Changes[0].Diff.Select(d => d.Path));
        Assert.Null(result.Changes[1].CalendarJson);
        Assert.NotNull(result.Changes[1].PreviousJson);
        Assert.Equal(["c"], result.Removed);
        Assert.Contains(result.Entries, e => e.CalendarId == "c" && e.Json is null);
    }

    [Fact]
    public void A_whole_list_removes_what_it_no_longer_names()
    {
        var result = CalendarListDetection.Detect([Entry("a", "A")], Stored(Entry("a", "A"), Entry("gone", "Gone")), full: true, baseline: false, NextId);

        var removed = Assert.Single(result.Changes);
        Assert.Equal((ChangeTypes.CalendarRemoved, "gone"), (removed.Type, removed.CalendarId));
        Assert.Equal(["gone"], result.Removed);
    }
}
