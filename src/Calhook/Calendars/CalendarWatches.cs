using Calhook.Changes;
using Calhook.Channels;
using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.Logging;

namespace Calhook.Calendars;

/// <summary>
/// Keeps watches in step with calendar lists: gives every account with watches its calendar-list watch, stops the
/// channels of event watches whose calendar left the list, treats an event watch's 404 as that calendar's removal,
/// and follows the list for all-calendars watches (a watch per calendar on the list, stopped when it leaves).
/// Also routes syncs: a calendar-list watch to <see cref="CalendarListSyncer"/>, an all-calendars watch to its
/// account's calendar-list watch, every other to the event <see cref="Syncer"/>.
/// </summary>
internal sealed partial class CalendarWatches(
    ICalhookStore store,
    Func<ChannelSupervisor> supervisor,
    Func<SyncScheduler> scheduler,
    ChangeIds changeIds,
    ChangeNotifier notifier,
    CalhookMetrics? metrics,
    TimeProvider time,
    ILogger<CalendarWatches> logger)
{
    // Accounts whose calendar-list watch this process has made sure of (watches created before calendar lists were
    // watched get theirs on their first sync).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _ensured = new(StringComparer.Ordinal);

    /// <summary>Tells feed readers and the metrics about committed calendar-level changes.</summary>
    public void Appended(IReadOnlyList<Change> appended)
    {
        if (appended.Count == 0)
        {
            return;
        }

        notifier.Notify(appended[^1].Sequence);
        foreach (var change in appended)
        {
            metrics?.ChangesEmitted(change.Type);
        }
    }

    /// <summary>The stop reason of an event watch whose calendar left the account's calendar list.</summary>
    public static string RemovedReason(string calendarId) =>
        $"Calendar '{calendarId}' was removed from the account (deleted, unshared or access lost); no further changes come for it.";

    /// <summary>The account's calendar-list watch, created (and its channel opened) when it has none.</summary>
    public async Task<WatchRecord> EnsureListWatchAsync(string accountId, CancellationToken cancellationToken)
    {
        var (watch, created) = await EnsureListWatchRecordAsync(accountId, cancellationToken);
        if (created)
        {
            supervisor().Watch(watch.Id);
        }

        return watch;
    }

    /// <summary>The account's calendar-list watch, stored when it has none; the caller asks for a new one's channel.</summary>
    private async Task<(WatchRecord Watch, bool Created)> EnsureListWatchRecordAsync(string accountId, CancellationToken cancellationToken)
    {
        var ensured = await store.EnsureCalendarListWatchAsync(accountId, NewWatchId(), time.GetUtcNow(), cancellationToken);
        _ensured.TryAdd(accountId, 0);
        return ensured;
    }

    /// <summary>
    /// Starts a watch as the watches API and the dashboard make one: of one calendar, or (<paramref name="calendarId"/>
    /// null) of every calendar of the account, which the account's calendar-list watch follows (a watch per calendar,
    /// made by that watch's sync, after its baseline when it is new). Either way the calendar list is watched too.
    /// </summary>
    public async Task<WatchRecord> StartAsync(string accountId, string? calendarId, CancellationToken cancellationToken)
    {
        var (listWatch, listCreated) = await EnsureListWatchRecordAsync(accountId, cancellationToken);
        var all = calendarId is null;
        var watch = new WatchRecord(NewWatchId(), accountId, calendarId ?? "", WatchStatus.Starting, null, time.GetUtcNow(), null, null,
            Kind: all ? WatchKind.AllCalendars : WatchKind.Calendar);
        try
        {
            await store.AddWatchAsync(watch, cancellationToken);
        }
        finally
        {
            // A new calendar-list watch's channel is asked for together with the calendar's (and even when the
            // calendar's watch could not be stored): the supervisor then opens both side by side, instead of the
            // second waiting for the first's Google call.
            if (listCreated)
            {
                supervisor().Watch(listWatch.Id);
            }
        }

        if (all)
        {
            scheduler().RequestSync(listWatch.Id);
        }
        else
        {
            supervisor().Watch(watch.Id);
        }

        return watch;
    }

    /// <summary>
    /// Stops a watch a person made (API or dashboard) and its channel; an all-calendars watch also stops the watches it
    /// made. When the account has no other watch left, its calendar list is no longer watched either.
    /// </summary>
    public async Task StopAsync(WatchRecord watch, CancellationToken cancellationToken)
    {
        await store.StopWatchAsync(watch.Id, cancellationToken);
        if (watch.Kind == WatchKind.AllCalendars)
        {
            await StopFollowersAsync(watch.Id, cancellationToken);
        }

        supervisor().Unwatch(watch.Id);
        await ReleaseListWatchIfUnusedAsync(watch.AccountId, cancellationToken);
    }

    /// <summary>One sync of any watch, routed by its kind.</summary>
    public async Task<SyncOutcome> SyncAsync(string watchId, Syncer events, CalendarListSyncer lists, CancellationToken cancellationToken)
    {
        // The watch and its sync state in one read: an event watch's sync needs both.
        var read = await store.GetWatchForSyncAsync(watchId, cancellationToken);
        var watch = read?.Watch;
        switch (watch)
        {
            case null or { Status: WatchStatus.Stopped }:
                return SyncOutcome.Skipped;
            case { Kind: WatchKind.CalendarList }:
                return await lists.SyncAsync(watch, cancellationToken);
            case { Kind: WatchKind.AllCalendars }:
                // Its calendars come from the account's calendar list: that watch's sync follows them.
                scheduler().RequestSync((await EnsureListWatchAsync(watch.AccountId, cancellationToken)).Id);
                return SyncOutcome.Skipped;
        }

        if (!_ensured.ContainsKey(watch.AccountId))
        {
            await EnsureListWatchAsync(watch.AccountId, cancellationToken);
        }

        var outcome = await events.SyncAsync(watch, read!.Value.State, cancellationToken);
        if (outcome.Error is { Kind: Google.GoogleErrorKind.NotFound })
        {
            await RemoveAsync(watch, cancellationToken);
        }

        return outcome;
    }

    /// <summary>
    /// After a calendar-list commit: stops the channels of the watches it stopped, then gives each all-calendars watch
    /// of the account a watch on every readable calendar of the list that the account does not watch yet.
    /// </summary>
    public async Task FollowAsync(WatchRecord listWatch, IReadOnlyList<WatchStop> stopped, CancellationToken cancellationToken)
    {
        foreach (var stop in stopped)
        {
            supervisor().Unwatch(stop.WatchId);
            LogStopped(stop.WatchId, stop.Reason);
        }

        var all = await store.ListWatchesAsync(cancellationToken);
        var followers = all.Where(w => w.AccountId == listWatch.AccountId && w.Kind == WatchKind.AllCalendars).ToList();
        if (followers.Count == 0)
        {
            return;
        }

        var watched = all.Where(w => w.AccountId == listWatch.AccountId && w.Kind == WatchKind.Calendar)
            .Select(w => w.CalendarId).ToHashSet(StringComparer.Ordinal);
        var entries = await store.GetCalendarEntriesAsync(listWatch.Id, cancellationToken);
        foreach (var (calendarId, json) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (watched.Contains(calendarId) || !CanReadEvents(json))
            {
                continue;
            }

            var child = new WatchRecord(NewWatchId(), listWatch.AccountId, calendarId, WatchStatus.Starting, null, time.GetUtcNow(), null, null,
                Kind: WatchKind.Calendar, ParentWatchId: followers[0].Id);
            await store.AddWatchAsync(child, cancellationToken);
            supervisor().Watch(child.Id);
            watched.Add(calendarId);
            LogFollowed(followers[0].Id, calendarId, child.Id);
        }
    }

    /// <summary>
    /// An event watch got 404: its calendar is gone for this account. Reported as <c>calendar.removed</c> (once: the
    /// stored list entry is forgotten in the same transaction) and every event watch of the account on it is stopped.
    /// </summary>
    private async Task RemoveAsync(WatchRecord watch, CancellationToken cancellationToken)
    {
        var listWatch = await EnsureListWatchAsync(watch.AccountId, cancellationToken);
        var entries = await store.GetCalendarEntriesAsync(listWatch.Id, cancellationToken);
        var stops = (await store.ListWatchesAsync(cancellationToken))
            .Where(w => w.AccountId == watch.AccountId && w.Kind == WatchKind.Calendar && w.CalendarId == watch.CalendarId)
            .Select(w => new WatchStop(w.Id, RemovedReason(w.CalendarId))).ToList();
        var previous = entries.GetValueOrDefault(watch.CalendarId);
        var commit = new CalendarListCommit(listWatch.Id, time.GetUtcNow(), FullList: false,
            previous is null ? [] : [new CalendarEntryWrite(watch.CalendarId, null)],
            [new NewCalendarChange(changeIds.Next(), ChangeTypes.CalendarRemoved, watch.CalendarId, null, previous, [])],
            stops, NextSyncToken: null, ExpectedSyncToken: null);
        var appended = await store.CommitCalendarListAsync(commit, CancellationToken.None);
        Appended(appended);
        foreach (var stop in stops)
        {
            supervisor().Unwatch(stop.WatchId);
            LogStopped(stop.WatchId, stop.Reason);
        }
    }

    /// <summary>
    /// After a watch was stopped: when the account has no other watch left, its calendar list is no longer watched
    /// either (the calendar-list watch is stopped with its channel).
    /// </summary>
    private async Task ReleaseListWatchIfUnusedAsync(string accountId, CancellationToken cancellationToken)
    {
        var watches = (await store.ListWatchesAsync(cancellationToken)).Where(w => w.AccountId == accountId).ToList();
        if (watches.Any(w => w.Kind != WatchKind.CalendarList))
        {
            return;
        }

        foreach (var list in watches)
        {
            await store.StopWatchAsync(list.Id, cancellationToken);
            supervisor().Unwatch(list.Id);
        }

        _ensured.TryRemove(accountId, out _);
    }

    /// <summary>Stops an all-calendars watch's per-calendar watches (the all-calendars watch itself was just stopped).</summary>
    private async Task StopFollowersAsync(string allCalendarsWatchId, CancellationToken cancellationToken)
    {
        foreach (var child in (await store.ListWatchesAsync(cancellationToken)).Where(w => w.ParentWatchId == allCalendarsWatchId))
        {
            await store.StopWatchAsync(child.Id, cancellationToken);
            supervisor().Unwatch(child.Id);
        }
    }

    /// <summary>A free/busy reader cannot list events: such a calendar is on the list but is not watched.</summary>
    private static bool CanReadEvents(string entryJson) =>
        System.Text.Json.JsonElement.Parse(entryJson) is var entry
        && !(entry.TryGetProperty("accessRole", out var role) && role.GetString() == "freeBusyReader");

    private string NewWatchId() => "wch_" + Guid.CreateVersion7(time.GetUtcNow()).ToString("N");

    [LoggerMessage(EventId = LogEvents.CalendarWatchStopped, Level = LogLevel.Information, Message = "Watch {WatchId} stopped: {Reason}")]
    private partial void LogStopped(string watchId, string reason);

    [LoggerMessage(EventId = LogEvents.CalendarFollowed, Level = LogLevel.Information, Message = "All-calendars watch {ParentWatchId} now follows calendar {CalendarId} with watch {WatchId}")]
    private partial void LogFollowed(string parentWatchId, string calendarId, string watchId);
}
