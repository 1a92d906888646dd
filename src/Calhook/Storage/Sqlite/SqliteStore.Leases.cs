using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Leases (ICalhookStore's coordination section). One process always gets its own leases; two processes on one file
// coordinate through the same rows, serialized by BEGIN IMMEDIATE.
internal sealed partial class SqliteStore
{
    public Task<bool> TryAcquireLeaseAsync(string name, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreText.CheckLease(name, holder, timeToLive);
        return WriteAsync((connection, transaction) => TakeAsync(connection, transaction, name, holder, now, timeToLive, cancellationToken), cancellationToken);
    }

    public Task<bool> TryAcquireLeaseReleasingAsync(
        string name, string holder, DateTimeOffset now, TimeSpan timeToLive, string releaseName, string releaseHolder, CancellationToken cancellationToken)
    {
        StoreText.CheckLease(name, holder, timeToLive);
        ArgumentException.ThrowIfNullOrEmpty(releaseName);
        ArgumentException.ThrowIfNullOrEmpty(releaseHolder);
        return WriteAsync(async (connection, transaction) =>
        {
            if (!await TakeAsync(connection, transaction, name, holder, now, timeToLive, cancellationToken))
            {
                return false;
            }

            await using var release = Command(connection, transaction, "DELETE FROM leases WHERE name = $name AND holder = $holder;");
            release.Parameters.AddWithValue("$name", releaseName);
            release.Parameters.AddWithValue("$holder", releaseHolder);
            await release.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<int> TryAcquireLeasesAsync(IReadOnlyCollection<string> names, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        foreach (var name in names)
        {
            StoreText.CheckLease(name, holder, timeToLive);
        }

        return WriteAsync(async (connection, transaction) =>
        {
            var taken = 0;
            foreach (var name in names.Distinct(StringComparer.Ordinal))
            {
                taken += await TakeAsync(connection, transaction, name, holder, now, timeToLive, cancellationToken) ? 1 : 0;
            }

            return taken;
        }, cancellationToken);
    }

    private static async Task<bool> TakeAsync(
        SqliteConnection connection, SqliteTransaction transaction, string name, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        // Taken when free, expired or already ours; a new holder starts with no request. Otherwise: asked for.
        await using var take = Command(connection, transaction, """
            INSERT INTO leases (name, holder, expires_at, requested) VALUES ($name, $holder, $until, 0)
            ON CONFLICT (name) DO UPDATE SET
                requested = CASE WHEN leases.holder = excluded.holder THEN leases.requested ELSE 0 END,
                holder = excluded.holder, expires_at = excluded.expires_at
            WHERE leases.holder = excluded.holder OR leases.expires_at < $now;
            """);
        take.Parameters.AddWithValue("$name", name);
        take.Parameters.AddWithValue("$holder", holder);
        take.Parameters.AddWithValue("$until", StoreText.Time(now + timeToLive));
        take.Parameters.AddWithValue("$now", StoreText.Time(now));
        if (await take.ExecuteNonQueryAsync(cancellationToken) > 0)
        {
            return true;
        }

        await using var ask = Command(connection, transaction, "UPDATE leases SET requested = 1 WHERE name = $name;");
        ask.Parameters.AddWithValue("$name", name);
        await ask.ExecuteNonQueryAsync(cancellationToken);
        return false;
    }

    public Task<bool> ReleaseLeaseAsync(string name, string holder, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var release = Command(connection, transaction, "DELETE FROM leases WHERE name = $name AND holder = $holder RETURNING requested;");
            release.Parameters.AddWithValue("$name", name);
            release.Parameters.AddWithValue("$holder", holder);
            return await release.ExecuteScalarAsync(cancellationToken) is long requested && requested != 0;
        }, cancellationToken);

    public async Task<IReadOnlyList<string>> ListExpiredLeasesAsync(string prefix, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT name FROM leases WHERE substr(name, 1, length($prefix)) = $prefix AND expires_at < $now ORDER BY name;
            """);
        command.Parameters.AddWithValue("$prefix", prefix);
        command.Parameters.AddWithValue("$now", StoreText.Time(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var names = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
