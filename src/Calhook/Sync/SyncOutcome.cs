using Calhook.Google;

namespace Calhook.Sync;

/// <summary>What a sync ended with, as the scheduler needs it.</summary>
internal enum SyncResult
{
    /// <summary>Committed: the watch is up to date as of this sync.</summary>
    Synced,

    /// <summary>Nothing to do: the watch is unknown or stopped.</summary>
    Skipped,

    /// <summary>A rate limit or transient failure: state kept, try again after a backoff.</summary>
    RetryLater,

    /// <summary>Needs a person (re-authorisation, a missing calendar, a bad request): only the safety net tries again.</summary>
    Failed,

    /// <summary>Stopped by shutdown before it committed; the start-up catch-up redoes it.</summary>
    Cancelled,
}

/// <summary>The outcome of one sync: the result, how many changes it appended, and Google's error if any.</summary>
internal sealed record SyncOutcome(SyncResult Result, int ChangesAppended = 0, GoogleError? Error = null)
{
    public static readonly SyncOutcome Skipped = new(SyncResult.Skipped);

    public static readonly SyncOutcome Cancelled = new(SyncResult.Cancelled);
}
