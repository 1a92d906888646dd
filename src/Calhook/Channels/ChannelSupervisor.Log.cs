using Calhook.Google;
using Calhook.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Channels;

internal sealed partial class ChannelSupervisor
{
    [LoggerMessage(EventId = LogEvents.ChannelOpened, Level = LogLevel.Information, Message = "Channel {ChannelId} opened for watch {WatchId}, expires {ExpiresAt:O}")]
    private static partial void LogOpened(ILogger logger, string watchId, string channelId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = LogEvents.ChannelOpenFailed, Level = LogLevel.Warning, Message = "Opening a channel for watch {WatchId} failed: {Kind} {Status} ({Reason})")]
    private static partial void LogOpenFailed(ILogger logger, string watchId, GoogleErrorKind kind, int status, string? reason);

    [LoggerMessage(EventId = LogEvents.ChannelStopped, Level = LogLevel.Information, Message = "Channel {ChannelId} stopped")]
    private static partial void LogStopped(ILogger logger, string channelId);

    [LoggerMessage(EventId = LogEvents.ChannelStopFailed, Level = LogLevel.Warning, Message = "Stopping channel {ChannelId} failed with {Status} ({Reason}); it lapses at expiry or is stopped from its next ping")]
    private static partial void LogStopFailed(ILogger logger, string channelId, int status, string? reason);

    [LoggerMessage(EventId = LogEvents.ChannelsRestored, Level = LogLevel.Information, Message = "Channels restored: {Watches} watches, {Channels} open channels")]
    private static partial void LogRestored(ILogger logger, int watches, int channels);

    [LoggerMessage(EventId = LogEvents.ChannelSupervisorStepFailed, Level = LogLevel.Error, Message = "Channel supervisor step '{Step}' failed")]
    private static partial void LogLoopError(ILogger logger, string step, Exception exception);

    [LoggerMessage(EventId = LogEvents.ChannelKeepOpenFailed, Level = LogLevel.Error, Message = "Keeping the channel of watch {WatchId} open failed; retrying at {RetryAt:O}")]
    private static partial void LogWatchStepFailed(ILogger logger, string watchId, DateTimeOffset retryAt, Exception exception);
}
