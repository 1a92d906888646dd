using Calhook.Storage;
using Calhook.Storage.Sqlite;

namespace Calhook.PostgreSql;

// Push channels. Updates of an unknown id change nothing.
internal sealed partial class PostgresStore
{
    private const string ChannelColumns = "id, watch_id, protected_token, resource_id, expires_at, created_at, stopped_at";

    public Task AddChannelAsync(ChannelRecord channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                INSERT INTO channels ({ChannelColumns}) VALUES (@id, @watch, @token, @resource, @expires, @created, @stopped);
                """);
            command.Parameters.AddWithValue("id", channel.Id);
            command.Parameters.AddWithValue("watch", channel.WatchId);
            command.Parameters.AddWithValue("token", channel.ProtectedToken);
            command.Parameters.AddWithValue("resource", (object?)channel.ResourceId ?? DBNull.Value);
            command.Parameters.AddWithValue("expires", TimeOrNull(channel.ExpiresAt));
            command.Parameters.AddWithValue("created", StoreText.Time(channel.CreatedAt));
            command.Parameters.AddWithValue("stopped", TimeOrNull(channel.StoppedAt));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public Task ConfirmChannelAsync(string channelId, string resourceId, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE channels SET resource_id = @b, expires_at = @a WHERE id = @id;", channelId, StoreText.Time(expiresAt), resourceId, cancellationToken);

    public async Task<ChannelRecord?> GetChannelAsync(string channelId, CancellationToken cancellationToken)
    {
        var channels = await ReadChannelsAsync("WHERE id = @id", channelId, cancellationToken);
        return channels.Count == 0 ? null : channels[0];
    }

    public Task<IReadOnlyList<ChannelRecord>> ListOpenChannelsAsync(CancellationToken cancellationToken) =>
        ReadChannelsAsync("WHERE stopped_at IS NULL", null, cancellationToken);

    /// <summary>Marks the channel stopped; a channel already stopped keeps its first stop time.</summary>
    public Task MarkChannelStoppedAsync(string channelId, DateTimeOffset at, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE channels SET stopped_at = @a WHERE id = @id AND stopped_at IS NULL;", channelId, StoreText.Time(at), null, cancellationToken);

    private async Task<IReadOnlyList<ChannelRecord>> ReadChannelsAsync(string where, string? id, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {ChannelColumns} FROM channels {where} ORDER BY created_at, id;");
        if (id is not null)
        {
            command.Parameters.AddWithValue("id", id);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var channels = new List<ChannelRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            channels.Add(new ChannelRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), NullableString(reader, 3),
                NullableTime(reader, 4), StoreText.ParseTime(reader.GetString(5)), NullableTime(reader, 6)));
        }

        return channels;
    }
}
