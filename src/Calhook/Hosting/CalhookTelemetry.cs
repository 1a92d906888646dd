using System.Collections.Concurrent;
using System.Diagnostics;
using Calhook.Changes;

namespace Calhook.Hosting;

/// <summary>
/// Calhook's traces: one <see cref="ActivitySource"/> named <c>Calhook</c>. A trace follows a change from the ping
/// that announced it (<c>calhook.ping</c>) through the sync that found it (<c>calhook.sync</c>) and the transaction that
/// appended it (<c>calhook.commit</c>) to each webhook attempt that delivers it (<c>calhook.deliver</c>, see
/// <see cref="CommitTraces"/>). Activities cost nothing when no listener (OpenTelemetry) is attached.
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

/// <summary>
/// The trace context of the commits this process made recently, by the sequences they appended, so that a webhook
/// attempt (<c>calhook.deliver</c>) continues the trace of the commit that appended its change. Kept in memory only,
/// for the last <see cref="Capacity"/> commits: a change committed by another instance, before a restart, or long ago
/// is delivered in a trace of its own (its span still names the change and its sequence). Recorded only while a
/// listener samples the commit. Thread-safe.
/// </summary>
internal sealed class CommitTraces
{
    /// <summary>How many commits are remembered; the oldest is forgotten first.</summary>
    public const int Capacity = 4096;

    private readonly Queue<(long First, long Last, ActivityContext Context)> _commits = new();

    /// <summary>Remembers the commit that appended <paramref name="appended"/> (a contiguous run of sequences).</summary>
    public void Record(IReadOnlyList<Change> appended, ActivityContext commit)
    {
        ArgumentNullException.ThrowIfNull(appended);
        if (appended.Count == 0 || commit == default)
        {
            return;
        }

        lock (_commits)
        {
            _commits.Enqueue((appended[0].Sequence, appended[^1].Sequence, commit));
            if (_commits.Count > Capacity)
            {
                _commits.Dequeue();
            }
        }
    }

    /// <summary>The context of the commit that appended <paramref name="sequence"/>, or default when it is not known here.</summary>
    public ActivityContext Find(long sequence)
    {
        lock (_commits)
        {
            // A scan of at most Capacity entries costs microseconds, nothing next to the HTTP attempt it serves.
            foreach (var (first, last, context) in _commits)
            {
                if (sequence >= first && sequence <= last)
                {
                    return context;
                }
            }
        }

        return default;
    }
}
