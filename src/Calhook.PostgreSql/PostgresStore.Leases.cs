using Calhook.Storage.Sqlite;

namespace Calhook.PostgreSql;

// Leases (ICalhookStore's coordination section): one row per lease; the primary key serializes racing takers.
internal sealed partial class PostgresStore
{
    public Task<bool> TryAcquireLeaseAsync(string name, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        return WriteAsync(async (connection, transaction) =>
        {
            // Taken when free, expired or already ours (a new holder starts with no request); otherwise asked for.
            // The conflicting row is locked by the upsert, so two takers of an expired lease cannot both win.
            await using var take = Command(connection, transaction, """
                INSERT INTO leases AS l (name, holder, expires_at, requested) VALUES (@name, @holder, @until, false)
                ON CONFLICT (name) DO UPDATE SET
                    requested = CASE WHEN l.holder = excluded.holder THEN l.requested ELSE false END,
                    holder = excluded.holder, expires_at = excluded.expires_at
                WHERE l.holder = excluded.holder OR l.expires_at < @now;
                """);
            take.Parameters.AddWithValue("name", name);
            take.Parameters.AddWithValue("holder", holder);
            take.Parameters.AddWithValue("until", StoreText.Time(now + timeToLive));
            take.Parameters.AddWithValue("now", StoreText.Time(now));
            if (await take.ExecuteNonQueryAsync(cancellationToken) > 0)
            {
                return true;
            }

            await using var ask = Command(connection, transaction, "UPDATE leases SET requested = true WHERE name = @name;");
            ask.Parameters.AddWithValue("name", name);
            await ask.ExecuteNonQueryAsync(cancellationToken);
            return false;
        }, cancellationToken);
    }

    public Task<bool> ReleaseLeaseAsync(string name, string holder, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var release = Command(connection, transaction, "DELETE FROM leases WHERE name = @name AND holder = @holder RETURNING requested;");
            release.Parameters.AddWithValue("name", name);
            release.Parameters.AddWithValue("holder", holder);
            return await release.ExecuteScalarAsync(cancellationToken) is true;
        }, cancellationToken);

    public async Task<IReadOnlyList<string>> ListExpiredLeasesAsync(string prefix, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT name FROM leases WHERE left(name, length(@prefix)) = @prefix AND expires_at < @now ORDER BY name;
            """);
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("now", StoreText.Time(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var names = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
