using Calhook.Storage;

namespace Calhook.Delivery;

/// <summary>
/// Replay, as the API (<c>POST /v1/subscriptions/{id}/replay</c>) and the dashboard's replay button both run it:
/// requeues the changes after a sequence (or detected at or after a time) that the subscription's filters want, up to
/// what it has already been given (later ones come anyway). Each goes out again with its original <c>webhook-id</c>,
/// in log order per calendar, ahead of that calendar's later changes.
/// </summary>
internal static class SubscriptionReplay
{
    /// <summary>How many changes one read of the log takes while collecting what to replay.</summary>
    private const int Page = 1000;

    /// <summary>
    /// Requeues from <paramref name="after"/> (a sequence) or <paramref name="since"/> (a time); give exactly one.
    /// Returns how many deliveries were queued, or null when there is no such subscription.
    /// </summary>
    public static async Task<int?> ScheduleAsync(
        ICalhookStore store, DeliverySender sender, string subscriptionId, long? after, DateTimeOffset? since, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if ((after is null) == (since is null))
        {
            throw new ArgumentException("Give either a sequence or a time to replay from, not both and not neither.", nameof(after));
        }

        if (await store.GetSubscriptionAsync(subscriptionId, cancellationToken) is not { } subscription)
        {
            return null;
        }

        var start = after ?? await store.GetLastSequenceBeforeAsync(since!.Value, cancellationToken);
        var from = start;
        var deliveries = new List<ScheduledDelivery>();
        while (from < subscription.Cursor)
        {
            var page = await store.ReadChangesAsync(new ChangeQuery(from, Page), cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            deliveries.AddRange(page
                .Where(change => change.Sequence <= subscription.Cursor && SubscriptionFilter.Wants(subscription, change))
                .Select(change => new ScheduledDelivery(change.Sequence, change.CalendarId)));
            from = page[^1].Sequence;
        }

        var count = await store.ReplayDeliveriesAsync(subscriptionId, start, deliveries, now, cancellationToken);
        sender.Wake();
        return count;
    }
}
