using Calhook.Changes;
using Calhook.Google;
using Calhook.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Sync;

// Event ids 3000–3199 belong to sync.
internal sealed partial class Syncer
{
    [LoggerMessage(EventId = LogEvents.SyncFullResync, Level = LogLevel.Information, Message = "Google refused the sync token of watch {WatchId} ({Status} {Reason}); running a full resync")]
    private partial void LogFullResync(string watchId, int status, string? reason);

    [LoggerMessage(EventId = LogEvents.SyncCompleted, Level = LogLevel.Debug, Message = "Synced watch {WatchId} ({Kind}): {Items} items read, {Changes} changes appended")]
    private partial void LogSynced(string watchId, SyncKind kind, int items, int changes);

    [LoggerMessage(EventId = LogEvents.SyncFailed, Level = LogLevel.Warning, Message = "Sync of watch {WatchId} failed: {Kind} ({Status} {Reason})")]
    private partial void LogSyncFailed(string watchId, GoogleErrorKind kind, int status, string? reason);

    [LoggerMessage(EventId = LogEvents.SyncFullListStaged, Level = LogLevel.Trace, Message = "Full list of watch {WatchId} ({Kind}): {Items} items staged")]
    private partial void LogStaged(string watchId, SyncKind kind, int items);

    [LoggerMessage(EventId = LogEvents.SyncFullListRead, Level = LogLevel.Trace, Message = "Full list of watch {WatchId} ({Kind}) read: {Items} items, {Changes} changes to commit")]
    private partial void LogFullListRead(string watchId, SyncKind kind, int items, int changes);

    [LoggerMessage(EventId = LogEvents.SyncCommittedWithProblem, Level = LogLevel.Warning, Message = "Sync of watch {WatchId} committed with a problem: {Problem}")]
    private partial void LogDetectionProblem(string watchId, string problem);

    [LoggerMessage(EventId = LogEvents.SyncSuperseded, Level = LogLevel.Warning, Message = "Sync of watch {WatchId} ({Kind}) was not committed: another sync of the watch (another instance) committed after it started, so it stands")]
    private partial void LogSuperseded(string watchId, SyncKind kind);
}
