using System.Globalization;
using System.Text.Json.Nodes;

namespace Calhook.Emulator.Events;

/// <summary>
/// One <c>EventDateTime</c>: an all-day date (<see cref="Date"/> set) or a timestamp, with its IANA zone if given.
/// <see cref="Instant"/> is the start of the day in UTC for dates.
/// </summary>
internal readonly record struct EventTime(DateTimeOffset Instant, DateOnly? Date, string? TimeZone)
{
    public bool IsAllDay => Date is not null;

    /// <summary>Parses Google's <c>{"date"}</c> or <c>{"dateTime","timeZone"?}</c>; false on any rule broken.</summary>
    public static bool TryParse(JsonNode? node, out EventTime time)
    {
        time = default;
        if (node is not JsonObject edt)
        {
            return false;
        }

        var date = edt["date"] is JsonValue d && d.TryGetValue(out string? ds) ? ds : null;
        var dateTime = edt["dateTime"] is JsonValue t && t.TryGetValue(out string? ts) ? ts : null;
        var zone = edt["timeZone"] is JsonValue z && z.TryGetValue(out string? zs) ? zs : null;
        if (zone is not null && FindZone(zone) is null)
        {
            return false;
        }

        if ((date is null) == (dateTime is null))
        {
            return false;
        }

        if (date is not null)
        {
            if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                return false;
            }

            time = new EventTime(new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), day, zone);
            return true;
        }

        if (!TryParseInstant(dateTime!, zone, out var instant))
        {
            return false;
        }

        time = new EventTime(instant, null, zone);
        return true;
    }

    /// <summary>RFC 3339 with an offset, or a local time resolved in <paramref name="zone"/>.</summary>
    public static bool TryParseInstant(string text, string? zone, out DateTimeOffset instant)
    {
        instant = default;
        if (text.Length < 19 || text[10] != 'T')
        {
            return false;
        }

        var hasOffset = text.EndsWith('Z') || text.EndsWith('z') || text.LastIndexOfAny(['+', '-']) > 10;
        if (hasOffset)
        {
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out instant);
        }

        if (zone is null || FindZone(zone) is not { } tz)
        {
            return false;
        }

        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return false;
        }

        instant = new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), tz.GetUtcOffset(local));
        return true;
    }

    public static TimeZoneInfo? FindZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    /// <summary>Formats an instant as Google does: in the zone's offset, <c>Z</c> for UTC.</summary>
    public static string Format(DateTimeOffset instant, TimeZoneInfo? zone)
    {
        var local = zone is null ? instant : TimeZoneInfo.ConvertTime(instant, zone);
        return local.Offset == TimeSpan.Zero
            ? local.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
    }

    public static string FormatUtc(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
