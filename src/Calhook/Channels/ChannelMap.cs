using System.Collections.Concurrent;
using System.Text;

namespace Calhook.Channels;

/// <summary>A channel as the receiver needs it: who it belongs to and the token to check. ResourceId is null until confirmed.</summary>
internal sealed record KnownChannel(
    string ChannelId, string WatchId, string AccountId, byte[] Token, string? ResourceId, DateTimeOffset? ExpiresAt)
{
    public static KnownChannel Create(string channelId, string watchId, string accountId, string token) =>
        new(channelId, watchId, accountId, Encoding.UTF8.GetBytes(token), null, null);
}

/// <summary>
/// The in-memory map of open channels, loaded from the store at start-up and updated as channels open and stop.
/// The receiver reads it on every ping without touching the store. Writes come from the channel supervisor.
/// Thread-safe.
/// </summary>
internal sealed class ChannelMap
{
    private readonly ConcurrentDictionary<string, KnownChannel> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KnownChannel> _currentByWatch = new(StringComparer.Ordinal);
    // Almost every resource has one account: an array, replaced whole when an account is added (a dictionary per
    // resource cost ~500 bytes for each of 10,000 watches).
    private readonly ConcurrentDictionary<string, string[]> _accountsByResource = new(StringComparer.Ordinal);

    public int Count => _byId.Count;

    public bool TryGet(string channelId, out KnownChannel channel) => _byId.TryGetValue(channelId, out channel!);

    /// <summary>The watch's current (confirmed) channel, if any.</summary>
    public KnownChannel? CurrentOf(string watchId) => _currentByWatch.TryGetValue(watchId, out var channel) ? channel : null;

    /// <summary>
    /// The accounts that watch the resource, to stop an unknown channel on it with. Several accounts may watch one
    /// shared calendar, and only the one that opened a channel can stop it.
    /// </summary>
    public IReadOnlyList<string> AccountsForResource(string resourceId) =>
        _accountsByResource.TryGetValue(resourceId, out var accounts) ? accounts : [];

    /// <summary>Adds a channel about to be opened (before the watch call, so an early <c>sync</c> ping is recognised).</summary>
    public void Add(KnownChannel channel) => _byId[channel.ChannelId] = channel;

    /// <summary>Marks the channel confirmed by Google and makes it the watch's current channel.</summary>
    public KnownChannel Confirm(string channelId, string resourceId, DateTimeOffset expiresAt)
    {
        var confirmed = _byId[channelId] with { ResourceId = resourceId, ExpiresAt = expiresAt };
        _byId[channelId] = confirmed;
        _currentByWatch[confirmed.WatchId] = confirmed;
        _accountsByResource.AddOrUpdate(resourceId, static (_, account) => [account], static (_, accounts, account) =>
            accounts.Contains(account, StringComparer.Ordinal) ? accounts : [.. accounts.Append(account).Order(StringComparer.Ordinal)], confirmed.AccountId);
        return confirmed;
    }

    public void Remove(string channelId)
    {
        if (_byId.TryRemove(channelId, out var channel))
        {
            _currentByWatch.TryRemove(new KeyValuePair<string, KnownChannel>(channel.WatchId, channel));
        }
    }

    /// <summary>Forgets the watch's current channel (the watch is stopped or failing).</summary>
    public void ClearWatch(string watchId) => _currentByWatch.TryRemove(watchId, out _);
}
