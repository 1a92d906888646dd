using Calhook.Changes;
using Calhook.Google;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Calhook.Sync;
using Calhook.TestKit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Sync;

/// <summary>Full lists staged page by page: a failure before the final commit, and resyncs, against a real SQLite file.</summary>
public sealed class SyncerStagingTests : SyncerTestBase
{
    /// <summary>Rows of a full list that has not committed: snapshots of a set other than the watch's current one.</summary>
    private const string Pending = """
        SELECT COUNT(*) FROM snapshots AS s JOIN snapshot_sets AS x ON x.id = s.set_id
        WHERE x.id IS NOT (SELECT snapshot_set FROM sync_state WHERE watch_id = x.watch_id);
        """;

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Store.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Store.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_failure_between_staging_and_the_final_commit_leaves_the_watch_as_it_was_and_the_next_sync_completes()
    {
        Google.List(null, "t1", [Ev("same", "S"), Ev("edited", "E"), Ev("deleted-in-gap", "D")]);
        await Sync();
        Google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);
        Google.List(null, "t9", [Ev("same", "S", "7"), Ev("edited", "E2", "8")], [Ev("added-in-gap", "N")]);

        // The final transaction fails on its last statement (storing the token), after it moved the snapshots and
        // appended the changes: all of it must roll back.
        await ExecuteAsync("CREATE TRIGGER fail_token BEFORE UPDATE ON sync_state BEGIN SELECT RAISE(ABORT, 'disk gone'); END;");
        await Assert.ThrowsAsync<SqliteException>(Sync);

        Assert.Equal("", await Log());
        Assert.Equal("t1", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["deleted-in-gap", "edited", "same"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
        Assert.Equal(3, await ScalarAsync(Pending));

        await ExecuteAsync("DROP TRIGGER fail_token;");
        Google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);

        Assert.Equal("1:event.updated:edited, 2:event.created:added-in-gap, 3:event.deleted:deleted-in-gap", await Log());
        Assert.Equal("t9", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["added-in-gap", "edited", "same"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
        Assert.Equal(0, await ScalarAsync(Pending));
    }

    [Fact]
    public async Task A_baseline_failing_on_a_later_page_stores_nothing_and_its_staged_rows_are_dropped_by_the_retry()
    {
        Google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")], [Ev("c", "C")]);
        Google.Fail(null, "-p2", GoogleErrorKind.Transient, 503);

        Assert.Equal(SyncResult.RetryLater, (await Sync()).Result);
        Assert.Empty(await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
        Assert.Null((await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        Assert.True(await ScalarAsync(Pending) > 0);

        Google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")], [Ev("c", "C")]);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        Assert.Equal(["a", "b", "c"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
        Assert.Equal(0, await ScalarAsync(Pending));
        Assert.Equal("", await Log());
    }

    [Fact]
    public async Task A_full_resync_emits_exactly_the_real_differences_and_the_last_copy_of_an_event_listed_twice_wins()
    {
        Google.List(null, "t1", [Ev("same", "S"), Ev("flip", "F"), Ev("gone-later", "G"), Ev("back", "B"), Ev("vanished", "V")]);
        await Sync();
        Google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);

        // Paging saw "flip" edited then edited back, "gone-later" live then as a tombstone, "back" as a tombstone then live again.
        Google.List(null, "t9",
            [Ev("same", "S"), Ev("flip", "F2", "2"), Ev("gone-later", "G"), Gone("back")],
            [Ev("flip", "F"), Gone("gone-later"), Ev("back", "B")]);

        Assert.Equal(SyncResult.Synced, (await Sync()).Result);

        Assert.Equal("1:event.deleted:gone-later, 2:event.deleted:vanished", await Log());
        Assert.Equal(["back", "flip", "same"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
        var snapshots = await Store.GetSnapshotsAsync(Watch.Id, ["flip", "back"], CancellationToken.None);
        Assert.Equal(Ev("flip", "F"), snapshots["flip"]);
        Assert.Equal(Ev("back", "B"), snapshots["back"]);

        // Snapshots written from staged UTF-8 bytes read back as text, and incremental syncs diff against them.
        Google.List("t9", "t10", [Ev("flip", "F3", "3")]);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        var update = (await Store.ReadChangesAsync(new ChangeQuery(2, 10), CancellationToken.None)).Single();
        Assert.Equal(ChangeTypes.Updated, update.Type);
        Assert.Equal("summary", Assert.Single(update.Diff, d => d.Path != "etag").Path);
    }

    [Fact]
    public async Task Pages_written_in_one_batch_keep_the_last_copy_of_an_event_listed_twice_and_write_nothing_before_the_batch_is_full()
    {
        var batched = new Syncer(Store, Google.Reader, Notifier, new ChangeIds(Time), Time, NullLogger<Syncer>.Instance);
        Google.List(null, "t1", [Ev("x", "X1"), Ev("y", "Y")], [Ev("x", "X2", "2")], [Ev("z", "Z")]);
        Google.Fail(null, "-p2", GoogleErrorKind.Transient, 503);

        Assert.Equal(SyncResult.RetryLater, (await batched.SyncAsync(Watch.Id, CancellationToken.None)).Result);
        Assert.Equal(0, await ScalarAsync(Pending));

        Google.List(null, "t1", [Ev("x", "X1"), Ev("y", "Y")], [Ev("x", "X2", "2")], [Ev("z", "Z")]);
        Assert.Equal(SyncResult.Synced, (await batched.SyncAsync(Watch.Id, CancellationToken.None)).Result);
        Assert.Equal(["x", "y", "z"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
        Assert.Equal(Ev("x", "X2", "2"), (await Store.GetSnapshotsAsync(Watch.Id, ["x"], CancellationToken.None))["x"]);
    }
}
