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
        return WriteOnceAsync(async connection =>
        {
            // Taken when free, expired or already ours (a new holder starts with no request); otherwise asked for. One
            // statement: the upsert locks the row, so two takers of an expired lease cannot both win, and a request
            // cannot slip between the holder's release and this taker's look (it then finds the lease free and takes it).
            await using var take = Command(connection, null, """
                INSERT INTO leases AS l (name, holder, expires_at, requested) VALUES (@name, @holder, @until, false)
                ON CONFLICT (name) DO UPDATE SET
                    requested = CASE WHEN l.holder = excluded.holder THEN l.requested WHEN l.expires_at < @now THEN false ELSE true END,
                    holder = CASE WHEN l.holder = excluded.holder OR l.expires_at < @now THEN excluded.holder ELSE l.holder END,
                    expires_at = CASE WHEN l.holder = excluded.holder OR l.expires_at < @now THEN excluded.expires_at ELSE l.expires_at END
                RETURNING holder = @holder;
                """);
            take.Parameters.AddWithValue("name", name);
            take.Parameters.AddWithValue("holder", holder);
            take.Parameters.AddWithValue("until", StoreText.Time(now + timeToLive));
            take.Parameters.AddWithValue("now", StoreText.Time(now));
            return await take.ExecuteScalarAsync(cancellationToken) is true;
        }, cancellationToken);
    }

    public Task<bool> ReleaseLeaseAsync(string name, string holder, CancellationToken cancellationToken) =>
        WriteOnceAsync(async connection =>
        {
            await using var release = Command(connection, null, "DELETE FROM leases WHERE name = @name AND holder = @holder RETURNING requested;");
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
