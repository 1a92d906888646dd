using System.Collections.Concurrent;
using System.Diagnostics;

namespace Calhook.Hosting;

/// <summary>
/// Calhook's traces: one <see cref="ActivitySource"/> named <c>Calhook</c>. A trace follows a change from the ping
/// that announced it (<c>calhook.ping</c>) through the sync that found it (<c>calhook.sync</c>) to the transaction that
/// appended it (<c>calhook.commit</c>). Activities cost nothing when no listener (OpenTelemetry) is attached.
/// </summary>
public static class CalhookTelemetry
{
    public const string SourceName = "Calhook";

    internal static readonly ActivitySource Source = new(SourceName);
}

/// <summary>
/// The first ping of each watch that no sync has answered yet: when it came (a <see cref="TimeProvider"/> timestamp)
/// and its trace context. A sync takes it as it starts, so the ping-to-change lag is measured from the earliest ping
/// the sync answers, and the sync's trace continues the ping's. Thread-safe; one entry per watch at most.
/// </summary>
internal sealed class PingClock(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Ping> _first = new(StringComparer.Ordinal);

    /// <summary>On the receiver's hot path: a ping that asks for a sync. Keeps the earliest unanswered one.</summary>
    public void Received(string watchId, string state)
    {
        using var activity = CalhookTelemetry.Source.StartActivity("calhook.ping", ActivityKind.Server);
        activity?.SetTag("calhook.watch_id", watchId);
        activity?.SetTag("calhook.resource_state", state);
        if (!_first.ContainsKey(watchId))
        {
            _first.TryAdd(watchId, new Ping(time.GetTimestamp(), activity?.Context ?? default));
        }
    }

    /// <summary>Takes the watch's unanswered ping, if any, as its sync starts.</summary>
    public Ping? Take(string watchId) => _first.TryRemove(watchId, out var ping) ? ping : null;

    /// <summary>Gives a ping back when the sync that took it did not answer it (it failed); an earlier one wins.</summary>
    public void Return(string watchId, Ping ping) =>
        _first.AddOrUpdate(watchId, ping, (_, newer) => newer.Timestamp < ping.Timestamp ? newer : ping);

    public readonly record struct Ping(long Timestamp, ActivityContext Context);
}
