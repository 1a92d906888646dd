namespace Calhook.Sync;

/// <summary>Truncated exponential backoff with jitter for sync retries. Pure; the random source is passed in.</summary>
internal static class RetryBackoff
{
    /// <summary>
    /// The wait before retry number <paramref name="failures"/> (1 = after the first failure):
    /// <paramref name="first"/> · 2^(failures−1), at most <paramref name="max"/>, then ±20 % jitter.
    /// </summary>
    public static TimeSpan Delay(int failures, TimeSpan first, TimeSpan max, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failures, 1);
        var exponent = Math.Min(failures - 1, 30);
        var ticks = Math.Min(first.Ticks * (double)(1L << exponent), max.Ticks);
        return TimeSpan.FromTicks((long)(ticks * (0.8 + (0.4 * random.NextDouble()))));
    }

    /// <summary>A wait of <paramref name="interval"/> spread by ±<paramref name="jitter"/> (a fraction).</summary>
    public static TimeSpan Jitter(TimeSpan interval, double jitter, Random random) =>
        TimeSpan.FromTicks((long)(interval.Ticks * JitterFactor(jitter, random)));

    /// <summary>A factor within 1 ± <paramref name="jitter"/>, evenly spread.</summary>
    public static double JitterFactor(double jitter, Random random) => 1 + (jitter * ((2 * random.NextDouble()) - 1));
}
