using System.Text.Json;

namespace Calhook.Changes;

/// <summary>Change types as they appear in <see cref="Change.Type"/>.</summary>
public static class ChangeTypes
{
    public const string Created = "event.created";
    public const string Updated = "event.updated";
    public const string Deleted = "event.deleted";

    /// <summary>A calendar joined the account's calendar list (created, or shared with the account).</summary>
    public const string CalendarAdded = "calendar.added";

    /// <summary>A calendar's list entry changed (its name, colour, the account's role, …).</summary>
    public const string CalendarUpdated = "calendar.updated";

    /// <summary>A calendar left the account: deleted, unshared, or access lost. No event changes follow for it.</summary>
    public const string CalendarRemoved = "calendar.removed";
}

/// <summary>
/// One entry of the change log: what happened to one event, as observed by one sync.
/// <see cref="Event"/> is absent on deletions, <see cref="Previous"/> on creations.
/// </summary>
public sealed record Change
{
    /// <summary>Stable id (<c>chg_…</c>), identical in the feed, the stream and every webhook retry.</summary>
    public required string Id { get; init; }

    /// <summary>Global, gap-free order of the log, starting at 1.</summary>
    public required long Sequence { get; init; }

    /// <summary>One of <see cref="ChangeTypes"/>.</summary>
    public required string Type { get; init; }

    public required string CalendarId { get; init; }

    /// <summary>The event's id; empty for calendar-level changes (<c>calendar.*</c>), which name no event.</summary>
    public required string EventId { get; init; }

    /// <summary>The watch whose sync observed the change.</summary>
    public required string WatchId { get; init; }

    public required DateTimeOffset DetectedAt { get; init; }

    /// <summary>Set when the event is an instance of a recurring series.</summary>
    public string? RecurringEventId { get; init; }

    /// <summary>Google's <c>originalStartTime</c> of the instance, when it is one.</summary>
    public JsonElement? OriginalStartTime { get; init; }

    /// <summary>
    /// On the creation of a series made by a "this and following" edit: the id of the series it was split from (whose
    /// recurrence now ends where this one begins).
    /// </summary>
    public string? SplitFrom { get; init; }

    /// <summary>The event now, in Google's JSON; absent on deletion.</summary>
    public JsonElement? Event { get; init; }

    /// <summary>
    /// Calendar-level changes only: the calendar list entry now (Google's <c>calendarListEntry</c>); absent on
    /// <c>calendar.removed</c>. <see cref="Previous"/> is then the entry before.
    /// </summary>
    public JsonElement? Calendar { get; init; }

    /// <summary>The event before, in Google's JSON; absent on creation.</summary>
    public JsonElement? Previous { get; init; }

    /// <summary>Field-level differences, empty on creation and deletion.</summary>
    public IReadOnlyList<FieldChange> Diff { get; init; } = [];
}

/// <summary>One changed JSON path with its value before and after (absent when the field did not exist).</summary>
public sealed record FieldChange(string Path, JsonElement? Before, JsonElement? After);
