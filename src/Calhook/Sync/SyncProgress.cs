using System.Collections.Concurrent;
using Calhook.Changes;

namespace Calhook.Sync;

/// <summary>
/// How far each running full list has got (the baseline of a large calendar, a resync after a 410): events read so
/// far. The watch state shows it as <c>progress</c>, so the CLI and the dashboard can show a long baseline moving.
/// In memory, per instance; cleared when the sync ends. A report is shown only until the watch's last sync is at or
/// after the list's start: the list's commit records that time, a moment before the sync ends and clears its report.
/// Thread-safe.
/// </summary>
internal sealed class SyncProgress(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Running> _running = new(StringComparer.Ordinal);

    public void Report(string watchId, SyncKind kind, int eventsRead)
    {
        var progress = new WatchProgress(kind == SyncKind.Baseline ? "baseline" : "full_resync", eventsRead);
        _running.AddOrUpdate(
            watchId,
            static (_, report) => new Running(report.Progress, report.Now),
            static (_, running, report) => running with { Progress = report.Progress },
            (Progress: progress, Now: time.GetUtcNow()));
    }

    public void Clear(string watchId) => _running.TryRemove(watchId, out _);

    /// <summary>The watch's running full list, unless <paramref name="lastSyncAt"/> shows it committed already.</summary>
    public WatchProgress? Of(string watchId, DateTimeOffset? lastSyncAt) =>
        _running.TryGetValue(watchId, out var running) && !(lastSyncAt >= running.StartedAt) ? running.Progress : null;

    private sealed record Running(WatchProgress Progress, DateTimeOffset StartedAt);
}

/// <summary>A full list in progress: <c>phase</c> is <c>baseline</c> or <c>full_resync</c>; <c>eventsFetched</c> counts events read so far.</summary>
internal sealed record WatchProgress(string Phase, int EventsFetched);
