using Calhook.Emulator.Events;

namespace Calhook.Emulator.Calendars;

/// <summary>What the state file keeps of a calendar, and how a calendar is rebuilt from it.</summary>
internal sealed partial class CalendarState
{
    /// <summary>The current version of every event (cancelled ones included), in commit order. Call under <see cref="Gate"/>.</summary>
    public IEnumerable<StoredEvent> LiveVersions => _events.Values.OrderBy(e => e.Seq);

    /// <summary>The whole ground-truth history. Call under <see cref="Gate"/>.</summary>
    public IReadOnlyList<HistoryEntry> History => _history;

    /// <summary>Fills a new, empty calendar with saved events and history; the index is rebuilt from the events.</summary>
    public void Restore(IEnumerable<StoredEvent> live, IEnumerable<HistoryEntry> entries, long lastSeq, long tokensValidFrom, DateTimeOffset lastUpdated)
    {
        lock (Gate)
        {
            foreach (var stored in live.OrderBy(e => e.Seq))
            {
                _events[stored.Id] = stored;
                _index.Add((stored.Seq, stored.Id));
                if (stored.RecurringEventId is { } masterId)
                {
                    if (!_exceptionIds.TryGetValue(masterId, out var ids))
                    {
                        _exceptionIds[masterId] = ids = new HashSet<string>(StringComparer.Ordinal);
                    }

                    ids.Add(stored.Id);
                }
            }

            _history.AddRange(entries);
            LastSeq = lastSeq;
            TokensValidFrom = tokensValidFrom;
            LastUpdated = lastUpdated;
        }
    }
}
