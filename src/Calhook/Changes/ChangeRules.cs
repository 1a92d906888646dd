using System.Text.Json;
using Calhook.Storage;

namespace Calhook.Changes;

/// <summary>
/// The rules of change detection, per event: what Calhook keeps of it, what it was before, and what changed. Every
/// sync (incremental, baseline and resync) applies them through <see cref="ChangeDetector"/>. Pure and thread-safe.
/// </summary>
internal static class ChangeRules
{
    /// <summary>The snapshot ids detection needs for these items: each event and the series each instance belongs to.</summary>
    public static IReadOnlyCollection<string> SnapshotIdsFor(IEnumerable<JsonElement> items)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (EventJson.Id(item) is { } id)
            {
                ids.Add(id);
            }

            if (EventJson.RecurringEventId(item) is { } masterId)
            {
                ids.Add(masterId);
            }
        }

        return ids;
    }

    /// <summary>
    /// Whether the event's snapshot is kept. Live events are; so are cancelled instances (Google keeps them for the
    /// life of the series, and a resync lists them again); every other tombstone only makes Calhook forget the event.
    /// </summary>
    public static bool Keep(JsonElement item, EventHead head) => !head.Cancelled || EventJson.RecurringEventId(item) is not null;

    /// <summary>True for a series' master: it has a <c>recurrence</c> and is not itself an instance.</summary>
    public static bool IsSeries(JsonElement item) =>
        EventJson.RecurringEventId(item) is null && item.TryGetProperty("recurrence", out var recurrence) && recurrence.ValueKind == JsonValueKind.Array;

    /// <summary>
    /// The event before this sync: its snapshot, or for an exception of a known series seen for the first time, that
    /// occurrence of the series (an edited or cancelled instance is a change of the series' occurrence, never a new,
    /// unrelated event). Null when Calhook never saw it.
    /// </summary>
    public static JsonElement? Previous(JsonElement item, Func<string, JsonElement?> snapshot)
    {
        var id = EventJson.Id(item)!;
        if (snapshot(id) is { } stored)
        {
            return stored;
        }

        return EventJson.RecurringEventId(item) is { } masterId && EventJson.OriginalStartTime(item) is { } originalStart
            && snapshot(masterId) is { } master && !EventJson.IsCancelled(master)
            ? SeriesOccurrences.DeriveInstance(master, id, originalStart)
            : null;
    }

    /// <summary>
    /// The change from <paramref name="before"/> (null: unknown) to <paramref name="item"/>, or null when nothing a
    /// user sees changed: a bookkeeping-only difference (<see cref="JsonDiff.BookkeepingFields"/>), or the tombstone of
    /// an event Calhook never saw.
    /// </summary>
    public static NewChange? Classify(JsonElement item, JsonElement? before)
    {
        var id = EventJson.Id(item)!;
        var wasLive = before is { } b && !EventJson.IsCancelled(b);
        var isLive = !EventJson.IsCancelled(item);
        if (isLive && !wasLive)
        {
            return Change(ChangeTypes.Created, id, item, item, null, []);
        }

        if (wasLive && !isLive)
        {
            return Deleted(id, before!.Value, item);
        }

        if (wasLive && isLive)
        {
            var diff = JsonDiff.Compare(before!.Value, item);
            return diff.Count == 0 ? null : Change(ChangeTypes.Updated, id, item, item, before, diff);
        }

        return null;
    }

    /// <summary>The deletion of an event last seen as <paramref name="previous"/>; <paramref name="tombstone"/> when Google sent one.</summary>
    public static NewChange Deleted(string id, JsonElement previous, JsonElement? tombstone = null) =>
        Change(ChangeTypes.Deleted, id, tombstone ?? previous, null, previous, []);

    /// <param name="source">Where the instance fields come from: the event now, or the tombstone or previous state on deletion.</param>
    private static NewChange Change(string type, string id, JsonElement source, JsonElement? now, JsonElement? previous, IReadOnlyList<FieldChange> diff)
    {
        var recurringEventId = EventJson.RecurringEventId(source) ?? (previous is { } p ? EventJson.RecurringEventId(p) : null);
        var originalStart = EventJson.OriginalStartTime(source) ?? (previous is { } q ? EventJson.OriginalStartTime(q) : null);
        return new NewChange("", type, id, recurringEventId, originalStart?.GetRawText(), now?.GetRawText(), previous?.GetRawText(), diff);
    }
}
