using System.Text.Json;
using Calhook.Changes;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Calendars;

/// <summary>Reads one page of an account's calendar list (the shape of <see cref="GoogleCalendarClient.ListCalendarListPageAsync"/>).</summary>
internal delegate Task<GoogleResponse<CalendarListSyncPage>> CalendarListPageReader(
    string accountId, string? syncToken, string? pageToken, CancellationToken cancellationToken);

/// <summary>
/// Syncs one account's calendar list: reads the entries changed since the sync token (or the whole list: the first
/// time, after a 410 or a 400 on the token, and every <see cref="CalendarListOptions.FullListInterval"/>, because
/// Google leaves calendar property changes out of incremental lists), compares them with the stored entries and
/// commits, in one transaction, the entries, the calendar-level changes, the stopping of the event watches of
/// calendars that left the list, and the next sync token. The first list is the baseline: it reports nothing.
/// Afterwards <see cref="CalendarWatches"/> stops removed calendars' channels and follows the list for
/// all-calendars watches. Callers run at most one sync per watch at a time.
/// </summary>
internal sealed partial class CalendarListSyncer(
    ICalhookStore store,
    CalendarListPageReader readPage,
    CalendarWatches watches,
    ChangeIds changeIds,
    IOptions<CalendarListOptions> options,
    TimeProvider time,
    ILogger<CalendarListSyncer> logger)
{
    public async Task<SyncOutcome> SyncAsync(WatchRecord watch, CancellationToken cancellationToken)
    {
        var state = await store.GetCalendarListStateAsync(watch.Id, cancellationToken);
        var now = time.GetUtcNow();
        var full = state.SyncToken is null || state.LastFullListAt is null || now - state.LastFullListAt >= options.Value.FullListInterval;
        var (items, nextToken, error) = await ReadAsync(watch.AccountId, full ? null : state.SyncToken, cancellationToken);
        if (error is { Kind: GoogleErrorKind.FullSyncRequired } || (error is { Status: 400 } && !full))
        {
            // The token is gone or unreadable: read the whole list and compare it with the stored entries.
            full = true;
            (items, nextToken, error) = await ReadAsync(watch.AccountId, null, cancellationToken);
        }

        if (error is not null)
        {
            LogFailed(watch.Id, error.Status, error.Reason);
            var kind = error.Kind == GoogleErrorKind.NeedsReauth ? WatchProblemKind.NeedsReauth : WatchProblemKind.Error;
            await store.SetSyncProblemAsync(watch.Id, new WatchProblem(kind, $"calendarList.list failed ({error.Status} {error.Reason}): {error.Message}"), cancellationToken);
            var retry = error.Kind is GoogleErrorKind.Transient or GoogleErrorKind.RateLimited;
            return new SyncOutcome(retry ? SyncResult.RetryLater : SyncResult.Failed, 0, error);
        }

        var stored = await store.GetCalendarEntriesAsync(watch.Id, cancellationToken);
        var baseline = state.SyncToken is null;
        var detection = CalendarListDetection.Detect(items!, stored, full, baseline, changeIds.Next);
        var account = (await store.ListWatchesAsync(cancellationToken)).Where(w => w.AccountId == watch.AccountId && w.Kind == WatchKind.Calendar).ToList();
        var stops = account.Where(w => detection.Removed.Contains(w.CalendarId))
            .Select(w => new WatchStop(w.Id, CalendarWatches.RemovedReason(w.CalendarId))).ToList();
        var commit = new CalendarListCommit(watch.Id, now, full, detection.Entries, detection.Changes, stops, nextToken, state.SyncToken);
        IReadOnlyList<Change> appended;
        try
        {
            appended = await store.CommitCalendarListAsync(commit, CancellationToken.None);
        }
        catch (SyncSupersededException)
        {
            // Another sync of the list (another instance, which took the lease while this one stalled) committed after
            // this one read the token: its commit stands, and this one wrote nothing.
            LogSuperseded(watch.Id);
            return SyncOutcome.Skipped;
        }

        watches.Appended(appended);

        LogSynced(watch.Id, full, items!.Count, appended.Count);
        if (watch.SyncProblem is not null)
        {
            await store.SetSyncProblemAsync(watch.Id, null, CancellationToken.None);
        }

        await watches.FollowAsync(watch, stops, cancellationToken);
        return new SyncOutcome(SyncResult.Synced, appended.Count);
    }

    private async Task<(List<JsonElement>? Items, string? NextToken, GoogleError? Error)> ReadAsync(string accountId, string? syncToken, CancellationToken cancellationToken)
    {
        var items = new List<JsonElement>();
        string? pageToken = null;
        while (true)
        {
            var response = await readPage(accountId, syncToken, pageToken, cancellationToken);
            if (response.Error is { } error)
            {
                return (null, null, error);
            }

            var page = response.Value!;
            items.AddRange(page.Items.Select(i => i.Clone()));
            if (page.NextPageToken is { } next)
            {
                pageToken = next;
                continue;
            }

            return page.NextSyncToken is { } token
                ? (items, token, null)
                : (null, null, new GoogleError(GoogleErrorKind.Other, 200, null, "The last calendarList page carried no nextSyncToken."));
        }
    }

    [LoggerMessage(EventId = LogEvents.CalendarListSynced, Level = LogLevel.Debug, Message = "Calendar list of watch {WatchId} synced (full list: {Full}): {Items} entries read, {Changes} changes")]
    private partial void LogSynced(string watchId, bool full, int items, int changes);

    [LoggerMessage(EventId = LogEvents.CalendarListSuperseded, Level = LogLevel.Warning, Message = "Calendar list sync of watch {WatchId} was not committed: another sync of the list (another instance) committed after it started, so it stands")]
    private partial void LogSuperseded(string watchId);

    [LoggerMessage(EventId = LogEvents.CalendarListSyncFailed, Level = LogLevel.Warning, Message = "Calendar list sync of watch {WatchId} failed with {Status} ({Reason})")]
    private partial void LogFailed(string watchId, int status, string? reason);
}
