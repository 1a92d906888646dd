using System.Text.Json.Nodes;
using Calhook.Emulator.Events;

namespace Calhook.Emulator.Calendars;

/// <summary>What happened to an event, as the ground-truth history names it.</summary>
internal enum MutationKind { Created, Updated, Deleted }

/// <summary>One committed event mutation: the event as it was right after.</summary>
internal sealed record HistoryEntry(long Seq, MutationKind Kind, string EventId, DateTimeOffset At, byte[] Event);

/// <summary>
/// One calendar: its events, a modification-ordered index and its history. Every member is used under
/// <see cref="Gate"/>; one lock per calendar keeps calendars independent.
/// </summary>
internal sealed partial class CalendarState(string id, string owner, bool primary, string summary, string timeZone)
{
    private readonly Dictionary<string, StoredEvent> _events = new(StringComparer.Ordinal);

    // Append-only (seq, id) pairs in commit order. An entry is live when it is the event's current version; stale
    // entries are skipped. Incremental lists binary-search the first seq after the token: O(log n + changes).
    private readonly List<(long Seq, string Id)> _index = [];
    private readonly List<HistoryEntry> _history = [];
    private readonly Dictionary<string, HashSet<string>> _exceptionIds = new(StringComparer.Ordinal);

    public Lock Gate { get; } = new();

    public string Id { get; } = id;

    public string Owner { get; } = owner;

    public bool IsPrimary { get; } = primary;

    public string Summary { get; set; } = summary;

    public string? Description { get; set; }

    public string TimeZone { get; set; } = timeZone;

    public bool IsDeleted { get; set; }

    /// <summary>Seq of the last committed mutation; 0 for an empty calendar.</summary>
    public long LastSeq { get; private set; }

    /// <summary>Sync tokens issued with a number below this answer 410 (expire-sync-tokens).</summary>
    public long TokensValidFrom { get; set; }

    public DateTimeOffset LastUpdated { get; private set; }

    public int EventCount => _events.Count;

    public StoredEvent? Find(string eventId) => _events.GetValueOrDefault(eventId);

    /// <summary>Stores a new version of an event and appends it to the index and history.</summary>
    public StoredEvent Commit(JsonObject node, MutationKind kind, DateTimeOffset updated)
    {
        var seq = ++LastSeq;
        var stored = StoredEvent.Create(node, seq, updated);
        _events[stored.Id] = stored;
        _index.Add((seq, stored.Id));
        _history.Add(new HistoryEntry(seq, kind, stored.Id, updated, stored.Utf8));
        if (stored.RecurringEventId is { } masterId)
        {
            if (!_exceptionIds.TryGetValue(masterId, out var ids))
            {
                _exceptionIds[masterId] = ids = new HashSet<string>(StringComparer.Ordinal);
            }

            ids.Add(stored.Id);
        }
        LastUpdated = updated;
        return stored;
    }

    /// <summary>The live versions with seq above <paramref name="afterSeq"/>, in commit order.</summary>
    public IEnumerable<StoredEvent> ChangedAfter(long afterSeq)
    {
        var lo = 0;
        var hi = _index.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_index[mid].Seq <= afterSeq)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        for (var i = lo; i < _index.Count; i++)
        {
            var (seq, eventId) = _index[i];
            if (_events.TryGetValue(eventId, out var current) && current.Seq == seq)
            {
                yield return current;
            }
        }
    }

    public IEnumerable<StoredEvent> All => _events.Values;

    public List<HistoryEntry> HistoryAfter(long afterSeq, int limit)
    {
        var start = _history.BinarySearch(new HistoryEntry(afterSeq, default, "", default, []),
            Comparer<HistoryEntry>.Create((a, b) => a.Seq.CompareTo(b.Seq)));
        start = start >= 0 ? start + 1 : ~start;
        return _history.GetRange(start, Math.Min(limit, _history.Count - start));
    }

    /// <summary>Exceptions of a series keyed by their original start instant.</summary>
    public Dictionary<DateTimeOffset, StoredEvent> ExceptionsOf(string masterId)
    {
        var result = new Dictionary<DateTimeOffset, StoredEvent>();
        if (!_exceptionIds.TryGetValue(masterId, out var ids))
        {
            return result;
        }

        foreach (var id in ids)
        {
            if (_events.TryGetValue(id, out var e) && e.OriginalStart is { } original)
            {
                result[original.Instant] = e;
            }
        }

        return result;
    }
}
