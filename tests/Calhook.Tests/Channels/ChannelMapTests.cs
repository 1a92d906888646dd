using Calhook.Channels;

namespace Calhook.Tests.Channels;

public sealed class ChannelMapTests
{
    private static readonly DateTimeOffset Expiry = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_channel_is_known_before_it_is_confirmed_and_becomes_current_once_confirmed()
    {
        var map = new ChannelMap();
        map.Add(KnownChannel.Create("ch1", "w1", "a1", "token"));
        Assert.True(map.TryGet("ch1", out var pending));
        Assert.Null(pending.ResourceId);
        Assert.Null(map.CurrentOf("w1"));

        map.Confirm("ch1", "res1", Expiry);
        Assert.Equal("ch1", map.CurrentOf("w1")?.ChannelId);
        Assert.Equal(["a1"], map.AccountsForResource("res1"));
    }

    [Fact]
    public void Every_account_that_watches_a_shared_resource_is_offered_to_stop_an_unknown_channel_on_it()
    {
        var map = new ChannelMap();
        map.Add(KnownChannel.Create("ch1", "w1", "bob", "t1"));
        map.Confirm("ch1", "shared", Expiry);
        map.Add(KnownChannel.Create("ch2", "w2", "alice", "t2"));
        map.Confirm("ch2", "shared", Expiry);

        Assert.Equal(["alice", "bob"], map.AccountsForResource("shared"));
        Assert.Empty(map.AccountsForResource("elsewhere"));
    }

    [Fact]
    public void Removing_the_old_channel_after_a_renewal_keeps_the_new_one_current()
    {
        var map = new ChannelMap();
        map.Add(KnownChannel.Create("old", "w1", "a1", "t1"));
        map.Confirm("old", "res1", Expiry);
        map.Add(KnownChannel.Create("new", "w1", "a1", "t2"));
        map.Confirm("new", "res1", Expiry.AddDays(7));

        map.Remove("old");

        Assert.False(map.TryGet("old", out _));
        Assert.Equal("new", map.CurrentOf("w1")?.ChannelId);
    }
}
