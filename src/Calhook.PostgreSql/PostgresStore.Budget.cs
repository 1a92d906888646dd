using Calhook.Storage;
using Calhook.Storage.Sqlite;

namespace Calhook.PostgreSql;

// The request budget's saved windows (ICalhookStore's budget section), one row per instance, scope and window.
internal sealed partial class PostgresStore
{
    public Task SaveBudgetWindowsAsync(IReadOnlyList<BudgetWindowRecord> windows, DateTimeOffset forgetBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(windows);
        return WriteAsync(async (connection, transaction) =>
        {
            // The windows travel as arrays: one statement however many.
            await using var save = Command(connection, transaction, """
                INSERT INTO budget_windows (instance_id, scope, span, newest_bucket, counts, saved_at)
                SELECT i, s, w, b, c, a FROM unnest(@instances, @scopes, @spans, @buckets, @counts, @saved) AS t(i, s, w, b, c, a)
                ON CONFLICT (instance_id, scope, span) DO UPDATE SET
                    newest_bucket = excluded.newest_bucket, counts = excluded.counts, saved_at = excluded.saved_at;
                DELETE FROM budget_windows WHERE saved_at < @before;
                """);
            save.Parameters.AddWithValue("instances", windows.Select(w => w.InstanceId).ToArray());
            save.Parameters.AddWithValue("scopes", windows.Select(w => w.Scope).ToArray());
            save.Parameters.AddWithValue("spans", windows.Select(w => w.Window).ToArray());
            save.Parameters.AddWithValue("buckets", windows.Select(w => w.NewestBucket).ToArray());
            save.Parameters.AddWithValue("counts", windows.Select(w => StoreText.Counts(w.Counts)).ToArray());
            save.Parameters.AddWithValue("saved", windows.Select(w => StoreText.Time(w.SavedAt)).ToArray());
            save.Parameters.AddWithValue("before", StoreText.Time(forgetBefore));
            await save.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<BudgetWindowRecord>> ListBudgetWindowsAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT instance_id, scope, span, newest_bucket, counts, saved_at FROM budget_windows WHERE saved_at >= @since
            ORDER BY instance_id, scope, span;
            """);
        command.Parameters.AddWithValue("since", StoreText.Time(since));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var windows = new List<BudgetWindowRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            windows.Add(new BudgetWindowRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3),
                StoreText.ParseCounts(reader.GetString(4)), StoreText.ParseTime(reader.GetString(5))));
        }

        return windows;
    }
}
