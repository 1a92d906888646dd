using Microsoft.Extensions.Time.Testing;

namespace Calhook.TestKit;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells when code starts waiting: <see cref="TimerCreated"/> completes when a
/// timer with the given due time is created (e.g. a long-poll's deadline), so a test knows the waiter is parked
/// without sleeping.
/// </summary>
public sealed class TimerSignal : FakeTimeProvider
{
    private readonly TimeSpan _dueTime;
    private readonly TaskCompletionSource _created = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _each = new(0);

    public TimerSignal(TimeSpan dueTime, DateTimeOffset start)
        : base(start)
    {
        _dueTime = dueTime;
    }

    /// <summary>Completes when the first timer due after exactly the given time is created.</summary>
    public Task TimerCreated => _created.Task;

    /// <summary>
    /// Waits for the next timer due after exactly the given time: each one created counts once, so a loop that waits
    /// again and again can be stepped (wait for its timer, advance, wait for the next).
    /// </summary>
    public async Task NextTimerAsync(TimeSpan timeout)
    {
        if (!await _each.WaitAsync(timeout))
        {
            throw new TimeoutException($"No timer due after {_dueTime} was created within {timeout}.");
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime == _dueTime)
        {
            _created.TrySetResult();
            _each.Release();
        }

        return timer;
    }
}
