using Calhook.Changes;
using Calhook.Storage;
using NpgsqlTypes;

namespace Calhook.PostgreSql;

// Full lists staged page by page (the baseline and the resync after a 410), and the commit that ends them.
internal sealed partial class PostgresStore
{
    public Task ClearStagingAsync(string watchId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "DELETE FROM snapshot_staging WHERE watch_id = @w;");
            command.Parameters.AddWithValue("w", watchId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public async Task StageSnapshotsAsync(string watchId, string attemptId, IReadOnlyList<StagedSnapshot> rows, bool final, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return;
        }

        // Binary COPY: the fastest way in, in list order (the identity column keeps it).
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var writer = await connection.BeginBinaryImportAsync(
            "COPY snapshot_staging (watch_id, attempt_id, event_id, json) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var row in rows)
        {
            await writer.StartRowAsync(cancellationToken);
            await writer.WriteAsync(watchId, NpgsqlDbType.Text, cancellationToken);
            await writer.WriteAsync(attemptId, NpgsqlDbType.Text, cancellationToken);
            await writer.WriteAsync(row.EventId, NpgsqlDbType.Text, cancellationToken);
            await writer.WriteAsync(row.Json, NpgsqlDbType.Bytea, cancellationToken);
        }

        await writer.CompleteAsync(cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, byte[]>> GetSnapshotBytesAsync(string watchId, IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eventIds);
        var snapshots = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (eventIds.Count == 0)
        {
            return snapshots;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT event_id, convert_to(json, 'UTF8') FROM snapshots WHERE watch_id = @w AND event_id = ANY(@ids);
            """);
        command.Parameters.AddWithValue("w", watchId);
        command.Parameters.AddWithValue("ids", eventIds.ToArray());
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
        return CommitOrDiscardAsync(commit, cancellationToken);
    }

    private async Task<IReadOnlyList<Change>> CommitOrDiscardAsync(FullSyncCommit commit, CancellationToken cancellationToken)
    {
        var changes = await WriteAsync<IReadOnlyList<Change>?>(async (connection, transaction) =>
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

            // For a repeated event the later staged row (higher id) wins.
            await using (var move = Command(connection, transaction, """
                INSERT INTO snapshots (watch_id, event_id, json)
                SELECT DISTINCT ON (event_id) watch_id, event_id, convert_from(json, 'UTF8') FROM snapshot_staging
                WHERE watch_id = @w AND attempt_id = @a ORDER BY event_id, id DESC
                ON CONFLICT (watch_id, event_id) DO UPDATE SET json = excluded.json;
                DELETE FROM snapshot_staging WHERE watch_id = @w AND attempt_id = @a;
                """))
            {
                move.Parameters.AddWithValue("w", commit.WatchId);
                move.Parameters.AddWithValue("a", commit.AttemptId);
                await move.ExecuteNonQueryAsync(cancellationToken);
            }

            var forgotten = commit.Forgotten.Select(id => new SnapshotWrite(id, null)).ToList();
            var rows = new SyncCommit(commit.WatchId, commit.CalendarId, commit.DetectedAt, forgotten, commit.Changes, commit.NextSyncToken, commit.ExpectedSyncToken);
            await WriteSnapshotsAsync(connection, transaction, rows.WatchId, rows.Snapshots, cancellationToken);
            return await AppendChangesAsync(connection, transaction, rows, cancellationToken);
        }, cancellationToken);
        return changes ?? throw new SyncSupersededException(commit.WatchId);
    }

    /// <summary>Deletes the attempt's staged rows, and nothing else.</summary>
    private static async Task DiscardAttemptAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, FullSyncCommit commit, CancellationToken cancellationToken)
    {
        await using var discard = Command(connection, transaction, "DELETE FROM snapshot_staging WHERE watch_id = @w AND attempt_id = @a;");
        discard.Parameters.AddWithValue("w", commit.WatchId);
        discard.Parameters.AddWithValue("a", commit.AttemptId);
        await discard.ExecuteNonQueryAsync(cancellationToken);
    }
}
