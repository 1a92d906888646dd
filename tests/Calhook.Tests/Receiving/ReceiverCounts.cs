using System.Diagnostics.Metrics;
using Calhook.Receiving;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Receiving;

/// <summary>
/// What the push receiver of one running <see cref="CalhookTestHost"/> accepted or refused, read from its own
/// meters (hosts run in parallel in one process). Counts from creation; a restarted host needs new counts.
/// </summary>
internal sealed class ReceiverCounts : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _accepted;
    private long _acceptedExists;
    private long _refused;
    private long _unknown;

    public ReceiverCounts(CalhookTestHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ReceiverMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? outcome = null, state = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    outcome = tag.Value as string;
                }

                if (tag.Key == "state")
                {
                    state = tag.Value as string;
                }
            }

            switch (outcome)
            {
                case ReceiverMetrics.Outcomes.Accepted:
                    Interlocked.Add(ref _accepted, value);
                    if (state == "exists")
                    {
                        Interlocked.Add(ref _acceptedExists, value);
                    }

                    break;
                case ReceiverMetrics.Outcomes.Unknown:
                    Interlocked.Add(ref _unknown, value);
                    break;
                default:
                    Interlocked.Add(ref _refused, value);
                    break;
            }
        });
        _listener.Start();
    }

    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Accepted pings that announced a change (<c>exists</c>), not a channel's first <c>sync</c>.</summary>
    public long AcceptedExists => Interlocked.Read(ref _acceptedExists);

    /// <summary>Pings refused as forged, malformed or too large.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Pings for a channel this host does not know.</summary>
    public long Unknown => Interlocked.Read(ref _unknown);

    public void Dispose() => _listener.Dispose();
}
