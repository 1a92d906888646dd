using System.Diagnostics.Metrics;
using Calhook.Hosting;
using Calhook.Storage;

namespace Calhook.Delivery;

/// <summary>
/// Delivery's instruments on the meter <c>Calhook.Delivery</c>: <c>calhook_deliveries_total{outcome}</c> (one per
/// attempt: <c>delivered</c>, <c>retry</c>, <c>failed</c>, <c>disabled</c>), the attempt duration histogram
/// <c>calhook.delivery.duration</c> (seconds, by outcome) and the delivery latency histogram
/// <c>calhook.delivery.latency</c> (seconds from a change's commit to a subscriber's 2xx). Thread-safe.
/// </summary>
internal sealed class DeliveryMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _latency;

    public DeliveryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(CalhookMetrics.MeterName + ".Delivery");
        _deliveries = _meter.CreateCounter<long>("calhook.deliveries", description: "Webhook delivery attempts, by outcome.");
        _duration = _meter.CreateHistogram("calhook.delivery.duration", "s", "Duration of webhook delivery attempts, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CalhookMetrics.LatencyBuckets });
        _latency = _meter.CreateHistogram("calhook.delivery.latency", "s",
            "Time from a change's commit to a subscriber acknowledging its webhook (2xx), retries included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
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

    /// <summary>
    /// Bucket upper bounds in seconds for the delivery latency: the sync latencies' (5 ms to 2 minutes), then up to the
    /// retry schedule's day, so a delivery that waited for retries lands in a bucket of its own size.
    /// </summary>
    public static IReadOnlyList<double> LatencyBuckets { get; } = [.. CalhookMetrics.LatencyBuckets, 300, 1800, 7200, 18000, 36000, 86400];

    /// <summary>Records a subscriber's 2xx, <paramref name="sinceCommit"/> after the change was committed.</summary>
    public void Acknowledged(TimeSpan sinceCommit) => _latency.Record(Math.Max(0, sinceCommit.TotalSeconds));

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
