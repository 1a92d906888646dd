using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.Emulator.Events;
using Ical.Net.DataTypes;

namespace Calhook.Emulator.Recurrence;

/// <summary>One instance of a recurring series, as <c>singleEvents</c> and <c>instances</c> show it.</summary>
internal sealed record Occurrence(string InstanceId, DateTimeOffset Start, DateTimeOffset End, JsonObject StartJson,
    JsonObject EndJson, JsonObject OriginalStartJson);

/// <summary>
/// Expands a master's <c>recurrence</c> lines (RRULE, EXRULE, RDATE, EXDATE) with Ical.Net, in the master's time zone,
/// so DST shifts keep the wall-clock time as RFC 5545 says.
/// </summary>
internal static class RecurrenceExpander
{
    /// <summary>The occurrences in start order, at most <paramref name="cap"/>; null with an error when the rules are invalid.</summary>
    public static IReadOnlyList<Occurrence>? Expand(string masterId, EventTime start, EventTime end, IEnumerable<string> lines,
        int cap, out string? error)
    {
        error = null;
        var zone = start.TimeZone is null ? null : EventTime.FindZone(start.TimeZone);
        var text = new StringBuilder("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Calhook//Emulator//EN\r\nBEGIN:VEVENT\r\nUID:x\r\n");
        if (start.IsAllDay)
        {
            text.Append(CultureInfo.InvariantCulture, $"DTSTART;VALUE=DATE:{start.Date:yyyyMMdd}\r\n");
        }
        else if (zone is not null)
        {
            var local = TimeZoneInfo.ConvertTime(start.Instant, zone);
            text.Append(CultureInfo.InvariantCulture, $"DTSTART;TZID={start.TimeZone}:{local:yyyyMMdd'T'HHmmss}\r\n");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"DTSTART:{start.Instant.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}\r\n");
        }

        foreach (var line in lines)
        {
            if (!IsRecurrenceLine(line))
            {
                error = "Invalid recurrence rule.";
                return null;
            }

            text.Append(line).Append("\r\n");
        }

        text.Append("END:VEVENT\r\nEND:VCALENDAR\r\n");
        var length = end.Instant - start.Instant;
        var result = new List<Occurrence>();
        try
        {
            var calendar = Ical.Net.Calendar.Load(text.ToString());
            if (calendar is null)
            {
                throw new FormatException("no calendar");
            }

            foreach (var occurrence in calendar.GetOccurrences(null, null))
            {
                if (result.Count >= cap)
                {
                    break;
                }

                result.Add(Build(masterId, occurrence.Period.StartTime, start, length, zone));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Ical.Net reports malformed rules with several exception types; all mean the same to a client.
            error = "Invalid recurrence rule.";
            return null;
        }

        return result;
    }

    private static bool IsRecurrenceLine(string line) =>
        line.StartsWith("RRULE:", StringComparison.OrdinalIgnoreCase) || line.StartsWith("EXRULE:", StringComparison.OrdinalIgnoreCase)
        || line.StartsWith("RDATE", StringComparison.OrdinalIgnoreCase) || line.StartsWith("EXDATE", StringComparison.OrdinalIgnoreCase);

    private static Occurrence Build(string masterId, CalDateTime at, EventTime first, TimeSpan length, TimeZoneInfo? zone)
    {
        if (first.IsAllDay)
        {
            var day = at.Date;
            var days = Math.Max(1, (int)Math.Round(length.TotalDays));
            var startUtc = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var id = $"{masterId}_{day:yyyyMMdd}";
            return new Occurrence(id, startUtc, startUtc.AddDays(days), DateJson(day), DateJson(day.AddDays(days)), DateJson(day));
        }

        var instant = new DateTimeOffset(DateTime.SpecifyKind(at.AsUtc, DateTimeKind.Utc));
        var instanceId = string.Create(CultureInfo.InvariantCulture, $"{masterId}_{instant.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}");
        return new Occurrence(instanceId, instant, instant + length, TimeJson(instant, first.TimeZone, zone),
            TimeJson(instant + length, first.TimeZone, zone), TimeJson(instant, first.TimeZone, zone));
    }

    private static JsonObject DateJson(DateOnly day) => new() { ["date"] = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) };

    private static JsonObject TimeJson(DateTimeOffset instant, string? zoneId, TimeZoneInfo? zone)
    {
        var json = new JsonObject { ["dateTime"] = EventTime.Format(instant, zone) };
        if (zoneId is not null)
        {
            json["timeZone"] = zoneId;
        }

        return json;
    }
}
