using Calhook.Changes;
using Calhook.Google;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.Tests.Sync;

/// <summary>
/// Wraps the real events.list so a test can hold a sync in the middle (a slow Google) and count the calls.
/// Open by default; while closed, calls wait at the gate.
/// </summary>
internal sealed class ListGate
{
    private TaskCompletionSource _open = NewSignal(completed: true);
    private TaskCompletionSource _arrived = NewSignal(completed: false);
    private int _calls;
    private int _completed;

    public int Calls => Volatile.Read(ref _calls);

    public int Completed => Volatile.Read(ref _completed);

    /// <summary>Completes when a call reaches the closed gate.</summary>
    public Task Arrived => _arrived.Task;

    public void Close()
    {
        _arrived = NewSignal(completed: false);
        _open = NewSignal(completed: false);
    }

    public void Open() => _open.TrySetResult();

    /// <summary>Registers a syncer whose events.list goes through this gate.</summary>
    public void Install(IServiceCollection services) => services.AddSingleton(sp => new Syncer(
        sp.GetRequiredService<ICalhookStore>(),
        Wrap(sp.GetRequiredService<GoogleCalendarClient>().ListEventsPageAsync),
        sp.GetRequiredService<ChangeNotifier>(),
        sp.GetRequiredService<ChangeIds>(),
        sp.GetRequiredService<TimeProvider>(),
        sp.GetRequiredService<ILogger<Syncer>>()));

    private EventsPageReader Wrap(EventsPageReader inner) => async (account, calendar, syncToken, pageToken, cancellationToken) =>
    {
        Interlocked.Increment(ref _calls);
        _arrived.TrySetResult();
        await _open.Task.WaitAsync(cancellationToken);
        try
        {
            return await inner(account, calendar, syncToken, pageToken, cancellationToken);
        }
        finally
        {
            Interlocked.Increment(ref _completed);
        }
    };

    private static TaskCompletionSource NewSignal(bool completed)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            signal.SetResult();
        }

        return signal;
    }
}
