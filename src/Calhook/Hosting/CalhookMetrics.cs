using System.Diagnostics.Metrics;

namespace Calhook.Hosting;

/// <summary>
/// Calhook's counters and histograms, on the meter <c>Calhook</c> (so any OpenTelemetry pipeline can collect them as
/// well). <c>GET /metrics</c> exposes them, and those of any other <c>Calhook.*</c> meter made by the host's
/// <see cref="IMeterFactory"/>, in Prometheus text format (<c>calhook_…_total</c>, <c>calhook_…_seconds_bucket</c>). Thread-safe.
/// </summary>
internal sealed class CalhookMetrics : IDisposable
{
    public const string MeterName = "Calhook";

    private readonly Meter _meter;
    private readonly Counter<long> _changesEmitted;
    private readonly Counter<long> _syncs;
    private readonly Counter<long> _googleRequests;
    private readonly Counter<long> _budgetWaits;
    private readonly Histogram<double> _syncDuration;
    private readonly Histogram<double> _pingToChange;
    private readonly MetricsExposition _exposition;

    public CalhookMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _changesEmitted = _meter.CreateCounter<long>("calhook.changes.emitted", description: "Changes appended to the change log, by type.");
        _syncs = _meter.CreateCounter<long>("calhook.syncs", description: "Syncs run, by outcome.");
        _googleRequests = _meter.CreateCounter<long>("calhook.google.requests", description: "Requests made to Google, by status class (2xx, 4xx, 5xx, error).");
        _budgetWaits = _meter.CreateCounter<long>("calhook.google.budget.waits", description: "Requests to Google held back by the request budget, by priority.");

        _syncDuration = _meter.CreateHistogram("calhook.sync.duration", "s", "Time one sync took, from its start to its commit or failure, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _pingToChange = _meter.CreateHistogram("calhook.ping_to_change.lag", "s",
            "Time from the first ping a sync answered to the commit of the changes it found (syncs that found changes only).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

        // Listens to the Calhook meters of this host's factory only: two hosts in one process keep separate numbers.
        _exposition = new MetricsExposition(meterFactory);

        // The documented series exist from the start, at zero, so dashboards and rate() see them before traffic.
        foreach (var type in new[]
        {
            Changes.ChangeTypes.Created, Changes.ChangeTypes.Updated, Changes.ChangeTypes.Deleted,
            Changes.ChangeTypes.CalendarAdded, Changes.ChangeTypes.CalendarUpdated, Changes.ChangeTypes.CalendarRemoved,
        })
        {
            _changesEmitted.Add(0, new KeyValuePair<string, object?>("type", type));
        }
    }

    /// <summary>Counts changes appended to the log; <paramref name="type"/> is one of <see cref="Changes.ChangeTypes"/>.</summary>
    public void ChangesEmitted(string type, long count = 1) =>
        _changesEmitted.Add(count, new KeyValuePair<string, object?>("type", type));

    /// <summary>Counts a finished sync; <paramref name="outcome"/> is a short word such as <c>ok</c>, <c>full_resync</c>, <c>failed</c>.</summary>
    public void SyncCompleted(string outcome) =>
        _syncs.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Bucket upper bounds in seconds for latencies: 5 ms to 2 minutes.</summary>
    public static IReadOnlyList<double> LatencyBuckets { get; } = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    /// <summary>Records how long one sync took; <paramref name="outcome"/> as in <see cref="SyncCompleted"/>.</summary>
    public void SyncDuration(TimeSpan elapsed, string outcome) =>
        _syncDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Records the lag from a ping to the commit of the changes its sync found.</summary>
    public void PingToChange(TimeSpan lag) => _pingToChange.Record(lag.TotalSeconds);

    /// <summary>Counts a Google request by the class of its status code; null when no response came back.</summary>
    public void GoogleRequest(int? statusCode) =>
        _googleRequests.Add(1, new KeyValuePair<string, object?>("status_class", statusCode is { } code ? $"{code / 100}xx" : "error"));

    /// <summary>Counts a request the budget held back; <paramref name="priority"/> is push, renewal, catch_up or safety_net.</summary>
    public void BudgetWait(string priority) =>
        _budgetWaits.Add(1, new KeyValuePair<string, object?>("priority", priority));

    /// <summary>Writes every counter in Prometheus text exposition format 0.0.4.</summary>
    public void WritePrometheus(TextWriter writer) => _exposition.Write(writer);

    public void Dispose()
    {
        _exposition.Dispose();
        _meter.Dispose();
    }
}
