using Calhook.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Sync;

// Event ids 3000–3199 belong to sync.
internal sealed partial class SyncScheduler
{
    [LoggerMessage(EventId = LogEvents.SyncCrashed, Level = LogLevel.Error, Message = "Sync of watch {WatchId} crashed; it will be retried")]
    private partial void LogSyncCrashed(Exception exception, string watchId);

    [LoggerMessage(EventId = LogEvents.SyncRetryScheduled, Level = LogLevel.Information, Message = "Retrying sync of watch {WatchId} (failure {Failures}) in {Delay}")]
    private partial void LogRetryScheduled(string watchId, int failures, TimeSpan delay);

    [LoggerMessage(EventId = LogEvents.SafetyNetListFailed, Level = LogLevel.Warning, Message = "Could not list watches for the safety-net sync")]
    private partial void LogSafetyNetFailed(Exception exception);

    [LoggerMessage(EventId = LogEvents.SafetyNetStretched, Level = LogLevel.Warning, Message = "The safety net runs every {Interval} instead of every {Configured}: Google's request budget cannot afford more")]
    private partial void LogSafetyNetStretched(TimeSpan configured, TimeSpan interval);
}
