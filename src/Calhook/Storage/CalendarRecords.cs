using Calhook.Changes;

namespace Calhook.Storage;

/// <summary>
/// What a watch follows: one calendar's events (<c>Calendar</c>), an account's calendar list (<c>CalendarList</c>:
/// created by Calhook, one per account with watches, hidden from the API) or every calendar of an account
/// (<c>AllCalendars</c>: no channel of its own; its per-calendar watches name it as their parent).
/// </summary>
public enum WatchKind { Calendar, CalendarList, AllCalendars }

/// <summary>A calendar-list watch's sync token (null before its first list) and when it last read the whole list.</summary>
public sealed record CalendarListState(string? SyncToken, DateTimeOffset? LastFullListAt);

/// <summary>A calendar-list snapshot write: the entry's JSON (Google's <c>calendarListEntry</c>), or null to forget it.</summary>
public sealed record CalendarEntryWrite(string CalendarId, string? Json);

/// <summary>A calendar-level change before it has a sequence: <c>calendar.added</c>, <c>calendar.updated</c> or <c>calendar.removed</c>.</summary>
public sealed record NewCalendarChange(
    string Id,
    string Type,
    string CalendarId,
    string? CalendarJson,
    string? PreviousJson,
    IReadOnlyList<FieldChange> Diff);

/// <summary>An event watch stopped because its calendar left the account (deleted, unshared, access lost).</summary>
public sealed record WatchStop(string WatchId, string Reason);

/// <summary>
/// What one calendar-list sync commits, in one transaction: the entry snapshots (all replaced when
/// <see cref="FullList"/>), the calendar-level changes, the event watches it stops, and the next sync token (null
/// keeps the stored one, as a removal found by an event watch's 404 does). With a next sync token the commit is fenced
/// like an event sync's: it lands only while the watch still has <see cref="ExpectedSyncToken"/> (the token the list
/// started from, null for the first list), else it writes nothing (<see cref="SyncSupersededException"/>). Without one
/// (a removal) it is not fenced and <see cref="ExpectedSyncToken"/> is ignored.
/// </summary>
public sealed record CalendarListCommit(
    string WatchId,
    DateTimeOffset DetectedAt,
    bool FullList,
    IReadOnlyList<CalendarEntryWrite> Entries,
    IReadOnlyList<NewCalendarChange> Changes,
    IReadOnlyList<WatchStop> Stops,
    string? NextSyncToken,
    string? ExpectedSyncToken);
