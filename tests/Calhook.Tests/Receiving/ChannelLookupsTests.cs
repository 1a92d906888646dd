using Calhook.Channels;
using Calhook.Receiving;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Receiving;

/// <summary>The receiver's look-ups of channels its map does not know, on a shared store: one store read per id, not per ping.</summary>
public sealed class ChannelLookupsTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly Dictionary<string, KnownChannel> _stored = new(StringComparer.Ordinal);
    private int _reads;
    private TaskCompletionSource? _gate;

    private ChannelLookups Lookups() => new(async (channelId, _) =>
    {
        Interlocked.Increment(ref _reads);
        if (_gate is { } gate)
        {
            await gate.Task;
        }

        return _stored.TryGetValue(channelId, out var channel) ? channel : null;
    }, _time);

    [Fact]
    public async Task A_flood_of_pings_naming_an_unknown_channel_reads_the_store_once_per_negative_time()
    {
        var lookups = Lookups();

        for (var i = 0; i < 1000; i++)
        {
            Assert.Null(await lookups.ResolveAsync("chn_unknown"));
        }

        Assert.Equal(1, _reads);
        _time.Advance(ChannelLookups.NegativeTime - TimeSpan.FromMilliseconds(1));
        Assert.Null(await lookups.ResolveAsync("chn_unknown"));
        Assert.Equal(1, _reads);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(await lookups.ResolveAsync("chn_unknown"));
        Assert.Equal(2, _reads);
    }

    [Fact]
    public async Task Pings_arriving_while_a_look_up_runs_share_it()
    {
        var lookups = Lookups();
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _stored["chn_other"] = KnownChannel.Create("chn_other", "wat_1", "acc_1", "token");

        var waiting = Enumerable.Range(0, 50).Select(_ => lookups.ResolveAsync("chn_other")).ToList();
        _gate.SetResult();

        Assert.All(await Task.WhenAll(waiting), channel => Assert.Equal("wat_1", channel!.WatchId));
        Assert.Equal(1, _reads);
    }

    [Fact]
    public async Task A_channel_found_is_read_again_next_time_and_unknown_is_never_remembered_for_one_opened_later()
    {
        var lookups = Lookups();
        Assert.Null(await lookups.ResolveAsync("chn_new"));

        // Another instance opens a channel under a new id: it is in the store before Google can ping it, so found at once.
        _stored["chn_opened"] = KnownChannel.Create("chn_opened", "wat_2", "acc_1", "token");
        Assert.Equal("wat_2", (await lookups.ResolveAsync("chn_opened"))!.WatchId);
        Assert.Equal("wat_2", (await lookups.ResolveAsync("chn_opened"))!.WatchId);
        Assert.Equal(3, _reads);
    }

    [Fact]
    public async Task A_flood_of_distinct_ids_stays_within_the_capacity()
    {
        var lookups = Lookups();

        for (var i = 0; i < ChannelLookups.Capacity + 500; i++)
        {
            await lookups.ResolveAsync($"chn_{i}");
        }

        Assert.InRange(lookups.Count, 1, ChannelLookups.Capacity);
    }
}
