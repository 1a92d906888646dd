using System.Text;
using System.Text.Json;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

public abstract partial class StoreContractTests
{
    private static readonly DateTimeOffset CalendarsNow = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task An_account_has_one_calendar_list_watch_however_often_it_is_ensured()
    {
        var account = Some.Account();
        await Store.AddAccountAsync(account, Ct);

        var (first, created) = await Store.EnsureCalendarListWatchAsync(account.Id, "wch_list1", CalendarsNow, Ct);
        var (again, createdAgain) = await Store.EnsureCalendarListWatchAsync(account.Id, "wch_list2", CalendarsNow, Ct);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal("wch_list1", again.Id);
        var stored = await Store.GetWatchAsync(first.Id, Ct);
        Assert.Equal((WatchKind.CalendarList, WatchStatus.Starting, ""), (stored!.Kind, stored.Status, stored.CalendarId));
        Assert.Equal(new CalendarListState(null, null), await Store.GetCalendarListStateAsync(first.Id, Ct));
    }

    [Fact]
    public async Task A_calendar_list_commit_stores_entries_changes_token_and_stops_watches_in_one_go()
    {
        var eventWatch = await AddWatchAsync("team@group.calendar.google.com");
        var (list, _) = await Store.EnsureCalendarListWatchAsync(eventWatch.AccountId, "wch_list", CalendarsNow, Ct);
        var entry = """{"kind":"calendar#calendarListEntry","id":"team@group.calendar.google.com","summary":"Team"}""";
        var baseline = new CalendarListCommit(list.Id, CalendarsNow, FullList: true,
            [new CalendarEntryWrite("team@group.calendar.google.com", entry), new CalendarEntryWrite("other@example.com", """{"id":"other@example.com"}""")],
            [], [], "token-1", ExpectedSyncToken: null);
        Assert.Empty(await Store.CommitCalendarListAsync(baseline, Ct));
        Assert.Equal("token-1", (await Store.GetCalendarListStateAsync(list.Id, Ct)).SyncToken);
        Assert.Equal(CalendarsNow, (await Store.GetCalendarListStateAsync(list.Id, Ct)).LastFullListAt);
        Assert.Equal(WatchStatus.Active, (await Store.GetWatchAsync(list.Id, Ct))!.Status);

        var removed = new NewCalendarChange("chg_removed", ChangeTypes.CalendarRemoved, "team@group.calendar.google.com", null, entry, []);
        var commit = new CalendarListCommit(list.Id, CalendarsNow.AddMinutes(1), FullList: false,
            [new CalendarEntryWrite("team@group.calendar.google.com", null)], [removed], [new WatchStop(eventWatch.Id, "calendar removed")], "token-2", ExpectedSyncToken: "token-1");
        var appended = await Store.CommitCalendarListAsync(commit, Ct);

        var change = Assert.Single(appended);
        Assert.Equal((ChangeTypes.CalendarRemoved, "team@group.calendar.google.com", ""), (change.Type, change.CalendarId, change.EventId));
        var read = Assert.Single(await Store.ReadChangesAsync(new ChangeQuery(0, 10), Ct));
        Assert.Equal(change.Sequence, read.Sequence);
        Assert.Equal("Team", read.Previous!.Value.GetProperty("summary").GetString());
        Assert.Null(read.Calendar);
        Assert.Equal(["other@example.com"], (await Store.GetCalendarEntriesAsync(list.Id, Ct)).Keys);
        var stopped = await Store.GetWatchAsync(eventWatch.Id, Ct);
        Assert.Equal((WatchStatus.Stopped, "calendar removed"), (stopped!.Status, stopped.Error));
        Assert.Equal("token-2", (await Store.GetCalendarListStateAsync(list.Id, Ct)).SyncToken);
        Assert.Equal(CalendarsNow, (await Store.GetCalendarListStateAsync(list.Id, Ct)).LastFullListAt);

        var added = new NewCalendarChange("chg_added", ChangeTypes.CalendarAdded, "new@example.com", """{"id":"new@example.com","summary":"New"}""", null, []);
        var keepToken = new CalendarListCommit(list.Id, CalendarsNow.AddMinutes(2), FullList: false, [], [added], [], NextSyncToken: null, ExpectedSyncToken: null);
        var second = Assert.Single(await Store.CommitCalendarListAsync(keepToken, Ct));
        Assert.Equal("New", second.Calendar!.Value.GetProperty("summary").GetString());
        Assert.Equal(JsonValueKind.Object, (await Store.ReadChangesAsync(new ChangeQuery(1, 10), Ct))[0].Calendar!.Value.ValueKind);
        Assert.Equal("token-2", (await Store.GetCalendarListStateAsync(list.Id, Ct)).SyncToken);
    }

    [Fact]
    public async Task An_event_sync_committing_after_its_calendar_was_removed_writes_nothing()
    {
        var eventWatch = await AddWatchAsync("team@group.calendar.google.com");
        var (list, _) = await Store.EnsureCalendarListWatchAsync(eventWatch.AccountId, "wch_list", CalendarsNow, Ct);
        Assert.Single(await Store.CommitSyncAsync(Some.Commit(eventWatch, "t1", Some.Created("e1")), Ct));
        var removed = new NewCalendarChange("chg_removed", ChangeTypes.CalendarRemoved, "team@group.calendar.google.com", null,
            """{"id":"team@group.calendar.google.com"}""", []);
        var removal = Assert.Single(await Store.CommitCalendarListAsync(new CalendarListCommit(list.Id, CalendarsNow, FullList: false, [], [removed],
            [new WatchStop(eventWatch.Id, "calendar removed")], "token-1", ExpectedSyncToken: null), Ct));

        // Syncs that read Google before the removal and commit after it: an incremental one, and a full list whose
        // rows were staged. Neither keeps anything.
        Assert.Empty(await Store.CommitSyncAsync(Some.Commit(eventWatch, "t2", Some.Created("e2")) with { ExpectedSyncToken = "t1" }, Ct));
        await Store.StageSnapshotsAsync(eventWatch.Id, "att_late", [new StagedSnapshot("e3", Encoding.UTF8.GetBytes(Some.EventJson("e3")))], final: true, Ct);
        Assert.Empty(await Store.CommitFullSyncAsync(
            new FullSyncCommit(eventWatch.Id, eventWatch.CalendarId, "att_late", CalendarsNow, ["e1"], [Some.Created("e3")], "t3", ExpectedSyncToken: "t1"), Ct));

        var log = await Store.ReadChangesAsync(new ChangeQuery(0, 10), Ct);
        Assert.Equal([ChangeTypes.Created, ChangeTypes.CalendarRemoved], log.Select(c => c.Type));
        Assert.Equal(removal.Sequence, log[^1].Sequence);
        Assert.Equal(removal.Sequence, await Store.GetLastSequenceAsync(Ct));
        Assert.Equal("t1", (await Store.GetSyncStateAsync(eventWatch.Id, Ct)).SyncToken);
        Assert.Equal(["e1"], await Store.ListSnapshotIdsAsync(eventWatch.Id, Ct));
        Assert.Empty(await Store.GetSnapshotsAsync(eventWatch.Id, ["e2", "e3"], Ct));
    }

    [Fact]
    public async Task A_watch_keeps_its_kind_and_parent()
    {
        var account = Some.Account();
        await Store.AddAccountAsync(account, Ct);
        var all = Some.Watch(account.Id, "") with { Id = "wch_all", Kind = WatchKind.AllCalendars };
        var child = Some.Watch(account.Id, "team@group.calendar.google.com") with { Id = "wch_child", ParentWatchId = "wch_all" };
        await Store.AddWatchAsync(all, Ct);
        await Store.AddWatchAsync(child, Ct);

        Assert.Equal(WatchKind.AllCalendars, (await Store.GetWatchAsync("wch_all", Ct))!.Kind);
        var readChild = await Store.GetWatchAsync("wch_child", Ct);
        Assert.Equal((WatchKind.Calendar, "wch_all"), (readChild!.Kind, readChild.ParentWatchId));
    }
}
