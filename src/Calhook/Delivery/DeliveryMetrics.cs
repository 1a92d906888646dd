using System.Diagnostics.Metrics;
using Calhook.Hosting;
using Calhook.Storage;

namespace Calhook.Delivery;

/// <summary>
/// Delivery's instruments on the meter <c>Calhook.Delivery</c>: <c>calhook_deliveries_total{outcome}</c> (one per
/// attempt: <c>delivered</c>, <c>retry</c>, <c>failed</c>, <c>disabled</c>) and the attempt duration histogram
/// <c>calhook.delivery.duration</c> (seconds). Thread-safe.
/// </summary>
internal sealed class DeliveryMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _duration;

    public DeliveryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(CalhookMetrics.MeterName + ".Delivery");
        _deliveries = _meter.CreateCounter<long>("calhook.deliveries", description: "Webhook delivery attempts, by outcome.");
        _duration = _meter.CreateHistogram<double>("calhook.delivery.duration", unit: "s", description: "Duration of webhook delivery attempts.");
        foreach (var verdict in Enum.GetValues<DeliveryVerdict>())
        {
            _deliveries.Add(0, Outcome(verdict));
        }
    }

    public void Attempted(DeliveryVerdict verdict, TimeSpan duration)
    {
        _deliveries.Add(1, Outcome(verdict));
        _duration.Record(duration.TotalSeconds, Outcome(verdict));
    }

    public void Dispose() => _meter.Dispose();

    public static string OutcomeName(DeliveryVerdict verdict) => verdict switch
    {
        DeliveryVerdict.Delivered => "delivered",
        DeliveryVerdict.RetryLater => "retry",
        DeliveryVerdict.Failed => "failed",
        _ => "disabled",
    };

    private static KeyValuePair<string, object?> Outcome(DeliveryVerdict verdict) => new("outcome", OutcomeName(verdict));
}
