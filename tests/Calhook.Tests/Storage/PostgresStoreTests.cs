using Calhook.PostgreSql;
using Calhook.Storage;
using Npgsql;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

/// <summary>The store contract on a real PostgreSQL server, plus what only PostgreSQL has to prove.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreTests(PostgresFixture postgres) : StoreContractTests
{
    private string? _connectionString;

    protected override async Task<ICalhookStore> CreateStoreAsync()
    {
        (var store, _connectionString) = await postgres.CreateStoreAsync("contract", Ct);
        return store;
    }

    [Theory]
    [InlineData("", PostgresStore.DefaultMaxPoolSize)]
    [InlineData(";Maximum Pool Size=30", 30)]
    [InlineData(";maxpoolsize=3", 3)]
    public async Task The_pool_holds_at_most_eight_connections_unless_the_connection_string_sets_its_own(string extra, int expected)
    {
        // No server is reached: the pool's size is read from the data source the store built.
        await using var store = new PostgresStore("Host=127.0.0.1;Port=1;Username=calhook;Database=calhook" + extra);

        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(store.DataSource.ConnectionString).MaxPoolSize);
        Assert.Equal(8, PostgresStore.DefaultMaxPoolSize);
    }

    [Fact]
    public async Task Forty_calls_blocked_at_once_hold_no_more_than_the_pools_eight_connections()
    {
        var (store, connectionString) = await postgres.CreateStoreAsync("poolcap", Ct);
        await using var owned = store;
        var now = DateTimeOffset.UtcNow;
        Assert.True(await store.TryAcquireLeaseAsync("sync:w1", "i1", now, TimeSpan.FromMinutes(1), Ct));

        // Another session locks the lease's row, so each call below holds its connection while it waits for the lock.
        await using var locker = new NpgsqlConnection(connectionString + ";Application Name=" + Probe);
        await locker.OpenAsync(Ct);
        await using var transaction = await locker.BeginTransactionAsync(Ct);
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM leases WHERE name = 'sync:w1' FOR UPDATE;", locker, transaction))
        {
            await lockRow.ExecuteScalarAsync(Ct);
        }

        var calls = Enumerable.Range(0, 40)
            .Select(_ => store.TryAcquireLeaseAsync("sync:w1", "i1", now, TimeSpan.FromMinutes(1), Ct))
            .ToList();
        await Polling.EventuallyAsync(
            async () => await CountSessionsAsync(connectionString, "wait_event_type = 'Lock'") >= PostgresStore.DefaultMaxPoolSize,
            TimeSpan.FromSeconds(20), "the calls did not reach the locked row");
        await transaction.RollbackAsync(Ct);
        await locker.CloseAsync();
        Assert.All(await Task.WhenAll(calls), Assert.True);

        // Every pooled connection stays open (idle) after the calls: without the cap each waiting call had its own.
        Assert.Equal(PostgresStore.DefaultMaxPoolSize, await CountSessionsAsync(connectionString, "TRUE"));
    }

    /// <summary>The application name of this test's own sessions (the locker and the counting queries).</summary>
    private const string Probe = "calhook-test-probe";

    /// <summary>The store's sessions on the connection string's database (not this test's own) matching <paramref name="where"/>.</summary>
    private async Task<long> CountSessionsAsync(string connectionString, string where) =>
        (await QueryAsync<long>(connectionString + ";Application Name=" + Probe,
            $"SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name <> '{Probe}' AND ({where});"))[0];

    [Fact]
    public async Task Migrations_are_idempotent_and_safe_when_instances_start_together()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("migrate", Ct);
        var stores = Enumerable.Range(0, 4).Select(_ => new PostgresStore(connectionString)).ToList();

        await Task.WhenAll(stores.Select(s => Task.Run(() => s.MigrateAsync(Ct))));
        await stores[0].MigrateAsync(Ct);

        Assert.Equal(PostgresMigrations.All.Select(m => m.Version), await QueryAsync<int>(connectionString, "SELECT version FROM schema_version ORDER BY version;"));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_schema_newer_than_the_binary_stops_the_start_with_a_clear_message()
    {
        await QueryAsync<int>(_connectionString!, $"INSERT INTO schema_version (version, applied_at) VALUES ({PostgresMigrations.Latest + 1}, 'later') RETURNING version;");
        await using var store = new PostgresStore(_connectionString!);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.MigrateAsync(Ct));

        Assert.Contains($"version {PostgresMigrations.Latest + 1}, newer than this Calhook knows", error.Message);
    }

    [Fact]
    public async Task An_unreachable_server_is_named_with_the_setting()
    {
        await using var store = new PostgresStore("Host=127.0.0.1;Port=1;Username=postgres;Database=nowhere;Timeout=2");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.MigrateAsync(Ct));

        Assert.StartsWith("Cannot reach PostgreSQL at 127.0.0.1:1/nowhere (Calhook:Postgres:ConnectionString)", error.Message);
    }

    [Theory]
    [InlineData("", true)]
    [InlineData(";Max Auto Prepare=0", false)]
    public async Task Repeated_statements_are_prepared_on_the_server_unless_the_connection_string_says_otherwise(string setting, bool prepared)
    {
        // One pooled connection, so every call below runs on the session whose prepared statements are counted.
        var connectionString = await postgres.Server.CreateDatabaseAsync("prepare", Ct) + ";Maximum Pool Size=1" + setting;
        await using var store = new PostgresStore(connectionString);
        await store.MigrateAsync(Ct);

        for (var i = 0; i < 3; i++)
        {
            await store.GetSyncStateAsync("w1", Ct);
        }

        await using var connection = await store.DataSource.OpenConnectionAsync(Ct);
        await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM sync_state%';", connection);
        Assert.Equal(prepared, (long)(await count.ExecuteScalarAsync(Ct))! > 0);
    }

    [Fact]
    public async Task Pruning_the_attempt_log_by_age_can_use_the_attempted_at_index()
    {
        // On a table this small the planner rightly prefers a scan; with scans priced out, the plan shows that the
        // index matches the prune's condition (its collation included), as it is chosen on a large log.
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        await using (var off = new NpgsqlCommand("SET enable_seqscan = off;", connection))
        {
            await off.ExecuteNonQueryAsync(Ct);
        }

        await using var explain = new NpgsqlCommand("EXPLAIN " + PostgresStore.PruneAttemptsByAgeSql, connection);
        explain.Parameters.AddWithValue("before", "2026-12-01T00:00:00.0000000Z");
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                plan.Add(reader.GetString(0));
            }
        }

        Assert.Contains(plan, step => step.Contains("ix_delivery_attempts_attempted_at", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.Contains("Seq Scan on delivery_attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_channel_of_an_unknown_watch_is_refused()
    {
        await Assert.ThrowsAsync<PostgresException>(() => Store.AddChannelAsync(Some.Channel("wat_missing"), Ct));
        Assert.Empty(await Store.ListOpenChannelsAsync(Ct));
    }

    private async Task<List<T>> QueryAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var values = new List<T>();
        while (await reader.ReadAsync(Ct))
        {
            values.Add(reader.GetFieldValue<T>(0));
        }

        return values;
    }
}
