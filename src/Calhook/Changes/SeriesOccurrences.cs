using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ical.Net.DataTypes;
using NodaTime;

namespace Calhook.Changes;

/// <summary>
/// Expands a recurring master (Google's <c>start</c> + <c>recurrence[]</c> RRULE/EXRULE/RDATE/EXDATE lines) with
/// Ical.Net, to check that an instance's <c>originalStartTime</c> is a real occurrence and to derive that instance's
/// state from the series. Pure and thread-safe.
/// </summary>
internal static class SeriesOccurrences
{
    /// <summary>
    /// The occurrence of <paramref name="master"/> at <paramref name="originalStartTime"/> as Google would show it:
    /// the master with the instance's <c>id</c>, <c>recurringEventId</c>, <c>originalStartTime</c>, <c>start</c> and
    /// <c>end</c>, and no <c>recurrence</c>. Null when the series has no occurrence there (or cannot be expanded).
    /// </summary>
    public static JsonElement? DeriveInstance(JsonElement master, string instanceId, JsonElement originalStartTime)
    {
        if (!IsOccurrence(master, originalStartTime) || JsonNode.Parse(master.GetRawText()) is not JsonObject instance)
        {
            return null;
        }

        JsonObject end;
        try
        {
            end = ShiftedEnd(master, originalStartTime);
        }
        catch (FormatException)
        {
            return null;
        }

        var masterId = EventJson.Id(master);
        instance.Remove("recurrence");
        instance["id"] = instanceId;
        instance["recurringEventId"] = masterId;
        instance["originalStartTime"] = JsonNode.Parse(originalStartTime.GetRawText());
        instance["start"] = JsonNode.Parse(originalStartTime.GetRawText());
        instance["end"] = end;
        if (EventJson.String(master, "htmlLink"u8) is { } link && InstanceLink(link, instanceId) is { } instanceLink)
        {
            instance["htmlLink"] = instanceLink;
        }

        return JsonSerializer.SerializeToElement(instance, ChangeJsonContext.Default.JsonObject);
    }

    /// <summary>
    /// Google's <c>htmlLink</c> names the event as <c>eid=base64("{eventId} {calendar}")</c>; an instance's link names
    /// the instance. Null when the link does not have that shape.
    /// </summary>
    private static string? InstanceLink(string link, string instanceId)
    {
        var at = link.IndexOf("eid=", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var start = at + 4;
        var stop = link.IndexOf('&', start) is var amp && amp >= 0 ? amp : link.Length;
        var eid = link[start..stop];
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(eid.PadRight(eid.Length + ((4 - (eid.Length % 4)) % 4), '=')));
            var space = decoded.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0)
            {
                return null;
            }

            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(instanceId + decoded[space..])).TrimEnd('=');
            return link[..start] + encoded + link[stop..];
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>True when the master's recurrence has an occurrence starting exactly at <paramref name="originalStartTime"/>.</summary>
    public static bool IsOccurrence(JsonElement master, JsonElement originalStartTime) =>
        FirstFrom(master, originalStartTime) is { } first && first.Exact;

    /// <summary>
    /// True when the series ends before <paramref name="originalStartTime"/>: its recurrence has no occurrence at or
    /// after it (an <c>UNTIL</c> or <c>COUNT</c> that a "this and following" edit or delete put before it). False when
    /// the series goes on, or cannot be expanded (never delete on a doubt).
    /// </summary>
    public static bool EndsBefore(JsonElement master, JsonElement originalStartTime) =>
        FirstFrom(master, originalStartTime) is { Found: false };

    /// <summary>
    /// When the series ends before <paramref name="when"/> (see <see cref="EndsBefore"/>): its last occurrence's start
    /// within the year before, or <see cref="DateTimeOffset.MinValue"/> when it has none there; null when it does not end before.
    /// </summary>
    public static DateTimeOffset? LastOccurrenceBefore(JsonElement master, JsonElement when)
    {
        if (!EndsBefore(master, when))
        {
            return null;
        }

        try
        {
            var limit = InstantOf(when);
            var from = limit.UtcDateTime.AddDays(-366);
            return Expand(master)?.GetOccurrences(new CalDateTime(from, "UTC", true))
                .Select(o => (DateTimeOffset?)new DateTimeOffset(o.Period.StartTime.AsUtc, TimeSpan.Zero))
                .TakeWhile(s => s < limit)
                .LastOrDefault() ?? DateTimeOffset.MinValue;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or NullReferenceException or OverflowException)
        {
            return DateTimeOffset.MinValue;
        }
    }

    /// <summary>
    /// The time-zone name of the series' start when Noda Time's bundled IANA database does not know it (then the series
    /// is expanded in UTC from the start's offset, which misplaces occurrences across a daylight-saving change); null
    /// when it is known or absent.
    /// </summary>
    public static string? UnknownZone(JsonElement master) =>
        master.TryGetProperty("start", out var start) && EventJson.String(start, "timeZone"u8) is { } zone
        && DateTimeZoneProviders.Tzdb.GetZoneOrNull(zone) is null ? zone : null;

    /// <summary>Whether the series has an occurrence at or after the time, and whether the first one is exactly there; null when it cannot be expanded.</summary>
    private static (bool Found, bool Exact)? FirstFrom(JsonElement master, JsonElement originalStartTime)
    {
        try
        {
            var series = Expand(master);
            if (series is null)
            {
                return null;
            }

            if (EventJson.String(originalStartTime, "date"u8) is { } date)
            {
                var day = DateOnly.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                var first = series.GetOccurrences(new CalDateTime(day.AddDays(-1)))
                    .Select(o => o.Period.StartTime.Date)
                    .FirstOrDefault(d => d >= day);
                return first == default ? (false, false) : (true, first == day);
            }

            var instant = DateTimeOffset.Parse(EventJson.String(originalStartTime, "dateTime"u8)!, CultureInfo.InvariantCulture).UtcDateTime;
            var next = series.GetOccurrences(new CalDateTime(instant.AddDays(-1), "UTC", true))
                .Select(o => (DateTime?)o.Period.StartTime.AsUtc)
                .FirstOrDefault(s => s >= instant);
            return next is null ? (false, false) : (true, next == instant);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or NullReferenceException
            or TimeZoneNotFoundException or OverflowException)
        {
            // A recurrence Calhook cannot expand is treated as "not known", never as a crash of the sync.
            return null;
        }
    }

    /// <summary>The series as an iCalendar event (DTSTART and the recurrence lines), or null when the master has no recurrence.</summary>
    private static Ical.Net.CalendarComponents.CalendarEvent? Expand(JsonElement master)
    {
        if (!master.TryGetProperty("start", out var start) || !master.TryGetProperty("recurrence", out var recurrence)
            || recurrence.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var ics = new StringBuilder("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Calhook//EN\r\nBEGIN:VEVENT\r\nUID:series\r\n");
        ics.Append(DtStart(start)).Append("\r\n");
        foreach (var line in recurrence.EnumerateArray())
        {
            ics.Append(line.GetString()).Append("\r\n");
        }

        ics.Append("END:VEVENT\r\nEND:VCALENDAR\r\n");
        return Ical.Net.Calendar.Load(ics.ToString())?.Events.FirstOrDefault();
    }

    private static string DtStart(JsonElement start)
    {
        if (EventJson.String(start, "date"u8) is { } date)
        {
            return "DTSTART;VALUE=DATE:" + date.Replace("-", "", StringComparison.Ordinal);
        }

        var instant = DateTimeOffset.Parse(EventJson.String(start, "dateTime"u8)!, CultureInfo.InvariantCulture);
        if (EventJson.String(start, "timeZone"u8) is { } name && DateTimeZoneProviders.Tzdb.GetZoneOrNull(name) is { } zone)
        {
            // Google expands a series in its timeZone; so does iCalendar with TZID on DTSTART. Noda Time's bundled
            // IANA database needs nothing from the host (slim containers have no tzdata).
            var local = Instant.FromDateTimeOffset(instant).InZone(zone).LocalDateTime;
            return $"DTSTART;TZID={name}:{local.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}";
        }

        return $"DTSTART:{instant.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}";
    }

    /// <summary>The occurrence's end: its start plus the master's duration, in the same form as the start.</summary>
    private static JsonObject ShiftedEnd(JsonElement master, JsonElement originalStartTime)
    {
        var end = new JsonObject();
        var masterStart = master.GetProperty("start");
        var masterEnd = master.TryGetProperty("end", out var e) ? e : masterStart;
        if (EventJson.String(originalStartTime, "date"u8) is { } date)
        {
            var days = Day(masterEnd).DayNumber - Day(masterStart).DayNumber;
            end["date"] = DateOnly.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture).AddDays(days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }
        else
        {
            var duration = InstantOf(masterEnd) - InstantOf(masterStart);
            var start = DateTimeOffset.Parse(EventJson.String(originalStartTime, "dateTime"u8)!, CultureInfo.InvariantCulture);
            end["dateTime"] = (start + duration).ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture);
        }

        if (EventJson.String(masterEnd, "timeZone"u8) is { } zone)
        {
            end["timeZone"] = zone;
        }

        return end;
    }

    private static DateOnly Day(JsonElement when) =>
        EventJson.String(when, "date"u8) is { } date
            ? DateOnly.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture)
            : DateOnly.FromDateTime(InstantOf(when).UtcDateTime);

    private static DateTimeOffset InstantOf(JsonElement when) =>
        EventJson.String(when, "dateTime"u8) is { } dateTime ? DateTimeOffset.Parse(dateTime, CultureInfo.InvariantCulture)
        : EventJson.String(when, "date"u8) is { } date ? new DateTimeOffset(DateOnly.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)
        : throw new FormatException("An event time has neither date nor dateTime.");
}
