namespace Calhook.Changes;

/// <summary>
/// In-process signal raised after every commit that appended changes. Waiters take <see cref="NextCommit"/>
/// <em>before</em> reading the log, then await it, so a commit between the read and the wait is never missed.
/// Thread-safe.
/// </summary>
internal sealed class ChangeNotifier
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next <see cref="Notify"/>.</summary>
    public Task NextCommit => Volatile.Read(ref _next).Task;

    /// <summary>The highest sequence this process has committed or seen committed, 0 before the first.</summary>
    public long LastSequence => Interlocked.Read(ref _lastSequence);

    private long _lastSequence;

    /// <summary>Called after a commit appended changes up to <paramref name="lastSequence"/>.</summary>
    public void Notify(long lastSequence)
    {
        long seen;
        while ((seen = Interlocked.Read(ref _lastSequence)) < lastSequence
            && Interlocked.CompareExchange(ref _lastSequence, lastSequence, seen) != seen)
        {
        }

        var fired = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        fired.TrySetResult();
    }
}
