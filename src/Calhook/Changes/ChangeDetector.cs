using System.Runtime.InteropServices;
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

    /// <summary>A full list after the sync token was refused: diffed against every stored snapshot; what is missing was deleted.</summary>
    FullResync,
}

/// <summary>What a sync commits besides the snapshot rows: the changes in order, and the events to forget.</summary>
internal sealed record Detection(IReadOnlyList<NewChange> Changes, IReadOnlyList<string> Forgotten);

/// <summary>
/// Change detection for one sync, of any <see cref="SyncKind"/>: fed the listed events page by page
/// (<see cref="Observe"/>), then given the stored events the list did not name (<see cref="Finish"/>). The rules are
/// <see cref="ChangeRules"/>': one change per event (its last copy wins, at that copy's position), each against the
/// stored snapshot (or the series' occurrence for an exception seen for the first time); bookkeeping-only updates and
/// tombstones of events never seen are not changes; a baseline reports nothing; on a resync every stored event the
/// list did not name was deleted. It keeps only ids and the changes found, never a page, so a full list of 100,000s
/// of events streams through it. Not thread-safe: one instance per sync.
/// </summary>
internal sealed class ChangeDetector(SyncKind kind, Func<string> newChangeId)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<NewChange?> _changes = [];
    private readonly Dictionary<string, int> _changeAt = new(StringComparer.Ordinal);
    private readonly HashSet<string> _forget = new(StringComparer.Ordinal);

    public SyncKind Kind => kind;

    /// <summary>Events listed so far.</summary>
    public int Count => _seen.Count;

    /// <summary>Detects the changes of one page (or of every page of an incremental sync) and returns the snapshot rows to write.</summary>
    /// <param name="items">The page's events, in list order.</param>
    /// <param name="stored">Stored snapshots of at least <see cref="ChangeRules.SnapshotIdsFor"/> the page (empty for a baseline).</param>
    public List<StagedSnapshot> Observe(IReadOnlyList<JsonElement> items, IReadOnlyDictionary<string, byte[]> stored)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(stored);
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
                // earlier, different copy in this list was written and must not win.
                if (!firstCopy)
                {
                    rows.Add(new StagedSnapshot(id, before));
                    _forget.Remove(id);
                }

                continue;
            }

            if (ChangeRules.Keep(item))
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

            if (ChangeRules.Classify(item, ChangeRules.Previous(item, Snapshot)) is { } change)
            {
                // The diff's values point into the page, which may be gone before the commit: they are copied out.
                _changeAt[id] = _changes.Count;
                _changes.Add(change with { Id = newChangeId(), Diff = [.. change.Diff.Select(d => new FieldChange(d.Path, d.Before?.Clone(), d.After?.Clone()))] });
            }
        }

        return rows;
    }

    /// <summary>
    /// Which stored events the caller must pass to <see cref="Finish"/>, of all stored ids: on a resync, every one the
    /// list did not name; otherwise none.
    /// </summary>
    public List<string> UnlistedToLoad(IEnumerable<string> storedIds) =>
        kind == SyncKind.FullResync ? [.. storedIds.Where(id => !_seen.Contains(id))] : [];

    /// <summary>
    /// The changes in order, then the deletion of each stored event the resync did not list (deleted while Calhook
    /// was not looking: no tombstone will ever come), and the events to forget once the snapshot rows are written.
    /// </summary>
    /// <param name="unlisted">The stored snapshots of <see cref="UnlistedToLoad"/>.</param>
    public Detection Finish(IReadOnlyDictionary<string, byte[]> unlisted)
    {
        ArgumentNullException.ThrowIfNull(unlisted);
        var changes = _changes.OfType<NewChange>().ToList();
        var forgotten = _forget.Order(StringComparer.Ordinal).ToList();
        foreach (var (id, json) in unlisted.OrderBy(u => u.Key, StringComparer.Ordinal))
        {
            if (_seen.Contains(id))
            {
                continue;
            }

            forgotten.Add(id);
            if (EventJson.Parse(json) is var previous && !EventJson.IsCancelled(previous))
            {
                changes.Add(ChangeRules.Deleted(id, previous) with { Id = newChangeId() });
            }
        }

        return new Detection(changes, forgotten);
    }
}
