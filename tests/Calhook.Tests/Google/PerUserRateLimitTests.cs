using Calhook.Google;

namespace Calhook.Tests.Google;

public sealed class PerUserRateLimitTests
{
    [Fact]
    public void Each_account_gets_its_own_budget_and_bursts_are_a_tenth_of_the_minute()
    {
        using var limiter = PerUserRateLimitHandler.CreateLimiter(new GoogleClientOptions { RequestsPerMinutePerUser = 600 });

        var granted = Enumerable.Range(0, 100).Count(_ => limiter.AttemptAcquire("acc_a").IsAcquired);

        Assert.Equal(60, granted);
        Assert.True(limiter.AttemptAcquire("acc_b").IsAcquired, "another account is not slowed down by the first");
    }

    [Fact]
    public async Task A_request_over_the_budget_waits_for_a_permit_instead_of_failing()
    {
        using var limiter = PerUserRateLimitHandler.CreateLimiter(new GoogleClientOptions { RequestsPerMinutePerUser = 60 });
        while (limiter.AttemptAcquire("acc_a").IsAcquired)
        {
        }

        using var lease = await limiter.AcquireAsync("acc_a").AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(lease.IsAcquired);
    }
}
