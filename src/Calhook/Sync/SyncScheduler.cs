namespace Calhook.Sync;

/// <summary>
/// Runs at most one sync per watch at a time; requests that arrive during a sync fold into one follow-up.
/// The receiver and the API call <see cref="RequestSync"/>; it never blocks.
/// </summary>
internal sealed class SyncScheduler
{
    /// <summary>Asks for a sync of the watch soon. Never blocks, never throws for an unknown watch.</summary>
    public void RequestSync(string watchId)
    {
        ArgumentNullException.ThrowIfNull(watchId);
    }
}
