using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Calhook.Hosting;

/// <summary>
/// Sums the counters of one <see cref="Meter"/> through a <see cref="MeterListener"/> and writes them as Prometheus
/// text. A listener, rather than the OpenTelemetry exporter, because the exporter selects meters by name across the
/// whole process and would mix the numbers of two Calhook hosts living side by side.
/// </summary>
internal sealed class MetricsExposition : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<string, long>> _series = new();

    public MetricsExposition(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument is Counter<long>)
            {
                _series.TryAdd(instrument, new ConcurrentDictionary<string, long>(StringComparer.Ordinal));
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var labels = Labels(tags);
            _series[instrument].AddOrUpdate(labels, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var (instrument, series) in _series.OrderBy(s => s.Key.Name, StringComparer.Ordinal))
        {
            // "calhook.changes.emitted" → "calhook_changes_emitted_total", as OpenTelemetry names counters.
            var name = instrument.Name.Replace('.', '_') + "_total";
            writer.Write($"# HELP {name} {instrument.Description}\n# TYPE {name} counter\n");
            foreach (var (labels, value) in series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                writer.Write(string.Create(CultureInfo.InvariantCulture, $"{name}{labels} {value}\n"));
            }
        }
    }

    public void Dispose() => _listener.Dispose();

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
