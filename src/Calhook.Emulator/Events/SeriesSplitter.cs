using System.Globalization;
using System.Text.Json.Nodes;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Events;

/// <summary>
/// "This and following" as Google's web UI performs it (the API has no such call): the series is truncated with an
/// <c>UNTIL</c> at the end of the day before the chosen instance, in the series' time zone (as recorded:
/// <c>RRULE:FREQ=DAILY;UNTIL=20250326T045959Z</c> for a split on 2025-03-26 in America/Chicago); its exceptions from
/// that instance on are cancelled and listed as id-only tombstones (recorded); an edit then creates the new series
/// from that instance on, with the id <c>{master}_R{start in UTC, yyyyMMdd'T'HHmmss}</c> or a new id (both recorded),
/// the master's <c>created</c>, and its <c>sequence</c> raised only when the edit moves the times (recorded).
/// The truncation itself keeps the master's sequence (recorded).
/// </summary>
internal sealed class SeriesSplitter(EmulatorRuntime runtime, EventWriter writer)
{
    /// <summary>The new series (an edit) or null (a delete), or Google-style error.</summary>
    public (StoredEvent? NewSeries, GoogleError? Error) ThisAndFollowing(CalendarState calendar, string instanceId, JsonObject? edit, bool newId)
    {
        StoredEvent? created = null;
        lock (calendar.Gate)
        {
            if (EventIds.MasterOf(instanceId) is not { } masterId || calendar.Find(masterId) is not { IsCancelled: false, IsRecurring: true } master)
            {
                return (null, GoogleError.NotFound());
            }

            var occurrences = master.Occurrences(runtime.Options.MaxInstancesPerSeries);
            var index = occurrences.ToList().FindIndex(o => o.InstanceId == instanceId);
            if (index < 0)
            {
                return (null, GoogleError.NotFound());
            }

            if (index == 0)
            {
                return (null, GoogleError.Invalid("The instance is the series' first: change or delete the series itself."));
            }

            var at = occurrences[index];
            var zone = master.Start!.Value.TimeZone is { } z ? EventTime.FindZone(z) : null;

            JsonObject? next = null;
            if (edit is not null)
            {
                next = (JsonObject)master.Node.DeepClone();
                foreach (var server in new[] { "id", "etag", "htmlLink", "updated", "iCalUID" })
                {
                    next.Remove(server);
                }

                next["start"] = at.StartJson.DeepClone();
                next["end"] = at.EndJson.DeepClone();
                next["recurrence"] = new JsonArray([.. Lines(master).Select(l => (JsonNode)ContinueRule(l, index)!)]);
                var timesBefore = (next["start"]!.ToJsonString(), next["end"]!.ToJsonString());
                foreach (var (name, value) in edit)
                {
                    next[name] = value?.DeepClone();
                }

                if (timesBefore != (next["start"]?.ToJsonString(), next["end"]?.ToJsonString()))
                {
                    next["sequence"] = (master.Node["sequence"] is JsonValue s && s.TryGetValue(out int was) ? was : 0) + 1;
                }

                if (writer.Check(next) is { } invalid)
                {
                    return (null, invalid);
                }
            }

            var id = newId ? EventIds.New() : EventIds.SplitSeries(masterId, at.Start);
            if (next is not null && calendar.Find(id) is not null)
            {
                return (null, GoogleError.Duplicate());
            }

            var truncated = (JsonObject)master.Node.DeepClone();
            var until = Until(at, master.Start!.Value, zone);
            truncated["recurrence"] = new JsonArray([.. Lines(master).Select(l => (JsonNode)Truncate(l, until)!)]);
            writer.CommitLocked(calendar, truncated, masterId, master, MutationKind.Updated);

            foreach (var exception in calendar.ExceptionsOf(masterId).Where(e => e.Key >= at.Start && !e.Value.IsCancelled).Select(e => e.Value).ToList())
            {
                // Orphaned: lists show only its id (recorded), so the tombstone no longer names its series.
                var gone = (JsonObject)exception.Node.DeepClone();
                gone["status"] = "cancelled";
                gone.Remove("recurringEventId");
                gone.Remove("originalStartTime");
                writer.CommitLocked(calendar, gone, exception.Id, exception, MutationKind.Deleted);
            }

            if (next is not null)
            {
                created = writer.CommitLocked(calendar, next, id, null, MutationKind.Created);
            }
        }

        writer.Raise(calendar);
        return (created, null);
    }

    private static IEnumerable<string> Lines(StoredEvent master) => ((JsonArray)master.Node["recurrence"]!).Select(l => l?.GetValue<string>() ?? "");

    /// <summary>The last second of the day before the instance, in the series' zone, as UTC (a date for all-day series).</summary>
    private static string Until(Recurrence.Occurrence at, EventTime first, TimeZoneInfo? zone)
    {
        if (first.IsAllDay)
        {
            return DateOnly.FromDateTime(at.Start.UtcDateTime).AddDays(-1).ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        }

        var local = zone is null ? at.Start : TimeZoneInfo.ConvertTime(at.Start, zone);
        var endOfDayBefore = local.Date.AddSeconds(-1);
        var offset = zone?.GetUtcOffset(endOfDayBefore) ?? TimeSpan.Zero;
        return new DateTimeOffset(endOfDayBefore, offset).UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
    }

    private static string Truncate(string line, string until) =>
        IsRule(line) ? WithoutParts(line, "UNTIL", "COUNT") + ";UNTIL=" + until : line;

    /// <summary>The rule of the new series: a COUNT keeps only the occurrences not already had.</summary>
    private static string ContinueRule(string line, int alreadyHad)
    {
        if (!IsRule(line))
        {
            return line;
        }

        var count = line.Split(':', 2)[1].Split(';').FirstOrDefault(p => p.StartsWith("COUNT=", StringComparison.OrdinalIgnoreCase));
        if (count is null || !int.TryParse(count[6..], CultureInfo.InvariantCulture, out var n))
        {
            return line;
        }

        return WithoutParts(line, "COUNT") + ";COUNT=" + Math.Max(1, n - alreadyHad).ToString(CultureInfo.InvariantCulture);
    }

    private static bool IsRule(string line) => line.StartsWith("RRULE:", StringComparison.OrdinalIgnoreCase);

    private static string WithoutParts(string line, params string[] names)
    {
        var (head, body) = (line[..(line.IndexOf(':') + 1)], line[(line.IndexOf(':') + 1)..]);
        var kept = body.Split(';').Where(p => !names.Any(n => p.StartsWith(n + "=", StringComparison.OrdinalIgnoreCase)));
        return head + string.Join(';', kept);
    }
}
