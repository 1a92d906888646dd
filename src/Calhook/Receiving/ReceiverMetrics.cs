using System.Diagnostics.Metrics;

namespace Calhook.Receiving;

/// <summary>Receiver counters: <c>calhook_notifications_total{outcome[,state]}</c>, outcome one of <see cref="Outcomes"/>.</summary>
internal sealed class ReceiverMetrics
{
    public const string MeterName = "Calhook.Receiving";

    private readonly Counter<long> _notifications;

    public ReceiverMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _notifications = meter.CreateCounter<long>("calhook_notifications_total", description: "Push notifications received, by outcome.");
    }

    public void Count(string outcome) => _notifications.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>An accepted ping, by resource state (<c>sync</c>, <c>exists</c>, <c>not_exists</c>).</summary>
    public void CountAccepted(string state) =>
        _notifications.Add(1, new KeyValuePair<string, object?>("outcome", Outcomes.Accepted), new KeyValuePair<string, object?>("state", state));

    public static class Outcomes
    {
        public const string Accepted = "accepted";
        public const string Malformed = "malformed";
        public const string Forged = "forged";
        public const string Unknown = "unknown";
        public const string TooLarge = "too_large";
    }
}
