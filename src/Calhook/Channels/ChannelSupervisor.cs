using System.Collections.Concurrent;
using System.Threading.Channels;
using Calhook.Accounts;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Channels;

/// <summary>
/// The one owner of push channels: keeps one open channel per watched calendar for as long as it is watched.
/// One loop, one command queue and one renewal schedule: opens channels for new watches, renews them ahead of
/// expiry (new id, overlap, then stop the old one), restores them on start-up, stops them on unwatch, and stops
/// channels nobody knows. All state below the queue is touched by the loop only.
/// </summary>
internal sealed partial class ChannelSupervisor : BackgroundService
{
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, byte> _pendingUnknown = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, DateTimeOffset> _schedule = new();
    private readonly Dictionary<string, WatchSlot> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _unknownStopped = new(StringComparer.Ordinal);
    private readonly ICalhookStore _store;
    private readonly GoogleCalendarClient _google;
    private readonly ChannelMap _map;
    private readonly SecretProtector _secrets;
    private readonly SyncScheduler _sync;
    private readonly TimeProvider _time;
    private readonly ChannelOptions _options;
    private readonly RenewalPolicy _policy;
    private readonly IOptions<CalhookOptions> _calhook;
    private readonly ILogger<ChannelSupervisor> _logger;
    private readonly TaskCompletionSource _restored = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChannelSupervisor(
        ICalhookStore store, GoogleCalendarClient google, ChannelMap map, SecretProtector secrets, SyncScheduler sync,
        TimeProvider time, IOptions<ChannelOptions> options, IOptions<CalhookOptions> calhook, ILogger<ChannelSupervisor> logger)
    {
        _store = store;
        _google = google;
        _map = map;
        _secrets = secrets;
        _sync = sync;
        _time = time;
        _options = options.Value;
        _policy = new RenewalPolicy(_options);
        _calhook = calhook;
        _logger = logger;
    }

    /// <summary>Completes when start-up restoration (store and Google) is done; tests and readiness can await it.</summary>
    public Task Restored => _restored.Task;

    /// <summary>Opens a channel for a new watch.</summary>
    public void Watch(string watchId) => _commands.Writer.TryWrite(new Command(CommandKind.Open, watchId, null));

    /// <summary>Stops every channel of a watch that was just stopped.</summary>
    public void Unwatch(string watchId) => _commands.Writer.TryWrite(new Command(CommandKind.Unwatch, watchId, null));

    /// <summary>
    /// Stops a channel the receiver does not know, when Calhook holds credentials for it. Never blocks; at most
    /// 1,000 pending, so a flood of forged pings cannot grow the queue.
    /// </summary>
    public void StopUnknown(string channelId, string resourceId)
    {
        if (_pendingUnknown.Count < 1000 && _pendingUnknown.TryAdd(channelId, 0))
        {
            _commands.Writer.TryWrite(new Command(CommandKind.StopUnknown, channelId, resourceId));
        }
    }

    /// <summary>Loads open channels into the map before the host starts serving, so no ping of ours looks unknown.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var channel in await _store.ListOpenChannelsAsync(cancellationToken))
        {
            if (await _store.GetWatchAsync(channel.WatchId, cancellationToken) is not { } watch || TryUnprotect(channel) is not { } token)
            {
                continue;
            }

            _map.Add(KnownChannel.Create(channel.Id, watch.Id, watch.AccountId, token) with { ResourceId = channel.ResourceId, ExpiresAt = channel.ExpiresAt });
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RestoreAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogLoopError(_logger, "restore", ex);
        }
        finally
        {
            _restored.TrySetResult();
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            // Commands first (new watches, unwatches), then every renewal that is due, then sleep until the next.
            while (_commands.Reader.TryRead(out var command))
            {
                await RunSafelyAsync(command.Kind.ToString(), () => HandleAsync(command, stoppingToken));
            }

            var now = _time.GetUtcNow();
            while (_schedule.TryPeek(out var watchId, out var due) && due <= now)
            {
                _schedule.Dequeue();
                // A slot may have been rescheduled or removed since this entry was queued: only its own time counts.
                if (_slots.TryGetValue(watchId, out var slot) && slot.DueAt == due)
                {
                    slot.DueAt = null;
                    await RunSafelyAsync("renew", () => OpenChannelAsync(slot, stoppingToken));
                }
            }

            await WaitForWorkAsync(stoppingToken);
        }
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var waits = new List<Task> { _commands.Reader.WaitToReadAsync(wake.Token).AsTask() };
        if (_schedule.TryPeek(out _, out var due))
        {
            var delay = due - _time.GetUtcNow();
            waits.Add(delay > TimeSpan.Zero ? Task.Delay(delay, _time, wake.Token) : Task.CompletedTask);
        }

        await Task.WhenAny(waits);
        await wake.CancelAsync();
    }

    private async Task HandleAsync(Command command, CancellationToken cancellationToken)
    {
        switch (command.Kind)
        {
            case CommandKind.Open:
                if (await _store.GetWatchAsync(command.Id, cancellationToken) is { Status: not WatchStatus.Stopped } watch)
                {
                    var slot = _slots.TryGetValue(watch.Id, out var existing) ? existing : _slots[watch.Id] = new WatchSlot(watch.Id, watch.AccountId, watch.CalendarId);
                    await OpenChannelAsync(slot, cancellationToken);
                }

                break;
            case CommandKind.Unwatch:
                if (_slots.Remove(command.Id, out var removed))
                {
                    removed.DueAt = null;
                }

                _map.ClearWatch(command.Id);
                foreach (var channel in await _store.ListOpenChannelsAsync(cancellationToken))
                {
                    if (channel.WatchId == command.Id && await _store.GetWatchAsync(channel.WatchId, cancellationToken) is { } w)
                    {
                        await StopChannelAsync(channel.Id, channel.ResourceId, w.AccountId, cancellationToken);
                    }
                }

                break;
            case CommandKind.StopUnknown:
                _pendingUnknown.TryRemove(command.Id, out _);
                await StopUnknownAsync(command.Id, command.ResourceId!, cancellationToken);
                break;
        }
    }

    private async Task RunSafelyAsync(string what, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // One bad watch must not stop the loop that keeps every other channel alive.
            LogLoopError(_logger, what, ex);
        }
    }

    private void Schedule(WatchSlot slot, DateTimeOffset at)
    {
        slot.DueAt = at;
        _schedule.Enqueue(slot.WatchId, at);
    }

    private string Address => (_calhook.Value.PublicUrl ?? "").TrimEnd('/') + "/google/notifications";

    private string? TryUnprotect(ChannelRecord channel)
    {
        try
        {
            return _secrets.UnprotectChannelToken(channel.ProtectedToken);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private enum CommandKind { Open, Unwatch, StopUnknown }

    private sealed record Command(CommandKind Kind, string Id, string? ResourceId);

    /// <summary>The loop's view of one watch: its identity, current channel, failures and next due time.</summary>
    private sealed class WatchSlot(string watchId, string accountId, string calendarId)
    {
        public string WatchId { get; } = watchId;
        public string AccountId { get; } = accountId;
        public string CalendarId { get; } = calendarId;
        public KnownChannel? Current { get; set; }
        public int Failures { get; set; }
        public DateTimeOffset? DueAt { get; set; }
    }
}
