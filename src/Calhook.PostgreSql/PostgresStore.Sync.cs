using System.Text;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Calhook.PostgreSql;

// Sync state, snapshots and the change log.
internal sealed partial class PostgresStore
{
    private const string ChangeColumns =
        "sequence, id, type, watch_id, calendar_id, event_id, recurring_event_id, original_start_time, event_json, previous_json, diff_json, detected_at, split_from, calendar_json";

    public async Task<SyncState> GetSyncStateAsync(string watchId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT sync_token, last_sync_at FROM sync_state WHERE watch_id = @w;");
        command.Parameters.AddWithValue("w", watchId);
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

        // The ids travel as one array parameter: one statement however many ids.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT event_id, json FROM snapshots WHERE watch_id = @w AND event_id = ANY(@ids);");
        command.Parameters.AddWithValue("w", watchId);
        command.Parameters.AddWithValue("ids", eventIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            snapshots[reader.GetString(0)] = reader.GetString(1);
        }

        return snapshots;
    }

    public async Task<IReadOnlyList<string>> ListSnapshotIdsAsync(string watchId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT event_id FROM snapshots WHERE watch_id = @w ORDER BY event_id COLLATE \"C\";");
        command.Parameters.AddWithValue("w", watchId);
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
        return WriteAsync<IReadOnlyList<Change>>(async (connection, transaction) =>
        {
            if (await IsCalendarRemovedAsync(connection, transaction, commit.WatchId, cancellationToken))
            {
                return [];
            }

            // The fence is the first write: a superseded commit throws before it wrote anything (the transaction rolls back).
            if (!await ClaimSyncTokenAsync(connection, transaction, commit.WatchId, commit.ExpectedSyncToken, commit.NextSyncToken, commit.DetectedAt, cancellationToken))
            {
                throw new SyncSupersededException(commit.WatchId);
            }

            await WriteSnapshotsAsync(connection, transaction, commit.WatchId, commit.Snapshots, cancellationToken);
            return await AppendChangesAsync(connection, transaction, commit, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// The fence of a sync commit (invariant 5 across processes): stores the next sync token and the sync time only when
    /// the watch's stored token is still <paramref name="expected"/> (null matches a watch before its baseline); false,
    /// writing nothing, when another sync committed since this one read the token. It is the transaction's first
    /// write: the UPDATE locks the watch's row until the commit, so a second committer of the same watch waits for it
    /// and, under READ COMMITTED, re-checks the WHERE against the row the first one committed and matches nothing.
    /// The check and the write are therefore one step across instances, and nothing is written before it.
    /// A watch's row is created with it; one missing is created by a baseline (ON CONFLICT: a racing creator wins).
    /// </summary>
    private static async Task<bool> ClaimSyncTokenAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string watchId, string? expected,
        string next, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var claim = Command(connection, transaction,
            "UPDATE sync_state SET sync_token = @token, last_sync_at = @at WHERE watch_id = @w AND sync_token IS NOT DISTINCT FROM @expected;");
        claim.Parameters.AddWithValue("w", watchId);
        claim.Parameters.AddWithValue("token", next);
        claim.Parameters.AddWithValue("at", StoreText.Time(at));
        claim.Parameters.Add(new NpgsqlParameter("expected", NpgsqlDbType.Text) { Value = (object?)expected ?? DBNull.Value });
        if (await claim.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            return true;
        }

        if (expected is not null)
        {
            return false;
        }

        claim.CommandText = "INSERT INTO sync_state (watch_id, sync_token, last_sync_at) VALUES (@w, @token, @at) ON CONFLICT (watch_id) DO NOTHING;";
        return await claim.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Upserts and deletes every snapshot with one statement each (the rows travel as arrays).</summary>
    private static async Task WriteSnapshotsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string watchId, IReadOnlyList<SnapshotWrite> snapshots, CancellationToken cancellationToken)
    {
        if (snapshots.Count == 0)
        {
            return;
        }

        // Within one commit the last write of an event wins, as it would row by row.
        var last = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var snapshot in snapshots)
        {
            last[snapshot.EventId] = snapshot.Json;
        }

        var deleted = last.Where(p => p.Value is null).Select(p => p.Key).ToArray();
        if (deleted.Length > 0)
        {
            await using var delete = Command(connection, transaction, "DELETE FROM snapshots WHERE watch_id = @w AND event_id = ANY(@ids);");
            delete.Parameters.AddWithValue("w", watchId);
            delete.Parameters.AddWithValue("ids", deleted);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        var written = last.Where(p => p.Value is not null).ToArray();
        if (written.Length > 0)
        {
            await using var upsert = Command(connection, transaction, """
                INSERT INTO snapshots (watch_id, event_id, json) SELECT @w, e, j FROM unnest(@ids, @jsons) AS t(e, j)
                ON CONFLICT (watch_id, event_id) DO UPDATE SET json = excluded.json;
                """);
            upsert.Parameters.AddWithValue("w", watchId);
            upsert.Parameters.AddWithValue("ids", written.Select(p => p.Key).ToArray());
            upsert.Parameters.AddWithValue("jsons", written.Select(p => p.Value!).ToArray());
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Appends the changes with the next sequences. Updating the counter row locks it until this transaction ends, so
    /// a concurrent committer waits here until this one has committed (or rolled back): sequences become visible in
    /// order, without gaps. This is the last statement of the transaction, so the lock is held for as short as possible.
    /// The commit also notifies <see cref="ChangesChannel"/>, delivered to listeners when (and only if) it commits.
    /// </summary>
    private static async Task<IReadOnlyList<Change>> AppendChangesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, SyncCommit commit, CancellationToken cancellationToken)
    {
        if (commit.Changes.Count == 0)
        {
            return [];
        }

        // One statement: the counter's row is locked from here to the commit, one round trip later.
        long last;
        await using (var insert = Command(connection, transaction, $"""
            WITH taken AS (UPDATE change_sequence SET last = last + @n WHERE id = 1 RETURNING last),
            appended AS (
                INSERT INTO changes ({ChangeColumns})
                SELECT taken.last - @n + x.o, i, t, @w, @calendar, e, r, o_, j, p, d, @at, f, NULL
                FROM taken, unnest(@ids, @types, @events, @recurring, @original, @json, @previous, @diff, @split)
                    WITH ORDINALITY AS x(i, t, e, r, o_, j, p, d, f, o))
            SELECT taken.last, pg_notify('{ChangesChannel}', taken.last::text) FROM taken;
            """))
        {
            insert.Parameters.AddWithValue("n", (long)commit.Changes.Count);
            insert.Parameters.AddWithValue("w", commit.WatchId);
            insert.Parameters.AddWithValue("calendar", commit.CalendarId);
            insert.Parameters.AddWithValue("at", StoreText.Time(commit.DetectedAt));
            insert.Parameters.AddWithValue("ids", commit.Changes.Select(c => c.Id).ToArray());
            insert.Parameters.AddWithValue("types", commit.Changes.Select(c => c.Type).ToArray());
            insert.Parameters.AddWithValue("events", commit.Changes.Select(c => c.EventId).ToArray());
            TextArray(insert, "recurring", commit.Changes.Select(c => c.RecurringEventId));
            TextArray(insert, "original", commit.Changes.Select(c => c.OriginalStartTimeJson));
            TextArray(insert, "json", commit.Changes.Select(c => c.EventJson));
            TextArray(insert, "previous", commit.Changes.Select(c => c.PreviousJson));
            insert.Parameters.AddWithValue("diff", commit.Changes.Select(c => StoreText.Diff(c.Diff)).ToArray());
            TextArray(insert, "split", commit.Changes.Select(c => c.SplitFrom));
            last = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
        }

        var first = last - commit.Changes.Count + 1;
        var sequences = Enumerable.Range(0, commit.Changes.Count).Select(i => first + i).ToArray();
        return commit.Changes.Select((change, i) => new Change
        {
            Id = change.Id,
            Sequence = sequences[i],
            Type = change.Type,
            CalendarId = commit.CalendarId,
            EventId = change.EventId,
            WatchId = commit.WatchId,
            DetectedAt = commit.DetectedAt,
            RecurringEventId = change.RecurringEventId,
            OriginalStartTime = StoreText.Element(change.OriginalStartTimeJson),
            SplitFrom = change.SplitFrom,
            Event = StoreText.Element(change.EventJson),
            Previous = StoreText.Element(change.PreviousJson),
            Diff = change.Diff,
        }).ToList();
    }

    private static void TextArray(NpgsqlCommand command, string name, IEnumerable<string?> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() });

    public async Task<IReadOnlyList<Change>> ReadChangesAsync(ChangeQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Limit);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, "");
        var sql = new StringBuilder($"SELECT {ChangeColumns} FROM changes WHERE sequence > @after");
        command.Parameters.AddWithValue("after", query.After);
        if (query.CalendarId is not null)
        {
            sql.Append(" AND calendar_id = @calendar");
            command.Parameters.AddWithValue("calendar", query.CalendarId);
        }

        if (query.Types is { Count: > 0 } types)
        {
            sql.Append(" AND type = ANY(@types)");
            command.Parameters.AddWithValue("types", types.ToArray());
        }

        sql.Append(" ORDER BY sequence LIMIT @limit;");
        command.Parameters.AddWithValue("limit", query.Limit);
        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var changes = new List<Change>();
        while (await reader.ReadAsync(cancellationToken))
        {
            changes.Add(ReadChange(reader, 0));
        }

        return changes;
    }

    /// <summary>The change whose <see cref="ChangeColumns"/> start at column <paramref name="first"/>.</summary>
    private static Change ReadChange(NpgsqlDataReader reader, int first) => new()
    {
        Sequence = reader.GetInt64(first),
        Id = reader.GetString(first + 1),
        Type = reader.GetString(first + 2),
        WatchId = reader.GetString(first + 3),
        CalendarId = reader.GetString(first + 4),
        EventId = reader.GetString(first + 5),
        RecurringEventId = NullableString(reader, first + 6),
        OriginalStartTime = StoreText.Element(NullableString(reader, first + 7)),
        Event = StoreText.Element(NullableString(reader, first + 8)),
        Previous = StoreText.Element(NullableString(reader, first + 9)),
        Diff = StoreText.ParseDiff(reader.GetString(first + 10)),
        DetectedAt = StoreText.ParseTime(reader.GetString(first + 11)),
        SplitFrom = NullableString(reader, first + 12),
        Calendar = StoreText.Element(NullableString(reader, first + 13)),
    };

    /// <summary>The counter, not MAX(sequence): it moves only when a commit is visible, so it never names a change a reader cannot read yet.</summary>
    public async Task<long> GetLastSequenceAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT last FROM change_sequence WHERE id = 1;");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
