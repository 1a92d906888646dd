namespace Calhook.Sync;

/// <summary>When the follow-up of a sync may start (pings came while the calendar was syncing). Pure.</summary>
internal static class FollowUpPacing
{
    /// <summary>
    /// How long the follow-up still waits: until no ping came for <see cref="SyncOptions.FollowUpQuietTime"/>, and no
    /// longer than <see cref="SyncOptions.MinSyncInterval"/> from the start of the sync before it. A single ping during
    /// a sync (an edit right after the one being synced) is followed up almost at once; a burst of pings is followed up
    /// once, after its last ping; pings that never stop get one sync per MinSyncInterval. Zero or less: start now.
    /// </summary>
    /// <param name="sinceStart">Time since the previous sync of the calendar started.</param>
    /// <param name="sinceLastPing">Time since the last request for the calendar, null when none was seen.</param>
    public static TimeSpan Wait(TimeSpan sinceStart, TimeSpan? sinceLastPing, SyncOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var untilInterval = options.MinSyncInterval - sinceStart;
        var untilQuiet = sinceLastPing is { } quietFor ? options.FollowUpQuietTime - quietFor : TimeSpan.Zero;
        return untilInterval < untilQuiet ? untilInterval : untilQuiet;
    }
}
