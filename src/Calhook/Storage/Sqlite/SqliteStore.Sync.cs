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
        if (await CurrentSetAsync(connection, null, watchId, cancellationToken) is not { } set)
        {
            return snapshots;
        }

        await using var command = Command(connection, null, "SELECT json FROM snapshots WHERE set_id = $s AND event_id = $e;");
        command.Parameters.AddWithValue("$s", set);
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
        await using var command = Command(connection, null, $"SELECT event_id FROM snapshots WHERE set_id = {CurrentSet} ORDER BY event_id;");
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

            // The fence first: a superseded commit throws here, before it wrote anything (its savepoint is rolled back).
            if (!await ClaimSyncTokenAsync(connection, transaction, commit.WatchId, commit.ExpectedSyncToken, commit.NextSyncToken, commit.DetectedAt, cancellationToken))
            {
                throw new SyncSupersededException(commit.WatchId);
            }

            if (commit.Snapshots.Count > 0)
            {
                var set = await CurrentSetAsync(connection, transaction, commit.WatchId, cancellationToken)
                    ?? await NewCurrentSetAsync(connection, transaction, commit.WatchId, cancellationToken);
                await WriteSnapshotsAsync(connection, transaction, commit, set, cancellationToken);
            }

            return await AppendChangesAsync(connection, transaction, commit, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// The fence of a sync commit (invariant 5 across processes): stores the next sync token and the sync time only when
    /// the watch's stored token is still <paramref name="expected"/> (<c>IS</c>: null matches a watch before its
    /// baseline); false, writing nothing, when another sync committed since this one read the token. The caller holds
    /// the write lock (an immediate transaction), so the check and the write are one step for every process on the file.
    /// A watch's row is created with it; one missing (a watch older than its sync state) is created by a baseline.
    /// </summary>
    private static async Task<bool> ClaimSyncTokenAsync(SqliteConnection connection, SqliteTransaction transaction, string watchId, string? expected,
        string next, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var claim = Command(connection, transaction,
            "UPDATE sync_state SET sync_token = $token, last_sync_at = $at WHERE watch_id = $w AND sync_token IS $expected;");
        claim.Parameters.AddWithValue("$w", watchId);
        claim.Parameters.AddWithValue("$token", next);
        claim.Parameters.AddWithValue("$at", StoreText.Time(at));
        claim.Parameters.AddWithValue("$expected", (object?)expected ?? DBNull.Value);
        if (await claim.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            return true;
        }

        if (expected is not null)
        {
            return false;
        }

        claim.CommandText = "INSERT INTO sync_state (watch_id, sync_token, last_sync_at) VALUES ($w, $token, $at) ON CONFLICT (watch_id) DO NOTHING;";
        return await claim.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// The snapshot set a watch reads (see migration 12): the one its last full list committed, as a scalar subquery on
    /// <c>$w</c> that SQLite evaluates once per statement. NULL (nothing stored yet) matches no row.
    /// </summary>
    private const string CurrentSet = "(SELECT snapshot_set FROM sync_state WHERE watch_id = $w)";

    private static async Task<long?> CurrentSetAsync(SqliteConnection connection, SqliteTransaction? transaction, string watchId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT {CurrentSet};");
        command.Parameters.AddWithValue("$w", watchId);
        return await command.ExecuteScalarAsync(cancellationToken) is long set ? set : null;
    }

    /// <summary>
    /// Gives a watch that has no current snapshot set (an incremental commit before any full list did) an empty one
    /// and makes it current. The caller claimed the sync token, so the watch's sync_state row exists.
    /// </summary>
    private static async Task<long> NewCurrentSetAsync(SqliteConnection connection, SqliteTransaction transaction, string watchId, CancellationToken cancellationToken)
    {
        // The attempt name '' is never a full list's; a set of that name that is not current holds only invisible rows.
        await using var command = Command(connection, transaction, """
            DELETE FROM snapshots WHERE set_id = (SELECT id FROM snapshot_sets WHERE watch_id = $w AND attempt = '');
            DELETE FROM snapshot_sets WHERE watch_id = $w AND attempt = '';
            INSERT INTO snapshot_sets (watch_id, attempt) VALUES ($w, '');
            UPDATE sync_state SET snapshot_set = last_insert_rowid() WHERE watch_id = $w;
            SELECT snapshot_set FROM sync_state WHERE watch_id = $w;
            """);
        command.Parameters.AddWithValue("$w", watchId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<Change>> ReadChangesAsync(ChangeQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Limit);
        await using var connection = await OpenAsync(cancellationToken);

        // The SQL text is built first, so each of its few shapes is a prepared command the connection keeps.
        var sql = new System.Text.StringBuilder($"SELECT {ChangeColumns} FROM changes WHERE sequence > $after");
        if (query.CalendarId is not null)
        {
            sql.Append(" AND calendar_id = $calendar");
        }

        var types = query.Types is { Count: > 0 } given ? given.ToList() : [];
        if (types.Count > 0)
        {
            sql.Append(" AND type IN (").AppendJoin(", ", types.Select((_, i) => $"$t{i}")).Append(')');
        }

        sql.Append(" ORDER BY sequence LIMIT $limit;");
        await using var command = Command(connection, null, sql.ToString());
        command.Parameters.AddWithValue("$after", query.After);
        if (query.CalendarId is not null)
        {
            command.Parameters.AddWithValue("$calendar", query.CalendarId);
        }

        for (var i = 0; i < types.Count; i++)
        {
            command.Parameters.AddWithValue($"$t{i}", types[i]);
        }

        command.Parameters.AddWithValue("$limit", query.Limit);
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
