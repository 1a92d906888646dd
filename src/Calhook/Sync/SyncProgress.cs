using System.Collections.Concurrent;
using Calhook.Changes;

namespace Calhook.Sync;

/// <summary>
/// How far each running full list has got (the baseline of a large calendar, a resync after a 410): events read so
/// far. The watch state shows it as <c>progress</c>, so the CLI and the dashboard can show a long baseline moving.
/// In memory, per instance; cleared when the sync ends. Thread-safe.
/// </summary>
internal sealed class SyncProgress
{
    private readonly ConcurrentDictionary<string, WatchProgress> _running = new(StringComparer.Ordinal);

    public void Report(string watchId, SyncKind kind, int eventsRead) =>
        _running[watchId] = new WatchProgress(kind == SyncKind.Baseline ? "baseline" : "full_resync", eventsRead);

    public void Clear(string watchId) => _running.TryRemove(watchId, out _);

    public WatchProgress? Of(string watchId) => _running.TryGetValue(watchId, out var progress) ? progress : null;
}

/// <summary>A full list in progress: <c>phase</c> is <c>baseline</c> or <c>full_resync</c>; <c>eventsFetched</c> counts events read so far.</summary>
internal sealed record WatchProgress(string Phase, int EventsFetched);
