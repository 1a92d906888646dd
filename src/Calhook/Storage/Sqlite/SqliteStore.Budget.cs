using System.Globalization;

namespace Calhook.Storage.Sqlite;

// The request budget's saved windows (ICalhookStore's budget section).
internal sealed partial class SqliteStore
{
    public Task SaveBudgetWindowsAsync(IReadOnlyList<BudgetWindowRecord> windows, DateTimeOffset forgetBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(windows);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var save = Command(connection, transaction, """
                INSERT INTO budget_windows (instance_id, scope, span, newest_bucket, counts, saved_at) VALUES ($i, $s, $w, $b, $c, $at)
                ON CONFLICT (instance_id, scope, span) DO UPDATE SET
                    newest_bucket = excluded.newest_bucket, counts = excluded.counts, saved_at = excluded.saved_at;
                """);
            var instance = save.Parameters.Add("$i", Microsoft.Data.Sqlite.SqliteType.Text);
            var scope = save.Parameters.Add("$s", Microsoft.Data.Sqlite.SqliteType.Text);
            var span = save.Parameters.Add("$w", Microsoft.Data.Sqlite.SqliteType.Text);
            var bucket = save.Parameters.Add("$b", Microsoft.Data.Sqlite.SqliteType.Integer);
            var counts = save.Parameters.Add("$c", Microsoft.Data.Sqlite.SqliteType.Text);
            var at = save.Parameters.Add("$at", Microsoft.Data.Sqlite.SqliteType.Text);
            foreach (var window in windows)
            {
                instance.Value = window.InstanceId;
                scope.Value = window.Scope;
                span.Value = window.Window;
                bucket.Value = window.NewestBucket;
                counts.Value = StoreText.Counts(window.Counts);
                at.Value = StoreText.Time(window.SavedAt);
                await save.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var forget = Command(connection, transaction, "DELETE FROM budget_windows WHERE saved_at < $before;");
            forget.Parameters.AddWithValue("$before", StoreText.Time(forgetBefore));
            await forget.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<BudgetWindowRecord>> ListBudgetWindowsAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT instance_id, scope, span, newest_bucket, counts, saved_at FROM budget_windows WHERE saved_at >= $since
            ORDER BY instance_id, scope, span;
            """);
        command.Parameters.AddWithValue("$since", StoreText.Time(since));
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
