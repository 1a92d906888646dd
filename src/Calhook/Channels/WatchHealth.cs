using Calhook.Storage;

namespace Calhook.Channels;

/// <summary>
/// A watch's status, derived from facts that each have one writer: the lifecycle (stopped, or whether a channel has
/// ever been open), the channel supervisor's problem, the syncer's problem, and whether the baseline is committed.
/// Pure, so every combination is checked in tests; stores call it when they read a watch.
/// </summary>
internal static class WatchHealth
{
    /// <summary>
    /// <c>stopped</c> if stopped; else <c>needs_reauth</c> if either problem says so; else <c>failing</c> if either
    /// has a problem; else <c>starting</c> until a channel has been open and the baseline is committed; else
    /// <c>active</c>. The error is the most important message: re-authorisation first, then the sync's (changes are
    /// not being detected at all), then the channel's (changes are detected only by the periodic safety-net sync).
    /// </summary>
    public static (WatchStatus Status, string? Error) Derive(
        bool stopped, bool channelOpened, bool baselineCommitted, WatchProblem? channel, WatchProblem? sync)
    {
        if (stopped)
        {
            return (WatchStatus.Stopped, null);
        }

        if (sync is { Kind: WatchProblemKind.NeedsReauth } || channel is { Kind: WatchProblemKind.NeedsReauth })
        {
            return (WatchStatus.NeedsReauth, sync is { Kind: WatchProblemKind.NeedsReauth } ? sync.Message : channel!.Message);
        }

        if ((sync ?? channel) is { } problem)
        {
            return (WatchStatus.Failing, problem.Message);
        }

        return channelOpened && baselineCommitted ? (WatchStatus.Active, null) : (WatchStatus.Starting, null);
    }
}
