using System.Diagnostics;
using Calhook.Hosting;

namespace Calhook.Sync;

/// <summary>
/// Wraps the sync the scheduler runs with what is measured about it: the <c>calhook.sync</c> activity (continuing the
/// trace of the ping it answers), its duration, the ping-to-change lag when it appended changes; and the end of its
/// progress report.
/// </summary>
internal static class SyncTelemetry
{
    public static SyncRunner Measure(SyncRunner sync, PingClock pings, SyncProgress progress, CalhookMetrics? metrics, TimeProvider time) =>
        async (watchId, cancellationToken) =>
        {
            var ping = pings.Take(watchId);
            using var activity = CalhookTelemetry.Source.StartActivity("calhook.sync", ActivityKind.Internal, ping?.Context ?? default);
            activity?.SetTag("calhook.watch_id", watchId);
            var started = time.GetTimestamp();
            SyncOutcome? outcome = null;
            try
            {
                outcome = await sync(watchId, cancellationToken);
                return outcome;
            }
            finally
            {
                progress.Clear(watchId);
                var name = OutcomeName(outcome?.Result);
                metrics?.SyncDuration(time.GetElapsedTime(started), name);
                activity?.SetTag("calhook.outcome", name);
                activity?.SetTag("calhook.changes", outcome?.ChangesAppended ?? 0);
                if (ping is { } answered)
                {
                    if (outcome?.Result == SyncResult.Synced)
                    {
                        if (outcome.ChangesAppended > 0)
                        {
                            metrics?.PingToChange(time.GetElapsedTime(answered.Timestamp));
                        }
                    }
                    else
                    {
                        // Not answered: the retry answers it, and the lag counts from this ping still.
                        pings.Return(watchId, answered);
                    }
                }
            }
        };

    public static string OutcomeName(SyncResult? result) => result switch
    {
        SyncResult.Synced => "ok",
        SyncResult.RetryLater => "retry_later",
        null => "crashed",
        _ => result.Value.ToString().ToLowerInvariant(),
    };
}
