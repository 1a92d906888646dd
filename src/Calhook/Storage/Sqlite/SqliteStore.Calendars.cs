using Calhook.Changes;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Calendar lists: the per-account calendar-list watch, its entry snapshots and calendar-level changes.
internal sealed partial class SqliteStore
{
    public Task<(WatchRecord Watch, bool Created)> EnsureCalendarListWatchAsync(string accountId, string newWatchId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        return WriteAsync<(WatchRecord, bool)>(async (connection, transaction) =>
        {
            await using (var find = Command(connection, transaction,
                "SELECT id, created_at FROM watches WHERE account_id = $a AND kind = 'calendarList' AND status <> 'stopped' LIMIT 1;"))
            {
                find.Parameters.AddWithValue("$a", accountId);
                await using var reader = await find.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    return (new WatchRecord(reader.GetString(0), accountId, "", WatchStatus.Active, null, StoreText.ParseTime(reader.GetString(1)),
                        null, null, Kind: WatchKind.CalendarList), false);
                }
            }

            await using var insert = Command(connection, transaction, """
                INSERT INTO watches (id, account_id, calendar_id, status, created_at, kind) VALUES ($id, $a, '', 'starting', $now, 'calendarList');
                INSERT INTO sync_state (watch_id, sync_token, last_sync_at) VALUES ($id, NULL, NULL);
                """);
            insert.Parameters.AddWithValue("$id", newWatchId);
            insert.Parameters.AddWithValue("$a", accountId);
            insert.Parameters.AddWithValue("$now", StoreText.Time(now));
            await insert.ExecuteNonQueryAsync(cancellationToken);
            return (new WatchRecord(newWatchId, accountId, "", WatchStatus.Starting, null, now, null, null, Kind: WatchKind.CalendarList), true);
        }, cancellationToken);
    }

    public async Task<CalendarListState> GetCalendarListStateAsync(string watchId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT s.sync_token, c.last_full_list_at FROM sync_state s LEFT JOIN calendar_list_state c ON c.watch_id = s.watch_id
            WHERE s.watch_id = $w;
            """);
        command.Parameters.AddWithValue("$w", watchId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new CalendarListState(NullableString(reader, 0), NullableTime(reader, 1))
            : new CalendarListState(null, null);
    }

    public async Task<IReadOnlyDictionary<string, string>> GetCalendarEntriesAsync(string watchId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT calendar_id, json FROM calendar_entries WHERE watch_id = $w;");
        command.Parameters.AddWithValue("$w", watchId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries[reader.GetString(0)] = reader.GetString(1);
        }

        return entries;
    }

    public Task<IReadOnlyList<Change>> CommitCalendarListAsync(CalendarListCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return WriteAsync<IReadOnlyList<Change>>(async (connection, transaction) =>
        {
            // The fence first (a list that stores a token): one overtaken by another sync of the watch writes nothing.
            if (commit.NextSyncToken is not null
                && !await ClaimSyncTokenAsync(connection, transaction, commit.WatchId, commit.ExpectedSyncToken, commit.NextSyncToken, commit.DetectedAt, cancellationToken))
            {
                throw new SyncSupersededException(commit.WatchId);
            }

            if (commit.FullList)
            {
                await using var clear = Command(connection, transaction, "DELETE FROM calendar_entries WHERE watch_id = $w;");
                clear.Parameters.AddWithValue("$w", commit.WatchId);
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var entry in commit.Entries)
            {
                await using var write = Command(connection, transaction, entry.Json is null
                    ? "DELETE FROM calendar_entries WHERE watch_id = $w AND calendar_id = $c;"
                    : "INSERT INTO calendar_entries (watch_id, calendar_id, json) VALUES ($w, $c, $j) ON CONFLICT (watch_id, calendar_id) DO UPDATE SET json = excluded.json;");
                write.Parameters.AddWithValue("$w", commit.WatchId);
                write.Parameters.AddWithValue("$c", entry.CalendarId);
                write.Parameters.AddWithValue("$j", (object?)entry.Json ?? DBNull.Value);
                await write.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var stop in commit.Stops)
            {
                await using var update = Command(connection, transaction, "UPDATE watches SET status = 'stopped', stop_reason = $r WHERE id = $id AND status <> 'stopped';");
                update.Parameters.AddWithValue("$id", stop.WatchId);
                update.Parameters.AddWithValue("$r", stop.Reason);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            var appended = await AppendCalendarChangesAsync(connection, transaction, commit, cancellationToken);
            if (commit.NextSyncToken is not null)
            {
                await using var state = Command(connection, transaction, "UPDATE watches SET status = 'active' WHERE id = $w AND status = 'starting';");
                state.Parameters.AddWithValue("$w", commit.WatchId);
                await state.ExecuteNonQueryAsync(cancellationToken);
            }

            if (commit.FullList)
            {
                await using var full = Command(connection, transaction, """
                    INSERT INTO calendar_list_state (watch_id, last_full_list_at) VALUES ($w, $at)
                    ON CONFLICT (watch_id) DO UPDATE SET last_full_list_at = excluded.last_full_list_at;
                    """);
                full.Parameters.AddWithValue("$w", commit.WatchId);
                full.Parameters.AddWithValue("$at", StoreText.Time(commit.DetectedAt));
                await full.ExecuteNonQueryAsync(cancellationToken);
            }

            return appended;
        }, cancellationToken);
    }

    /// <summary>
    /// Whether the watch was stopped because its calendar left the account (a calendar-list commit stopped it with a
    /// reason). An event sync of such a watch that commits afterwards writes nothing: <c>calendar.removed</c> is the
    /// last change of that calendar. The caller holds the write lock, so no stop can land between this and its writes.
    /// </summary>
    private static async Task<bool> IsCalendarRemovedAsync(SqliteConnection connection, SqliteTransaction transaction, string watchId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction,
            "SELECT EXISTS (SELECT 1 FROM watches WHERE id = $w AND status = 'stopped' AND stop_reason IS NOT NULL);");
        command.Parameters.AddWithValue("$w", watchId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! != 0;
    }

    private static string KindText(WatchKind kind) => kind switch
    {
        WatchKind.CalendarList => "calendarList",
        WatchKind.AllCalendars => "allCalendars",
        _ => "calendar",
    };

    private static WatchKind ParseKind(string text) => text switch
    {
        "calendarList" => WatchKind.CalendarList,
        "allCalendars" => WatchKind.AllCalendars,
        _ => WatchKind.Calendar,
    };

    private static async Task<IReadOnlyList<Change>> AppendCalendarChangesAsync(SqliteConnection connection, SqliteTransaction transaction,
        CalendarListCommit commit, CancellationToken cancellationToken)
    {
        if (commit.Changes.Count == 0)
        {
            return [];
        }

        var sequence = await LastSequenceAsync(connection, transaction, cancellationToken);
        var changes = new List<Change>(commit.Changes.Count);
        foreach (var change in commit.Changes)
        {
            sequence++;
            // Calendar-level changes name no event: event_id is the empty string, the entry goes to calendar_json.
            await using var insert = Command(connection, transaction, $"""
                INSERT INTO changes ({ChangeColumns}) VALUES ($seq, $id, $type, $w, $calendar, '', NULL, NULL, NULL, $previous, $diff, $at, NULL, $entry);
                """);
            insert.Parameters.AddWithValue("$seq", sequence);
            insert.Parameters.AddWithValue("$id", change.Id);
            insert.Parameters.AddWithValue("$type", change.Type);
            insert.Parameters.AddWithValue("$w", commit.WatchId);
            insert.Parameters.AddWithValue("$calendar", change.CalendarId);
            insert.Parameters.AddWithValue("$previous", (object?)change.PreviousJson ?? DBNull.Value);
            insert.Parameters.AddWithValue("$diff", StoreText.Diff(change.Diff));
            insert.Parameters.AddWithValue("$at", StoreText.Time(commit.DetectedAt));
            insert.Parameters.AddWithValue("$entry", (object?)change.CalendarJson ?? DBNull.Value);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            changes.Add(new Change
            {
                Id = change.Id,
                Sequence = sequence,
                Type = change.Type,
                CalendarId = change.CalendarId,
                EventId = "",
                WatchId = commit.WatchId,
                DetectedAt = commit.DetectedAt,
                Calendar = StoreText.Element(change.CalendarJson),
                Previous = StoreText.Element(change.PreviousJson),
                Diff = change.Diff,
            });
        }

        return changes;
    }
}
