using Calhook.Delivery;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Delivery;

public sealed class RetryPolicyTests
{
    private static readonly DeliveryOptions Defaults = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public void The_default_schedule_is_once_at_once_then_5s_5min_30min_2h_5h_10h_10h()
    {
        var policy = new RetryPolicy(DeliveryOptions.DefaultRetryDelays, jitter: 0, _time);
        var expected = new[] { TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10) };

        Assert.Equal(8, policy.MaxAttempts);
        for (var attempt = 1; attempt <= expected.Length; attempt++)
        {
            Assert.Equal(_time.GetUtcNow() + expected[attempt - 1], policy.NextAttemptAt(attempt));
            _time.Advance(expected[attempt - 1]);
        }

        Assert.Null(policy.NextAttemptAt(8));
    }

    [Theory]
    [InlineData(0.0, 0.8)]
    [InlineData(0.5, 1.0)]
    [InlineData(0.999999, 1.2)]
    public void Jitter_moves_each_wait_by_up_to_20_percent_either_way(double random, double factor)
    {
        var policy = new RetryPolicy(DeliveryOptions.DefaultRetryDelays, Defaults.RetryJitter, _time, () => random);

        var wait = policy.NextAttemptAt(2)!.Value - _time.GetUtcNow();

        Assert.Equal(TimeSpan.FromMinutes(5).TotalSeconds * factor, wait.TotalSeconds, precision: 2);
    }

    [Fact]
    public void Retry_after_longer_than_the_wait_is_honoured_as_a_minimum()
    {
        var policy = new RetryPolicy(DeliveryOptions.DefaultRetryDelays, jitter: 0, _time);

        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(90), policy.NextAttemptAt(1, retryAfter: TimeSpan.FromSeconds(90)));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(5), policy.NextAttemptAt(2, retryAfter: TimeSpan.FromSeconds(1)));
        Assert.Equal(_time.GetUtcNow() + RetryPolicy.MaxRetryAfter, policy.NextAttemptAt(1, retryAfter: TimeSpan.FromDays(30)));
    }

    [Fact]
    public void Retry_after_does_not_extend_the_number_of_attempts()
    {
        var policy = new RetryPolicy([TimeSpan.FromSeconds(1)], jitter: 0, _time);

        Assert.NotNull(policy.NextAttemptAt(1, TimeSpan.FromHours(1)));
        Assert.Null(policy.NextAttemptAt(2, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Each_answer_is_computed_from_the_clock_at_the_failure()
    {
        var policy = new RetryPolicy([TimeSpan.FromSeconds(5)], jitter: 0, _time);
        var first = policy.NextAttemptAt(1);
        _time.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(first + TimeSpan.FromMinutes(3), policy.NextAttemptAt(1));
    }
}
