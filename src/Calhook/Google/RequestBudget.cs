namespace Calhook.Google;

/// <summary>Why a request to Google is made; when the budget is short, the lower ones wait first.</summary>
public enum GoogleRequestPriority
{
    /// <summary>A sync asked for by a push notification, the API or a retry: what a user is waiting for.</summary>
    Push = 0,

    /// <summary>Opening, renewing and stopping channels: late renewals lose pings.</summary>
    Renewal = 1,

    /// <summary>The start-up catch-up of every watch.</summary>
    CatchUp = 2,

    /// <summary>The periodic safety-net sync of every watch.</summary>
    SafetyNet = 3,
}

/// <summary>
/// Google's request quota as Calhook spends it: sliding windows per minute and per day, for the whole project and for
/// each account (Google counts per project and per user). A request is admitted when every window it counts in has
/// room for its priority: <see cref="GoogleRequestPriority.Push"/> may use a whole window, lower priorities only a
/// share of it (<see cref="Shares"/>), so they can never take the last requests a push needs. Thread-safe.
/// </summary>
internal sealed class RequestBudget
{
    /// <summary>The share of each window that a priority may fill, indexed by <see cref="GoogleRequestPriority"/>.</summary>
    public static readonly double[] Shares = [1.0, 0.95, 0.85, 0.75];

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly BudgetLimits _limits;
    private readonly SlidingWindowCounter _projectMinute = new(Minute, 60);
    private readonly SlidingWindowCounter _projectDay = new(Day, 1440);
    private readonly Dictionary<string, (SlidingWindowCounter Minute, SlidingWindowCounter Day)> _users = new(StringComparer.Ordinal);
    private readonly long[] _waits = new long[Shares.Length];

    public RequestBudget(BudgetLimits limits, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
        _time = timeProvider;
    }

    public BudgetLimits Limits => _limits;

    /// <summary>Observes each refusal, outside the lock (for metrics).</summary>
    public Action<GoogleRequestPriority>? Refused { get; init; }

    /// <summary>The safety net's interval chosen for its latest pass (set by the scheduler); zero before the first.</summary>
    public TimeSpan CurrentSafetyNetInterval { get; set; }

    /// <summary>Takes one request from every window of <paramref name="account"/>, or says how long to wait before asking again.</summary>
    public bool TryAcquire(string account, GoogleRequestPriority priority, out TimeSpan retryAfter)
    {
        var share = Shares[(int)priority];
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var user = User(account);
            retryAfter = Max(
                Wait(_projectMinute, _limits.RequestsPerMinute, share, now),
                Wait(_projectDay, _limits.RequestsPerDay, share, now),
                Wait(user.Minute, _limits.RequestsPerMinutePerUser, share, now),
                Wait(user.Day, _limits.RequestsPerDayPerUser, share, now));
            if (retryAfter <= TimeSpan.Zero)
            {
                _projectMinute.Add(now);
                _projectDay.Add(now);
                user.Minute.Add(now);
                user.Day.Add(now);
                return true;
            }

            _waits[(int)priority]++;
        }

        Refused?.Invoke(priority);
        return false;
    }

    /// <summary>Waits (on the injected clock) until the request fits, then takes it.</summary>
    public async ValueTask AcquireAsync(string account, GoogleRequestPriority priority, CancellationToken cancellationToken)
    {
        while (!TryAcquire(account, priority, out var wait))
        {
            await Task.Delay(wait, _time, cancellationToken);
        }
    }

    /// <summary>What has been spent, for metrics and the status API.</summary>
    public BudgetUsage Usage()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            long busiestUserMinute = 0;
            foreach (var (minute, _) in _users.Values)
            {
                busiestUserMinute = Math.Max(busiestUserMinute, minute.Count(now));
            }

            return new BudgetUsage(_projectMinute.Count(now), _projectDay.Count(now), busiestUserMinute, [.. _waits]);
        }
    }

    /// <summary>
    /// The shortest safety-net interval that fits the budget: every watch synced once per interval, one request each,
    /// within the safety net's share of the project's and of each account's windows. The configured interval when it fits.
    /// </summary>
    /// <param name="configured">The configured safety-net interval.</param>
    /// <param name="watchesPerAccount">Watch count of each account.</param>
    public TimeSpan SafetyNetInterval(TimeSpan configured, IEnumerable<int> watchesPerAccount)
    {
        ArgumentNullException.ThrowIfNull(watchesPerAccount);
        var share = Shares[(int)GoogleRequestPriority.SafetyNet];
        var counts = watchesPerAccount.ToList();
        var total = counts.Sum();
        var busiest = counts.Count == 0 ? 0 : counts.Max();
        return Max(
            configured,
            Needed(total, _limits.RequestsPerMinute, share, Minute),
            Needed(total, _limits.RequestsPerDay, share, Day),
            Needed(busiest, _limits.RequestsPerMinutePerUser, share, Minute),
            Needed(busiest, _limits.RequestsPerDayPerUser, share, Day));
    }

    private static TimeSpan Needed(int requests, long limit, double share, TimeSpan window) =>
        limit <= 0 || requests == 0 ? TimeSpan.Zero : window * (requests / Math.Max(1, Math.Floor(limit * share)));

    private (SlidingWindowCounter Minute, SlidingWindowCounter Day) User(string account)
    {
        if (!_users.TryGetValue(account, out var user))
        {
            _users[account] = user = (new SlidingWindowCounter(Minute, 60), new SlidingWindowCounter(Day, 1440));
        }

        return user;
    }

    private static TimeSpan Wait(SlidingWindowCounter window, long limit, double share, DateTimeOffset now) =>
        limit <= 0 ? TimeSpan.Zero : window.TimeUntilBelow(now, Math.Max(1, (long)Math.Floor(limit * share)));

    private static TimeSpan Max(params ReadOnlySpan<TimeSpan> values)
    {
        var max = TimeSpan.Zero;
        foreach (var value in values)
        {
            max = value > max ? value : max;
        }

        return max;
    }
}

/// <summary>The budget's limits; zero or less means no limit for that window.</summary>
internal sealed record BudgetLimits(long RequestsPerMinute, long RequestsPerDay, long RequestsPerMinutePerUser, long RequestsPerDayPerUser);

/// <summary>Requests counted in the current windows, and how often each priority had to wait.</summary>
internal sealed record BudgetUsage(long ProjectMinute, long ProjectDay, long BusiestUserMinute, IReadOnlyList<long> WaitsByPriority);
