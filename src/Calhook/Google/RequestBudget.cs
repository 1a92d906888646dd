using Calhook.Storage;

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
/// share of it (<see cref="Shares"/>), so they can never take the last requests a push needs. And while a request
/// waits in <see cref="AcquireAsync"/>, no request of a lower priority is admitted before it where it waits: on the
/// project's windows, or on its account's (strict priority: a renewal wave is not starved by the safety net, which
/// would otherwise fill its whole share and leave renewals only the gap between the two shares). Thread-safe.
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
    private readonly Dictionary<string, UserWindows> _users = new(StringComparer.Ordinal);
    private readonly long[] _waits = new long[Shares.Length];

    // Requests waiting in AcquireAsync, by priority: those held up by a project window, and (in UserWindows) those
    // held up by their account's windows only.
    private readonly int[] _projectWaiters = new int[Shares.Length];

    /// <summary>How long a request held back behind a waiting higher priority waits before asking again.</summary>
    private static readonly TimeSpan HeldBack = TimeSpan.FromSeconds(1);

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
        Waiter? none = null;
        return TryAcquire(account, priority, ref none, register: false, out retryAfter);
    }

    /// <summary>Waits (on the injected clock) until the request fits, then takes it.</summary>
    public async ValueTask AcquireAsync(string account, GoogleRequestPriority priority, CancellationToken cancellationToken)
    {
        Waiter? waiter = null;
        try
        {
            while (!TryAcquire(account, priority, ref waiter, register: true, out var wait))
            {
                await Task.Delay(wait, _time, cancellationToken);
            }
        }
        finally
        {
            if (waiter is not null)
            {
                lock (_gate)
                {
                    Unregister(waiter);
                }
            }
        }
    }

    private bool TryAcquire(string account, GoogleRequestPriority priority, ref Waiter? waiter, bool register, out TimeSpan retryAfter)
    {
        var share = Shares[(int)priority];
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var user = User(account);
            var project = Max(
                Wait(_projectMinute, _limits.RequestsPerMinute, share, now),
                Wait(_projectDay, _limits.RequestsPerDay, share, now));
            var own = Max(
                Wait(user.Minute, _limits.RequestsPerMinutePerUser, share, now),
                Wait(user.Day, _limits.RequestsPerDayPerUser, share, now));
            var projectHeld = HigherWaiting(_projectWaiters, priority);
            var ownHeld = HigherWaiting(user.Waiters, priority);
            retryAfter = Max(project, own, projectHeld || ownHeld ? HeldBack : TimeSpan.Zero);
            if (retryAfter <= TimeSpan.Zero)
            {
                _projectMinute.Add(now);
                _projectDay.Add(now);
                user.Minute.Add(now);
                user.Day.Add(now);
                if (waiter is not null)
                {
                    Unregister(waiter);
                    waiter = null;
                }

                return true;
            }

            _waits[(int)priority]++;
            if (register)
            {
                // Waiting on the project's windows holds back lower priorities of every account; waiting on the
                // account's own windows only those of the same account.
                var onProject = project > TimeSpan.Zero || projectHeld;
                if (waiter is null || waiter.OnProject != onProject)
                {
                    if (waiter is not null)
                    {
                        Unregister(waiter);
                    }

                    waiter = new Waiter(priority, onProject, user);
                    (onProject ? _projectWaiters : user.Waiters)[(int)priority]++;
                }
            }
        }

        Refused?.Invoke(priority);
        return false;
    }

    private void Unregister(Waiter waiter) => (waiter.OnProject ? _projectWaiters : waiter.User.Waiters)[(int)waiter.Priority]--;

    private static bool HigherWaiting(int[] waiters, GoogleRequestPriority priority)
    {
        for (var i = 0; i < (int)priority; i++)
        {
            if (waiters[i] > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What has been spent, for metrics and the status API.</summary>
    public BudgetUsage Usage()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            long busiestUserMinute = 0;
            long busiestUserDay = 0;
            foreach (var user in _users.Values)
            {
                busiestUserMinute = Math.Max(busiestUserMinute, user.Minute.Count(now));
                busiestUserDay = Math.Max(busiestUserDay, user.Day.Count(now));
            }

            return new BudgetUsage(_projectMinute.Count(now), _projectDay.Count(now), busiestUserMinute, busiestUserDay, [.. _waits]);
        }
    }

    /// <summary>The scope of the project's windows in <see cref="ExportChanged"/>; an account's is <c>user:</c> and its id.</summary>
    public const string ProjectScope = "project";

    private const string UserScopePrefix = "user:";

    /// <summary>
    /// The windows in which this process made requests since the last export: this process's own requests only (not
    /// those carried over by <see cref="Restore"/>), each window whole, so saving them again replaces the last save.
    /// </summary>
    /// <param name="instanceId">This process's instance id.</param>
    /// <param name="now">The current time.</param>
    /// <param name="days">Whether the day windows are exported too (not only the minute windows).</param>
    public IReadOnlyList<BudgetWindowRecord> ExportChanged(string instanceId, DateTimeOffset now, bool days = true)
    {
        var windows = new List<BudgetWindowRecord>();
        lock (_gate)
        {
            Export(windows, instanceId, ProjectScope, _projectMinute, days ? _projectDay : null, now);
            foreach (var (account, user) in _users)
            {
                Export(windows, instanceId, UserScopePrefix + account, user.Minute, days ? user.Day : null, now);
            }
        }

        return windows;
    }

    /// <summary>Counts the requests of earlier processes (saved windows) in this budget's windows, where they still fall.</summary>
    public void Restore(IEnumerable<BudgetWindowRecord> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            foreach (var window in windows)
            {
                Counter(window)?.Carry(now, window.NewestBucket, window.Counts);
            }
        }
    }

    /// <summary>Windows whose save failed: the next <see cref="ExportChanged"/> gives them again.</summary>
    public void MarkUnsaved(IEnumerable<BudgetWindowRecord> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        lock (_gate)
        {
            foreach (var window in windows)
            {
                Counter(window)?.MarkChanged();
            }
        }
    }

    /// <summary>The counter a saved window belongs to; null for a scope or window this version does not know.</summary>
    private SlidingWindowCounter? Counter(BudgetWindowRecord window)
    {
        var minute = window.Window == BudgetWindowRecord.MinuteWindow;
        if (!minute && window.Window != BudgetWindowRecord.DayWindow)
        {
            return null;
        }

        if (window.Scope == ProjectScope)
        {
            return minute ? _projectMinute : _projectDay;
        }

        if (window.Scope.StartsWith(UserScopePrefix, StringComparison.Ordinal))
        {
            var user = User(window.Scope[UserScopePrefix.Length..]);
            return minute ? user.Minute : user.Day;
        }

        return null;
    }

    private static void Export(List<BudgetWindowRecord> into, string instanceId, string scope, SlidingWindowCounter minute, SlidingWindowCounter? day, DateTimeOffset now)
    {
        foreach (var (name, counter) in new[] { (BudgetWindowRecord.MinuteWindow, minute), (BudgetWindowRecord.DayWindow, day) })
        {
            if (counter is { OwnChanged: true })
            {
                var (newest, counts) = counter.ExportOwn(now);
                into.Add(new BudgetWindowRecord(instanceId, scope, name, newest, counts, now));
            }
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

    private UserWindows User(string account)
    {
        if (!_users.TryGetValue(account, out var user))
        {
            _users[account] = user = new UserWindows();
        }

        return user;
    }

    /// <summary>One account's windows, and its requests waiting on them by priority. Guarded by the budget's lock.</summary>
    private sealed class UserWindows
    {
        public SlidingWindowCounter Minute { get; } = new(RequestBudget.Minute, 60);

        public SlidingWindowCounter Day { get; } = new(RequestBudget.Day, 1440);

        public int[] Waiters { get; } = new int[Shares.Length];
    }

    /// <summary>A request registered as waiting, and where.</summary>
    private sealed record Waiter(GoogleRequestPriority Priority, bool OnProject, UserWindows User);

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

/// <summary>
/// Requests counted in the current windows (the project's, and the most-used account's, which may be two different
/// accounts for the minute and the day), and how often each priority had to wait.
/// </summary>
internal sealed record BudgetUsage(long ProjectMinute, long ProjectDay, long BusiestUserMinute, long BusiestUserDay, IReadOnlyList<long> WaitsByPriority);
