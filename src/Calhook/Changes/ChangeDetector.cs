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

    // Series whose master this sync deleted (null) or whose recurrence it changed (the master now): their stored
    // instances that the list did not name are judged in Finish.
    private readonly Dictionary<string, JsonElement?> _endedSeries = new(StringComparer.Ordinal);

    // Listed instances by series, so that a deleted series' instance tombstones are forgotten with it.
    private readonly Dictionary<string, List<string>> _listedInstances = new(StringComparer.Ordinal);

    // Series this sync created, by id, with their start: "this and following" splits are linked in Finish.
    private readonly Dictionary<string, JsonElement> _createdSeries = new(StringComparer.Ordinal);
    private readonly List<string> _problems = [];

    public SyncKind Kind => kind;

    /// <summary>
    /// What detection could not do exactly but did not let stop the sync (a time zone Calhook does not know): for the
    /// watch's status. Each is reported once per sync.
    /// </summary>
    public IReadOnlyList<string> Problems => _problems;

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
            var head = EventJson.Head(item);
            if (head.Id is not { } id)
            {
                continue;
            }

            // A baseline compares with nothing and reports nothing, so it need not remember the ids it listed (100,000s
            // of them in a big calendar): a later copy of an event simply writes its row after the earlier one's.
            var firstCopy = kind == SyncKind.Baseline || _seen.Add(id);
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

            if (ChangeRules.Keep(item, head))
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

            var previous = ChangeRules.Previous(item, Snapshot);
            if (previous is null && EventJson.RecurringEventId(item) is { } seriesId && Snapshot(seriesId) is { } series
                && SeriesOccurrences.UnknownZone(series) is { } zone)
            {
                Problem($"Series '{seriesId}' is in time zone '{zone}', which Calhook does not know: its edited instances are reported without their previous state.");
            }

            FollowSeries(id, item, previous);
            if (ChangeRules.Classify(item, previous) is { } change)
            {
                // The diff's values point into the page, which may be gone before the commit: they are copied out.
                _changeAt[id] = _changes.Count;
                _changes.Add(change with { Id = newChangeId(), Diff = [.. change.Diff.Select(d => new FieldChange(d.Path, d.Before?.Clone(), d.After?.Clone()))] });
                if (change.Type == ChangeTypes.Created && ChangeRules.IsSeries(item) && item.TryGetProperty("start", out var start))
                {
                    _createdSeries[id] = start.Clone();
                }
                else
                {
                    _createdSeries.Remove(id);
                }
            }
        }

        return rows;
    }

    /// <summary>
    /// Whether <see cref="Finish"/> needs stored events the list did not name: always on a resync (every one of them),
    /// and when this sync deleted a series or changed its recurrence (their instances). Otherwise the caller need not
    /// read the ids of every stored event.
    /// </summary>
    public bool NeedsUnlisted => kind == SyncKind.FullResync || _endedSeries.Count > 0;

    /// <summary>
    /// Which stored events the caller must pass to <see cref="Finish"/>, of all stored ids: on a resync every one the
    /// list did not name; otherwise the unlisted instances of the series this sync deleted or changed (Google names
    /// an instance <c>{seriesId}_{originalStart}</c>; the instance's <c>recurringEventId</c> is checked in Finish).
    /// </summary>
    public List<string> UnlistedToLoad(IEnumerable<string> storedIds) =>
        [.. storedIds.Where(id => !_seen.Contains(id) && (kind == SyncKind.FullResync || InstanceOfEndedSeries(id)))];

    /// <summary>
    /// The changes in order, each series' lost instances right after the series' own change, then on a resync the
    /// deletion of each other stored event the list did not name (deleted while Calhook was not looking: no tombstone
    /// will ever come); and the events to forget once the snapshot rows are written.
    /// </summary>
    /// <param name="unlisted">The stored snapshots of <see cref="UnlistedToLoad"/>.</param>
    public Detection Finish(IReadOnlyDictionary<string, byte[]> unlisted)
    {
        ArgumentNullException.ThrowIfNull(unlisted);
        var forgotten = new List<string>(_forget.Order(StringComparer.Ordinal));
        var handled = new HashSet<string>(StringComparer.Ordinal);
        var lost = new Dictionary<string, List<NewChange>>(StringComparer.Ordinal);
        var ordered = unlisted.Where(u => !_seen.Contains(u.Key)).OrderBy(u => u.Key, StringComparer.Ordinal)
            .Select(u => (Id: u.Key, Event: EventJson.Parse(u.Value))).ToList();

        foreach (var (seriesId, masterNow) in _endedSeries)
        {
            // Google sends only the master's tombstone for a deleted series, and an id-only tombstone (if any) for an
            // exception a "this and following" edit removed: each instance Calhook knew and that the series no longer
            // has is deleted here, once (an instance Google did list was judged on its own).
            var deletions = lost[seriesId] = [];
            foreach (var (id, instance) in ordered)
            {
                if (EventJson.RecurringEventId(instance) != seriesId
                    || (masterNow is { } master && (EventJson.OriginalStartTime(instance) is not { } start || !SeriesOccurrences.EndsBefore(master, start))))
                {
                    continue;
                }

                handled.Add(id);
                forgotten.Add(id);
                if (!EventJson.IsCancelled(instance))
                {
                    deletions.Add(ChangeRules.Deleted(id, instance) with { Id = newChangeId() });
                }
            }

            if (masterNow is null && _listedInstances.TryGetValue(seriesId, out var listed))
            {
                // The series is gone: so are the instance tombstones Google listed with it.
                forgotten.AddRange(listed);
            }
        }

        var changes = new List<NewChange>();
        foreach (var change in _changes.OfType<NewChange>())
        {
            changes.Add(change.Type == ChangeTypes.Created && SplitFrom(change.EventId) is { } from ? change with { SplitFrom = from } : change);
            if (lost.Remove(change.EventId, out var deletions))
            {
                changes.AddRange(deletions);
            }
        }

        changes.AddRange(lost.Values.SelectMany(d => d));
        foreach (var (id, previous) in ordered)
        {
            if (kind != SyncKind.FullResync || handled.Contains(id))
            {
                continue;
            }

            forgotten.Add(id);
            if (!EventJson.IsCancelled(previous))
            {
                changes.Add(ChangeRules.Deleted(id, previous) with { Id = newChangeId() });
            }
        }

        return new Detection(changes, forgotten);
    }

    /// <summary>Notes what a listed event means for its series: a master deleted or re-ruled, an instance listed.</summary>
    private void FollowSeries(string id, JsonElement item, JsonElement? previous)
    {
        if (EventJson.RecurringEventId(item) is { } seriesId)
        {
            (_listedInstances.TryGetValue(seriesId, out var ids) ? ids : _listedInstances[seriesId] = []).Add(id);
            return;
        }

        if (previous is not { } before || EventJson.IsCancelled(before) || !ChangeRules.IsSeries(before))
        {
            return;
        }

        if (EventJson.IsCancelled(item))
        {
            _endedSeries[id] = null;
        }
        else if (!item.TryGetProperty("recurrence", out var now) || !JsonElement.DeepEquals(now, before.GetProperty("recurrence")))
        {
            _endedSeries[id] = item.Clone();
        }
        else
        {
            // A later copy with the recurrence Calhook knows undoes an earlier one of this list.
            _endedSeries.Remove(id);
        }
    }

    private bool InstanceOfEndedSeries(string id)
    {
        var underscore = id.LastIndexOf('_');
        return underscore > 0 && _endedSeries.ContainsKey(id[..underscore]);
    }

    /// <summary>
    /// The series a new series was split from by a "this and following" edit, or null. Google names the new series
    /// <c>{seriesId}_R{date}</c>; when it gives a new id instead, the new series is linked to the series this same
    /// sync truncated (its recurrence now ends before the new series starts), the one that ends closest before it.
    /// </summary>
    private string? SplitFrom(string id)
    {
        if (!_createdSeries.TryGetValue(id, out var start))
        {
            return null;
        }

        var r = id.LastIndexOf("_R", StringComparison.Ordinal);
        if (r > 0 && id.Length > r + 2 && char.IsAsciiDigit(id[r + 2]))
        {
            return id[..r];
        }

        string? best = null;
        var bestEnd = DateTimeOffset.MinValue;
        foreach (var (seriesId, masterNow) in _endedSeries)
        {
            if (masterNow is { } master && seriesId != id && SeriesOccurrences.LastOccurrenceBefore(master, start) is { } end && end > bestEnd)
            {
                (best, bestEnd) = (seriesId, end);
            }
        }

        return best;
    }

    private void Problem(string message)
    {
        if (!_problems.Contains(message))
        {
            _problems.Add(message);
        }
    }
}
