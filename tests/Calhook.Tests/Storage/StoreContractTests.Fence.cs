using System.Text;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

// The fence of sync commits (invariant 5 across processes, docs/architecture.md): a commit lands only while the watch
// still has the sync token its sync started from.
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task An_incremental_commit_from_a_stale_token_appends_nothing_writes_no_snapshot_and_keeps_the_newer_token()
    {
        var watch = await AddWatchAsync();
        await Store.CommitSyncAsync(Some.Commit(watch, "t1", Some.Created("e1")), Ct);

        // Two syncs started from t1; the one that commits first wins.
        var newer = Some.Commit(watch, "t2-newer", Some.Created("e2")) with { ExpectedSyncToken = "t1" };
        var staleChange = Some.Created("e2");
        var stale = new SyncCommit(watch.Id, watch.CalendarId, Some.Time.AddMinutes(1),
            [new("e2", Some.EventJson("e2", "stale")), new("e3", Some.EventJson("e3")), new("e1", null)],
            [staleChange, Some.Created("e3"), Some.Deleted("e1")], "t2-stale", ExpectedSyncToken: "t1");
        var landed = Assert.Single(await Store.CommitSyncAsync(newer, Ct));

        var refused = await Assert.ThrowsAsync<SyncSupersededException>(() => Store.CommitSyncAsync(stale, Ct));

        Assert.Equal(watch.Id, refused.WatchId);
        Assert.Equal(new SyncState("t2-newer", Some.Time), await Store.GetSyncStateAsync(watch.Id, Ct));
        Assert.Equal(["e1", "e2"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
        Assert.Equal("Standup", Summary((await Store.GetSnapshotsAsync(watch.Id, ["e2"], Ct))["e2"]));
        Assert.Equal(landed.Sequence, await Store.GetLastSequenceAsync(Ct));
        Assert.Equal(["e1", "e2"], (await Store.ReadChangesAsync(new ChangeQuery(0, 100), Ct)).Select(c => c.EventId));

        // A baseline (no token expected) is stale too once the watch has one; the next sync from t2-newer lands.
        await Assert.ThrowsAsync<SyncSupersededException>(() => Store.CommitSyncAsync(Some.Commit(watch, "t-baseline", Some.Created("e9")), Ct));
        var next = Assert.Single(await Store.CommitSyncAsync(Some.Commit(watch, "t3", Some.Created("e3")) with { ExpectedSyncToken = "t2-newer" }, Ct));
        Assert.Equal(landed.Sequence + 1, next.Sequence);
    }

    [Fact]
    public async Task A_full_list_commit_from_a_stale_token_appends_nothing_writes_no_snapshot_and_keeps_the_newer_token()
    {
        var watch = await AddWatchAsync();
        await Store.CommitSyncAsync(Some.Commit(watch, "t1", Some.Created("e1")), Ct);

        // A resync after a 410 on t1 staged its list; meanwhile another sync from t1 committed.
        await Store.ClearStagingAsync(watch.Id, Ct);
        await Store.StageSnapshotsAsync(watch.Id, "att_stale", [new StagedSnapshot("e5", Encoding.UTF8.GetBytes(Some.EventJson("e5")))], final: true, Ct);
        var landed = Assert.Single(await Store.CommitSyncAsync(Some.Commit(watch, "t2-newer", Some.Created("e2")) with { ExpectedSyncToken = "t1" }, Ct));
        var stale = new FullSyncCommit(watch.Id, watch.CalendarId, "att_stale", Some.Time.AddMinutes(1), ["e1"],
            [Some.Created("e5"), Some.Deleted("e1")], "t2-stale", ExpectedSyncToken: "t1");

        await Assert.ThrowsAsync<SyncSupersededException>(() => Store.CommitFullSyncAsync(stale, Ct));

        Assert.Equal(new SyncState("t2-newer", Some.Time), await Store.GetSyncStateAsync(watch.Id, Ct));
        Assert.Equal(["e1", "e2"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
        Assert.Empty(await Store.GetSnapshotBytesAsync(watch.Id, ["e5"], Ct));
        Assert.Equal(landed.Sequence, await Store.GetLastSequenceAsync(Ct));
        Assert.Equal(["e1", "e2"], (await Store.ReadChangesAsync(new ChangeQuery(0, 100), Ct)).Select(c => c.EventId));

        // A stale baseline (a full list expecting no token) is refused the same way.
        await Store.StageSnapshotsAsync(watch.Id, "att_baseline", [new StagedSnapshot("e6", Encoding.UTF8.GetBytes(Some.EventJson("e6")))], final: true, Ct);
        await Assert.ThrowsAsync<SyncSupersededException>(() => Store.CommitFullSyncAsync(
            new FullSyncCommit(watch.Id, watch.CalendarId, "att_baseline", Some.Time, [], [], "t-baseline", ExpectedSyncToken: null), Ct));
        Assert.Equal(["e1", "e2"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
        Assert.Equal("t2-newer", (await Store.GetSyncStateAsync(watch.Id, Ct)).SyncToken);

        // The list that does start from the current token lands, with its own staged rows only.
        await Store.ClearStagingAsync(watch.Id, Ct);
        await Store.StageSnapshotsAsync(watch.Id, "att_current", [new StagedSnapshot("e7", Encoding.UTF8.GetBytes(Some.EventJson("e7")))], final: true, Ct);
        var resync = await Store.CommitFullSyncAsync(new FullSyncCommit(watch.Id, watch.CalendarId, "att_current", Some.Time, ["e1", "e2"],
            [Some.Created("e7")], "t3", ExpectedSyncToken: "t2-newer"), Ct);
        Assert.Equal(landed.Sequence + 1, Assert.Single(resync).Sequence);
        Assert.Equal(["e7"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
    }

    [Fact]
    public async Task Of_commits_racing_from_the_same_token_exactly_one_lands()
    {
        var watch = await AddWatchAsync();
        await Store.CommitSyncAsync(Some.Commit(watch, "t1"), Ct);

        var racers = Enumerable.Range(0, 6).Select(i =>
            Some.Commit(watch, $"t2-{i}", Some.Created($"e{i}")) with { ExpectedSyncToken = "t1" }).ToList();
        var outcomes = await Task.WhenAll(racers.Select(commit => Task.Run(async () =>
        {
            try
            {
                return await Store.CommitSyncAsync(commit, Ct);
            }
            catch (SyncSupersededException)
            {
                return null;
            }
        })));

        var winner = Assert.Single(outcomes.Select((changes, i) => (changes, i)), o => o.changes is not null);
        Assert.Equal($"t2-{winner.i}", (await Store.GetSyncStateAsync(watch.Id, Ct)).SyncToken);
        Assert.Equal([$"e{winner.i}"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
        Assert.Equal([$"e{winner.i}"], (await Store.ReadChangesAsync(new ChangeQuery(0, 100), Ct)).Select(c => c.EventId));
    }

    [Fact]
    public async Task A_calendar_list_commit_from_a_stale_token_writes_nothing()
    {
        var eventWatch = await AddWatchAsync("team@example.com");
        var (list, _) = await Store.EnsureCalendarListWatchAsync(eventWatch.AccountId, "wch_fenced", Some.Time, Ct);
        await Store.CommitCalendarListAsync(new CalendarListCommit(list.Id, Some.Time, FullList: true,
            [new CalendarEntryWrite("team@example.com", """{"id":"team@example.com"}""")], [], [], "l1", ExpectedSyncToken: null), Ct);
        await Store.CommitCalendarListAsync(new CalendarListCommit(list.Id, Some.Time, FullList: false, [], [], [], "l2-newer", ExpectedSyncToken: "l1"), Ct);

        var removed = new NewCalendarChange(Some.Id("chg"), ChangeTypes.CalendarRemoved, "team@example.com", null, """{"id":"team@example.com"}""", []);
        var stale = new CalendarListCommit(list.Id, Some.Time, FullList: true, [], [removed],
            [new WatchStop(eventWatch.Id, "calendar removed")], "l2-stale", ExpectedSyncToken: "l1");
        await Assert.ThrowsAsync<SyncSupersededException>(() => Store.CommitCalendarListAsync(stale, Ct));

        Assert.Equal("l2-newer", (await Store.GetCalendarListStateAsync(list.Id, Ct)).SyncToken);
        Assert.Equal(["team@example.com"], (await Store.GetCalendarEntriesAsync(list.Id, Ct)).Keys);
        Assert.Equal(WatchStatus.Starting, (await Store.GetWatchAsync(eventWatch.Id, Ct))!.Status);
        Assert.Equal(0, await Store.GetLastSequenceAsync(Ct));
    }

    private static string? Summary(string json) => System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("summary").GetString();
}
