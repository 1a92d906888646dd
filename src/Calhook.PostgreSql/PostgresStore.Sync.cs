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

    /// <summary>
    /// One round trip: the statements travel as one batch, which PostgreSQL runs as one implicit transaction. The first
    /// statement checks that the calendar was not removed (locking the watch's row against a concurrent removal) and
    /// claims the sync token (the fence, <see cref="ClaimSyncTokenAsync"/>: the same UPDATE, or the INSERT of a
    /// baseline); it marks the claim in a transaction-local setting, and every later write of the batch runs only when
    /// that mark names this watch. A commit of a removed calendar or a superseded sync therefore writes nothing.
    /// </summary>
    public async Task<IReadOnlyList<Change>> CommitSyncAsync(SyncCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, "");
        var sql = new StringBuilder("""
            WITH removed AS (SELECT status = 'stopped' AND stop_reason IS NOT NULL AS gone FROM watches WHERE id = @w FOR SHARE),
            updated AS (
                UPDATE sync_state SET sync_token = @token, last_sync_at = @at
                WHERE watch_id = @w AND sync_token IS NOT DISTINCT FROM @expected AND NOT EXISTS (SELECT 1 FROM removed WHERE gone)
                RETURNING 1),
            created AS (
                INSERT INTO sync_state (watch_id, sync_token, last_sync_at)
                SELECT @w, @token, @at WHERE @expected IS NULL AND NOT EXISTS (SELECT 1 FROM updated) AND NOT EXISTS (SELECT 1 FROM removed WHERE gone)
                ON CONFLICT (watch_id) DO NOTHING
                RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM removed WHERE gone),
                   set_config('calhook.claim', CASE WHEN EXISTS (SELECT 1 FROM updated) OR EXISTS (SELECT 1 FROM created) THEN @w ELSE '' END, true) = @w;
            """);
        command.Parameters.AddWithValue("w", commit.WatchId);
        command.Parameters.AddWithValue("token", commit.NextSyncToken);
        command.Parameters.AddWithValue("at", StoreText.Time(commit.DetectedAt));
        command.Parameters.Add(new NpgsqlParameter("expected", NpgsqlDbType.Text) { Value = (object?)commit.ExpectedSyncToken ?? DBNull.Value });
        AddSnapshotStatements(command, sql, commit.Snapshots, Claimed);
        if (commit.Changes.Count > 0)
        {
            sql.Append(AppendSql(Claimed));
            AddAppendParameters(command, commit);
        }

        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var (removed, claimed) = (reader.GetBoolean(0), reader.GetBoolean(1));
        if (removed)
        {
            return [];
        }

        if (!claimed)
        {
            throw new SyncSupersededException(commit.WatchId);
        }

        if (commit.Changes.Count == 0)
        {
            return [];
        }

        // The snapshot statements return no rows; the append's row comes after them.
        while (await reader.NextResultAsync(cancellationToken) && reader.FieldCount == 0)
        {
        }

        await reader.ReadAsync(cancellationToken);
        return ToChanges(commit, reader.GetInt64(0));
    }

    /// <summary>The condition on the writes of <see cref="CommitSyncAsync"/>'s batch: its first statement claimed this watch's token.</summary>
    private const string Claimed = " AND current_setting('calhook.claim', true) = @w";

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
        await using var command = Command(connection, transaction, "");
        command.Parameters.AddWithValue("w", watchId);
        var sql = new StringBuilder();
        AddSnapshotStatements(command, sql, snapshots, "");
        if (sql.Length > 0)
        {
            command.CommandText = sql.ToString();
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Adds to <paramref name="sql"/> the statements that delete and upsert <paramref name="snapshots"/> of the watch
    /// <c>@w</c> (none when there are none), each with the extra condition <paramref name="guard"/>.
    /// </summary>
    private static void AddSnapshotStatements(NpgsqlCommand command, StringBuilder sql, IReadOnlyList<SnapshotWrite> snapshots, string guard)
    {
        // Within one commit the last write of an event wins, as it would row by row.
        var last = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var snapshot in snapshots)
        {
            last[snapshot.EventId] = snapshot.Json;
        }

        var deleted = last.Where(p => p.Value is null).Select(p => p.Key).ToArray();
        if (deleted.Length > 0)
        {
            sql.Append($"DELETE FROM snapshots WHERE watch_id = @w AND event_id = ANY(@deleted){guard};\n");
            command.Parameters.AddWithValue("deleted", deleted);
        }

        var written = last.Where(p => p.Value is not null).ToArray();
        if (written.Length > 0)
        {
            sql.Append($"""
                INSERT INTO snapshots (watch_id, event_id, json) SELECT @w, e, j FROM unnest(@written, @jsons) AS t(e, j) WHERE true{guard}
                ON CONFLICT (watch_id, event_id) DO UPDATE SET json = excluded.json;

                """);
            command.Parameters.AddWithValue("written", written.Select(p => p.Key).ToArray());
            command.Parameters.AddWithValue("jsons", written.Select(p => p.Value!).ToArray());
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
        await using var insert = Command(connection, transaction, AppendSql(""));
        insert.Parameters.AddWithValue("w", commit.WatchId);
        insert.Parameters.AddWithValue("at", StoreText.Time(commit.DetectedAt));
        AddAppendParameters(insert, commit);
        return ToChanges(commit, (long)(await insert.ExecuteScalarAsync(cancellationToken))!);
    }

    /// <summary>The statement that appends the changes (<see cref="AddAppendParameters"/>); it returns the last sequence taken, or no row when <paramref name="guard"/> is false.</summary>
    private static string AppendSql(string guard) => $"""
        WITH taken AS (UPDATE change_sequence SET last = last + @n WHERE id = 1{guard} RETURNING last),
        appended AS (
            INSERT INTO changes ({ChangeColumns})
            SELECT taken.last - @n + x.o, i, t, @w, @calendar, e, r, o_, j, p, d, @at, f, NULL
            FROM taken, unnest(@ids, @types, @events, @recurring, @original, @json, @previous, @diff, @split)
                WITH ORDINALITY AS x(i, t, e, r, o_, j, p, d, f, o))
        SELECT taken.last, pg_notify('{ChangesChannel}', taken.last::text) FROM taken;

        """;

    /// <summary>The parameters of <see cref="AppendSql"/> but <c>@w</c> and <c>@at</c>, which the caller adds (a commit's other statements share them).</summary>
    private static void AddAppendParameters(NpgsqlCommand insert, SyncCommit commit)
    {
        insert.Parameters.AddWithValue("n", (long)commit.Changes.Count);

        insert.Parameters.AddWithValue("calendar", commit.CalendarId);
        insert.Parameters.AddWithValue("ids", commit.Changes.Select(c => c.Id).ToArray());
        insert.Parameters.AddWithValue("types", commit.Changes.Select(c => c.Type).ToArray());
        insert.Parameters.AddWithValue("events", commit.Changes.Select(c => c.EventId).ToArray());
        TextArray(insert, "recurring", commit.Changes.Select(c => c.RecurringEventId));
        TextArray(insert, "original", commit.Changes.Select(c => c.OriginalStartTimeJson));
        TextArray(insert, "json", commit.Changes.Select(c => c.EventJson));
        TextArray(insert, "previous", commit.Changes.Select(c => c.PreviousJson));
        insert.Parameters.AddWithValue("diff", commit.Changes.Select(c => StoreText.Diff(c.Diff)).ToArray());
        TextArray(insert, "split", commit.Changes.Select(c => c.SplitFrom));
    }

    /// <summary>The committed changes, numbered up to <paramref name="last"/>.</summary>
    private static List<Change> ToChanges(SyncCommit commit, long last)
    {
        var first = last - commit.Changes.Count + 1;
        return commit.Changes.Select((change, i) => new Change
        {
            Id = change.Id,
            Sequence = first + i,
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
