using Calhook.Changes;
using Calhook.Storage;

namespace Calhook.Delivery;

/// <summary>Which changes a subscription receives: its types, calendars (null = all) and ignore paths. Pure.</summary>
internal static class SubscriptionFilter
{
    public static bool Wants(SubscriptionRecord subscription, Change change)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(change);
        return (subscription.Types is not { Count: > 0 } types || types.Contains(change.Type, StringComparer.Ordinal))
            && (subscription.CalendarIds is not { Count: > 0 } calendars || calendars.Contains(change.CalendarId, StringComparer.Ordinal))
            && !IgnorePaths.Skips(change, subscription.IgnorePaths);
    }
}
