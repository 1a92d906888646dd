using Calhook.Google;
using Microsoft.Extensions.Logging;

namespace Calhook.Channels;

internal sealed partial class ChannelSupervisor
{
    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Channel {ChannelId} opened for watch {WatchId}, expires {ExpiresAt:O}")]
    private static partial void LogOpened(ILogger logger, string watchId, string channelId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Opening a channel for watch {WatchId} failed: {Kind} {Status} ({Reason})")]
    private static partial void LogOpenFailed(ILogger logger, string watchId, GoogleErrorKind kind, int status, string? reason);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "Channel {ChannelId} stopped")]
    private static partial void LogStopped(ILogger logger, string channelId);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Stopping channel {ChannelId} failed with {Status} ({Reason}); it lapses at expiry or is stopped from its next ping")]
    private static partial void LogStopFailed(ILogger logger, string channelId, int status, string? reason);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Information, Message = "Channels restored: {Watches} watches, {Channels} open channels")]
    private static partial void LogRestored(ILogger logger, int watches, int channels);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Error, Message = "Channel supervisor step '{Step}' failed")]
    private static partial void LogLoopError(ILogger logger, string step, Exception exception);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Error, Message = "Keeping the channel of watch {WatchId} open failed; retrying at {RetryAt:O}")]
    private static partial void LogWatchStepFailed(ILogger logger, string watchId, DateTimeOffset retryAt, Exception exception);
}
