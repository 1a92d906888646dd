using System.Text.Json.Serialization;
using Calhook.Changes;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Full lists (the baseline and the resync after a 410): each page is written straight into the snapshots under the
// attempt's own generation, invisible to readers until the commit that ends the list makes it current.
internal sealed partial class SqliteStore
{
    public Task ClearStagingAsync(string watchId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"DELETE FROM snapshots WHERE watch_id = $w AND generation <> {CurrentGeneration};");
            command.Parameters.AddWithValue("$w", watchId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public async Task StageSnapshotsAsync(string watchId, string attemptId, IReadOnlyList<StagedSnapshot> rows, CancellationToken cancellationToken)
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

            // Staged rows count only once the final commit (synchronous=FULL) makes their generation current: losing
            // the last ones to a power cut costs a retry, never a change, so they skip the fsync. Nor does each page
            // checkpoint the WAL (two fsyncs and a copy of the page's rows per page): the WAL grows over the list and
            // a passive checkpoint after the list's final commit copies it once (CommitFullSyncAsync).
            await ExecuteAsync(connection, null, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;", cancellationToken);
            try
            {
                await InsertStagedAsync(connection, watchId, attemptId, rows, cancellationToken);
            }
            finally
            {
                // The connection goes back to the pool: the next user gets SQLite's defaults again.
                await ExecuteAsync(connection, null, "PRAGMA wal_autocheckpoint=1000;", CancellationToken.None);
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

        // A later row of an event in the same list wins (the event changed while the list was paged).
        await using var insert = Command(connection, transaction, """
            INSERT INTO snapshots (watch_id, generation, event_id, json) VALUES ($w, $a, $e, CAST($j AS TEXT))
            ON CONFLICT (watch_id, generation, event_id) DO UPDATE SET json = excluded.json;
            """);
        insert.Parameters.AddWithValue("$w", watchId);
        insert.Parameters.AddWithValue("$a", attemptId);
        var eventId = insert.Parameters.Add("$e", SqliteType.Text);
        var json = insert.Parameters.Add("$j", SqliteType.Blob);
        insert.Prepare();
        // In key order, so the index takes its inserts page by page; the sort is stable, so a later copy of an event
        // is still written last.
        foreach (var row in rows.OrderBy(static r => r.EventId, StringComparer.Ordinal))
        {
            eventId.Value = row.EventId;
            json.Value = row.Json;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
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
            JOIN snapshots AS s ON s.watch_id = $w AND s.generation = {CurrentGeneration} AND s.event_id = i.value;
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
                await ExecuteAsync(connection, null, "PRAGMA wal_autocheckpoint=1000;", CancellationToken.None);
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

        var generation = await CurrentGenerationAsync(connection, transaction, commit.WatchId, cancellationToken);
        await using (var current = Command(connection, transaction, "SELECT EXISTS (SELECT 1 FROM snapshots WHERE watch_id = $w AND generation = $g);"))
        {
            current.Parameters.AddWithValue("$w", commit.WatchId);
            current.Parameters.AddWithValue("$g", generation);
            if ((long)(await current.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                // A baseline (nothing stored yet): the attempt's rows become the snapshots by naming their
                // generation current, without moving one row.
                generation = commit.AttemptId;
            }
            else
            {
                // A resync staged only what differs from the stored snapshots: those rows replace their stored
                // copies in the current generation.
                current.CommandText = """
                    DELETE FROM snapshots WHERE watch_id = $w AND generation = $g
                      AND event_id IN (SELECT event_id FROM snapshots WHERE watch_id = $w AND generation = $a);
                    UPDATE snapshots SET generation = $g WHERE watch_id = $w AND generation = $a;
                    """;
                current.Parameters.AddWithValue("$a", commit.AttemptId);
                await current.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using (var current = Command(connection, transaction, "UPDATE sync_state SET generation = $g WHERE watch_id = $w AND generation <> $g;"))
        {
            current.Parameters.AddWithValue("$w", commit.WatchId);
            current.Parameters.AddWithValue("$g", generation);
            await current.ExecuteNonQueryAsync(cancellationToken);
        }

        var forgotten = commit.Forgotten.Select(id => new SnapshotWrite(id, null)).ToList();
        var rows = new SyncCommit(commit.WatchId, commit.CalendarId, commit.DetectedAt, forgotten, commit.Changes, commit.NextSyncToken, commit.ExpectedSyncToken);
        await WriteSnapshotsAsync(connection, transaction, rows, generation, cancellationToken);
        return await AppendChangesAsync(connection, transaction, rows, cancellationToken);
    }

    /// <summary>Deletes the attempt's staged rows (never the watch's current generation), and nothing else.</summary>
    private static async Task DiscardAttemptAsync(SqliteConnection connection, SqliteTransaction transaction, FullSyncCommit commit, CancellationToken cancellationToken)
    {
        await using var discard = Command(connection, transaction, $"DELETE FROM snapshots WHERE watch_id = $w AND generation = $a AND generation <> {CurrentGeneration};");
        discard.Parameters.AddWithValue("$w", commit.WatchId);
        discard.Parameters.AddWithValue("$a", commit.AttemptId);
        await discard.ExecuteNonQueryAsync(cancellationToken);
    }
}

[JsonSerializable(typeof(IReadOnlyCollection<string>))]
internal sealed partial class StagingJsonContext : JsonSerializerContext;
