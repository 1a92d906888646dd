using Calhook.Storage;

namespace Calhook.PostgreSql;

// Webhook delivery is not implemented on PostgreSQL yet: every method says so, and the delivery loop stops at start
// with one error log instead of failing the host. The SQLite store (SqliteStore.Delivery.cs) is the reference.
internal sealed partial class PostgresStore
{
    private static NotSupportedException DeliveryNotSupported() =>
        new("Webhook delivery is not yet available on PostgreSQL; run on SQLite to use subscriptions.");

    public Task<SubscriptionRecord> AddSubscriptionAsync(SubscriptionRecord subscription, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<SubscriptionRecord?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<IReadOnlyList<SubscriptionRecord>> ListSubscriptionsAsync(CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<bool> DeleteSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<bool> RotateSubscriptionSecretAsync(string subscriptionId, string protectedSecret, DateTimeOffset previousExpiresAt, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<bool> EnableSubscriptionAsync(string subscriptionId, DateTimeOffset now, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<int> ScheduleDeliveriesAsync(IReadOnlyList<DeliverySchedule> schedules, DateTimeOffset dueAt, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<int> ReplayDeliveriesAsync(string subscriptionId, IReadOnlyList<ScheduledDelivery> deliveries, DateTimeOffset dueAt, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<IReadOnlyList<DeliveryLease>> LeaseDueDeliveriesAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task CompleteDeliveryAsync(DeliveryCompletion completion, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task ReleaseDeliveryLeasesAsync(string owner, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<DateTimeOffset?> GetNextDeliveryDueAsync(CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<IReadOnlyList<DeliveryAttemptRecord>> ListDeliveryAttemptsAsync(string subscriptionId, long afterId, int limit, CancellationToken cancellationToken) => throw DeliveryNotSupported();

    public Task<long> GetLastSequenceBeforeAsync(DateTimeOffset time, CancellationToken cancellationToken) => throw DeliveryNotSupported();
}
