using Calhook.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Channels;

public sealed class RenewalPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly RenewalPolicy _policy = new(new ChannelOptions());

    [Fact]
    public void A_seven_day_channel_renews_a_day_before_expiry_moved_earlier_by_the_spread()
    {
        var expires = Start.AddDays(7);
        Assert.Equal(expires.AddDays(-1), _policy.RenewAt(Start, expires, jitter: 0));
        Assert.Equal(expires.AddDays(-1).AddHours(-3), _policy.RenewAt(Start, expires, jitter: 0.5));
        Assert.Equal(expires.AddDays(-1).AddHours(-6), _policy.RenewAt(Start, expires, jitter: 1));
    }

    [Fact]
    public void A_short_channel_renews_within_its_last_fifth_and_before_expiry()
    {
        var expires = Start.AddSeconds(10);
        var earliest = _policy.RenewAt(Start, expires, jitter: 1);
        var latest = _policy.RenewAt(Start, expires, jitter: 0);
        Assert.Equal(Start.AddSeconds(7), earliest);
        Assert.Equal(Start.AddSeconds(8), latest);
    }

    [Fact]
    public void Renewals_of_channels_opened_together_spread_over_the_window()
    {
        var expires = Start.AddDays(7);
        var times = Enumerable.Range(0, 10_000).Select(i => _policy.RenewAt(Start, expires, i / 10_000.0)).ToList();
        var perMinute = times.GroupBy(t => t.ToUnixTimeSeconds() / 60).Max(g => g.Count());
        // 10,000 renewals over 6 hours: about 28 per minute, never one burst.
        Assert.InRange(perMinute, 1, 30);
    }

    [Fact]
    public void Retry_delays_grow_exponentially_and_are_capped()
    {
        var time = new FakeTimeProvider(Start);
        var now = time.GetUtcNow();
        Assert.Equal(TimeSpan.FromSeconds(5), _policy.RetryDelay(1, now, null, jitter: 0.5));
        Assert.Equal(TimeSpan.FromSeconds(10), _policy.RetryDelay(2, now, null, jitter: 0.5));
        Assert.Equal(TimeSpan.FromSeconds(40), _policy.RetryDelay(4, now, null, jitter: 0.5));
        Assert.Equal(TimeSpan.FromMinutes(30), _policy.RetryDelay(30, now, null, jitter: 0.5));
        Assert.Equal(TimeSpan.FromSeconds(4), _policy.RetryDelay(1, now, null, jitter: 0));
        Assert.Equal(TimeSpan.FromSeconds(6), _policy.RetryDelay(1, now, null, jitter: 1));
    }

    [Fact]
    public void Retries_of_a_renewal_fit_several_times_into_the_old_channel_remaining_life()
    {
        var time = new FakeTimeProvider(Start);
        var expires = Start.AddMinutes(2);
        time.Advance(TimeSpan.FromSeconds(100)); // 20 s left
        var delay = _policy.RetryDelay(10, time.GetUtcNow(), expires, jitter: 0.5);
        Assert.Equal(TimeSpan.FromSeconds(10), delay);
    }
}
