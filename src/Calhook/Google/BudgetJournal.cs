using Calhook.Coordination;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Google;

/// <summary>
/// Keeps the request budget's windows across restarts. At start, before the services that call Google start, the
/// windows saved by earlier processes (and, on a shared store, by the other instances) are counted again in this
/// process's budget; then this process saves its own minute windows every <see cref="Interval"/>, its day windows
/// every <see cref="DayInterval"/> (1,440 buckets each, and a minute more or less of a day matters little), and all of
/// them once more when it stops. A restart therefore does not grant a fresh minute or day of Google's quota: a
/// graceful one loses no count, a killed one the requests of its last interval at most. Saved windows are forgotten a
/// day after their last save.
/// </summary>
internal sealed partial class BudgetJournal(ICalhookStore store, RequestBudget budget, StoreKind kind, TimeProvider time, ILogger<BudgetJournal> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan DayInterval = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan Kept = TimeSpan.FromDays(1);

    private DateTimeOffset _daysSavedAt;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var windows = await store.ListBudgetWindowsAsync(time.GetUtcNow() - Kept, cancellationToken);
            budget.Restore(windows);
            var usage = budget.Usage();
            LogRestored(logger, windows.Count, usage.ProjectMinute, usage.ProjectDay);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Starting with empty windows risks exceeding Google's quota for a while; not starting would stop syncing.
            LogRestoreFailed(logger, exception);
        }

        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);

        // Not the stop's token: a shutdown running out of time should still leave the counts behind.
        await SaveAsync(daysDue: true, CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Interval, time, stoppingToken);
                await SaveAsync(daysDue: false, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Saves the windows this process spent in since the last save (nothing when it made no request): every window,
    /// or with <paramref name="daysDue"/> false only the minute ones while the day windows' interval has not passed.
    /// </summary>
    public async Task SaveAsync(bool daysDue, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var days = daysDue || now - _daysSavedAt >= DayInterval;
        var windows = budget.ExportChanged(kind.InstanceId, now, days);
        if (days)
        {
            _daysSavedAt = now;
        }

        if (windows.Count == 0)
        {
            return;
        }

        try
        {
            await store.SaveBudgetWindowsAsync(windows, now - Kept, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Each save carries whole windows: the next request's save replaces what this one failed to write.
            budget.MarkUnsaved(windows);
            LogSaveFailed(logger, exception);
        }
    }

    [LoggerMessage(EventId = LogEvents.BudgetRestored, Level = LogLevel.Information,
        Message = "Request budget restored from {Windows} saved windows: {Minute} requests in the last minute, {Day} in the last day")]
    private static partial void LogRestored(ILogger logger, int windows, long minute, long day);

    [LoggerMessage(EventId = LogEvents.BudgetRestoreFailed, Level = LogLevel.Warning,
        Message = "The request budget's saved windows could not be read; it starts empty and may exceed Google's quota for a minute")]
    private static partial void LogRestoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = LogEvents.BudgetSaveFailed, Level = LogLevel.Warning, Message = "Saving the request budget's windows failed; the next save tries again")]
    private static partial void LogSaveFailed(ILogger logger, Exception exception);
}
