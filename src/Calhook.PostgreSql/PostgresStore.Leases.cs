using Calhook.Storage.Sqlite;
using Npgsql;

namespace Calhook.PostgreSql;

// Leases (ICalhookStore's coordination section): one row per lease; the primary key serializes racing takers.
internal sealed partial class PostgresStore
{
    // Taken when free, expired or already ours (a new holder starts with no request); otherwise asked for. One
    // statement: the upsert locks the row, so two takers of an expired lease cannot both win, and a request cannot
    // slip between the holder's release and this taker's look (it then finds the lease free and takes it). It returns
    // one row per name: whether the holder now holds it.
    private const string TakeLeasesSql = """
        INSERT INTO leases AS l (name, holder, expires_at, requested) SELECT n, @holder, @until, false FROM unnest(@names) AS t(n)
        ON CONFLICT (name) DO UPDATE SET
            requested = CASE WHEN l.holder = excluded.holder THEN l.requested WHEN l.expires_at < @now THEN false ELSE true END,
            holder = CASE WHEN l.holder = excluded.holder OR l.expires_at < @now THEN excluded.holder ELSE l.holder END,
            expires_at = CASE WHEN l.holder = excluded.holder OR l.expires_at < @now THEN excluded.expires_at ELSE l.expires_at END
        RETURNING holder = @holder AS won
        """;

    public Task<bool> TryAcquireLeaseAsync(string name, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreText.CheckLease(name, holder, timeToLive);
        return WriteOnceAsync(async connection =>
        {
            await using var take = TakeCommand(connection, $"{TakeLeasesSql};", [name], holder, now, timeToLive);
            return await take.ExecuteScalarAsync(cancellationToken) is true;
        }, cancellationToken);
    }

    public Task<bool> TryAcquireLeaseReleasingAsync(
        string name, string holder, DateTimeOffset now, TimeSpan timeToLive, string releaseName, string releaseHolder, CancellationToken cancellationToken)
    {
        StoreText.CheckLease(name, holder, timeToLive);
        ArgumentException.ThrowIfNullOrEmpty(releaseName);
        ArgumentException.ThrowIfNullOrEmpty(releaseHolder);
        return WriteOnceAsync(async connection =>
        {
            // One statement: the release runs only when the take won (the two touch different rows of the table).
            await using var take = TakeCommand(connection, $"""
                WITH taken AS ({TakeLeasesSql}),
                released AS (DELETE FROM leases WHERE name = @release AND holder = @releaseHolder AND EXISTS (SELECT 1 FROM taken WHERE won))
                SELECT won FROM taken;
                """, [name], holder, now, timeToLive);
            take.Parameters.AddWithValue("release", releaseName);
            take.Parameters.AddWithValue("releaseHolder", releaseHolder);
            return await take.ExecuteScalarAsync(cancellationToken) is true;
        }, cancellationToken);
    }

    public Task<int> TryAcquireLeasesAsync(IReadOnlyCollection<string> names, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        foreach (var name in names)
        {
            StoreText.CheckLease(name, holder, timeToLive);
        }

        if (names.Count == 0)
        {
            return Task.FromResult(0);
        }

        return WriteOnceAsync(async connection =>
        {
            // One statement may touch a row once: a name given twice counts once.
            await using var take = TakeCommand(connection, $"WITH taken AS ({TakeLeasesSql}) SELECT COUNT(*) FILTER (WHERE won) FROM taken;",
                names.Distinct(StringComparer.Ordinal).ToArray(), holder, now, timeToLive);
            return (int)(long)(await take.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);
    }

    private static NpgsqlCommand TakeCommand(NpgsqlConnection connection, string sql, string[] names, string holder, DateTimeOffset now, TimeSpan timeToLive)
    {
        var take = Command(connection, null, sql);
        take.Parameters.AddWithValue("names", names);
        take.Parameters.AddWithValue("holder", holder);
        take.Parameters.AddWithValue("until", StoreText.Time(now + timeToLive));
        take.Parameters.AddWithValue("now", StoreText.Time(now));
        return take;
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
