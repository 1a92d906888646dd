using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Calhook.Hosting;

/// <summary>
/// Sums the counters and histograms of Calhook's meters (<c>Calhook</c> and <c>Calhook.*</c>) created by one
/// <see cref="IMeterFactory"/>, through a <see cref="MeterListener"/>, and writes them as Prometheus text.
/// A listener scoped to the factory, rather than the OpenTelemetry exporter, because the exporter selects meters by
/// name across the whole process and would mix the numbers of two Calhook hosts living side by side.
/// Counters (<c>long</c>, <c>int</c>, <c>double</c>) and <c>double</c> histograms (with the bucket boundaries their
/// advice names) are exposed; other instrument kinds are not.
/// </summary>
internal sealed class MetricsExposition : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<string, double>> _series = new();
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<string, HistogramSeries>> _histograms = new();

    // Label text by tag set (up to two tags, the shape Calhook's counters use): a measurement on a hot path (every
    // ping) then costs one lookup instead of building strings.
    private readonly ConcurrentDictionary<(string?, object?, string?, object?), string> _labels = new();

    public MetricsExposition(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope) && IsCalhookMeter(instrument.Meter.Name)
                && instrument is Counter<long> or Counter<int> or Counter<double>)
            {
                _series.TryAdd(instrument, new ConcurrentDictionary<string, double>(StringComparer.Ordinal));
                listener.EnableMeasurementEvents(instrument);
            }
            else if (ReferenceEquals(instrument.Meter.Scope, scope) && IsCalhookMeter(instrument.Meter.Name) && instrument is Histogram<double>)
            {
                _histograms.TryAdd(instrument, new ConcurrentDictionary<string, HistogramSeries>(StringComparer.Ordinal));
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument is Histogram<double> histogram)
            {
                Observe(histogram, value, tags);
            }
            else
            {
                Add(instrument, value, tags);
            }
        });
        _listener.Start();
    }

    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var (instrument, series) in _series.OrderBy(s => s.Key.Name, StringComparer.Ordinal))
        {
            var name = PrometheusName(instrument.Name);
            writer.Write($"# HELP {name} {instrument.Description}\n# TYPE {name} counter\n");
            foreach (var (labels, value) in series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                writer.Write(string.Create(CultureInfo.InvariantCulture, $"{name}{labels} {value}\n"));
            }
        }

        foreach (var (instrument, series) in _histograms.OrderBy(s => s.Key.Name, StringComparer.Ordinal))
        {
            var name = HistogramName(instrument);
            writer.Write($"# HELP {name} {instrument.Description}\n# TYPE {name} histogram\n");
            foreach (var (labels, histogram) in series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                histogram.Write(writer, name, labels);
            }
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>"calhook.sync.duration" with unit "s" → "calhook_sync_duration_seconds", as OpenTelemetry names histograms.</summary>
    internal static string HistogramName(Instrument instrument)
    {
        var name = new StringBuilder(instrument.Name.Length + 8);
        foreach (var c in instrument.Name)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':' ? c : '_');
        }

        return instrument.Unit == "s" ? name.Append("_seconds").ToString() : name.ToString();
    }

    private void Observe(Histogram<double> histogram, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_histograms.TryGetValue(histogram, out var series))
        {
            var labels = LabelsOf(tags);
            if (!series.TryGetValue(labels, out var state))
            {
                state = series.GetOrAdd(labels, _ => new HistogramSeries(histogram.Advice?.HistogramBucketBoundaries ?? CalhookMetrics.LatencyBuckets));
            }

            state.Observe(value);
        }
    }

    /// <summary>"calhook.changes.emitted" → "calhook_changes_emitted_total", as OpenTelemetry names counters.</summary>
    internal static string PrometheusName(string instrumentName)
    {
        var name = new StringBuilder(instrumentName.Length + 6);
        foreach (var c in instrumentName)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':' ? c : '_');
        }

        return instrumentName.EndsWith("_total", StringComparison.Ordinal) ? name.ToString() : name.Append("_total").ToString();
    }

    private static bool IsCalhookMeter(string name) =>
        name == CalhookMetrics.MeterName || name.StartsWith(CalhookMetrics.MeterName + ".", StringComparison.Ordinal);

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_series.TryGetValue(instrument, out var series))
        {
            series.AddOrUpdate(LabelsOf(tags), static (_, v) => v, static (_, total, v) => total + v, value);
        }
    }

    private string LabelsOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length > 2)
        {
            return Labels(tags);
        }

        var key = tags.Length switch
        {
            0 => (null, null, null, null),
            1 => (tags[0].Key, tags[0].Value, null, null),
            _ => ((string?)tags[0].Key, tags[0].Value, (string?)tags[1].Key, tags[1].Value),
        };
        if (!_labels.TryGetValue(key, out var labels))
        {
            labels = _labels.GetOrAdd(key, Labels(tags));
        }

        return labels;
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }

        var pairs = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            pairs.Add($"{key}=\"{Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")}\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return new StringBuilder("{").AppendJoin(',', pairs).Append('}').ToString();
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}

/// <summary>One histogram series: cumulative bucket counts, sum and count. Thread-safe (one lock per series).</summary>
internal sealed class HistogramSeries(IReadOnlyList<double> bounds)
{
    private readonly long[] _counts = new long[bounds.Count + 1];
    private double _sum;
    private long _count;

    public void Observe(double value)
    {
        var bucket = 0;
        while (bucket < bounds.Count && value > bounds[bucket])
        {
            bucket++;
        }

        lock (_counts)
        {
            _counts[bucket]++;
            _sum += value;
            _count++;
        }
    }

    /// <summary>Writes <c>_bucket</c> lines (cumulative, <c>le</c> added to the labels), then <c>_sum</c> and <c>_count</c>.</summary>
    public void Write(TextWriter writer, string name, string labels)
    {
        long[] counts;
        double sum;
        long count;
        lock (_counts)
        {
            counts = (long[])_counts.Clone();
            sum = _sum;
            count = _count;
        }

        var inner = labels.Length == 0 ? "" : labels[1..^1] + ",";
        long cumulative = 0;
        for (var i = 0; i <= bounds.Count; i++)
        {
            cumulative += counts[i];
            var le = i < bounds.Count ? bounds[i].ToString(CultureInfo.InvariantCulture) : "+Inf";
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"{name}_bucket{{{inner}le=\"{le}\"}} {cumulative}\n"));
        }

        writer.Write(string.Create(CultureInfo.InvariantCulture, $"{name}_sum{labels} {sum}\n{name}_count{labels} {count}\n"));
    }
}
