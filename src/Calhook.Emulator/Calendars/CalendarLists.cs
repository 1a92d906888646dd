namespace Calhook.Emulator.Calendars;

/// <summary>One entry of a user's calendar list: the calendar, the user's role on it, and when it last changed.</summary>
internal sealed record ListEntry(string CalendarId, string AccessRole, long Seq, DateTimeOffset Updated, bool Deleted);

/// <summary>
/// Every user's calendar list, as <c>calendarList.list</c> and its sync tokens see it. One counter orders every entry
/// change of every user, so a sync token is the counter when it was issued. Changes to the calendar itself (its
/// summary, time zone) are not list changes: Google documents that such read-only calendar properties neither move
/// the entry's etag nor return it to an incremental list. Thread-safe (one lock; lists are small).
/// </summary>
internal sealed class CalendarLists
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, ListEntry>> _byUser = new(StringComparer.Ordinal);
    private long _seq;

    public long LastSeq
    {
        get
        {
            lock (_gate)
            {
                return _seq;
            }
        }
    }

    /// <summary>Adds the calendar to the user's list, or changes the user's role on it. False when nothing changed.</summary>
    public bool Put(string user, string calendarId, string role, DateTimeOffset now)
    {
        lock (_gate)
        {
            var entries = EntriesOf(user);
            if (entries.TryGetValue(calendarId, out var existing) && !existing.Deleted && existing.AccessRole == role)
            {
                return false;
            }

            entries[calendarId] = new ListEntry(calendarId, role, ++_seq, now, Deleted: false);
            return true;
        }
    }

    /// <summary>Removes the calendar from the user's list, leaving a deleted entry for sync tokens. False when absent.</summary>
    public bool Remove(string user, string calendarId, DateTimeOffset now)
    {
        lock (_gate)
        {
            var entries = EntriesOf(user);
            if (!entries.TryGetValue(calendarId, out var existing) || existing.Deleted)
            {
                return false;
            }

            entries[calendarId] = existing with { Seq = ++_seq, Updated = now, Deleted = true };
            return true;
        }
    }

    /// <summary>The user's role on the calendar, or null when it is not on the user's list.</summary>
    public string? RoleOf(string user, string calendarId)
    {
        lock (_gate)
        {
            return _byUser.TryGetValue(user, out var entries) && entries.TryGetValue(calendarId, out var e) && !e.Deleted ? e.AccessRole : null;
        }
    }

    /// <summary>Users whose list holds the calendar (not deleted).</summary>
    public List<string> UsersWith(string calendarId)
    {
        lock (_gate)
        {
            return _byUser.Where(u => u.Value.TryGetValue(calendarId, out var e) && !e.Deleted).Select(u => u.Key).ToList();
        }
    }

    /// <summary>The user's entries changed after <paramref name="afterSeq"/> (deleted ones included), and the counter now.</summary>
    public (List<ListEntry> Entries, long Seq) ChangedAfter(string user, long afterSeq)
    {
        lock (_gate)
        {
            var entries = _byUser.TryGetValue(user, out var all) ? all.Values.Where(e => e.Seq > afterSeq).ToList() : [];
            return (entries, _seq);
        }
    }

    /// <summary>Every entry of every user (deleted ones included) and the counter, for the state file.</summary>
    public (List<(string User, ListEntry Entry)> Entries, long Seq) Snapshot()
    {
        lock (_gate)
        {
            return ([.. _byUser.SelectMany(u => u.Value.Values.Select(e => (u.Key, e)))], _seq);
        }
    }

    /// <summary>Puts back the entries and the counter read from the state file (before the emulator serves anything).</summary>
    public void Restore(IEnumerable<(string User, ListEntry Entry)> entries, long seq)
    {
        lock (_gate)
        {
            foreach (var (user, entry) in entries)
            {
                EntriesOf(user)[entry.CalendarId] = entry;
            }

            _seq = Math.Max(_seq, seq);
        }
    }

    private Dictionary<string, ListEntry> EntriesOf(string user)
    {
        if (!_byUser.TryGetValue(user, out var entries))
        {
            _byUser[user] = entries = new Dictionary<string, ListEntry>(StringComparer.Ordinal);
        }

        return entries;
    }
}
