using Calhook.Changes;
using Calhook.Google;
using Microsoft.Extensions.Logging;

namespace Calhook.Sync;

// Event ids 3000–3199 belong to sync.
internal sealed partial class Syncer
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Google refused the sync token of watch {WatchId} ({Status} {Reason}); running a full resync")]
    private partial void LogFullResync(string watchId, int status, string? reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Synced watch {WatchId} ({Kind}): {Items} items read, {Changes} changes appended")]
    private partial void LogSynced(string watchId, SyncKind kind, int items, int changes);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Sync of watch {WatchId} failed: {Kind} ({Status} {Reason})")]
    private partial void LogSyncFailed(string watchId, GoogleErrorKind kind, int status, string? reason);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Trace, Message = "Full list of watch {WatchId} ({Kind}): {Items} items staged")]
    private partial void LogStaged(string watchId, SyncKind kind, int items);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Trace, Message = "Full list of watch {WatchId} ({Kind}) read: {Items} items, {Changes} changes to commit")]
    private partial void LogFullListRead(string watchId, SyncKind kind, int items, int changes);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Sync of watch {WatchId} committed with a problem: {Problem}")]
    private partial void LogDetectionProblem(string watchId, string problem);
}
