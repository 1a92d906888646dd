using Calhook.Sync;

namespace Calhook.Tests.Sync;

public sealed class RetryBackoffTests
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Max = TimeSpan.FromMinutes(5);

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(4, 40)]
    [InlineData(7, 300)] // 320 s, capped at the safety-net interval
    [InlineData(60, 300)]
    public void Delays_double_per_failure_up_to_the_cap_within_20_percent(int failures, double seconds)
    {
        var random = new Random(1);
        for (var i = 0; i < 200; i++)
        {
            var delay = RetryBackoff.Delay(failures, First, Max, random).TotalSeconds;
            Assert.InRange(delay, seconds * 0.8, seconds * 1.2);
        }
    }

    [Fact]
    public void Jitter_spreads_around_the_interval_and_zero_jitter_is_exact()
    {
        var random = new Random(2);
        var waits = Enumerable.Range(0, 500).Select(_ => RetryBackoff.Jitter(TimeSpan.FromMinutes(4), 0.25, random).TotalMinutes).ToList();
        Assert.All(waits, w => Assert.InRange(w, 3, 5));
        Assert.True(waits.Max() - waits.Min() > 1, "the waits are spread, not all the same");
        Assert.Equal(TimeSpan.FromMinutes(4), RetryBackoff.Jitter(TimeSpan.FromMinutes(4), 0, random));
    }

    [Fact]
    public void A_failure_count_below_one_is_a_bug() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryBackoff.Delay(0, First, Max, new Random(3)));
}
