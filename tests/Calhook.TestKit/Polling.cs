namespace Calhook.TestKit;

/// <summary>Waiting for asynchronous work without sleeping a fixed time: poll a condition until a deadline.</summary>
public static class Polling
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it is true; fails with <paramref name="because"/> at the deadline.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await EventuallyAsync(condition, ok => ok, timeout, because);
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it is true; at the deadline fails with the message
    /// <paramref name="because"/> builds, only then (it usually shows the last state the test saw).
    /// </summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> because)
    {
        ArgumentNullException.ThrowIfNull(because);
        try
        {
            await EventuallyAsync(condition, timeout, "the condition did not become true");
        }
        catch (TimeoutException timedOut)
        {
            throw new TimeoutException($"{because()} ({timedOut.Message})", timedOut.InnerException);
        }
    }

    /// <summary>Polls <paramref name="probe"/> until <paramref name="accept"/> likes its value, and returns that value.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> accept, TimeSpan timeout, string because)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(accept);
        var clock = TimeProvider.System;
        var deadline = clock.GetTimestamp() + (long)(timeout.TotalSeconds * clock.TimestampFrequency);
        Exception? lastError = null;
        var last = default(T);
        while (true)
        {
            try
            {
                last = await probe();
                if (accept(last))
                {
                    return last;
                }

                lastError = null;
            }
            catch (Exception exception)
            {
                // A probe may fail while the system settles (a server not yet listening); only the deadline decides.
                lastError = exception;
            }

            if (clock.GetTimestamp() >= deadline)
            {
                var detail = lastError is null ? $"last value: {last}" : $"last error: {lastError.GetType().Name}: {lastError.Message}";
                throw new TimeoutException($"Not true within {timeout.TotalSeconds:0.###} s: {because} ({detail})", lastError);
            }

            await Task.Delay(Interval, clock);
        }
    }
}
