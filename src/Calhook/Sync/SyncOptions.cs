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
    /// While pings for a calendar keep coming during and after its sync, its follow-up sync starts at the latest this
    /// long after the previous sync started: pings that never stop (a calendar edited in a loop, a flood of
    /// duplicates) cost one sync per interval, not one per ping. The first ping after a quiet spell is synced at once.
    /// Default 200 ms; zero to never wait; less than <see cref="SafetyNetInterval"/>.
    /// </summary>
    public TimeSpan MinSyncInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A follow-up sync (asked for by pings that came while the calendar was syncing) starts once no ping came for this
    /// long, or after <see cref="MinSyncInterval"/>, whichever is first. Short, so that an edit made right after another
    /// is seen within milliseconds; long enough that a burst of pings folds into one follow-up. Default 20 ms; zero to
    /// follow up at once; less than <see cref="SafetyNetInterval"/>.
    /// </summary>
    public TimeSpan FollowUpQuietTime { get; set; } = TimeSpan.FromMilliseconds(20);
}
