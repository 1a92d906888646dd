using System.Text.Json;
using Calhook.Changes;

namespace Calhook.Tests.Changes;

public sealed class SeriesOccurrencesTests
{
    // A daily breakfast series in Chicago, as Google lists it (shape of a recorded response).
    internal const string DailyMaster = """
        {"kind":"calendar#event","etag":"\"1\"","id":"breakfast","status":"confirmed","summary":"Breakfast",
         "start":{"dateTime":"2025-02-09T08:00:00-06:00","timeZone":"America/Chicago"},
         "end":{"dateTime":"2025-02-09T09:00:00-06:00","timeZone":"America/Chicago"},
         "recurrence":["RRULE:FREQ=DAILY;UNTIL=20250401T045959Z","EXDATE;TZID=America/Chicago:20250320T080000"],
         "iCalUID":"breakfast@google.com","sequence":0}
        """;

    private const string YearlyAllDay = """
        {"id":"yearly","summary":"New Event","start":{"date":"2006-06-10"},"end":{"date":"2006-06-11"},
         "recurrence":["RRULE:FREQ=YEARLY;COUNT=5;BYDAY=-1SU,2SA;BYMONTH=6","RDATE;VALUE=DATE:20060812","EXDATE;VALUE=DATE:20070609"]}
        """;

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Theory]
    [InlineData("""{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"}""", true)] // after the DST switch
    [InlineData("""{"dateTime":"2025-02-10T14:00:00Z"}""", true)] // same instant written in UTC
    [InlineData("""{"dateTime":"2025-03-20T08:00:00-05:00"}""", false)] // excluded by EXDATE
    [InlineData("""{"dateTime":"2025-03-25T09:00:00-05:00"}""", false)] // not at the series' time
    [InlineData("""{"dateTime":"2025-04-02T08:00:00-05:00"}""", false)] // after UNTIL
    [InlineData("""{"dateTime":"2025-02-08T08:00:00-06:00"}""", false)] // before the first
    public void Timed_occurrences_follow_rrule_exdate_and_the_series_time_zone(string originalStart, bool expected) =>
        Assert.Equal(expected, SeriesOccurrences.IsOccurrence(J(DailyMaster), J(originalStart)));

    [Theory]
    [InlineData("2006-06-25", true)] // last Sunday of June
    [InlineData("2006-08-12", true)] // RDATE
    [InlineData("2007-06-09", false)] // EXDATE
    [InlineData("2006-06-26", false)]
    public void All_day_occurrences_include_rdate_and_exclude_exdate(string date, bool expected) =>
        Assert.Equal(expected, SeriesOccurrences.IsOccurrence(J(YearlyAllDay), J($$"""{"date":"{{date}}"}""")));

    [Fact]
    public void Derived_instance_is_the_master_at_that_occurrence_without_recurrence()
    {
        var originalStart = J("""{"dateTime":"2025-03-25T08:00:00-05:00","timeZone":"America/Chicago"}""");
        var instance = SeriesOccurrences.DeriveInstance(J(DailyMaster), "breakfast_20250325T130000Z", originalStart)!.Value;

        Assert.Equal("breakfast_20250325T130000Z", instance.GetProperty("id").GetString());
        Assert.Equal("breakfast", instance.GetProperty("recurringEventId").GetString());
        Assert.Equal("Breakfast", instance.GetProperty("summary").GetString());
        Assert.False(instance.TryGetProperty("recurrence", out _));
        Assert.True(JsonElement.DeepEquals(originalStart, instance.GetProperty("originalStartTime")));
        Assert.True(JsonElement.DeepEquals(originalStart, instance.GetProperty("start")));
        Assert.Equal("2025-03-25T09:00:00-05:00", instance.GetProperty("end").GetProperty("dateTime").GetString());
        Assert.Equal("America/Chicago", instance.GetProperty("end").GetProperty("timeZone").GetString());
    }

    [Fact]
    public void Derived_all_day_instance_keeps_the_series_length_in_days()
    {
        var instance = SeriesOccurrences.DeriveInstance(J(YearlyAllDay), "yearly_20060625", J("""{"date":"2006-06-25"}"""))!.Value;
        Assert.Equal("2006-06-26", instance.GetProperty("end").GetProperty("date").GetString());
    }

    [Fact]
    public void No_instance_is_derived_where_the_series_has_no_occurrence_or_cannot_be_expanded()
    {
        Assert.Null(SeriesOccurrences.DeriveInstance(J(DailyMaster), "x", J("""{"dateTime":"2025-03-20T08:00:00-05:00"}""")));
        Assert.Null(SeriesOccurrences.DeriveInstance(J("""{"id":"single","start":{"date":"2026-01-01"}}"""), "x", J("""{"date":"2026-01-01"}""")));
        Assert.Null(SeriesOccurrences.DeriveInstance(
            J("""{"id":"bad","start":{"date":"2026-01-01"},"recurrence":["RRULE:FREQ=NONSENSE"]}"""), "x", J("""{"date":"2026-01-01"}""")));
    }

    [Fact]
    public void Derived_instance_links_to_the_instance_as_Google_does()
    {
        // eid = base64("{id} {calendar}") without padding, as in Google's links.
        var master = J("""
            {"id":"breakfast","htmlLink":"https://www.google.com/calendar/event?eid=YnJlYWtmYXN0IGFsaWNlQGV4YW1wbGUuY29t",
             "start":{"date":"2026-01-01"},"end":{"date":"2026-01-02"},"recurrence":["RRULE:FREQ=DAILY"]}
            """);
        var instance = SeriesOccurrences.DeriveInstance(master, "breakfast_20260103", J("""{"date":"2026-01-03"}"""))!.Value;
        var link = instance.GetProperty("htmlLink").GetString()!;
        var eid = link[(link.IndexOf("eid=", StringComparison.Ordinal) + 4)..];
        Assert.Equal("breakfast_20260103 alice@example.com",
            System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(eid.PadRight(eid.Length + ((4 - (eid.Length % 4)) % 4), '='))));
    }
}
