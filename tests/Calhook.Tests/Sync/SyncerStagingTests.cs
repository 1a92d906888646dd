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
public sealed class SyncerStagingTests : IAsyncLifetime, IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly ScriptedGoogle _google = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
    private readonly SqliteStore _store;
    private readonly Syncer _syncer;
    private readonly WatchRecord _watch = new("wat_1", "acc_1", "alice@example.com", WatchStatus.Active, null, default, null, null);

    public SyncerStagingTests()
    {
        _store = new SqliteStore(_dir.File("calhook.db"));
        _syncer = new Syncer(_store, _google.Reader, new ChangeNotifier(), new ChangeIds(_time), _time, NullLogger<Syncer>.Instance);
    }

    public async Task InitializeAsync()
    {
        await _store.MigrateAsync(CancellationToken.None);
        await _store.AddAccountAsync(new AccountRecord("acc_1", AccountKind.OAuth, "alice@example.com", null, "x", AccountStatus.Active, null, default), CancellationToken.None);
        await _store.AddWatchAsync(_watch, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _store.Dispose();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static string Ev(string id, string summary, string etag = "1") =>
        $$$"""{"id":"{{{id}}}","etag":"{{{etag}}}","status":"confirmed","summary":"{{{summary}}}","start":{"date":"2026-12-01"},"end":{"date":"2026-12-02"}}""";

    private static string Gone(string id) => $$"""{"id":"{{id}}","status":"cancelled"}""";

    private Task<SyncOutcome> Sync() => _syncer.SyncAsync(_watch.Id, CancellationToken.None);

    private async Task<string> Log()
    {
        var changes = await _store.ReadChangesAsync(new ChangeQuery(0, 1000), CancellationToken.None);
        return string.Join(", ", changes.Select(c => $"{c.Sequence}:{c.Type}:{c.EventId}"));
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_store.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_store.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_failure_between_staging_and_the_final_commit_leaves_the_watch_as_it_was_and_the_next_sync_completes()
    {
        _google.List(null, "t1", [Ev("same", "S"), Ev("edited", "E"), Ev("deleted-in-gap", "D")]);
        await Sync();
        _google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);
        _google.List(null, "t9", [Ev("same", "S", "7"), Ev("edited", "E2", "8")], [Ev("added-in-gap", "N")]);

        // The final transaction fails on its last statement (storing the token), after it moved the snapshots and
        // appended the changes: all of it must roll back.
        await ExecuteAsync("CREATE TRIGGER fail_token BEFORE UPDATE ON sync_state BEGIN SELECT RAISE(ABORT, 'disk gone'); END;");
        await Assert.ThrowsAsync<SqliteException>(Sync);

        Assert.Equal("", await Log());
        Assert.Equal("t1", (await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["deleted-in-gap", "edited", "same"], await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
        Assert.Equal(3, await ScalarAsync("SELECT COUNT(*) FROM snapshot_staging;"));

        await ExecuteAsync("DROP TRIGGER fail_token;");
        _google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);

        Assert.Equal("1:event.updated:edited, 2:event.created:added-in-gap, 3:event.deleted:deleted-in-gap", await Log());
        Assert.Equal("t9", (await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["added-in-gap", "edited", "same"], await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM snapshot_staging;"));
    }

    [Fact]
    public async Task A_baseline_failing_on_a_later_page_stores_nothing_and_its_staged_rows_are_dropped_by_the_retry()
    {
        _google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")], [Ev("c", "C")]);
        _google.Fail(null, "-p2", GoogleErrorKind.Transient, 503);

        Assert.Equal(SyncResult.RetryLater, (await Sync()).Result);
        Assert.Empty(await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
        Assert.Null((await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        Assert.True(await ScalarAsync("SELECT COUNT(*) FROM snapshot_staging;") > 0);

        _google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")], [Ev("c", "C")]);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        Assert.Equal(["a", "b", "c"], await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM snapshot_staging;"));
        Assert.Equal("", await Log());
    }

    [Fact]
    public async Task A_full_resync_emits_exactly_the_real_differences_and_the_last_copy_of_an_event_listed_twice_wins()
    {
        _google.List(null, "t1", [Ev("same", "S"), Ev("flip", "F"), Ev("gone-later", "G"), Ev("back", "B"), Ev("vanished", "V")]);
        await Sync();
        _google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);

        // Paging saw "flip" edited then edited back, "gone-later" live then as a tombstone, "back" as a tombstone then live again.
        _google.List(null, "t9",
            [Ev("same", "S"), Ev("flip", "F2", "2"), Ev("gone-later", "G"), Gone("back")],
            [Ev("flip", "F"), Gone("gone-later"), Ev("back", "B")]);

        Assert.Equal(SyncResult.Synced, (await Sync()).Result);

        Assert.Equal("1:event.deleted:gone-later, 2:event.deleted:vanished", await Log());
        Assert.Equal(["back", "flip", "same"], await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
        var snapshots = await _store.GetSnapshotsAsync(_watch.Id, ["flip", "back"], CancellationToken.None);
        Assert.Equal(Ev("flip", "F"), snapshots["flip"]);
        Assert.Equal(Ev("back", "B"), snapshots["back"]);

        // Snapshots written from staged UTF-8 bytes read back as text, and incremental syncs diff against them.
        _google.List("t9", "t10", [Ev("flip", "F3", "3")]);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        var update = (await _store.ReadChangesAsync(new ChangeQuery(2, 10), CancellationToken.None)).Single();
        Assert.Equal(ChangeTypes.Updated, update.Type);
        Assert.Equal("summary", Assert.Single(update.Diff, d => d.Path != "etag").Path);
    }
}
