namespace Calhook.Sync;

/// <summary>How Calhook schedules syncs, section <c>Calhook:Sync</c>. Validated at start-up.</summary>
public sealed class SyncOptions
{
    public const string SectionName = "Calhook:Sync";

    /// <summary>Syncs of different calendars that may run at the same time. Default 8; at least 1.</summary>
    public int MaxConcurrentSyncs { get; set; } = 8;

    /// <summary>
    /// How often every watch gets an incremental sync even without a ping, because Google drops some.
    /// Default 5 minutes; at least 1 second. Each wait is jittered by <see cref="SafetyNetJitter"/>.
    /// </summary>
    public TimeSpan SafetyNetInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Random spread of each safety-net wait, as a fraction of the interval (Google asks for ±25 %). Default 0.25; 0 to 0.9.</summary>
    public double SafetyNetJitter { get; set; } = 0.25;

    /// <summary>
    /// First retry after a rate limit or a transient Google failure; doubled per further failure, never beyond
    /// <see cref="SafetyNetInterval"/>. Default 5 seconds; more than zero.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Shortest time from the start of one sync of a calendar to the start of its follow-up. The first ping after a
    /// quiet spell is synced at once; pings that keep arriving (a burst spread over some milliseconds, a calendar
    /// edited in a loop) fold into one sync per interval instead of a sync per ping. Default 200 ms; zero to
    /// never wait; less than <see cref="SafetyNetInterval"/>.
    /// </summary>
    public TimeSpan MinSyncInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
