using System.Collections.Concurrent;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Receiving;

/// <summary>
/// Records each watch's last notification time off the receiver's hot path: the receiver writes to memory, and this
/// loop writes the latest time per watch to the store every <see cref="ReceivingOptions.FlushInterval"/>, and once
/// more at shutdown. Thread-safe.
/// </summary>
internal sealed partial class NotificationRecorder : BackgroundService
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _pending = new(StringComparer.Ordinal);
    private readonly ICalhookStore _store;
    private readonly TimeProvider _time;
    private readonly ReceivingOptions _options;
    private readonly ILogger<NotificationRecorder> _logger;

    public NotificationRecorder(ICalhookStore store, TimeProvider time, IOptions<ReceivingOptions> options, ILogger<NotificationRecorder> logger)
    {
        _store = store;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>On the receiver's hot path: no allocation once the watch has an entry.</summary>
    public void Record(string watchId, DateTimeOffset at) =>
        _pending.AddOrUpdate(watchId, static (_, at) => at, static (_, previous, at) => at > previous ? at : previous, at);

    /// <summary>A time recorded but not yet written, if any.</summary>
    public DateTimeOffset? Pending(string watchId) => _pending.TryGetValue(watchId, out var at) ? at : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FlushInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await FlushAsync(CancellationToken.None);
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var latest = _pending.ToArray();
        if (latest.Length == 0)
        {
            return;
        }

        try
        {
            // One transaction for every watch pinged since the last flush: at 1,000 watches a write (and an fsync) per
            // watch held the store's write lock for much of each second, ahead of the syncs' commits.
            await _store.RecordNotificationsAsync(latest, cancellationToken);
            foreach (var written in latest)
            {
                // Remove only if no newer ping arrived meanwhile.
                _pending.TryRemove(written);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFlushFailed(_logger, latest.Length, ex);
        }
    }

    [LoggerMessage(EventId = LogEvents.NotificationRecordFailed, Level = LogLevel.Warning, Message = "Recording the last notification of {Count} watches failed; the next flush tries again")]
    private static partial void LogFlushFailed(ILogger logger, int count, Exception exception);
}
