using System.Runtime.InteropServices;
using System.Text.Json;
using Calhook.Storage;

namespace Calhook.Changes;

/// <summary>
/// Change detection for a full list (the baseline, or the resync after a 410), fed one page at a time so that no
/// page outlives its processing. It remembers only the ids seen and the changes found; the snapshot rows of each
/// page go to the store's staging. The rules are <see cref="ChangeDetector.Detect"/>'s: one change per event (its
/// last copy wins, at that copy's position), every change against the stored snapshot, and on a resync every stored
/// event absent from the list is deleted. Nothing it keeps points into a page. Not thread-safe: one instance per sync.
/// </summary>
internal sealed class FullListDetection(SyncKind kind, Func<string> newChangeId)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<NewChange?> _changes = [];
    private readonly Dictionary<string, int> _changeAt = new(StringComparer.Ordinal);
    private readonly HashSet<string> _forget = new(StringComparer.Ordinal);

    /// <summary>Events listed so far.</summary>
    public int Count => _seen.Count;

    /// <summary>
    /// Detects the changes of one page and returns its rows to stage.
    /// </summary>
    /// <param name="items">The page's events.</param>
    /// <param name="stored">Stored snapshots of at least <see cref="ChangeDetector.SnapshotIdsFor"/> the page (empty for a baseline).</param>
    public List<StagedSnapshot> Observe(IReadOnlyList<JsonElement> items, IReadOnlyDictionary<string, byte[]> stored)
    {
        var rows = new List<StagedSnapshot>(items.Count);
        var parsed = new Dictionary<string, JsonElement?>(StringComparer.Ordinal);
        JsonElement? Snapshot(string id)
        {
            if (!parsed.TryGetValue(id, out var element))
            {
                parsed[id] = element = stored.TryGetValue(id, out var json) ? EventJson.Parse(json) : null;
            }

            return element;
        }

        foreach (var item in items)
        {
            if (EventJson.Id(item) is not { } id)
            {
                continue;
            }

            var firstCopy = _seen.Add(id);
            if (!firstCopy && _changeAt.Remove(id, out var earlier))
            {
                // Listed again (changed during paging): this copy decides, at this position.
                _changes[earlier] = null;
            }

            var raw = JsonMarshal.GetRawUtf8Value(item);
            var before = stored.GetValueOrDefault(id);
            if (before is not null && raw.SequenceEqual(before))
            {
                // Byte for byte what Calhook has, the common case of a resync: nothing to parse or write, unless an
                // earlier, different copy in this list was staged and must not win.
                if (!firstCopy)
                {
                    rows.Add(new StagedSnapshot(id, before));
                    _forget.Remove(id);
                }

                continue;
            }

            // Cancelled instances are kept (Google says: for the life of the series); other tombstones are forgotten.
            var keep = !EventJson.IsCancelled(item) || EventJson.RecurringEventId(item) is not null;
            if (keep)
            {
                rows.Add(new StagedSnapshot(id, raw.ToArray()));
                _forget.Remove(id);
            }
            else
            {
                _forget.Add(id);
            }

            if (kind == SyncKind.Baseline)
            {
                continue;
            }

            var previous = Snapshot(id);
            if (previous is null && EventJson.RecurringEventId(item) is { } masterId && EventJson.OriginalStartTime(item) is { } originalStart
                && Snapshot(masterId) is { } master && !EventJson.IsCancelled(master))
            {
                // An exception seen for the first time: its previous state is that occurrence of the series.
                previous = SeriesOccurrences.DeriveInstance(master, id, originalStart);
            }

            if (ChangeDetector.Classify(item, previous) is { } change)
            {
                // The diff's values point into the page, which is gone before the commit: they are copied out.
                _changeAt[id] = _changes.Count;
                _changes.Add(change with { Id = newChangeId(), Diff = [.. change.Diff.Select(d => new FieldChange(d.Path, d.Before?.Clone(), d.After?.Clone()))] });
            }
        }

        return rows;
    }

    /// <summary>The stored events this list did not name, of <paramref name="storedIds"/>: deleted while Calhook was not looking.</summary>
    public List<string> Absent(IEnumerable<string> storedIds) => [.. storedIds.Where(id => !_seen.Contains(id))];

    /// <summary>The snapshots to delete once the staged rows are in: the absent events and those last listed as a tombstone.</summary>
    public List<string> Forgotten(IReadOnlyList<string> absent) => [.. absent, .. _forget.Order(StringComparer.Ordinal)];

    /// <summary>The changes in order, then the deletion of each absent event that was not already a tombstone.</summary>
    public List<NewChange> Changes(IReadOnlyList<string> absent, IReadOnlyDictionary<string, byte[]> absentSnapshots)
    {
        var changes = _changes.OfType<NewChange>().ToList();
        foreach (var id in absent)
        {
            if (absentSnapshots.TryGetValue(id, out var json) && EventJson.Parse(json) is var previous
                && !EventJson.IsCancelled(previous))
            {
                changes.Add(ChangeDetector.Deleted(id, previous) with { Id = newChangeId() });
            }
        }

        return changes;
    }
}
