using Calhook.Channels;

namespace Calhook.Storage.Sqlite;

// Accounts administration: listing, re-authorising and removing accounts.
internal sealed partial class SqliteStore
{
    public async Task<IReadOnlyList<AccountRecord>> ListAccountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT id, kind, email, subject, protected_secret, status, error, created_at FROM accounts
            WHERE status <> 'removed' ORDER BY created_at, id;
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var accounts = new List<AccountRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            accounts.Add(new AccountRecord(
                reader.GetString(0), StoreText.ParseKind(reader.GetString(1)), reader.GetString(2), NullableString(reader, 3),
                reader.GetString(4), StoreText.ParseAccountStatus(reader.GetString(5)), NullableString(reader, 6),
                StoreText.ParseTime(reader.GetString(7))));
        }

        return accounts;
    }

    public Task<bool> ReauthorizeAccountAsync(string accountId, string protectedSecret, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                UPDATE accounts SET protected_secret = $secret, status = 'active', error = NULL WHERE id = $id AND status <> 'removed';
                """);
            command.Parameters.AddWithValue("$id", accountId);
            command.Parameters.AddWithValue("$secret", protectedSecret);
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);

    public Task<IReadOnlyList<string>?> RemoveAccountAsync(string accountId, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlyList<string>?>(async (connection, transaction) =>
        {
            await using (var remove = Command(connection, transaction, "UPDATE accounts SET status = 'removed' WHERE id = $id AND status <> 'removed';"))
            {
                remove.Parameters.AddWithValue("$id", accountId);
                if (await remove.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return null;
                }
            }

            await using var stop = Command(connection, transaction, $"""
                UPDATE watches SET status = '{Lifecycle(WatchStatus.Stopped)}' WHERE account_id = $id AND status <> 'stopped' RETURNING id;
                """);
            stop.Parameters.AddWithValue("$id", accountId);
            await using var reader = await stop.ExecuteReaderAsync(cancellationToken);
            var stopped = new List<string>();
            while (await reader.ReadAsync(cancellationToken))
            {
                stopped.Add(reader.GetString(0));
            }

            return stopped;
        }, cancellationToken);
}
