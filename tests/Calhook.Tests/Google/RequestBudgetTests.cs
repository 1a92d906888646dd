using Calhook.Google;
using Calhook.TestKit;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Google;

public sealed class RequestBudgetTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    private RequestBudget Budget(long perMinute = 0, long perDay = 0, long perUserMinute = 0, long perUserDay = 0) =>
        new(new BudgetLimits(perMinute, perDay, perUserMinute, perUserDay), _time);

    private static int Take(RequestBudget budget, int tries, string account = "acc_a", GoogleRequestPriority priority = GoogleRequestPriority.Push) =>
        Enumerable.Range(0, tries).Count(i => budget.TryAcquire(account, priority, out _));

    [Fact]
    public void No_sliding_minute_ever_holds_more_requests_than_the_project_budget()
    {
        var budget = Budget(perMinute: 100);
        var admitted = new List<DateTimeOffset>();

        // Ten minutes of demand far above the budget, in steps of 250 ms.
        for (var step = 0; step < 2400; step++)
        {
            for (var i = 0; i < 5; i++)
            {
                if (budget.TryAcquire($"acc_{i}", GoogleRequestPriority.Push, out _))
                {
                    admitted.Add(_time.GetUtcNow());
                }
            }

            _time.Advance(TimeSpan.FromMilliseconds(250));
        }

        var busiest = admitted.Max(at => admitted.Count(other => other > at - TimeSpan.FromMinutes(1) && other <= at));
        Assert.True(busiest <= 100, $"the busiest minute held {busiest} requests");
        Assert.True(admitted.Count >= 900, $"the budget was used: {admitted.Count} admitted in 10 minutes");
    }

    [Theory]
    [InlineData(900, 250)]
    [InlineData(999, 330)]
    [InlineData(10, 70)]
    public void A_burst_late_in_a_second_still_counts_a_minute_later(int offsetMs, int stepMs)
    {
        // The windows count in one-second buckets; a burst late in a second is still inside the minute that ends
        // early in the second 60 s on, so that bucket must not leave the count before its last request has.
        _time.Advance(TimeSpan.FromMilliseconds(offsetMs));
        var budget = Budget(perMinute: 100);
        var admitted = new List<DateTimeOffset>();
        for (var step = 0; step < 3 * 60_000 / stepMs; step++)
        {
            while (budget.TryAcquire("acc_a", GoogleRequestPriority.Push, out _))
            {
                admitted.Add(_time.GetUtcNow());
            }

            _time.Advance(TimeSpan.FromMilliseconds(stepMs));
        }

        var busiest = admitted.Max(at => admitted.Count(other => other > at - TimeSpan.FromMinutes(1) && other <= at));
        Assert.True(busiest <= 100, $"a sliding minute held {busiest} requests");
        Assert.True(admitted.Count >= 200, $"the budget was used: {admitted.Count} admitted in 3 minutes");
    }

    [Fact]
    public void Each_account_has_its_own_minute_and_the_refusal_says_how_long_to_wait()
    {
        var budget = Budget(perUserMinute: 60);

        Assert.Equal(60, Take(budget, 100));
        Assert.False(budget.TryAcquire("acc_a", GoogleRequestPriority.Push, out var wait));
        Assert.InRange(wait, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(61));
        Assert.Equal(60, Take(budget, 100, "acc_b"));

        _time.Advance(wait);
        Assert.True(budget.TryAcquire("acc_a", GoogleRequestPriority.Push, out _));
    }

    [Fact]
    public void Lower_priorities_stop_at_their_share_and_leave_the_rest_to_pushes()
    {
        var budget = Budget(perMinute: 100);

        Assert.Equal(75, Take(budget, 200, priority: GoogleRequestPriority.SafetyNet));
        Assert.Equal(10, Take(budget, 200, priority: GoogleRequestPriority.CatchUp));
        Assert.Equal(10, Take(budget, 200, priority: GoogleRequestPriority.Renewal));
        Assert.Equal(5, Take(budget, 200, priority: GoogleRequestPriority.Push));
        Assert.Equal([200 - 75, 200 - 10, 200 - 10, 200 - 5], budget.Usage().WaitsByPriority.Reverse());
    }

    [Fact]
    public void The_day_window_holds_across_minutes()
    {
        var budget = Budget(perMinute: 1000, perDay: 50);
        var admitted = 0;
        for (var minute = 0; minute < 60 * 23; minute++)
        {
            admitted += Take(budget, 10);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        // The 50 were taken in the first five minutes; a day after the last of them, the window has room again.
        Assert.Equal(50, admitted);
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(5));
        Assert.Equal(10, Take(budget, 10));
    }

    [Fact]
    public async Task A_request_over_the_budget_waits_on_the_clock_instead_of_failing()
    {
        var budget = Budget(perUserMinute: 2);
        Assert.Equal(2, Take(budget, 2));

        var waiting = budget.AcquireAsync("acc_a", GoogleRequestPriority.Push, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        // The windows count in whole buckets (seconds for a minute), so the wait ends at most a second after the minute.
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Waiting_renewals_are_served_before_the_safety_net_when_the_window_frees()
    {
        var budget = Budget(perMinute: 100);
        Assert.Equal(100, Take(budget, 100));
        using var stop = new CancellationTokenSource();

        // Both kinds wait for the full window; the safety net asked first.
        var safetyNet = Enumerable.Range(0, 200).Select(i => budget.AcquireAsync($"acc_{i % 7}", GoogleRequestPriority.SafetyNet, stop.Token).AsTask()).ToList();
        var renewals = Enumerable.Range(0, 30).Select(i => budget.AcquireAsync($"acc_{i % 5}", GoogleRequestPriority.Renewal, stop.Token).AsTask()).ToList();

        // The window empties at once: every renewal gets in before any safety-net sync, with no more time passing
        // (without strict priority the safety net could fill its 75 and leave renewals only the 20 up to their 95).
        _time.Advance(TimeSpan.FromSeconds(61));
        await Task.WhenAll(renewals).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(safetyNet, t => Assert.False(t.IsCompleted));

        // Then the safety net fills its share, and no more.
        _time.Advance(TimeSpan.FromSeconds(1));
        await Polling.EventuallyAsync(() => Task.FromResult(safetyNet.Count(t => t.IsCompleted) == 45), TimeSpan.FromSeconds(10), "the safety net fills its share");
        Assert.Equal(30 + 45, budget.Usage().ProjectMinute);

        // Cancelled waiters hold nothing back: a catch-up request fits its share at once.
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(safetyNet));
        Assert.True(budget.TryAcquire("acc_x", GoogleRequestPriority.CatchUp, out _));
    }

    [Fact]
    public async Task A_request_waiting_on_its_own_account_holds_back_only_that_account()
    {
        var budget = Budget(perMinute: 1000, perUserMinute: 10);
        Assert.Equal(10, Take(budget, 10, "acc_busy"));
        using var stop = new CancellationTokenSource();
        var push = budget.AcquireAsync("acc_busy", GoogleRequestPriority.Push, stop.Token).AsTask();
        Assert.False(push.IsCompleted);

        Assert.True(budget.TryAcquire("acc_other", GoogleRequestPriority.SafetyNet, out _));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => push);
    }

    [Fact]
    public void The_safety_net_stretches_to_fit_the_budget_and_keeps_the_configured_interval_when_it_fits()
    {
        var configured = TimeSpan.FromMinutes(5);

        // 10,000 calendars over 100 accounts: 2,000 requests a minute at 5 minutes.
        var accounts = Enumerable.Repeat(100, 100).ToList();
        Assert.Equal(configured, Budget(perMinute: 9000, perDay: 10_000_000, perUserMinute: 500).SafetyNetInterval(configured, accounts));

        // The safety net may spend 75 % of 1,000 a minute: 10,000 syncs need 13.3 minutes.
        var stretched = Budget(perMinute: 1000).SafetyNetInterval(configured, accounts);
        Assert.Equal(10_000 / 750.0, stretched.TotalMinutes, 3);

        // 950,000 a day at 75 %: 10,000 syncs every 20.2 minutes at most 712,500 a day.
        var daily = Budget(perMinute: 9000, perDay: 950_000).SafetyNetInterval(configured, accounts);
        Assert.True(TimeSpan.FromDays(1) / daily * 10_000 <= 950_000 * 0.75 + 1, $"{daily} fits the day");

        // One account with 2,000 calendars at 500 a minute per user.
        Assert.Equal(2000 / 375.0, Budget(perUserMinute: 500).SafetyNetInterval(configured, [2000, 3]).TotalMinutes, 3);
    }
}
