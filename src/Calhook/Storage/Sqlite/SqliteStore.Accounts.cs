using Calhook.Channels;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Accounts and watches. Updates of an unknown id change nothing.
internal sealed partial class SqliteStore
{
    public Task AddAccountAsync(AccountRecord account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO accounts (id, kind, email, subject, protected_secret, status, error, created_at)
                VALUES ($id, $kind, $email, $subject, $secret, $status, $error, $created);
                """);
            command.Parameters.AddWithValue("$id", account.Id);
            command.Parameters.AddWithValue("$kind", StoreText.Kind(account.Kind));
            command.Parameters.AddWithValue("$email", account.Email);
            command.Parameters.AddWithValue("$subject", (object?)account.Subject ?? DBNull.Value);
            command.Parameters.AddWithValue("$secret", account.ProtectedSecret);
            command.Parameters.AddWithValue("$status", StoreText.Status(account.Status));
            command.Parameters.AddWithValue("$error", (object?)account.Error ?? DBNull.Value);
            command.Parameters.AddWithValue("$created", StoreText.Time(account.CreatedAt));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public async Task<AccountRecord?> GetAccountAsync(string accountId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT id, kind, email, subject, protected_secret, status, error, created_at FROM accounts WHERE id = $id;
            """);
        command.Parameters.AddWithValue("$id", accountId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new AccountRecord(
            reader.GetString(0), StoreText.ParseKind(reader.GetString(1)), reader.GetString(2), NullableString(reader, 3),
            reader.GetString(4), StoreText.ParseAccountStatus(reader.GetString(5)), NullableString(reader, 6),
            StoreText.ParseTime(reader.GetString(7)));
    }

    public Task SetAccountStatusAsync(string accountId, AccountStatus status, string? error, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE accounts SET status = $a, error = $b WHERE id = $id;", accountId, StoreText.Status(status), error, cancellationToken);

    public Task AddWatchAsync(WatchRecord watch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(watch);
        var syncProblem = watch.SyncProblem ?? ProblemOf(watch.Status, watch.Error);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO watches (id, account_id, calendar_id, status, error, created_at, last_notification_at,
                                     channel_error_kind, channel_error, sync_error_kind, sync_error, kind, parent_watch_id)
                VALUES ($id, $account, $calendar, $status, NULL, $created, $notified, $channelKind, $channelError, $syncKind, $syncError, $kind, $parent);
                INSERT INTO sync_state (watch_id, sync_token, last_sync_at) VALUES ($id, NULL, $synced)
                ON CONFLICT (watch_id) DO UPDATE SET last_sync_at = excluded.last_sync_at;
                """);
            command.Parameters.AddWithValue("$id", watch.Id);
            command.Parameters.AddWithValue("$account", watch.AccountId);
            command.Parameters.AddWithValue("$calendar", watch.CalendarId);
            command.Parameters.AddWithValue("$status", Lifecycle(watch.Status));
            command.Parameters.AddWithValue("$created", StoreText.Time(watch.CreatedAt));
            command.Parameters.AddWithValue("$notified", StoreText.TimeOrNull(watch.LastNotificationAt));
            command.Parameters.AddWithValue("$synced", StoreText.TimeOrNull(watch.LastSyncAt));
            command.Parameters.AddWithValue("$kind", KindText(watch.Kind));
            command.Parameters.AddWithValue("$parent", (object?)watch.ParentWatchId ?? DBNull.Value);
            AddProblem(command, "$channelKind", "$channelError", watch.ChannelProblem);
            AddProblem(command, "$syncKind", "$syncError", syncProblem);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public async Task<WatchRecord?> GetWatchAsync(string watchId, CancellationToken cancellationToken) =>
        await GetWatchForSyncAsync(watchId, cancellationToken) is { } read ? read.Watch : null;

    public async Task<(WatchRecord Watch, SyncState State)?> GetWatchForSyncAsync(string watchId, CancellationToken cancellationToken)
    {
        var watches = await ReadWatchesAsync("WHERE w.id = $id", watchId, cancellationToken);
        return watches.Count == 0 ? null : (watches[0].Watch, new SyncState(watches[0].SyncToken, watches[0].Watch.LastSyncAt));
    }

    public async Task<IReadOnlyList<WatchRecord>> ListWatchesAsync(CancellationToken cancellationToken) =>
        [.. (await ReadWatchesAsync("WHERE w.status <> 'stopped'", null, cancellationToken)).Select(read => read.Watch)];

    public Task StopWatchAsync(string watchId, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE watches SET status = $a WHERE id = $id;", watchId, Lifecycle(WatchStatus.Stopped), null, cancellationToken);

    public Task SetChannelProblemAsync(string watchId, WatchProblem? problem, CancellationToken cancellationToken) =>
        SetProblemAsync("channel_error_kind", "channel_error", watchId, problem, cancellationToken);

    public Task SetSyncProblemAsync(string watchId, WatchProblem? problem, CancellationToken cancellationToken) =>
        SetProblemAsync("sync_error_kind", "sync_error", watchId, problem, cancellationToken);

    public Task RecordChannelOpenedAsync(string watchId, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE watches SET status = CASE status WHEN 'starting' THEN $a ELSE status END, channel_error_kind = NULL, channel_error = NULL
            WHERE id = $id;
            """, watchId, "active", null, cancellationToken);

    public Task RecordNotificationsAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> latest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(latest);
        return latest.Count == 0 ? Task.CompletedTask : WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "UPDATE watches SET last_notification_at = $a WHERE id = $id;");
            var id = command.Parameters.Add("$id", SqliteType.Text);
            var at = command.Parameters.Add("$a", SqliteType.Text);
            foreach (var (watchId, time) in latest)
            {
                id.Value = watchId;
                at.Value = StoreText.Time(time);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }, cancellationToken);
    }

    /// <summary>The watches <paramref name="where"/> selects, each with its sync token.</summary>
    private async Task<List<(WatchRecord Watch, string? SyncToken)>> ReadWatchesAsync(string where, string? id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT w.id, w.account_id, w.calendar_id, w.status, w.created_at, w.last_notification_at, s.last_sync_at,
                   w.channel_error_kind, w.channel_error, w.sync_error_kind, w.sync_error, s.sync_token,
                   w.kind, w.parent_watch_id, w.stop_reason
            FROM watches w LEFT JOIN sync_state s ON s.watch_id = w.id {where} ORDER BY w.created_at, w.id;
            """);
        command.Parameters.AddWithValue("$id", (object?)id ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var watches = new List<(WatchRecord, string?)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var lifecycle = reader.GetString(3);
            var channelProblem = ReadProblem(reader, 7);
            var syncProblem = ReadProblem(reader, 9);
            var (status, error) = WatchHealth.Derive(
                stopped: lifecycle == "stopped", channelOpened: lifecycle != "starting", baselineCommitted: !reader.IsDBNull(11),
                channelProblem, syncProblem);
            // A watch stopped by Calhook (its calendar left the account) says why.
            error = status == WatchStatus.Stopped ? NullableString(reader, 14) : error;
            watches.Add((new WatchRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), status, error,
                StoreText.ParseTime(reader.GetString(4)), NullableTime(reader, 5), NullableTime(reader, 6), channelProblem, syncProblem,
                ParseKind(reader.GetString(12)), NullableString(reader, 13)), NullableString(reader, 11)));
        }

        return watches;
    }

    private Task SetProblemAsync(string kindColumn, string messageColumn, string watchId, WatchProblem? problem, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"UPDATE watches SET {kindColumn} = $kind, {messageColumn} = $message WHERE id = $id;");
            command.Parameters.AddWithValue("$id", watchId);
            AddProblem(command, "$kind", "$message", problem);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    /// <summary>The status column holds only the lifecycle: <c>starting</c> (no channel open yet), <c>active</c> or <c>stopped</c>.</summary>
    private static string Lifecycle(WatchStatus status) => status switch
    {
        WatchStatus.Stopped => "stopped",
        WatchStatus.Starting => "starting",
        _ => "active",
    };

    /// <summary>A new watch record that says <c>Failing</c> or <c>NeedsReauth</c> carries that as the sync's problem.</summary>
    private static WatchProblem? ProblemOf(WatchStatus status, string? error) => status switch
    {
        WatchStatus.NeedsReauth => new WatchProblem(WatchProblemKind.NeedsReauth, error ?? "The account needs to be authorised again."),
        WatchStatus.Failing => new WatchProblem(WatchProblemKind.Error, error ?? "failing"),
        _ => null,
    };

    private static void AddProblem(SqliteCommand command, string kindName, string messageName, WatchProblem? problem)
    {
        command.Parameters.AddWithValue(kindName, problem is null ? DBNull.Value : problem.Kind == WatchProblemKind.NeedsReauth ? "needs_reauth" : "error");
        command.Parameters.AddWithValue(messageName, (object?)problem?.Message ?? DBNull.Value);
    }

    private static WatchProblem? ReadProblem(SqliteDataReader reader, int kindOrdinal) =>
        reader.IsDBNull(kindOrdinal)
            ? null
            : new WatchProblem(reader.GetString(kindOrdinal) == "needs_reauth" ? WatchProblemKind.NeedsReauth : WatchProblemKind.Error,
                reader.IsDBNull(kindOrdinal + 1) ? "" : reader.GetString(kindOrdinal + 1));

    /// <summary>One <c>UPDATE</c> with parameters <c>$id</c>, <c>$a</c> and <c>$b</c>.</summary>
    private Task UpdateAsync(string sql, string id, string a, string? b, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, sql);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$a", a);
            command.Parameters.AddWithValue("$b", (object?)b ?? DBNull.Value);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static string? NullableString(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? NullableTime(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : StoreText.ParseTime(reader.GetString(ordinal));
}
