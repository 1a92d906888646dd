using System.Diagnostics;
using System.Text;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Calhook.TestKit;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Calhook.Tests.Storage;

public sealed class SqliteStoreTests(ITestOutputHelper output) : StoreContractTests
{
    private readonly TestDirectory _directory = new();

    private string DatabasePath => _directory.File("data/calhook.db");

    protected override async Task<ICalhookStore> CreateStoreAsync() => await OpenAsync();

    private async Task<SqliteStore> OpenAsync()
    {
        var store = new SqliteStore(DatabasePath);
        await store.MigrateAsync(Ct);
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_connection_given_back_after_a_full_lists_last_batch_commits_durably_again()
    {
        // The last batch of a full list runs at synchronous=NORMAL without autocheckpoint; the store keeps its
        // connections open, so the next call on the same connection must find FULL (2) and the checkpoint at 1,000 pages.
        var store = (SqliteStore)Store;
        var watch = await AddWatchAsync();
        await store.StageSnapshotsAsync(watch.Id, "att_1", [new StagedSnapshot("e1", Encoding.UTF8.GetBytes(Some.EventJson("e1")))], final: true, Ct);

        Assert.Equal(2, await store.ReadPragmaAsync("synchronous", Ct));
        Assert.Equal(1000, await store.ReadPragmaAsync("wal_autocheckpoint", Ct));
        Assert.Equal(1, await store.ReadPragmaAsync("foreign_keys", Ct));
    }

    [Fact]
    public async Task Everything_reads_back_after_reopening_the_file()
    {
        var watch = await AddWatchAsync();
        var channel = Some.Channel(watch.Id);
        await Store.AddChannelAsync(channel, Ct);
        var committed = await Store.CommitSyncAsync(Some.Commit(watch, "token-1", Some.Created("e1")), Ct);
        ((IDisposable)Store).Dispose();

        using var reopened = await OpenAsync();

        Assert.Equal(watch with { LastSyncAt = Some.Time }, await reopened.GetWatchAsync(watch.Id, Ct));
        Assert.Equal(channel, await reopened.GetChannelAsync(channel.Id, Ct));
        Assert.Equal(new SyncState("token-1", Some.Time), await reopened.GetSyncStateAsync(watch.Id, Ct));
        Assert.Equal(committed.Select(c => (c.Id, c.Sequence)), (await reopened.ReadChangesAsync(new ChangeQuery(0, 10), Ct)).Select(c => (c.Id, c.Sequence)));
        Assert.Equal(2, Assert.Single(await reopened.CommitSyncAsync(Some.Commit(watch, "token-2", Some.Created("e2")) with { ExpectedSyncToken = "token-1" }, Ct)).Sequence);
    }

    [Fact]
    public async Task Migrations_are_idempotent_and_recorded_once()
    {
        var watch = await AddWatchAsync();

        await Store.MigrateAsync(Ct);
        using var second = await OpenAsync();

        Assert.NotNull(await second.GetWatchAsync(watch.Id, Ct));
        Assert.Equal(SqliteMigrations.All.Select(m => (long)m.Version), await QueryAsync<long>("SELECT version FROM schema_version ORDER BY version;"));
    }

    [Fact]
    public async Task Snapshots_stored_before_generations_read_back_after_the_upgrade()
    {
        // A store written by the schema before migration 6: snapshots keyed by (watch, event) only.
        await WriteStoreBeforeAsync(6, """
                INSERT INTO accounts VALUES ('acc', 'oauth', 'a@example.com', NULL, 'x', 'active', NULL, 'then');
                INSERT INTO watches (id, account_id, calendar_id, status, created_at) VALUES ('w', 'acc', 'a@example.com', 'active', 'then');
                INSERT INTO sync_state VALUES ('w', 'token-old', '2026-11-01T00:00:00.0000000Z');
                INSERT INTO snapshots VALUES ('w', 'e1', '{"id":"e1"}'), ('w', 'e2', '{"id":"e2"}');
                INSERT INTO snapshot_staging VALUES ('w', 'crashed', 'e3', CAST('{"id":"e3"}' AS BLOB));
                """);

        using var upgraded = await OpenAsync();

        Assert.Equal(["e1", "e2"], await upgraded.ListSnapshotIdsAsync("w", Ct));
        Assert.Equal("""{"id":"e2"}""", (await upgraded.GetSnapshotsAsync("w", ["e2"], Ct))["e2"]);
        Assert.Equal("token-old", (await upgraded.GetSyncStateAsync("w", Ct)).SyncToken);
    }

    [Fact]
    public async Task Snapshots_of_every_generation_move_into_snapshot_sets_and_the_current_one_stays_current()
    {
        // A store written by the schema before migration 12: snapshots keyed by (watch, generation, event). Watch w read
        // generation 'g1' and has the rows of a crashed list ('g0') beside it; watch v never ran a full list (generation
        // ''); watch u has sync state but no snapshot; watch x has '' rows and no sync_state row (read as generation '').
        await WriteStoreBeforeAsync(12, """
                INSERT INTO accounts VALUES ('acc', 'oauth', 'a@example.com', NULL, 'x', 'active', NULL, 'then');
                INSERT INTO watches (id, account_id, calendar_id, status, created_at) VALUES
                  ('w', 'acc', 'w@example.com', 'active', 'then'), ('v', 'acc', 'v@example.com', 'active', 'then'),
                  ('u', 'acc', 'u@example.com', 'active', 'then'), ('x', 'acc', 'x@example.com', 'active', 'then');
                INSERT INTO sync_state (watch_id, sync_token, last_sync_at, generation) VALUES
                  ('w', 'token-w', '2026-11-01T00:00:00.0000000Z', 'g1'), ('v', 'token-v', '2026-11-01T00:00:00.0000000Z', ''),
                  ('u', 'token-u', '2026-11-01T00:00:00.0000000Z', 'g7');
                INSERT INTO snapshots (watch_id, generation, event_id, json) VALUES
                  ('w', 'g1', 'e1', '{"id":"e1"}'), ('w', 'g1', 'e2', '{"id":"e2"}'), ('w', 'g0', 'e1', '{"id":"e1","stale":true}'),
                  ('w', 'g0', 'e9', '{"id":"e9"}'), ('v', '', 'e1', '{"id":"e1","watch":"v"}'), ('x', '', 'e5', '{"id":"e5"}');
                """);

        using var upgraded = await OpenAsync();

        Assert.Equal(["e1", "e2"], await upgraded.ListSnapshotIdsAsync("w", Ct));
        Assert.Equal(new Dictionary<string, string> { ["e1"] = """{"id":"e1"}""", ["e2"] = """{"id":"e2"}""" },
            await upgraded.GetSnapshotsAsync("w", ["e1", "e2", "e9"], Ct));
        Assert.Equal("""{"id":"e1","watch":"v"}""", Encoding.UTF8.GetString((await upgraded.GetSnapshotBytesAsync("v", ["e1"], Ct))["e1"]));
        Assert.Empty(await upgraded.ListSnapshotIdsAsync("u", Ct));
        Assert.Equal(["e5"], await upgraded.ListSnapshotIdsAsync("x", Ct));
        Assert.Equal(new SyncState("token-w", new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero)), await upgraded.GetSyncStateAsync("w", Ct));
        Assert.Equal([6L], await QueryAsync<long>("SELECT COUNT(*) FROM snapshots;"));

        // The sets behave as ever: an incremental commit writes into the current set, the next full list's clearing
        // deletes the crashed list's rows and set, and a baseline of the watch without snapshots adopts its attempt's set.
        await upgraded.CommitSyncAsync(new SyncCommit("w", "w@example.com", Some.Time, [new SnapshotWrite("e3", """{"id":"e3"}""")], [], "token-w2", "token-w"), Ct);
        Assert.Equal(["e1", "e2", "e3"], await upgraded.ListSnapshotIdsAsync("w", Ct));
        await upgraded.ClearStagingAsync("w", Ct);
        Assert.Equal(3, (await QueryAsync<long>("SELECT COUNT(*) FROM snapshots AS s JOIN snapshot_sets AS x ON x.id = s.set_id WHERE x.watch_id = 'w';")).Single());
        Assert.Equal(1, (await QueryAsync<long>("SELECT COUNT(*) FROM snapshot_sets WHERE watch_id = 'w';")).Single());

        await upgraded.ClearStagingAsync("u", Ct);
        await upgraded.StageSnapshotsAsync("u", "att_u", [new StagedSnapshot("e4", Encoding.UTF8.GetBytes("""{"id":"e4"}"""))], final: true, Ct);
        await upgraded.CommitFullSyncAsync(new FullSyncCommit("u", "u@example.com", "att_u", Some.Time, [], [], "token-u2", "token-u"), Ct);
        Assert.Equal(["e4"], await upgraded.ListSnapshotIdsAsync("u", Ct));
        Assert.Empty(await QueryAsync<string>("SELECT name FROM pragma_table_info('sync_state') WHERE name = 'generation';"));
    }

    [Fact]
    public async Task The_file_uses_the_write_ahead_log()
    {
        Assert.Equal(["wal"], await QueryAsync<string>("PRAGMA journal_mode;"));
    }

    [Fact]
    public async Task Two_store_instances_on_one_file_still_get_gap_free_sequences()
    {
        // Separate instances share no in-process gate: only BEGIN IMMEDIATE serializes them, as for two processes.
        using var other = await OpenAsync();
        var watches = new List<WatchRecord>();
        for (var i = 0; i < 40; i++)
        {
            watches.Add(await AddWatchAsync($"cal{i}@example.com"));
        }

        var tasks = Enumerable.Range(0, 40).Select(i =>
        {
            var store = i % 2 == 0 ? Store : other;
            return Task.Run(() => store.CommitSyncAsync(Some.Commit(watches[i], $"t{i}", Some.Created($"e{i}-a"), Some.Created($"e{i}-b")), Ct));
        });

        var results = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(1, 80).Select(i => (long)i), results.SelectMany(r => r.Select(c => c.Sequence)).Order());
        Assert.All(results, r => Assert.Equal(r[0].Sequence + 1, r[1].Sequence));
    }

    [Fact]
    public async Task Full_sync_of_100k_events_commits_in_one_transaction()
    {
        const int count = 100_000;
        var watch = await AddWatchAsync();
        var snapshots = Enumerable.Range(0, count).Select(i => new SnapshotWrite($"event{i:D6}", Some.EventJson($"event{i:D6}"))).ToList();
        var commit = new SyncCommit(watch.Id, watch.CalendarId, Some.Time, snapshots, [], "token-after-full-sync", ExpectedSyncToken: null);

        var stopwatch = Stopwatch.StartNew();
        await Store.CommitSyncAsync(commit, Ct);
        stopwatch.Stop();

        // Measured, not asserted: the time depends on the machine.
        output.WriteLine($"Committed {count:N0} snapshots in one transaction in {stopwatch.ElapsedMilliseconds} ms");
        Assert.Equal(count, (await Store.ListSnapshotIdsAsync(watch.Id, Ct)).Count);
        Assert.Equal("token-after-full-sync", (await Store.GetSyncStateAsync(watch.Id, Ct)).SyncToken);
    }

    /// <summary>The steps of SQLite's query plan for <paramref name="sql"/> (EXPLAIN QUERY PLAN's <c>detail</c> column).</summary>
    private async Task<List<string>> QueryPlanAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var (name, value) in parameters)
        {
            explain.Parameters.AddWithValue(name, value);
        }

        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                plan.Add(reader.GetString(reader.GetOrdinal("detail")));
            }
        }

        return plan;
    }

    [Fact]
    public async Task Pruning_the_attempt_log_by_count_finds_each_subscriptions_floor_once_not_once_per_attempt()
    {
        var plan = await QueryPlanAsync(SqliteStore.PruneAttemptsByCountSql, ("$keep", 1000));

        // The floors are computed into a table first; folded into the join, the floor's subquery ran for every attempt.
        Assert.Contains(plan, step => step.StartsWith("MATERIALIZE floors", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pruning_the_attempt_log_by_age_searches_the_attempted_at_index_instead_of_scanning_the_log()
    {
        var plan = await QueryPlanAsync(SqliteStore.PruneAttemptsByAgeSql, ("$before", "2026-12-01T00:00:00.0000000Z"));


        Assert.Contains(plan, step => System.Text.RegularExpressions.Regex.IsMatch(step,
            @"^SEARCH delivery_attempts USING (COVERING )?INDEX ix_delivery_attempts_attempted_at \(attempted_at<\?\)$"));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN delivery_attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_channel_of_an_unknown_watch_is_refused()
    {
        await Assert.ThrowsAsync<SqliteException>(() => Store.AddChannelAsync(Some.Channel("wat_missing"), Ct));
        Assert.Empty(await Store.ListOpenChannelsAsync(Ct));
    }

    private async Task<List<T>> QueryAsync<T>(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var values = new List<T>();
        while (await reader.ReadAsync(Ct))
        {
            values.Add(reader.GetFieldValue<T>(0));
        }

        return values;
    }

    /// <summary>Replaces the store's file with one at the schema before migration <paramref name="version"/>, holding <paramref name="data"/>.</summary>
    private async Task WriteStoreBeforeAsync(int version, string data)
    {
        ((IDisposable)Store).Dispose();
        File.Delete(DatabasePath);
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL);"
            + string.Concat(SqliteMigrations.All.Where(m => m.Version < version).Select(m => m.Sql + $"INSERT INTO schema_version VALUES ({m.Version}, 'then');"))
            + data;
        await command.ExecuteNonQueryAsync();
    }
}
