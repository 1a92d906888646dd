using System.Text.Json;
using Calhook.Changes;
using Calhook.Google;
using Calhook.Storage;
using Microsoft.Extensions.Logging;

namespace Calhook.Sync;

/// <summary>Reads one page of events.list for an account's calendar (the shape of <see cref="GoogleCalendarClient.ListEventsPageAsync"/>).</summary>
internal delegate Task<GoogleResponse<EventsPage>> EventsPageReader(
    string accountId, string calendarId, string? syncToken, string? pageToken, CancellationToken cancellationToken);

/// <summary>
/// Syncs one watch: reads every page Google has since the stored sync token (or the whole calendar for the
/// baseline and after a 410), detects the changes against the snapshots, and commits snapshots, changes and the
/// final sync token in one transaction. Nothing is written before that commit, so a sync interrupted anywhere
/// leaves the watch as it was and the next sync redoes it. Callers run at most one sync per watch at a time.
/// </summary>
internal sealed partial class Syncer(
    ICalhookStore store,
    EventsPageReader readPage,
    ChangeNotifier notifier,
    ChangeIds changeIds,
    TimeProvider timeProvider,
    ILogger<Syncer> logger)
{
    /// <summary>Called with each committed change type after a commit (the metrics hook); optional.</summary>
    public Action<string>? ChangeEmitted { get; init; }

    public async Task<SyncOutcome> SyncAsync(string watchId, CancellationToken cancellationToken)
    {
        var watch = await store.GetWatchAsync(watchId, cancellationToken);
        if (watch is null || watch.Status == WatchStatus.Stopped)
        {
            return SyncOutcome.Skipped;
        }

        var state = await store.GetSyncStateAsync(watchId, cancellationToken);
        var kind = state.SyncToken is null ? SyncKind.Baseline : SyncKind.Incremental;
        var items = new List<JsonElement>();
        string? pageToken = null;
        string nextSyncToken;
        while (true)
        {
            var syncToken = kind == SyncKind.Incremental ? state.SyncToken : null;
            var response = await readPage(watch.AccountId, watch.CalendarId, syncToken, pageToken, cancellationToken);
            if (response.Error is { Kind: GoogleErrorKind.FullSyncRequired } && kind == SyncKind.Incremental)
            {
                // The token is gone: list everything and diff it against the snapshots, so deletions made during
                // the gap are still reported and unchanged events are not (never treat a 410 as "nothing changed").
                LogFullResync(watchId);
                kind = SyncKind.FullResync;
                items.Clear();
                pageToken = null;
                continue;
            }

            if (response.Error is { } error)
            {
                return await FailAsync(watch, error, cancellationToken);
            }

            var page = response.Value!;
            items.AddRange(page.Items);
            if (page.NextPageToken is { } next)
            {
                pageToken = next;
                continue;
            }

            if (page.NextSyncToken is null)
            {
                return await FailAsync(watch, new GoogleError(GoogleErrorKind.Other, 200, null, "The last page carried no nextSyncToken."), cancellationToken);
            }

            nextSyncToken = page.NextSyncToken;
            break;
        }

        var snapshots = await LoadSnapshotsAsync(watchId, kind, items, cancellationToken);
        var detection = ChangeDetector.Detect(kind, items, snapshots, changeIds.Next);
        var commit = new SyncCommit(watchId, watch.CalendarId, timeProvider.GetUtcNow(), detection.Snapshots, detection.Changes, nextSyncToken);

        // Past this point the sync is one transaction; cancelling it now would only waste the work done.
        var appended = await store.CommitSyncAsync(commit, CancellationToken.None);
        if (appended.Count > 0)
        {
            notifier.Notify(appended[^1].Sequence);
            foreach (var change in appended)
            {
                ChangeEmitted?.Invoke(change.Type);
            }
        }

        LogSynced(watchId, kind, items.Count, appended.Count);
        if (watch.SyncProblem is not null)
        {
            // Clears only the sync's own problem: a channel that cannot be renewed stays visible.
            await store.SetSyncProblemAsync(watchId, null, CancellationToken.None);
        }

        return new SyncOutcome(SyncResult.Synced, appended.Count);
    }

    private async Task<IReadOnlyDictionary<string, string>> LoadSnapshotsAsync(
        string watchId, SyncKind kind, List<JsonElement> items, CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case SyncKind.Baseline:
                return new Dictionary<string, string>();
            case SyncKind.FullResync:
                var ids = new HashSet<string>(await store.ListSnapshotIdsAsync(watchId, cancellationToken), StringComparer.Ordinal);
                ids.UnionWith(ChangeDetector.SnapshotIdsFor(items));
                return await store.GetSnapshotsAsync(watchId, ids, cancellationToken);
            default:
                return await store.GetSnapshotsAsync(watchId, ChangeDetector.SnapshotIdsFor(items), cancellationToken);
        }
    }

    private async Task<SyncOutcome> FailAsync(WatchRecord watch, GoogleError error, CancellationToken cancellationToken)
    {
        LogSyncFailed(watch.Id, error.Kind, error.Status, error.Reason);
        var (status, result, message) = error.Kind switch
        {
            GoogleErrorKind.NeedsReauth => (WatchStatus.NeedsReauth, SyncResult.Failed, "The account needs to be authorised again."),
            GoogleErrorKind.NotFound => (WatchStatus.Failing, SyncResult.Failed, "calendar not found"),
            GoogleErrorKind.RateLimited => (WatchStatus.Failing, SyncResult.RetryLater, $"Rate limited by Google ({error.Status}); retrying."),
            GoogleErrorKind.Transient => (WatchStatus.Failing, SyncResult.RetryLater, $"Google failed ({error.Status}); retrying."),
            // A 410 while listing without a token: Google invalidated the paging; start over later.
            GoogleErrorKind.FullSyncRequired => (WatchStatus.Failing, SyncResult.RetryLater, "Google asked for a full sync during a full list; retrying."),
            _ => (WatchStatus.Failing, SyncResult.Failed, $"events.list failed ({error.Status} {error.Reason}): {error.Message}"),
        };

        var kind = status == WatchStatus.NeedsReauth ? WatchProblemKind.NeedsReauth : WatchProblemKind.Error;
        await store.SetSyncProblemAsync(watch.Id, new WatchProblem(kind, message), cancellationToken);
        return new SyncOutcome(result, 0, error);
    }
}
