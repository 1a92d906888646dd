using System.Text;
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
/// Syncs one watch. An incremental sync (since the stored sync token) reads its few pages into memory, detects the
/// changes against the snapshots and commits snapshots, changes and the next sync token in one transaction. A full
/// list (the baseline, and the resync after a 410) can hold 100,000s of events, so it is streamed: each page is
/// detected as it arrives (while Google serves the next one) and its snapshot rows are staged in the store; one
/// final transaction moves them into the snapshots, forgets the events the list no longer names, appends the changes
/// and stores the sync token. A sync interrupted anywhere therefore leaves the watch as it was (staged rows are not
/// snapshots, and the next full list deletes them first), and the next sync redoes it.
/// Callers run at most one sync per watch at a time.
/// </summary>
internal sealed partial class Syncer(
    ICalhookStore store,
    EventsPageReader readPage,
    ChangeNotifier notifier,
    ChangeIds changeIds,
    TimeProvider timeProvider,
    ILogger<Syncer> logger)
{
    private static readonly IReadOnlyDictionary<string, byte[]> NoSnapshots = new Dictionary<string, byte[]>();

    /// <summary>Called with each committed change type after a commit (the metrics hook); optional.</summary>
    public Action<string>? ChangeEmitted { get; init; }

    /// <summary>Where each commit's trace context is remembered, so webhook attempts continue its trace; optional.</summary>
    public Hosting.CommitTraces? CommitTraces { get; init; }

    /// <summary>How many bytes of snapshots a full list gathers before it writes them (2 MB: about 2,500 typical events, a page of 2,500 small ones).</summary>
    public long StageBatchBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>Called after each page of a full list is staged, with the events read so far (the progress hook); optional.</summary>
    public Action<string, SyncKind, int>? FullListProgress { get; init; }

    /// <summary>Syncs a watch read here together with its sync state (one store read).</summary>
    public async Task<SyncOutcome> SyncAsync(string watchId, CancellationToken cancellationToken) =>
        await store.GetWatchForSyncAsync(watchId, cancellationToken) is { } read ? await SyncAsync(read.Watch, read.State, cancellationToken) : SyncOutcome.Skipped;

    /// <summary>Syncs a watch its caller has just read together with its sync state (<see cref="ICalhookStore.GetWatchForSyncAsync"/>).</summary>
    public async Task<SyncOutcome> SyncAsync(WatchRecord watch, SyncState state, CancellationToken cancellationToken)
    {
        if (watch.Status == WatchStatus.Stopped)
        {
            return SyncOutcome.Skipped;
        }

        var watchId = watch.Id;
        var run = state.SyncToken is { } syncToken
            ? await IncrementalAsync(watch, syncToken, cancellationToken)
            : await FullListAsync(watch, SyncKind.Baseline, null, cancellationToken);
        if (run.Error is { } error)
        {
            return await FailAsync(watch, error, cancellationToken);
        }

        if (run.Superseded)
        {
            // Another sync of the watch (another instance, which took the lease while this one stalled) committed
            // after this one read the sync token: its commit is the newer state, and this one wrote nothing.
            LogSuperseded(watchId, run.Kind);
            return SyncOutcome.Skipped;
        }

        var appended = run.Appended;
        if (appended.Count > 0)
        {
            notifier.Notify(appended[^1].Sequence);
            foreach (var change in appended)
            {
                ChangeEmitted?.Invoke(change.Type);
            }
        }

        LogSynced(watchId, run.Kind, run.Items, appended.Count);

        // What detection could not do exactly (the sync itself is committed) stays visible until a sync without it.
        // Clears only the sync's own problem: a channel that cannot be renewed stays visible.
        var problem = run.Problems.Count == 0 ? null : new WatchProblem(WatchProblemKind.Error, string.Join(" ", run.Problems));
        foreach (var message in run.Problems)
        {
            LogDetectionProblem(watchId, message);
        }

        if (watch.SyncProblem != problem)
        {
            await store.SetSyncProblemAsync(watchId, problem, CancellationToken.None);
        }

        return new SyncOutcome(SyncResult.Synced, appended.Count);
    }

    private async Task<Run> IncrementalAsync(WatchRecord watch, string syncToken, CancellationToken cancellationToken)
    {
        var items = new List<JsonElement>();
        string? pageToken = null;
        while (true)
        {
            var response = await readPage(watch.AccountId, watch.CalendarId, syncToken, pageToken, cancellationToken);
            if (response.Error is { } refused && GoogleErrors.RefusesSyncToken(refused))
            {
                // The token is gone (410) or Google cannot read it (400 invalid): list everything and diff it against
                // the snapshots, so deletions made during the gap are still reported and unchanged events are not
                // (never treat a refused token as "nothing changed").
                LogFullResync(watch.Id, refused.Status, refused.Reason);
                return await FullListAsync(watch, SyncKind.FullResync, syncToken, cancellationToken);
            }

            if (response.Error is { } error)
            {
                return Run.Failed(error);
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
                return Run.Failed(NoSyncToken);
            }

            var detector = new ChangeDetector(SyncKind.Incremental, changeIds.Next);
            var rows = detector.Observe(items, await store.GetSnapshotBytesAsync(watch.Id, ChangeRules.SnapshotIdsFor(items), cancellationToken));
            var detection = detector.Finish(await UnlistedAsync(watch, detector, cancellationToken));
            List<SnapshotWrite> writes = [.. rows.Select(r => new SnapshotWrite(r.EventId, Encoding.UTF8.GetString(r.Json))), .. detection.Forgotten.Select(id => new SnapshotWrite(id, null))];
            var commit = new SyncCommit(watch.Id, watch.CalendarId, timeProvider.GetUtcNow(), writes, detection.Changes, page.NextSyncToken, syncToken);

            // Past this point the sync is one transaction; cancelling it now would only waste the work done.
            using var committing = Hosting.CalhookTelemetry.Source.StartActivity("calhook.commit");
            IReadOnlyList<Change> appended;
            try
            {
                appended = await store.CommitSyncAsync(commit, CancellationToken.None);
            }
            catch (SyncSupersededException)
            {
                return Run.Overtaken(SyncKind.Incremental, items.Count);
            }

            Traced(appended, committing);
            return new Run(SyncKind.Incremental, items.Count, appended, null, detector.Problems);
        }
    }

    /// <summary>A full list; <paramref name="startedFrom"/> is the watch's sync token it replaces (null for a baseline, the refused one for a resync).</summary>
    private async Task<Run> FullListAsync(WatchRecord watch, SyncKind kind, string? startedFrom, CancellationToken cancellationToken)
    {
        // The attempt names the list's staged rows until its commit (the SQLite store resolves it to an integer
        // snapshot set once per batch): 64 random bits are plenty within one watch.
        var attemptId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
        await store.ClearStagingAsync(watch.Id, cancellationToken);
        var detector = new ChangeDetector(kind, changeIds.Next);
        var items = 0;
        var staged = new List<StagedSnapshot>();
        long stagedBytes = 0;
        string nextSyncToken;
        var reading = readPage(watch.AccountId, watch.CalendarId, null, null, cancellationToken);

        // A batch is written on the thread pool while the next pages are read and detected (the store's writes run
        // synchronously on the caller's thread otherwise): at most one batch is being written while the next fills,
        // and batches are written in list order, so a later copy of an event still wins.
        var writing = Task.CompletedTask;
        try
        {
            while (true)
            {
                var response = await reading;
                if (response.Error is { } error)
                {
                    return Run.Failed(error);
                }

                // The page's document is returned as soon as its rows are staged: no page outlives its processing.
                using var page = response.Value!;
                if (page.NextPageToken is null && page.NextSyncToken is null)
                {
                    return Run.Failed(NoSyncToken);
                }

                // Google serves the next page while this one is detected and staged.
                var last = page.NextPageToken is null;
                if (!last)
                {
                    reading = readPage(watch.AccountId, watch.CalendarId, null, page.NextPageToken, cancellationToken);
                }

                var stored = kind == SyncKind.Baseline
                    ? NoSnapshots
                    : await store.GetSnapshotBytesAsync(watch.Id, ChangeRules.SnapshotIdsFor(page.Items), cancellationToken);
                // Pages are written in batches of a few megabytes: each staging commit rewrites the key index's
                // pages it touches, and with random event ids that is most of them, so fewer commits write far less.
                foreach (var row in detector.Observe(page.Items, stored))
                {
                    staged.Add(row);
                    stagedBytes += row.Json.Length;
                }

                if (last || stagedBytes >= StageBatchBytes)
                {
                    await writing;
                    var batch = staged;
                    writing = Task.Run(() => store.StageSnapshotsAsync(watch.Id, attemptId, batch, last, cancellationToken), cancellationToken);
                    staged = [];
                    stagedBytes = 0;
                }

                items += page.Items.Count;
                LogStaged(watch.Id, kind, items);
                FullListProgress?.Invoke(watch.Id, kind, items);
                if (last)
                {
                    nextSyncToken = page.NextSyncToken!;
                    break;
                }
            }

            await writing;
        }
        finally
        {
            // A list that failed while a batch was being written: the batch finishes (or fails) before the sync ends,
            // so no write of this attempt outlives it; its rows are discarded by the watch's next full list.
            await writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

            // A page still in flight when the list failed: wait for it, and drop it (disposing a page twice is harmless).
            await ((Task)reading).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (reading.IsCompletedSuccessfully)
            {
                reading.Result.Value?.Dispose();
            }
        }

        var detection = detector.Finish(await UnlistedAsync(watch, detector, cancellationToken));
        LogFullListRead(watch.Id, kind, items, detection.Changes.Count);
        var commit = new FullSyncCommit(watch.Id, watch.CalendarId, attemptId, timeProvider.GetUtcNow(), detection.Forgotten, detection.Changes, nextSyncToken, startedFrom);

        // Past this point the sync is one transaction; cancelling it now would only waste the work done.
        using var committing = Hosting.CalhookTelemetry.Source.StartActivity("calhook.commit");
        IReadOnlyList<Change> appended;
        try
        {
            appended = await store.CommitFullSyncAsync(commit, CancellationToken.None);
        }
        catch (SyncSupersededException)
        {
            // The store dropped this attempt's staged rows with the refused commit.
            return Run.Overtaken(kind, items);
        }

        Traced(appended, committing);
        return new Run(kind, items, appended, null, detector.Problems);
    }

    /// <summary>Tags the commit's span and remembers its context for the deliveries of what it appended.</summary>
    private void Traced(IReadOnlyList<Change> appended, System.Diagnostics.Activity? committing)
    {
        if (committing is null)
        {
            return;
        }

        committing.SetTag("calhook.changes", appended.Count);
        if (appended.Count > 0)
        {
            committing.SetTag("calhook.sequence.first", appended[0].Sequence);
            committing.SetTag("calhook.sequence.last", appended[^1].Sequence);
            CommitTraces?.Record(appended, committing.Context);
        }
    }

    /// <summary>The stored snapshots of the events the detector must judge although the list did not name them.</summary>
    private async Task<IReadOnlyDictionary<string, byte[]>> UnlistedAsync(WatchRecord watch, ChangeDetector detector, CancellationToken cancellationToken)
    {
        if (!detector.NeedsUnlisted)
        {
            return NoSnapshots;
        }

        var ids = detector.UnlistedToLoad(await store.ListSnapshotIdsAsync(watch.Id, cancellationToken));
        return await store.GetSnapshotBytesAsync(watch.Id, ids, cancellationToken);
    }

    private static GoogleError NoSyncToken => new(GoogleErrorKind.Other, 200, null, "The last page carried no nextSyncToken.");

    /// <summary>
    /// What reading and committing gave: the appended changes, the Google error that stopped the sync, or that the
    /// commit was superseded (another sync of the watch committed first; nothing was written).
    /// </summary>
    private sealed record Run(SyncKind Kind, int Items, IReadOnlyList<Change> Appended, GoogleError? Error, IReadOnlyList<string> Problems, bool Superseded = false)
    {
        public static Run Failed(GoogleError error) => new(SyncKind.Incremental, 0, [], error, []);

        public static Run Overtaken(SyncKind kind, int items) => new(kind, items, [], null, [], Superseded: true);
    }

    private async Task<SyncOutcome> FailAsync(WatchRecord watch, GoogleError error, CancellationToken cancellationToken)
    {
        LogSyncFailed(watch.Id, error.Kind, error.Status, error.Reason);
        var (status, result, message) = error.Kind switch
        {
            GoogleErrorKind.NeedsReauth => (WatchStatus.NeedsReauth, SyncResult.Failed, "The account needs to be authorised again."),
            GoogleErrorKind.NotFound => (WatchStatus.Failing, SyncResult.Failed, "calendar not found"),
            GoogleErrorKind.RateLimited => (WatchStatus.Failing, SyncResult.RetryLater, $"Rate limited by Google ({error.Status}); retrying."),
            GoogleErrorKind.QuotaExhausted => (WatchStatus.Failing, SyncResult.RetryLater, error.Message),
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
