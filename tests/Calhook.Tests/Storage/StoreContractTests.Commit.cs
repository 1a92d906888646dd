using System.Text.Json;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

// CommitSyncAsync (invariants 1 and 2, docs/architecture.md) and the change log.
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Commit_writes_snapshots_changes_and_token_together()
    {
        var watch = await AddWatchAsync();
        var commit = Some.Commit(watch, "token-1", Some.Created("e1"), Some.Created("e2"));

        var changes = await Store.CommitSyncAsync(commit, Ct);

        Assert.Equal([1L, 2L], changes.Select(c => c.Sequence));
        Assert.Equal(commit.Changes.Select(c => c.Id), changes.Select(c => c.Id));
        Assert.Equal(new SyncState("token-1", Some.Time), await Store.GetSyncStateAsync(watch.Id, Ct));
        Assert.Equal(Some.Time, (await Store.GetWatchAsync(watch.Id, Ct))!.LastSyncAt);
        Assert.Equal(["e1", "e2"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
        Assert.Equal(2, await Store.GetLastSequenceAsync(Ct));
    }

    [Fact]
    public async Task A_sync_reads_its_watch_and_sync_state_in_one_call()
    {
        var watch = await AddWatchAsync();
        Assert.Null(await Store.GetWatchForSyncAsync("no-such-watch", Ct));

        var before = await Store.GetWatchForSyncAsync(watch.Id, Ct);
        Assert.Equal(watch.Id, before!.Value.Watch.Id);
        Assert.Equal(new SyncState(null, null), before.Value.State);

        await Store.CommitSyncAsync(Some.Commit(watch, "token-1", Some.Created("e1")), Ct);
        var after = await Store.GetWatchForSyncAsync(watch.Id, Ct);
        Assert.Equal(await Store.GetWatchAsync(watch.Id, Ct), after!.Value.Watch);
        Assert.Equal(new SyncState("token-1", Some.Time), after.Value.State);
    }

    [Fact]
    public async Task Commit_without_changes_still_moves_the_token()
    {
        var watch = await AddWatchAsync();
        await Store.CommitSyncAsync(Some.Commit(watch, "token-1", Some.Created("e1")), Ct);

        var changes = await Store.CommitSyncAsync(Some.Commit(watch, "token-2") with { ExpectedSyncToken = "token-1" }, Ct);

        Assert.Empty(changes);
        Assert.Equal("token-2", (await Store.GetSyncStateAsync(watch.Id, Ct)).SyncToken);
        Assert.Equal(1, await Store.GetLastSequenceAsync(Ct));
    }

    [Fact]
    public async Task Snapshots_are_replaced_and_forgotten()
    {
        var watch = await AddWatchAsync();
        await Store.CommitSyncAsync(Some.Commit(watch, "t1", Some.Created("e1"), Some.Created("e2")), Ct);

        var updated = Some.EventJson("e1", "Moved standup");
        await Store.CommitSyncAsync(new SyncCommit(watch.Id, watch.CalendarId, Some.Time, [new("e1", updated), new("e2", null)], [], "t2", ExpectedSyncToken: "t1"), Ct);

        var snapshots = await Store.GetSnapshotsAsync(watch.Id, ["e1", "e2", "never"], Ct);
        Assert.Equal(new Dictionary<string, string> { ["e1"] = updated }, snapshots);
        Assert.Equal(["e1"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
    }

    [Fact]
    public async Task Snapshots_belong_to_their_watch()
    {
        var first = await AddWatchAsync("a@example.com");
        var second = await AddWatchAsync("b@example.com");
        await Store.CommitSyncAsync(Some.Commit(first, "t1", Some.Created("e1")), Ct);

        Assert.Empty(await Store.GetSnapshotsAsync(second.Id, ["e1"], Ct));
        Assert.Empty(await Store.ListSnapshotIdsAsync(second.Id, Ct));
        Assert.Null((await Store.GetSyncStateAsync(second.Id, Ct)).SyncToken);
    }

    [Fact]
    public async Task A_change_reads_back_exactly_as_committed()
    {
        var watch = await AddWatchAsync();
        var before = JsonDocument.Parse("\"2026-12-01T10:00:00+01:00\"").RootElement;
        var after = JsonDocument.Parse("\"2026-12-01T11:00:00+01:00\"").RootElement;
        var change = new NewChange(Some.Id("chg"), ChangeTypes.Updated, "e1_20261201T090000Z", "e1",
            """{"dateTime":"2026-12-01T10:00:00+01:00"}""", Some.EventJson("e1", "After"), Some.EventJson("e1", "Before"),
            [new FieldChange("start.dateTime", before, after), new FieldChange("location", null, JsonDocument.Parse("\"Room 1\"").RootElement)]);

        var committed = Assert.Single(await Store.CommitSyncAsync(Some.Commit(watch, "t1", change), Ct));
        var read = Assert.Single(await Store.ReadChangesAsync(new ChangeQuery(0, 10), Ct));

        foreach (var c in new[] { committed, read })
        {
            Assert.Equal((change.Id, 1L, ChangeTypes.Updated, watch.CalendarId, "e1_20261201T090000Z", watch.Id, Some.Time, "e1"),
                (c.Id, c.Sequence, c.Type, c.CalendarId, c.EventId, c.WatchId, c.DetectedAt, c.RecurringEventId));
            Assert.Equal(change.OriginalStartTimeJson, c.OriginalStartTime?.GetRawText());
            Assert.Equal(change.EventJson, c.Event?.GetRawText());
            Assert.Equal(change.PreviousJson, c.Previous?.GetRawText());
            Assert.Equal(2, c.Diff.Count);
            Assert.Equal(("start.dateTime", before.GetRawText(), after.GetRawText()), (c.Diff[0].Path, c.Diff[0].Before?.GetRawText(), c.Diff[0].After?.GetRawText()));
            Assert.Equal(("location", (string?)null, "\"Room 1\""), (c.Diff[1].Path, c.Diff[1].Before?.GetRawText(), c.Diff[1].After?.GetRawText()));
        }
    }

    [Fact]
    public async Task The_series_a_created_series_was_split_from_reads_back()
    {
        var watch = await AddWatchAsync();
        var split = Some.Created("s1_R20261201T090000") with { SplitFrom = "s1" };

        var committed = await Store.CommitSyncAsync(Some.Commit(watch, "t1", split, Some.Created("other")), Ct);
        var read = await Store.ReadChangesAsync(new ChangeQuery(0, 10), Ct);

        Assert.Equal(["s1", null], committed.Select(c => c.SplitFrom));
        Assert.Equal(["s1", null], read.Select(c => c.SplitFrom));
    }

    [Fact]
    public async Task Reading_changes_filters_by_position_calendar_and_type()
    {
        var alice = await AddWatchAsync("alice@example.com");
        var bob = await AddWatchAsync("bob@example.com");
        await Store.CommitSyncAsync(Some.Commit(alice, "a1", Some.Created("a"), Some.Created("b")), Ct);
        await Store.CommitSyncAsync(Some.Commit(bob, "b1", Some.Created("c")), Ct);
        await Store.CommitSyncAsync(Some.Commit(alice, "a2", Some.Deleted("a")) with { ExpectedSyncToken = "a1" }, Ct);

        async Task<long[]> Read(ChangeQuery query) => (await Store.ReadChangesAsync(query, Ct)).Select(c => c.Sequence).ToArray();

        Assert.Equal(new long[] { 1, 2, 3, 4 }, await Read(new ChangeQuery(0, 100)));
        Assert.Equal(new long[] { 3, 4 }, await Read(new ChangeQuery(2, 100)));
        Assert.Equal(new long[] { 2, 3 }, await Read(new ChangeQuery(1, 2)));
        Assert.Empty(await Read(new ChangeQuery(4, 100)));
        Assert.Empty(await Read(new ChangeQuery(0, 0)));
        Assert.Equal(new long[] { 1, 2, 4 }, await Read(new ChangeQuery(0, 100, "alice@example.com")));
        Assert.Equal(new long[] { 4 }, await Read(new ChangeQuery(0, 100, Types: [ChangeTypes.Deleted])));
        Assert.Equal(new long[] { 1, 2, 3, 4 }, await Read(new ChangeQuery(0, 100, Types: [ChangeTypes.Deleted, ChangeTypes.Created])));
        Assert.Equal(new long[] { 2 }, await Read(new ChangeQuery(1, 100, "alice@example.com", [ChangeTypes.Created])));
        Assert.Empty(await Read(new ChangeQuery(0, 100, "nobody@example.com")));
    }

    [Fact]
    public async Task A_commit_that_fails_midway_leaves_no_trace()
    {
        var watch = await AddWatchAsync();
        var first = Some.Created("e1");
        await Store.CommitSyncAsync(Some.Commit(watch, "token-1", first), Ct);

        // The second change reuses the first's id: the insert violates the unique id after the snapshots were written.
        var failing = new SyncCommit(watch.Id, watch.CalendarId, Some.Time.AddMinutes(5),
            [new("e2", Some.EventJson("e2")), new("e1", null)], [Some.Created("e2"), first with { Type = ChangeTypes.Deleted }], "token-2", ExpectedSyncToken: "token-1");
        await Assert.ThrowsAnyAsync<Exception>(() => Store.CommitSyncAsync(failing, Ct));

        Assert.Equal(new SyncState("token-1", Some.Time), await Store.GetSyncStateAsync(watch.Id, Ct));
        Assert.Equal(["e1"], await Store.ListSnapshotIdsAsync(watch.Id, Ct));
        Assert.Equal([first.Id], (await Store.ReadChangesAsync(new ChangeQuery(0, 100), Ct)).Select(c => c.Id));

        // The failed commit took no sequence: the next one follows on without a gap.
        var next = await Store.CommitSyncAsync(Some.Commit(watch, "token-2", Some.Created("e2")) with { ExpectedSyncToken = "token-1" }, Ct);
        Assert.Equal(2, Assert.Single(next).Sequence);
    }

    [Fact]
    public async Task Concurrent_commits_get_gap_free_consecutive_sequences()
    {
        var watches = new List<WatchRecord>();
        for (var i = 0; i < 8; i++)
        {
            watches.Add(await AddWatchAsync($"cal{i}@example.com"));
        }

        // Each watch's syncs follow one another (each starts from the token of the one before); the watches' run at once.
        var results = (await Task.WhenAll(watches.Select(w => Task.Run(async () =>
        {
            var committed = new List<IReadOnlyList<Change>>();
            for (var round = 0; round < 5; round++)
            {
                var commit = Some.Commit(w, $"{w.Id}-{round}", Some.Created($"{w.Id}-{round}-a"), Some.Created($"{w.Id}-{round}-b"), Some.Created($"{w.Id}-{round}-c"))
                    with { ExpectedSyncToken = round == 0 ? null : $"{w.Id}-{round - 1}" };
                committed.Add(await Store.CommitSyncAsync(commit, Ct));
            }

            return committed;
        })))).SelectMany(r => r).ToList();

        var all = results.SelectMany(r => r.Select(c => c.Sequence)).Order().ToArray();
        Assert.Equal(Enumerable.Range(1, 8 * 5 * 3).Select(i => (long)i), all);
        Assert.All(results, r => Assert.Equal([r[0].Sequence, r[0].Sequence + 1, r[0].Sequence + 2], r.Select(c => c.Sequence)));
        var log = await Store.ReadChangesAsync(new ChangeQuery(0, 1000), Ct);
        Assert.Equal(all, log.Select(c => c.Sequence));
    }

    [Fact]
    public async Task A_failing_commit_among_concurrent_ones_fails_alone()
    {
        var watches = new List<WatchRecord>();
        for (var i = 0; i < 8; i++)
        {
            watches.Add(await AddWatchAsync($"cal{i}@example.com"));
        }

        var taken = Some.Created("taken");
        await Store.CommitSyncAsync(Some.Commit(watches[0], "token-0", taken), Ct);

        // Commits that reach the store together (a SQLite store commits them in one transaction); one reuses a change id.
        var failing = new SyncCommit(watches[3].Id, watches[3].CalendarId, Some.Time, [new("x", Some.EventJson("x"))],
            [Some.Created("x"), taken], "token-bad", ExpectedSyncToken: null);
        var commits = watches.Select(w => w == watches[3] ? failing
            : Some.Commit(w, $"{w.Id}-1", Some.Created($"{w.Id}-a")) with { ExpectedSyncToken = w == watches[0] ? "token-0" : null }).ToList();
        var attempts = commits.Select(c => Task.Run(() => Store.CommitSyncAsync(c, Ct))).ToList();
        await Assert.ThrowsAnyAsync<Exception>(() => attempts[3]);
        var results = await Task.WhenAll(attempts.Where((_, i) => i != 3));

        Assert.Equal(Enumerable.Range(2, 7).Select(i => (long)i), results.Select(r => Assert.Single(r).Sequence).Order());
        Assert.Null((await Store.GetSyncStateAsync(watches[3].Id, Ct)).SyncToken);
        Assert.Empty(await Store.ListSnapshotIdsAsync(watches[3].Id, Ct));
        Assert.Equal($"{watches[5].Id}-1", (await Store.GetSyncStateAsync(watches[5].Id, Ct)).SyncToken);
    }
}
