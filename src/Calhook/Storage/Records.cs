using Calhook.Changes;

namespace Calhook.Storage;

public enum AccountKind { OAuth, ServiceAccount }

/// <summary><c>Removed</c>: deleted through the API; kept (with its secret) only so its channels can still be stopped.</summary>
public enum AccountStatus { Active, NeedsReauth, Removed }

/// <summary>
/// A Google identity Calhook acts as. <see cref="ProtectedSecret"/> is the refresh token or the service-account key
/// JSON, already encrypted by the caller (the store never sees secrets in the clear).
/// </summary>
public sealed record AccountRecord(
    string Id,
    AccountKind Kind,
    string Email,
    string? Subject,
    string ProtectedSecret,
    AccountStatus Status,
    string? Error,
    DateTimeOffset CreatedAt);

/// <summary>Watch states as the API shows them: <c>starting</c>, <c>active</c>, <c>failing</c>, <c>needs_reauth</c>, <c>stopped</c>.</summary>
public enum WatchStatus { Starting, Active, Failing, NeedsReauth, Stopped }

/// <summary>
/// A watched calendar (or, by <see cref="Kind"/>, an account's calendar list or all its calendars; <see cref="CalendarId"/>
/// is then empty). <see cref="ParentWatchId"/> names the all-calendars watch that created it. <see cref="Status"/> and <see cref="Error"/> are derived on read from the lifecycle and the two
/// problems below (see <c>WatchHealth.Derive</c>); the channel supervisor and the syncer each write only their own problem.
/// </summary>
public sealed record WatchRecord(
    string Id,
    string AccountId,
    string CalendarId,
    WatchStatus Status,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastNotificationAt,
    DateTimeOffset? LastSyncAt,
    WatchProblem? ChannelProblem = null,
    WatchProblem? SyncProblem = null,
    WatchKind Kind = WatchKind.Calendar,
    string? ParentWatchId = null);

/// <summary>
/// A push channel. <see cref="ProtectedToken"/> is the channel token, encrypted by the caller.
/// <see cref="ResourceId"/> and <see cref="ExpiresAt"/> are known once Google answered the watch call.
/// </summary>
public sealed record ChannelRecord(
    string Id,
    string WatchId,
    string ProtectedToken,
    string? ResourceId,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StoppedAt);

public sealed record SyncState(string? SyncToken, DateTimeOffset? LastSyncAt);

/// <summary>A snapshot write: the event's JSON, or null to forget the event.</summary>
public sealed record SnapshotWrite(string EventId, string? Json);

/// <summary>A change before it has a sequence. <see cref="SplitFrom"/>: see <see cref="Change.SplitFrom"/>.</summary>
public sealed record NewChange(
    string Id,
    string Type,
    string EventId,
    string? RecurringEventId,
    string? OriginalStartTimeJson,
    string? EventJson,
    string? PreviousJson,
    IReadOnlyList<FieldChange> Diff,
    string? SplitFrom = null);

/// <summary>
/// What one sync commits: all of it in one transaction (invariant 1, docs/architecture.md).
/// <see cref="ExpectedSyncToken"/> is the sync token the sync started from (null for a baseline): the commit lands only
/// while the watch still has that token, so a sync overtaken by another (another instance took over while this one
/// stalled) writes nothing (<see cref="SyncSupersededException"/>; invariant 5, docs/architecture.md).
/// </summary>
public sealed record SyncCommit(
    string WatchId,
    string CalendarId,
    DateTimeOffset DetectedAt,
    IReadOnlyList<SnapshotWrite> Snapshots,
    IReadOnlyList<NewChange> Changes,
    string NextSyncToken,
    string? ExpectedSyncToken);

/// <summary>A read of the change log. <see cref="Limit"/> is already clamped by the caller.</summary>
public sealed record ChangeQuery(long After, int Limit, string? CalendarId = null, IReadOnlyCollection<string>? Types = null);

/// <summary>How bad a watch's problem is: <c>NeedsReauth</c> needs a person to re-authorise the account.</summary>
public enum WatchProblemKind { Error, NeedsReauth }

/// <summary>What went wrong for one writer of a watch (its channel, or its sync), with a message for people.</summary>
public sealed record WatchProblem(WatchProblemKind Kind, string Message);

/// <summary>A snapshot row of a full list in progress: the event's JSON as UTF-8.</summary>
public sealed record StagedSnapshot(string EventId, byte[] Json);

/// <summary>
/// What the end of a full list commits, in one transaction: the attempt's staged snapshots, the forgotten events
/// (stored but absent from the list, or last listed as a tombstone), the changes and the list's sync token (invariant 1, docs/architecture.md).
/// <see cref="ExpectedSyncToken"/> is the sync token the list started from: null for a baseline, the refused token for
/// a resync after a 410; as for <see cref="SyncCommit"/>, the commit lands only while the watch still has it.
/// </summary>
public sealed record FullSyncCommit(
    string WatchId,
    string CalendarId,
    string AttemptId,
    DateTimeOffset DetectedAt,
    IReadOnlyList<string> Forgotten,
    IReadOnlyList<NewChange> Changes,
    string NextSyncToken,
    string? ExpectedSyncToken);

/// <summary>
/// One budget window of one process as it was saved (<c>Calhook:Google</c>'s request budget): the requests that
/// process made, per bucket of the window (a second of the minute window, a minute of the day window), oldest first,
/// ending with bucket <see cref="NewestBucket"/> (bucket numbers count bucket lengths since 0001-01-01). A restarted
/// instance counts these again, so a restart does not grant a fresh quota.
/// </summary>
public sealed record BudgetWindowRecord(string InstanceId, string Scope, string Window, long NewestBucket, IReadOnlyList<long> Counts, DateTimeOffset SavedAt)
{
    public const string MinuteWindow = "minute";

    public const string DayWindow = "day";
}
