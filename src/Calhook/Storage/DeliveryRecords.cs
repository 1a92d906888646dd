using Calhook.Changes;

namespace Calhook.Storage;

/// <summary>Subscription states as the API shows them: <c>active</c>, <c>failing</c>, <c>disabled</c>.</summary>
public enum SubscriptionStatus { Active, Failing, Disabled }

/// <summary>
/// A webhook subscriber. Secrets are already encrypted by the caller. <see cref="Cursor"/> is the last sequence of the
/// change log already turned into this subscription's deliveries (or skipped by its filters). <see cref="Backlog"/> and
/// <see cref="Replay"/> are read-only: the deliveries still pending when the record was read, and the latest replay
/// with how far it has got.
/// </summary>
public sealed record SubscriptionRecord(
    string Id,
    string Url,
    IReadOnlyList<string>? Types,
    IReadOnlyList<string>? CalendarIds,
    IReadOnlyList<string>? IgnorePaths,
    string ProtectedSecret,
    string? ProtectedPreviousSecret,
    DateTimeOffset? PreviousSecretExpiresAt,
    SubscriptionStatus Status,
    long Cursor,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastSuccessAt,
    string? LastError,
    long Backlog = 0,
    ReplayProgress? Replay = null);

/// <summary>
/// A subscription's latest replay (<see cref="ICalhookStore.ReplayDeliveriesAsync"/>): the changes after
/// <see cref="After"/> up to <see cref="Through"/>, <see cref="Total"/> deliveries queued again at
/// <see cref="RequestedAt"/>. Counted when read: <see cref="Remaining"/> of them are still pending, <see cref="Failed"/>
/// were given up on; the rest were delivered.
/// </summary>
public sealed record ReplayProgress(long After, long Through, int Total, DateTimeOffset RequestedAt, long Remaining, long Failed)
{
    /// <summary>Delivered so far.</summary>
    public long Delivered => Math.Max(0, Total - Remaining - Failed);
}

/// <summary>One change to deliver to one subscription, as <see cref="ICalhookStore.ScheduleDeliveriesAsync"/> takes it.</summary>
public sealed record ScheduledDelivery(long Sequence, string CalendarId);

/// <summary>
/// Advances one subscription's cursor from <see cref="ExpectedCursor"/> to <see cref="NewCursor"/> and queues
/// <see cref="Deliveries"/> (all with sequences in that range), due at once.
/// </summary>
public sealed record DeliverySchedule(string SubscriptionId, long ExpectedCursor, long NewCursor, IReadOnlyList<ScheduledDelivery> Deliveries);

/// <summary>A delivery leased to one sender: <see cref="Attempt"/> is the number of the attempt about to be made (1 = first).</summary>
public sealed record DeliveryLease(string SubscriptionId, long Sequence, int Attempt, Change Change);

/// <summary>What an attempt decided for its delivery.</summary>
public enum DeliveryVerdict
{
    /// <summary>2xx: the delivery is done.</summary>
    Delivered,

    /// <summary>Another attempt at <see cref="DeliveryCompletion.NextAttemptAt"/>.</summary>
    RetryLater,

    /// <summary>The last attempt failed: recorded as failed, the subscription marked failing, the calendar's queue moves on.</summary>
    Failed,

    /// <summary>410: the subscription is disabled; the delivery stays pending for when it is enabled again.</summary>
    Disabled,
}

/// <summary>One attempt of the attempt log. <see cref="Id"/> is assigned by the store (0 when writing).</summary>
public sealed record DeliveryAttemptRecord(
    long Id,
    string SubscriptionId,
    string ChangeId,
    long Sequence,
    int Attempt,
    DateTimeOffset AttemptedAt,
    int? StatusCode,
    double LatencyMs,
    string? Error,
    DeliveryVerdict Verdict);

/// <summary>The end of one attempt of a leased delivery, written by <see cref="ICalhookStore.CompleteDeliveryAsync"/>.</summary>
public sealed record DeliveryCompletion(string Owner, DeliveryAttemptRecord Attempt, DateTimeOffset? NextAttemptAt);
