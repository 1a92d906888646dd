using Calhook.Changes;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// The row-level parts of CommitSyncAsync, and how a change row reads back.
internal sealed partial class SqliteStore
{
    private const string ChangeColumns =
        "sequence, id, type, watch_id, calendar_id, event_id, recurring_event_id, original_start_time, event_json, previous_json, diff_json, detected_at, split_from, calendar_json";

    /// <summary>Upserts or deletes every snapshot of one snapshot set with two prepared statements.</summary>
    private static async Task WriteSnapshotsAsync(SqliteConnection connection, SqliteTransaction transaction, SyncCommit commit, long set, CancellationToken cancellationToken)
    {
        if (commit.Snapshots.Count == 0)
        {
            return;
        }

        await using var upsert = Command(connection, transaction, """
            INSERT INTO snapshots (set_id, event_id, json) VALUES ($s, $e, $j)
            ON CONFLICT (set_id, event_id) DO UPDATE SET json = excluded.json;
            """);
        upsert.Parameters.AddWithValue("$s", set);
        var upsertId = upsert.Parameters.Add("$e", SqliteType.Text);
        var upsertJson = upsert.Parameters.Add("$j", SqliteType.Text);
        upsert.Prepare();

        await using var delete = Command(connection, transaction, "DELETE FROM snapshots WHERE set_id = $s AND event_id = $e;");
        delete.Parameters.AddWithValue("$s", set);
        var deleteId = delete.Parameters.Add("$e", SqliteType.Text);
        delete.Prepare();

        foreach (var snapshot in commit.Snapshots)
        {
            if (snapshot.Json is null)
            {
                deleteId.Value = snapshot.EventId;
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }
            else
            {
                upsertId.Value = snapshot.EventId;
                upsertJson.Value = snapshot.Json;
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }

    /// <summary>
    /// Appends the changes after the current last sequence. The caller holds the write lock, so no other writer can
    /// take a sequence between the read and the inserts: the log stays gap-free and totally ordered.
    /// </summary>
    private static async Task<IReadOnlyList<Change>> AppendChangesAsync(SqliteConnection connection, SqliteTransaction transaction, SyncCommit commit, CancellationToken cancellationToken)
    {
        if (commit.Changes.Count == 0)
        {
            return [];
        }

        var sequence = await LastSequenceAsync(connection, transaction, cancellationToken);
        await using var insert = Command(connection, transaction, $"""
            INSERT INTO changes ({ChangeColumns}) VALUES ($seq, $id, $type, $w, $calendar, $event, $recurring, $original, $json, $previous, $diff, $at, $split, NULL);
            """);
        insert.Parameters.AddWithValue("$w", commit.WatchId);
        insert.Parameters.AddWithValue("$calendar", commit.CalendarId);
        insert.Parameters.AddWithValue("$at", StoreText.Time(commit.DetectedAt));
        var p = new[] { "$seq", "$id", "$type", "$event", "$recurring", "$original", "$json", "$previous", "$diff", "$split" }
            .Select(name => insert.Parameters.Add(name, SqliteType.Text)).ToArray();
        p[0].SqliteType = SqliteType.Integer;
        insert.Prepare();

        var changes = new List<Change>(commit.Changes.Count);
        foreach (var change in commit.Changes)
        {
            sequence++;
            p[0].Value = sequence;
            p[1].Value = change.Id;
            p[2].Value = change.Type;
            p[3].Value = change.EventId;
            p[4].Value = (object?)change.RecurringEventId ?? DBNull.Value;
            p[5].Value = (object?)change.OriginalStartTimeJson ?? DBNull.Value;
            p[6].Value = (object?)change.EventJson ?? DBNull.Value;
            p[7].Value = (object?)change.PreviousJson ?? DBNull.Value;
            p[8].Value = StoreText.Diff(change.Diff);
            p[9].Value = (object?)change.SplitFrom ?? DBNull.Value;
            await insert.ExecuteNonQueryAsync(cancellationToken);
            changes.Add(new Change
            {
                Id = change.Id,
                Sequence = sequence,
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
            });
        }

        return changes;
    }

    private static async Task<long> LastSequenceAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT COALESCE(MAX(sequence), 0) FROM changes;");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static Change ReadChange(SqliteDataReader reader) => new()
    {
        Sequence = reader.GetInt64(0),
        Id = reader.GetString(1),
        Type = reader.GetString(2),
        WatchId = reader.GetString(3),
        CalendarId = reader.GetString(4),
        EventId = reader.GetString(5),
        RecurringEventId = NullableString(reader, 6),
        OriginalStartTime = StoreText.Element(NullableString(reader, 7)),
        Event = StoreText.Element(NullableString(reader, 8)),
        Previous = StoreText.Element(NullableString(reader, 9)),
        Diff = StoreText.ParseDiff(reader.GetString(10)),
        DetectedAt = StoreText.ParseTime(reader.GetString(11)),
        SplitFrom = NullableString(reader, 12),
        Calendar = StoreText.Element(NullableString(reader, 13)),
    };
}
