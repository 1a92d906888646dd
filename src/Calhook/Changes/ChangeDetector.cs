using System.Text.Json;
using Calhook.Storage;

namespace Calhook.Changes;

/// <summary>How a sync read the calendar, which decides what its result means.</summary>
internal enum SyncKind
{
    /// <summary>The first full list of a watch: a baseline, stored but never reported.</summary>
    Baseline,

    /// <summary>Only what changed since the sync token.</summary>
    Incremental,

    /// <summary>A full list after a 410: diffed against every stored snapshot; what is missing was deleted.</summary>
    FullResync,
}

/// <summary>What one sync writes: the snapshot updates and the changes, in the order they were observed.</summary>
internal sealed record Detection(IReadOnlyList<SnapshotWrite> Snapshots, IReadOnlyList<NewChange> Changes);

/// <summary>
/// Turns the events one sync read (all pages, in order) and the stored snapshots into snapshot writes and typed
/// changes. One change per event per sync (a later copy of an event wins); bookkeeping-only updates are not
/// changes; tombstones of events never seen emit nothing; an exception of a known series without a snapshot of its
/// own is diffed against the occurrence derived from the series. Pure and thread-safe.
/// </summary>
internal static class ChangeDetector
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

    /// <param name="kind">How the items were read.</param>
    /// <param name="items">Every event of every page, in page order.</param>
    /// <param name="snapshots">Stored snapshots by event id: at least <see cref="SnapshotIdsFor"/>, and every one for a full resync.</param>
    /// <param name="newChangeId">Mints change ids.</param>
    public static Detection Detect(SyncKind kind, IReadOnlyList<JsonElement> items, IReadOnlyDictionary<string, string> snapshots, Func<string> newChangeId)
    {
        var writes = new List<SnapshotWrite>();
        var changes = new List<NewChange>();
        var parsed = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        JsonElement? Snapshot(string id)
        {
            if (parsed.TryGetValue(id, out var element))
            {
                return element;
            }

            if (!snapshots.TryGetValue(id, out var json))
            {
                return null;
            }

            return parsed[id] = EventJson.Parse(json);
        }

        foreach (var item in LatestPerEvent(items))
        {
            var id = EventJson.Id(item)!;
            var stored = snapshots.GetValueOrDefault(id);
            var raw = item.GetRawText();
            if (raw == stored)
            {
                // Byte for byte what Calhook has: the common case of a full resync, and nothing to parse or write.
                continue;
            }

            var before = Snapshot(id);
            if (before is null && EventJson.RecurringEventId(item) is { } masterId && EventJson.OriginalStartTime(item) is { } originalStart
                && Snapshot(masterId) is { } master && !EventJson.IsCancelled(master))
            {
                // An exception seen for the first time: its previous state is that occurrence of the series.
                before = SeriesOccurrences.DeriveInstance(master, id, originalStart);
            }

            var live = !EventJson.IsCancelled(item);

            // Cancelled instances are kept (Google says: for the life of the series), so a full resync that lists
            // them again finds them known; other tombstones only make Calhook forget the event.
            var keep = live || EventJson.RecurringEventId(item) is not null;
            if (keep)
            {
                writes.Add(new SnapshotWrite(id, raw));
            }
            else if (stored is not null)
            {
                writes.Add(new SnapshotWrite(id, null));
            }

            if (kind != SyncKind.Baseline && Classify(item, before) is { } change)
            {
                changes.Add(change with { Id = newChangeId() });
            }
        }

        if (kind == SyncKind.FullResync)
        {
            var listed = items.Select(EventJson.Id).OfType<string>().ToHashSet(StringComparer.Ordinal);
            foreach (var (id, json) in snapshots)
            {
                if (listed.Contains(id))
                {
                    continue;
                }

                // Absent from a full list: deleted while Calhook was not looking (no tombstone will ever come).
                writes.Add(new SnapshotWrite(id, null));
                var previous = Snapshot(id)!.Value;
                if (!EventJson.IsCancelled(previous))
                {
                    changes.Add(Deleted(id, previous) with { Id = newChangeId() });
                }
            }
        }

        return new Detection(writes, changes);
    }

    /// <summary>The change from <paramref name="before"/> (null: unknown) to <paramref name="item"/>, or null when nothing a user sees changed.</summary>
    internal static NewChange? Classify(JsonElement item, JsonElement? before)
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

    internal static NewChange Deleted(string id, JsonElement previous, JsonElement? tombstone = null) =>
        Change(ChangeTypes.Deleted, id, tombstone ?? previous, null, previous, []);

    /// <param name="source">Where the instance fields come from: the event now, or the tombstone or previous state on deletion.</param>
    private static NewChange Change(string type, string id, JsonElement source, JsonElement? now, JsonElement? previous, IReadOnlyList<FieldChange> diff)
    {
        var recurringEventId = EventJson.RecurringEventId(source) ?? (previous is { } p ? EventJson.RecurringEventId(p) : null);
        var originalStart = EventJson.OriginalStartTime(source) ?? (previous is { } q ? EventJson.OriginalStartTime(q) : null);
        return new NewChange("", type, id, recurringEventId, originalStart?.GetRawText(), now?.GetRawText(), previous?.GetRawText(), diff);
    }

    /// <summary>Each event once, at the position of its last copy (an event changed again during paging appears twice).</summary>
    private static IEnumerable<JsonElement> LatestPerEvent(IReadOnlyList<JsonElement> items)
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            if (EventJson.Id(items[i]) is { } id)
            {
                last[id] = i;
            }
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (EventJson.Id(items[i]) is { } id && last[id] == i)
            {
                yield return items[i];
            }
        }
    }
}
