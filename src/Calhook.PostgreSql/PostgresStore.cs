using System.Net.Sockets;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Calhook.PostgreSql;

/// <summary>
/// The PostgreSQL store: the same behaviour as the SQLite store, for several Calhook instances sharing one database.
/// Each method takes a pooled connection from one <see cref="NpgsqlDataSource"/> and runs one transaction (read
/// committed): an explicit one, or for a single statement or a batch sent at once, the implicit one PostgreSQL gives
/// it (<see cref="WriteOnceAsync{T}"/>). The change log's sequences come from a one-row counter locked by the committing transaction, so
/// readers never see a later sequence before an earlier one. Thread-safe.
/// </summary>
internal sealed partial class PostgresStore : ICalhookStore, IAsyncDisposable, IDisposable
{
    /// <summary>The advisory lock key that serializes migrations of concurrently starting instances ("calhook" in ASCII).</summary>
    internal const long MigrationLockKey = 0x63616c686f6f6b;

    /// <summary>Connections this instance opens at most, unless its connection string says otherwise (one is the listener's).</summary>
    internal const int DefaultMaxPoolSize = 8;

    /// <summary>The channel every commit that appended changes notifies, with its last sequence as the payload.</summary>
    public const string ChangesChannel = "calhook_changes";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    public PostgresStore(string connectionString, ILogger<PostgresStore>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Server = $"{builder.Host}:{builder.Port}/{builder.Database}";
        if (!Names(connectionString, "MaxAutoPrepare"))
        {
            // Unless the connection string tunes these itself: every statement here is one of a fixed few, run
            // thousands of times, so each is prepared once per connection and PostgreSQL stops parsing and planning
            // it on every call (the CTEs of a commit or a lease most of all). No store call leaves session state
            // behind (the migration lock is released in its finally; the listener's connection goes back only when
            // the process stops), so a connection returns to the pool without the reset statements Npgsql would
            // otherwise send with it (DISCARD ALL, or five statements once some are prepared).
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
            builder.NoResetOnClose = true;
        }

        if (!Names(connectionString, "MaxPoolSize") && !Names(connectionString, "MaximumPoolSize"))
        {
            // Unless the connection string sets its own: a few connections kept busy do more than many taking turns.
            // Each connection is a server process; allowed 50, a busy instance (8 syncs, 64 webhook attempts and the
            // schedulers at once) grew to all 50, which fought over the server's cores and over the change counter's
            // row lock. Callers beyond the pool wait in this process for a free connection.
            builder.MaxPoolSize = DefaultMaxPoolSize;
        }

        _dataSource = NpgsqlDataSource.Create(builder);
        _logger = logger ?? NullLogger<PostgresStore>.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Whether the connection string itself sets <paramref name="keyword"/> (spaces and case aside), even to its default.</summary>
    private static bool Names(string connectionString, string keyword) =>
        new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Any(key => key.Replace(" ", "", StringComparison.Ordinal).Equals(keyword, StringComparison.OrdinalIgnoreCase));

    /// <summary>Host, port and database, for messages (never the password).</summary>
    public string Server { get; }

    internal NpgsqlDataSource DataSource => _dataSource;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await MigrateCoreAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is NpgsqlException or SocketException or TimeoutException)
        {
            throw new InvalidOperationException(
                $"Cannot reach PostgreSQL at {Server} (Calhook:Postgres:ConnectionString): {exception.Message}", exception);
        }
    }

    private async Task MigrateCoreAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);

        // Instances starting together queue here: the first applies the missing scripts, the others then find none.
        await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({MigrationLockKey});", cancellationToken);
        try
        {
            await ExecuteAsync(connection, null,
                "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL PRIMARY KEY, applied_at text NOT NULL);", cancellationToken);
            await using (var current = Command(connection, null, "SELECT COALESCE(MAX(version), 0) FROM schema_version;"))
            {
                var version = (int)(await current.ExecuteScalarAsync(cancellationToken))!;
                if (version > PostgresMigrations.Latest)
                {
                    throw new InvalidOperationException(
                        $"The PostgreSQL schema at {Server} is at version {version}, newer than this Calhook knows (up to {PostgresMigrations.Latest}): " +
                        "run a Calhook at least as new as the one that upgraded the database.");
                }
            }

            foreach (var (version, sql) in PostgresMigrations.All)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using var check = Command(connection, transaction, "SELECT COUNT(*) FROM schema_version WHERE version = @v;");
                check.Parameters.AddWithValue("v", version);
                if ((long)(await check.ExecuteScalarAsync(cancellationToken))! > 0)
                {
                    continue;
                }

                await ExecuteAsync(connection, transaction, sql, cancellationToken);
                await using var record = Command(connection, transaction, "INSERT INTO schema_version (version, applied_at) VALUES (@v, @at);");
                record.Parameters.AddWithValue("v", version);
                record.Parameters.AddWithValue("at", Calhook.Storage.Sqlite.StoreText.Time(_timeProvider.GetUtcNow()));
                await record.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                Log.MigrationApplied(_logger, version, Server);
            }
        }
        finally
        {
            await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({MigrationLockKey});", CancellationToken.None);
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();

    /// <summary>Runs <paramref name="work"/> in one transaction and commits it.</summary>
    private async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private Task WriteAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync<bool>(async (c, t) => { await work(c, t); return true; }, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/>'s one command without an explicit transaction: one round trip where BEGIN … COMMIT
    /// takes two. The command must be one statement, or several that PostgreSQL runs as one batch (Npgsql sends them
    /// with one Sync, so they form one implicit transaction: all of them commit, or none).
    /// </summary>
    private async Task<T> WriteOnceAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await work(connection);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql) =>
        new(sql, connection, transaction);

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Calhook.Storage.Sqlite.StoreText.ParseTime(reader.GetString(ordinal));

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.PostgresMigrationApplied, Level = LogLevel.Information, Message = "Applied PostgreSQL migration {Version} to {Server}")]
        public static partial void MigrationApplied(ILogger logger, int version, string server);
    }
}
