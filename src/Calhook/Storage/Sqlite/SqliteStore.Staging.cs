using System.Text.Json.Serialization;
using Calhook.Changes;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Calhook.Storage.Sqlite;

// Full lists (the baseline and the resync after a 410): each page is written straight into the snapshots, in the
// attempt's own snapshot set, invisible to readers until the commit that ends the list makes it current.
internal sealed partial class SqliteStore
{
    public Task ClearStagingAsync(string watchId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            // Every set of the watch but its current one: earlier attempts that crashed, failed or were overtaken.
            await using var command = Command(connection, transaction, $"""
                DELETE FROM snapshots WHERE set_id IN (SELECT id FROM snapshot_sets WHERE watch_id = $w AND id IS NOT {CurrentSet});
                DELETE FROM snapshot_sets WHERE watch_id = $w AND id IS NOT {CurrentSet};
                """);
            command.Parameters.AddWithValue("$w", watchId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public async Task StageSnapshotsAsync(string watchId, string attemptId, IReadOnlyList<StagedSnapshot> rows, bool final, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentException.ThrowIfNullOrEmpty(attemptId);
        if (rows.Count == 0)
        {
            return;
        }

        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);

            // A batch the list reads on after is synced to disk as it commits (synchronous=FULL, the connection's
            // default), beside the list: the list's commit then flushes only the last batch and itself, not the whole
            // list's WAL (100 MB took 150 ms there, between the last page and the sync's end). The last batch skips
            // the fsync that the list's commit, right after it, does anyway (a one-batch list, most of them, costs
            // one fsync, not two). No batch checkpoints the WAL (two fsyncs and a copy of the batch's rows each): the
            // WAL grows over the list and a passive checkpoint after the list's commit copies it once
            // (CommitFullSyncAsync).
            await ExecuteAsync(connection, null, final ? "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;" : "PRAGMA wal_autocheckpoint=0;", cancellationToken);
            try
            {
                await InsertStagedAsync(connection, watchId, attemptId, rows, cancellationToken);
            }
            finally
            {
                // The connection goes back to the store's pool: the next call gets its synchronous=FULL and autocheckpoint.
                await RestoreAsync(connection, "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=1000;");
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static async Task InsertStagedAsync(SqliteConnection connection, string watchId, string attemptId, IReadOnlyList<StagedSnapshot> rows, CancellationToken cancellationToken)
    {
        await using var transaction = connection.BeginTransaction(deferred: false);
        var set = await AttemptSetAsync(connection, transaction, watchId, attemptId, cancellationToken)
            ?? await NewAttemptSetAsync(connection, transaction, watchId, attemptId, cancellationToken);

        // A later row of an event in the same list wins (the event changed while the list was paged). The statement
        // runs once per row, so it is driven through SQLite's own API: binding by position, and the JSON bound as the
        // UTF-8 text it already is, cost a fraction of what Microsoft.Data.Sqlite spends per execution (resolving each
        // parameter by name, its statement enumeration) — in a profile of a 100,000-event list, as much as the inserts.
        var db = connection.Handle!;
        Check(raw.sqlite3_prepare_v2(db, """
            INSERT INTO snapshots (set_id, event_id, json) VALUES (?1, ?2, ?3)
            ON CONFLICT (set_id, event_id) DO UPDATE SET json = excluded.json;
            """, out var insert), db);
        using (insert)
        {
            Check(raw.sqlite3_bind_int64(insert, 1, set), db);
            // In key order, so the index takes its inserts page by page; the sort is stable, so a later copy of an
            // event is still written last.
            foreach (var row in rows.OrderBy(static r => r.EventId, StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                Check(raw.sqlite3_bind_text(insert, 2, row.EventId), db);
                Check(raw.sqlite3_bind_text(insert, 3, row.Json), db);
                var done = raw.sqlite3_step(insert);
                raw.sqlite3_reset(insert);
                if (done != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(done, db);
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static void Check(int result, sqlite3 db)
    {
        if (result != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(result, db);
        }
    }

    /// <summary>The snapshot set of a full-list attempt; null before its first staged rows (or after a discard).</summary>
    private static async Task<long?> AttemptSetAsync(SqliteConnection connection, SqliteTransaction transaction, string watchId, string attemptId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT id FROM snapshot_sets WHERE watch_id = $w AND attempt = $a;");
        command.Parameters.AddWithValue("$w", watchId);
        command.Parameters.AddWithValue("$a", attemptId);
        return await command.ExecuteScalarAsync(cancellationToken) is long set ? set : null;
    }

    private static async Task<long> NewAttemptSetAsync(SqliteConnection connection, SqliteTransaction transaction, string watchId, string attemptId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "INSERT INTO snapshot_sets (watch_id, attempt) VALUES ($w, $a) RETURNING id;");
        command.Parameters.AddWithValue("$w", watchId);
        command.Parameters.AddWithValue("$a", attemptId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyDictionary<string, byte[]>> GetSnapshotBytesAsync(string watchId, IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eventIds);
        var snapshots = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (eventIds.Count == 0)
        {
            return snapshots;
        }

        // One statement per call: the ids travel as one JSON array instead of a variable-length IN list.
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT s.event_id, s.json FROM json_each($ids) AS i
            JOIN snapshots AS s ON s.set_id = {CurrentSet} AND s.event_id = i.value;
            """);
        command.Parameters.AddWithValue("$w", watchId);
        command.Parameters.AddWithValue("$ids", System.Text.Json.JsonSerializer.Serialize(eventIds, StagingJsonContext.Default.IReadOnlyCollectionString));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            snapshots[reader.GetString(0)] = reader.GetFieldValue<byte[]>(1);
        }

        return snapshots;
    }

    public async Task<IReadOnlyList<Change>> CommitFullSyncAsync(FullSyncCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            // The WAL now holds the whole list: this commit does not checkpoint it (copying it all before the sync
            // could report its baseline); a passive checkpoint does, beside the writers that come next.
            await using var connection = await OpenAsync(cancellationToken);
            await ExecuteAsync(connection, null, "PRAGMA wal_autocheckpoint=0;", cancellationToken);
            try
            {
                await using var transaction = connection.BeginTransaction(deferred: false);
                var changes = await CommitFullSyncAsync(connection, transaction, commit, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return changes ?? throw new SyncSupersededException(commit.WatchId);
            }
            finally
            {
                await RestoreAsync(connection, "PRAGMA wal_autocheckpoint=1000;");
            }
        }
        finally
        {
            _writeGate.Release();
            lock (_checkpointGate)
            {
                _checkpoint = _checkpoint.IsCompleted ? Task.Run(CheckpointAsync, CancellationToken.None) : _checkpoint;
            }
        }
    }

    /// <summary>A passive checkpoint: copies what it can of the WAL into the database file without blocking writers.</summary>
    private async Task CheckpointAsync()
    {
        try
        {
            await using var connection = await OpenAsync(CancellationToken.None);
            await ExecuteAsync(connection, null, "PRAGMA wal_checkpoint(PASSIVE);", CancellationToken.None);
        }
        catch (SqliteException exception)
        {
            Log.CheckpointFailed(_logger, DatabasePath, exception);
        }
    }

    /// <summary>The full list's changes; null when it was superseded (the fence refused it), having discarded only its own staged rows.</summary>
    private async Task<IReadOnlyList<Change>?> CommitFullSyncAsync(SqliteConnection connection, SqliteTransaction transaction, FullSyncCommit commit, CancellationToken cancellationToken)
    {
        if (await IsCalendarRemovedAsync(connection, transaction, commit.WatchId, cancellationToken))
        {
            await DiscardAttemptAsync(connection, transaction, commit, cancellationToken);
            return [];
        }

        // The fence first: a list another sync overtook writes nothing but the removal of its own staged rows.
        if (!await ClaimSyncTokenAsync(connection, transaction, commit.WatchId, commit.ExpectedSyncToken, commit.NextSyncToken, commit.DetectedAt, cancellationToken))
        {
            await DiscardAttemptAsync(connection, transaction, commit, cancellationToken);
            return null;
        }

        var current = await CurrentSetAsync(connection, transaction, commit.WatchId, cancellationToken);
        if (await AttemptSetAsync(connection, transaction, commit.WatchId, commit.AttemptId, cancellationToken) is { } attempt)
        {
            await using var adopt = Command(connection, transaction, "SELECT EXISTS (SELECT 1 FROM snapshots WHERE set_id = $s);");
            adopt.Parameters.AddWithValue("$s", (object?)current ?? DBNull.Value);
            adopt.Parameters.AddWithValue("$a", attempt);
            if (current is null || (long)(await adopt.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                // A baseline (nothing stored yet): the attempt's set becomes the watch's current one without moving one
                // row; the empty set it replaces goes.
                adopt.CommandText = """
                    DELETE FROM snapshot_sets WHERE id = $s;
                    UPDATE sync_state SET snapshot_set = $a WHERE watch_id = $w;
                    """;
                adopt.Parameters.AddWithValue("$w", commit.WatchId);
                current = attempt;
            }
            else
            {
                // A resync staged only what differs from the stored snapshots: those rows replace their stored copies
                // in the current set, and the attempt's set goes.
                adopt.CommandText = """
                    DELETE FROM snapshots WHERE set_id = $s AND event_id IN (SELECT event_id FROM snapshots WHERE set_id = $a);
                    UPDATE snapshots SET set_id = $s WHERE set_id = $a;
                    DELETE FROM snapshot_sets WHERE id = $a;
                    """;
            }

            await adopt.ExecuteNonQueryAsync(cancellationToken);
        }

        var forgotten = commit.Forgotten.Select(id => new SnapshotWrite(id, null)).ToList();
        var rows = new SyncCommit(commit.WatchId, commit.CalendarId, commit.DetectedAt, forgotten, commit.Changes, commit.NextSyncToken, commit.ExpectedSyncToken);
        // Without a current set (nothing stored, nothing staged) there is nothing to forget.
        if (current is { } set)
        {
            await WriteSnapshotsAsync(connection, transaction, rows, set, cancellationToken);
        }

        return await AppendChangesAsync(connection, transaction, rows, cancellationToken);
    }

    /// <summary>Deletes the attempt's staged rows and its set (never the watch's current set), and nothing else.</summary>
    private static async Task DiscardAttemptAsync(SqliteConnection connection, SqliteTransaction transaction, FullSyncCommit commit, CancellationToken cancellationToken)
    {
        if (await AttemptSetAsync(connection, transaction, commit.WatchId, commit.AttemptId, cancellationToken) is not { } attempt
            || attempt == await CurrentSetAsync(connection, transaction, commit.WatchId, cancellationToken))
        {
            return;
        }

        await using var discard = Command(connection, transaction, "DELETE FROM snapshots WHERE set_id = $a; DELETE FROM snapshot_sets WHERE id = $a;");
        discard.Parameters.AddWithValue("$a", attempt);
        await discard.ExecuteNonQueryAsync(cancellationToken);
    }
}

[JsonSerializable(typeof(IReadOnlyCollection<string>))]
internal sealed partial class StagingJsonContext : JsonSerializerContext;
