using Calhook.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Calhook.Storage.Sqlite;

/// <summary>
/// The SQLite store: one file, WAL journal. Each method borrows an open connection (SqliteStore.Connections.cs) and runs one transaction.
/// Writers in this process pass one gate (so they queue instead of spinning on SQLITE_BUSY) and take the write lock
/// up front with <c>BEGIN IMMEDIATE</c>, which also serializes writers of other processes on the same file.
/// Thread-safe.
/// </summary>
/// <remarks>
/// Every connection runs with <c>synchronous=FULL</c>: a commit is on disk when <see cref="CommitSyncAsync"/> returns.
/// <c>NORMAL</c> keeps the file consistent but may lose the last commits on power loss; their changes may already
/// have been delivered, and their sequences would then be reused by different changes (invariants 1 and 2, docs/architecture.md).
/// The cost is one fsync per transaction, and a sync is one transaction however many events it carries.
/// </remarks>
internal sealed partial class SqliteStore : ICalhookStore, IDisposable
{
    /// <summary>How long a connection waits for another process's write lock before failing.</summary>
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _checkpointGate = new();
    private Task _checkpoint = Task.CompletedTask;

    public SqliteStore(string databasePath, ILogger<SqliteStore>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();
        _logger = logger ?? NullLogger<SqliteStore>.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The database file's full path.</summary>
    public string DatabasePath { get; }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A store is created only where none existed: an existing file is checked before anything writes to it.
            PrivateFiles.EnsureDirectory(Path.GetDirectoryName(DatabasePath)!);
            if (!PrivateFiles.TryCreateEmpty(DatabasePath))
            {
                await CheckExistingAsync(cancellationToken);
            }

            foreach (var suffix in (string[])["", "-wal", "-shm", "-journal"])
            {
                PrivateFiles.Restrict(DatabasePath + suffix);
            }

            await MigrateCoreAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException and not StoreUnusableException)
        {
            throw new InvalidOperationException($"Cannot open the SQLite store at {DatabasePath}: {exception.Message}", exception);
        }
    }

    /// <summary>
    /// Refuses an existing file that is empty, not an SQLite database, or fails SQLite's integrity check, without
    /// writing to it. The new file <see cref="MigrateAsync"/> creates is made empty with owner-only permissions (SQLite
    /// gives its -wal and -shm files the database file's permissions), so an empty file found here was emptied.
    /// </summary>
    private async Task CheckExistingAsync(CancellationToken cancellationToken)
    {
        var restart = $"Restore it from a backup; or move it (with any {Path.GetFileName(DatabasePath)}-wal and -shm beside it) away to start with a new, empty store.";
        if (new FileInfo(DatabasePath).Length == 0)
        {
            throw new StoreUnusableException($"The store file {DatabasePath} is empty (0 bytes): every account, watch and change it held is gone. {restart}");
        }

        var check = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString();
        string verdict;
        try
        {
            await using var connection = new SqliteConnection(check);
            await connection.OpenAsync(cancellationToken);
            await using var command = Command(connection, null, "PRAGMA integrity_check(1);");
            verdict = Convert.ToString(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) ?? "";
        }
        catch (SqliteException notDatabase) when (notDatabase.SqliteErrorCode == 26)
        {
            throw new StoreUnusableException($"The store file {DatabasePath} is not a Calhook store (not an SQLite database). Move it away, or point Calhook:DataDirectory (--data) at the right directory.");
        }
        catch (SqliteException corrupt) when (corrupt.SqliteErrorCode == 11)
        {
            verdict = corrupt.Message;
        }

        if (!string.Equals(verdict, "ok", StringComparison.Ordinal))
        {
            throw new StoreUnusableException($"The store file {DatabasePath} is damaged (SQLite's integrity check: {verdict.ReplaceLineEndings(" ")}). {restart}");
        }
    }

    private async Task MigrateCoreAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);

        // The page size and the journal mode are stored in the file. The page size takes effect only in a new, empty
        // file: an existing store keeps the one it was created with. 16 KB pages hold a snapshot row (about 800 bytes)
        // with less waste and a full list's random key index inserts touch fewer of them: a standalone run of 100,000
        // such rows in 2,500-row transactions took about half the time of 4 KB pages and left a 16% smaller file.
        await ExecuteAsync(connection, null, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL;", cancellationToken);
        await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL);", cancellationToken);

        foreach (var (version, sql) in SqliteMigrations.All)
        {
            await _writeGate.WaitAsync(cancellationToken);
            try
            {
                await using var transaction = connection.BeginTransaction(deferred: false);
                await using var check = Command(connection, transaction, "SELECT COUNT(*) FROM schema_version WHERE version = $v;");
                check.Parameters.AddWithValue("$v", version);
                if ((long)(await check.ExecuteScalarAsync(cancellationToken))! > 0)
                {
                    continue;
                }

                await ExecuteAsync(connection, transaction, sql, cancellationToken);
                await using var record = Command(connection, transaction, "INSERT INTO schema_version (version, applied_at) VALUES ($v, $at);");
                record.Parameters.AddWithValue("$v", version);
                record.Parameters.AddWithValue("$at", StoreText.Time(_timeProvider.GetUtcNow()));
                await record.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                Log.MigrationApplied(_logger, version, DatabasePath);
            }
            finally
            {
                _writeGate.Release();
            }
        }
    }

    public void Dispose()
    {
        // A checkpoint still running finishes first (it is bounded by the WAL's size), then the pooled handles close
        // so the file can be moved or deleted once the store is gone.
        _checkpoint.GetAwaiter().GetResult();
        CloseConnections();
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _writeGate.Dispose();
    }

    /// <summary>Runs <paramref name="work"/> in one write transaction (<c>BEGIN IMMEDIATE</c>) and commits it.</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private Task WriteAsync(Func<SqliteConnection, SqliteTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync<bool>(async (c, t) => { await work(c, t); return true; }, cancellationToken);

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.StoreMigrationApplied, Level = LogLevel.Information, Message = "Applied store migration {Version} to {Path}")]
        public static partial void MigrationApplied(ILogger logger, int version, string path);

        [LoggerMessage(EventId = LogEvents.StoreCheckpointFailed, Level = LogLevel.Warning, Message = "Checkpointing the WAL of {Path} after a full list failed; the next commit checkpoints it")]
        public static partial void CheckpointFailed(ILogger logger, string path, Exception exception);
    }
}
