using System.Collections.Concurrent;

namespace Calhook.Emulator.Channels;

/// <summary>Every channel by id and by watched collection. Thread-safe.</summary>
internal sealed class ChannelRegistry
{
    private readonly ConcurrentDictionary<string, WatchChannel> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, WatchChannel>> _byCollection = new(StringComparer.Ordinal);

    /// <summary>Adds the channel; false when its id is already taken (Google's <c>channelIdNotUnique</c>).</summary>
    public bool TryAdd(WatchChannel channel)
    {
        if (!_byId.TryAdd(channel.Id, channel))
        {
            return false;
        }

        _byCollection.GetOrAdd(channel.Collection, _ => new(StringComparer.Ordinal))[channel.Id] = channel;
        return true;
    }

    public WatchChannel? Find(string id) => _byId.GetValueOrDefault(id);

    public void Remove(WatchChannel channel)
    {
        _byId.TryRemove(channel.Id, out _);
        if (_byCollection.TryGetValue(channel.Collection, out var set))
        {
            set.TryRemove(channel.Id, out _);
        }
    }

    public IEnumerable<WatchChannel> Watching(string collection) =>
        _byCollection.TryGetValue(collection, out var set) ? set.Values : [];

    public IEnumerable<WatchChannel> All => _byId.Values;
}
