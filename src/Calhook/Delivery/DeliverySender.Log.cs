using Calhook.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Delivery;

// Event ids come from LogEvents (Hosting/LogEvents.cs). Secrets and bodies are never logged.
internal sealed partial class DeliverySender
{
    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.DeliveryDelivered, Level = LogLevel.Debug, Message = "Delivered change {ChangeId} to subscription {SubscriptionId} (attempt {Attempt}, HTTP {Status}, {LatencyMs:0.0} ms)")]
        public static partial void Delivered(ILogger logger, string changeId, string subscriptionId, int attempt, int? status, double latencyMs);

        [LoggerMessage(EventId = LogEvents.DeliveryAttemptFailed, Level = LogLevel.Information, Message = "Delivery of change {ChangeId} to subscription {SubscriptionId} failed (attempt {Attempt}: {Error}); next attempt at {NextAttemptAt:o}")]
        public static partial void WillRetry(ILogger logger, string changeId, string subscriptionId, int attempt, string? error, DateTimeOffset? nextAttemptAt);

        [LoggerMessage(EventId = LogEvents.DeliveryGaveUp, Level = LogLevel.Warning, Message = "Gave up delivering change {ChangeId} to subscription {SubscriptionId} after {Attempt} attempts ({Error}); recorded as failed, the subscription is failing")]
        public static partial void GaveUp(ILogger logger, string changeId, string subscriptionId, int attempt, string? error);

        [LoggerMessage(EventId = LogEvents.DeliverySubscriptionGone, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} answered 410 Gone to change {ChangeId}; the subscription is disabled")]
        public static partial void Disabled(ILogger logger, string subscriptionId, string changeId);

        [LoggerMessage(EventId = LogEvents.DeliveryLoopFailed, Level = LogLevel.Error, Message = "The delivery loop failed; it resumes from the store")]
        public static partial void LoopFailed(ILogger logger, Exception error);

        [LoggerMessage(EventId = LogEvents.DeliveryAttemptCrashed, Level = LogLevel.Error, Message = "An attempt to deliver sequence {Sequence} to subscription {SubscriptionId} crashed; it is retried when its lease ends")]
        public static partial void AttemptCrashed(ILogger logger, string subscriptionId, long sequence, Exception error);

        [LoggerMessage(EventId = LogEvents.DeliveryAttemptsPruned, Level = LogLevel.Debug, Message = "Pruned {Count} attempts from the attempt log")]
        public static partial void AttemptLogPruned(ILogger logger, int count);
    }
}
