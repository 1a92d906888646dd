namespace Calhook.Delivery;

/// <summary>
/// When the next attempt of a failed delivery is made: after the configured delay for that attempt, randomised by the
/// jitter, and never before the receiver's <c>Retry-After</c>. After the last delay there is no next attempt.
/// Pure apart from the clock and the random source; thread-safe when the random source is.
/// </summary>
internal sealed class RetryPolicy
{
    /// <summary>A <c>Retry-After</c> longer than this is cut to it: a receiver cannot park a change for weeks.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromDays(1);

    private readonly IReadOnlyList<TimeSpan> _delays;
    private readonly double _jitter;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;

    /// <param name="random">Returns a number in [0, 1); default <see cref="Random.Shared"/>.</param>
    public RetryPolicy(IReadOnlyList<TimeSpan> delays, double jitter, TimeProvider time, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(delays);
        ArgumentOutOfRangeException.ThrowIfNegative(jitter);
        _delays = delays;
        _jitter = jitter;
        _time = time;
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>Attempts a change gets in all: the first, then one per delay.</summary>
    public int MaxAttempts => _delays.Count + 1;

    /// <summary>
    /// The time of the attempt after attempt number <paramref name="attemptsMade"/> failed, or null when that was the last.
    /// </summary>
    public DateTimeOffset? NextAttemptAt(int attemptsMade, TimeSpan? retryAfter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attemptsMade, 1);
        if (attemptsMade >= MaxAttempts)
        {
            return null;
        }

        var delay = _delays[attemptsMade - 1] * (1 + (_jitter * ((2 * _random()) - 1)));
        if (retryAfter is { } minimum && minimum > delay)
        {
            delay = minimum < MaxRetryAfter ? minimum : MaxRetryAfter;
        }

        return _time.GetUtcNow() + delay;
    }
}
