using Calhook.Changes;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Sync state, snapshots and the change log.
internal sealed partial class SqliteStore
{
    public async Task<SyncState> GetSyncStateAsync(string watchId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT sync_token, last_sync_at FROM sync_state WHERE watch_id = $w;");
        command.Parameters.AddWithValue("$w", watchId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SyncState(NullableString(reader, 0), NullableTime(reader, 1))
            : new SyncState(null, null);
    }

    public async Task<IReadOnlyDictionary<string, string>> GetSnapshotsAsync(string watchId, IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eventIds);
        var snapshots = new Dictionary<string, string>(StringComparer.Ordinal);
        if (eventIds.Count == 0)
        {
            return snapshots;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT json FROM snapshots WHERE watch_id = $w AND generation = {CurrentGeneration} AND event_id = $e;");
        command.Parameters.AddWithValue("$w", watchId);
        var eventId = command.Parameters.Add("$e", SqliteType.Text);
        command.Prepare();
        foreach (var id in eventIds)
        {
            // One prepared point lookup per id: a page holds at most a few thousand events, and this keeps the
            // statement free of a variable-length IN list.
            eventId.Value = id;
            if (await command.ExecuteScalarAsync(cancellationToken) is string json)
            {
                snapshots[id] = json;
            }
        }

        return snapshots;
    }

    public async Task<IReadOnlyList<string>> ListSnapshotIdsAsync(string watchId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT event_id FROM snapshots WHERE watch_id = $w AND generation = {CurrentGeneration} ORDER BY event_id;");
        command.Parameters.AddWithValue("$w", watchId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public Task<IReadOnlyList<Change>> CommitSyncAsync(SyncCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        // Grouped: syncs of many calendars committing at once share one transaction (see WriteGroupedAsync).
        return WriteGroupedAsync(async (connection, transaction) =>
        {
            if (await IsCalendarRemovedAsync(connection, transaction, commit.WatchId, cancellationToken))
            {
                return [];
            }

            var generation = await CurrentGenerationAsync(connection, transaction, commit.WatchId, cancellationToken);
            await WriteSnapshotsAsync(connection, transaction, commit, generation, cancellationToken);
            var changes = await AppendChangesAsync(connection, transaction, commit, cancellationToken);
            await StoreSyncTokenAsync(connection, transaction, commit, generation, cancellationToken);
            return changes;
        }, cancellationToken);
    }

    /// <summary>The snapshot generation a watch reads: the full list that last committed (see migration 6).</summary>
    private const string CurrentGeneration = "COALESCE((SELECT generation FROM sync_state WHERE watch_id = $w), '')";

    private static async Task<string> CurrentGenerationAsync(SqliteConnection connection, SqliteTransaction transaction, string watchId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT {CurrentGeneration};");
        command.Parameters.AddWithValue("$w", watchId);
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task StoreSyncTokenAsync(SqliteConnection connection, SqliteTransaction transaction, SyncCommit commit, string generation, CancellationToken cancellationToken)
    {
        await using var state = Command(connection, transaction, """
            INSERT INTO sync_state (watch_id, sync_token, last_sync_at, generation) VALUES ($w, $token, $at, $g)
            ON CONFLICT (watch_id) DO UPDATE SET sync_token = excluded.sync_token, last_sync_at = excluded.last_sync_at, generation = excluded.generation;
            """);
        state.Parameters.AddWithValue("$w", commit.WatchId);
        state.Parameters.AddWithValue("$g", generation);
        state.Parameters.AddWithValue("$token", commit.NextSyncToken);
        state.Parameters.AddWithValue("$at", StoreText.Time(commit.DetectedAt));
        await state.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<Change>> ReadChangesAsync(ChangeQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Limit);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "");
        var sql = new System.Text.StringBuilder($"SELECT {ChangeColumns} FROM changes WHERE sequence > $after");
        command.Parameters.AddWithValue("$after", query.After);
        if (query.CalendarId is not null)
        {
            sql.Append(" AND calendar_id = $calendar");
            command.Parameters.AddWithValue("$calendar", query.CalendarId);
        }

        if (query.Types is { Count: > 0 } types)
        {
            var names = types.Select((type, i) => { command.Parameters.AddWithValue($"$t{i}", type); return $"$t{i}"; });
            sql.Append(" AND type IN (").AppendJoin(", ", names).Append(')');
        }

        sql.Append(" ORDER BY sequence LIMIT $limit;");
        command.Parameters.AddWithValue("$limit", query.Limit);
        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var changes = new List<Change>();
        while (await reader.ReadAsync(cancellationToken))
        {
            changes.Add(ReadChange(reader));
        }

        return changes;
    }

    public async Task<long> GetLastSequenceAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await LastSequenceAsync(connection, null, cancellationToken);
    }
}
