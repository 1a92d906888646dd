using System.Text.Json.Serialization;
using Calhook.Changes;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Full lists staged page by page (the baseline and the resync after a 410), and the commit that ends them.
internal sealed partial class SqliteStore
{
    public Task ClearStagingAsync(string watchId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "DELETE FROM snapshot_staging WHERE watch_id = $w;");
            command.Parameters.AddWithValue("$w", watchId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public async Task StageSnapshotsAsync(string watchId, string attemptId, IReadOnlyList<StagedSnapshot> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return;
        }

        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);

            // Staged rows count only once the final commit (synchronous=FULL) moves them: losing the last ones to a
            // power cut costs a retry, never a change, so they skip the fsync.
            await ExecuteAsync(connection, null, "PRAGMA synchronous=NORMAL;", cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var insert = Command(connection, transaction, """
                INSERT INTO snapshot_staging (watch_id, attempt_id, event_id, json) VALUES ($w, $a, $e, $j);
                """);
            insert.Parameters.AddWithValue("$w", watchId);
            insert.Parameters.AddWithValue("$a", attemptId);
            var eventId = insert.Parameters.Add("$e", SqliteType.Text);
            var json = insert.Parameters.Add("$j", SqliteType.Blob);
            insert.Prepare();
            foreach (var row in rows)
            {
                eventId.Value = row.EventId;
                json.Value = row.Json;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
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
        await using var command = Command(connection, null, """
            SELECT s.event_id, s.json FROM json_each($ids) AS i
            JOIN snapshots AS s ON s.watch_id = $w AND s.event_id = i.value;
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

    public Task<IReadOnlyList<Change>> CommitFullSyncAsync(FullSyncCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return WriteAsync(async (connection, transaction) =>
        {
            // Snapshots stay TEXT: the staged UTF-8 bytes become text as they are, without a re-encoding. In event
            // order the inserts fill the snapshot b-tree from left to right; for a repeated event the later row
            // (higher rowid) is written last and wins.
            await using (var move = Command(connection, transaction, """
                INSERT INTO snapshots (watch_id, event_id, json)
                SELECT watch_id, event_id, CAST(json AS TEXT) FROM snapshot_staging
                WHERE watch_id = $w AND attempt_id = $a ORDER BY event_id, rowid
                ON CONFLICT (watch_id, event_id) DO UPDATE SET json = excluded.json;

                """))
            {
                move.Parameters.AddWithValue("$w", commit.WatchId);
                move.Parameters.AddWithValue("$a", commit.AttemptId);
                await move.ExecuteNonQueryAsync(cancellationToken);
            }

            // Usually the only full list in progress: then the table is emptied whole, which frees its pages at once
            // instead of deleting 100,000s of rows one by one.
            await using (var clear = Command(connection, transaction, """
                SELECT EXISTS (SELECT 1 FROM snapshot_staging WHERE watch_id <> $w OR attempt_id <> $a);
                """))
            {
                clear.Parameters.AddWithValue("$w", commit.WatchId);
                clear.Parameters.AddWithValue("$a", commit.AttemptId);
                var others = (long)(await clear.ExecuteScalarAsync(cancellationToken))! != 0;
                clear.Parameters.Clear();
                clear.CommandText = others ? "DELETE FROM snapshot_staging WHERE watch_id = $w AND attempt_id = $a;" : "DELETE FROM snapshot_staging;";
                clear.Parameters.AddWithValue("$w", commit.WatchId);
                clear.Parameters.AddWithValue("$a", commit.AttemptId);
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }

            var forgotten = commit.Forgotten.Select(id => new SnapshotWrite(id, null)).ToList();
            var rows = new SyncCommit(commit.WatchId, commit.CalendarId, commit.DetectedAt, forgotten, commit.Changes, commit.NextSyncToken);
            await WriteSnapshotsAsync(connection, transaction, rows, cancellationToken);
            var changes = await AppendChangesAsync(connection, transaction, rows, cancellationToken);
            await StoreSyncTokenAsync(connection, transaction, rows, cancellationToken);
            return changes;
        }, cancellationToken);
    }
}

[JsonSerializable(typeof(IReadOnlyCollection<string>))]
internal sealed partial class StagingJsonContext : JsonSerializerContext;
