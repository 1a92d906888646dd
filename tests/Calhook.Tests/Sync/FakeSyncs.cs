using System.Collections.Concurrent;
using System.Threading.Channels;
using Calhook.Google;
using Calhook.Sync;

namespace Calhook.Tests.Sync;

/// <summary>
/// A hand-written sync runner for scheduler tests: each sync the scheduler starts is reported on a channel and
/// runs until the test completes it, so tests control exactly when syncs end, without sleeping.
/// </summary>
internal sealed class FakeSyncs
{
    private readonly Channel<Started> _started = Channel.CreateUnbounded<Started>();
    private readonly Channel<(string WatchId, SyncOutcome Outcome)> _finished = Channel.CreateUnbounded<(string, SyncOutcome)>();
    private int _inFlight;

    public ConcurrentDictionary<string, int> Runs { get; } = new();

    public int MaxInFlight { get; private set; }

    public sealed record Started(string WatchId, TaskCompletionSource<SyncOutcome> Completion, CancellationToken CancellationToken, GoogleRequestPriority Priority)
    {
        public void Complete(SyncResult result = SyncResult.Synced) => Completion.SetResult(new SyncOutcome(result));
    }

    public async Task<SyncOutcome> RunAsync(string watchId, CancellationToken cancellationToken)
    {
        Runs.AddOrUpdate(watchId, 1, (_, n) => n + 1);
        var inFlight = Interlocked.Increment(ref _inFlight);
        MaxInFlight = Math.Max(MaxInFlight, inFlight);
        var completion = new TaskCompletionSource<SyncOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        _started.Writer.TryWrite(new Started(watchId, completion, cancellationToken, RequestBudgetHandler.CurrentPriority));
        try
        {
            return await completion.Task;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>The observer to give the scheduler: reports each finished sync.</summary>
    public void OnFinished(string watchId, SyncOutcome outcome) => _finished.Writer.TryWrite((watchId, outcome));

    public async Task<Started> NextStartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _started.Reader.ReadAsync(timeout.Token);
    }

    public async Task<(string WatchId, SyncOutcome Outcome)> NextFinishAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _finished.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>True when no sync has started that the test has not taken yet.</summary>
    public bool NoPendingStart => !_started.Reader.TryPeek(out _);
}
