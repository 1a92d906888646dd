using System.Collections.Concurrent;
using Calhook.Channels;

namespace Calhook.Receiving;

/// <summary>Reads a channel the receiver's map does not know from the store (the shape of <see cref="ChannelSupervisor.ResolveAsync"/>).</summary>
internal delegate Task<KnownChannel?> ChannelLookup(string channelId, CancellationToken cancellationToken);

/// <summary>
/// The receiver's look-ups of channels its map does not know, when instances share the store (another instance may
/// have opened them). Pings of one id that arrive while its look-up runs share it, and an id the store does not know
/// (or whose channel or watch is stopped) is remembered as unknown for <see cref="NegativeTime"/>: a flood of pings
/// naming it costs one store read per <see cref="NegativeTime"/>, not one per ping. Remembering "unknown" never hides a
/// channel another instance opened: a channel is recorded in the store before Google is asked to open it
/// (invariant 6, docs/architecture.md), so Google cannot ping it before a look-up finds it. A found channel is not
/// remembered here (the map keeps it); a failed look-up is not remembered either. At most <see cref="Capacity"/> ids
/// are remembered: a flood of distinct ids empties the memory instead of growing it. Thread-safe.
/// </summary>
internal sealed class ChannelLookups(ChannelLookup lookup, TimeProvider time)
{
    /// <summary>How long an id the store did not know is answered as unknown without reading the store again.</summary>
    public static readonly TimeSpan NegativeTime = TimeSpan.FromSeconds(5);

    /// <summary>Most ids remembered at once.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>How many ids are remembered now (never more than <see cref="Capacity"/>).</summary>
    public int Count => _entries.Count;

    /// <summary>The channel, or null when the store does not know it (or it is stopped).</summary>
    public Task<KnownChannel?> ResolveAsync(string channelId)
    {
        var now = time.GetTimestamp();
        if (_entries.TryGetValue(channelId, out var entry) && (!entry.Lookup.IsCompleted || IsFreshUnknown(entry, now)))
        {
            return entry.Lookup;
        }

        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }

        // Not tied to the ping that started it: the pings waiting on it each stop waiting when their request ends.
        var started = new Entry(lookup(channelId, CancellationToken.None), now);
        _entries[channelId] = started;
        _ = started.Lookup.ContinueWith(
            done => { if (!done.IsCompletedSuccessfully || done.Result is not null) { _entries.TryRemove(new(channelId, started)); } },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return started.Lookup;
    }

    private bool IsFreshUnknown(Entry entry, long now) =>
        entry.Lookup.IsCompletedSuccessfully && entry.Lookup.Result is null && time.GetElapsedTime(entry.StartedAt, now) < NegativeTime;

    private sealed record Entry(Task<KnownChannel?> Lookup, long StartedAt);
}
