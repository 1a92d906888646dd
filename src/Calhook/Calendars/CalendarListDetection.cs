using System.Text.Json;
using Calhook.Changes;
using Calhook.Storage;

namespace Calhook.Calendars;

/// <summary>
/// The calendar-level verdict on a calendar list, pure: an entry not stored before is <c>calendar.added</c>, a stored
/// one that differs beyond bookkeeping (<c>etag</c>) is <c>calendar.updated</c> with its diff, and one that is
/// <c>deleted</c>, or absent from a whole list, is <c>calendar.removed</c>. The baseline reports nothing.
/// </summary>
internal static class CalendarListDetection
{
    public sealed record Result(List<CalendarEntryWrite> Entries, List<NewCalendarChange> Changes, HashSet<string> Removed);

    public static Result Detect(IReadOnlyList<JsonElement> items, IReadOnlyDictionary<string, string> stored, bool full, bool baseline, Func<string> newId)
    {
        var entries = new List<CalendarEntryWrite>();
        var changes = new List<NewCalendarChange>();
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!item.TryGetProperty("id", out var idElement) || idElement.GetString() is not { Length: > 0 } id || !seen.Add(id))
            {
                continue;
            }

            var deleted = item.TryGetProperty("deleted", out var d) && d.ValueKind == JsonValueKind.True;
            var before = stored.GetValueOrDefault(id);
            if (deleted)
            {
                if (before is not null)
                {
                    removed.Add(id);
                    changes.Add(new NewCalendarChange(newId(), ChangeTypes.CalendarRemoved, id, null, before, []));
                }

                if (!full)
                {
                    entries.Add(new CalendarEntryWrite(id, null));
                }

                continue;
            }

            var json = item.GetRawText();
            entries.Add(new CalendarEntryWrite(id, json));
            if (baseline)
            {
                continue;
            }

            if (before is null)
            {
                changes.Add(new NewCalendarChange(newId(), ChangeTypes.CalendarAdded, id, json, null, []));
                continue;
            }

            var diff = JsonDiff.Compare(JsonElement.Parse(before), item);
            if (diff.Count > 0)
            {
                changes.Add(new NewCalendarChange(newId(), ChangeTypes.CalendarUpdated, id, json, before, diff));
            }
        }

        if (full && !baseline)
        {
            foreach (var (id, before) in stored.Where(s => !seen.Contains(s.Key)).OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                removed.Add(id);
                changes.Add(new NewCalendarChange(newId(), ChangeTypes.CalendarRemoved, id, null, before, []));
            }
        }

        return new Result(entries, changes, removed);
    }
}
