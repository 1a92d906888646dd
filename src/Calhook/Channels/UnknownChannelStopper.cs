using System.Threading.Channels;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Channels;

/// <summary>
/// Stops channels the receiver does not know, when an account of ours can (invariant 6, docs/architecture.md). This is
/// work caused by unverified input: anyone can send a ping naming any channel. So it runs in its own loop, apart from
/// the <see cref="ChannelSupervisor"/> whose renewals and opens it must never delay, and it is bounded everywhere: at most
/// <see cref="QueueCapacity"/> ids wait (more are dropped: a live channel pings again), each id is taken once per
/// <see cref="ChannelOptions.UnknownChannelStopWindow"/> (remembered in a set of at most <see cref="RecentCapacity"/>
/// ids, oldest forgotten first), and at most <see cref="ChannelOptions.UnknownChannelStopsPerSecond"/> stop calls go
/// to Google. Thread-safe.
/// </summary>
internal sealed partial class UnknownChannelStopper : BackgroundService
{
    /// <summary>Ids waiting for the loop; a flood beyond this is dropped.</summary>
    public const int QueueCapacity = 64;

    /// <summary>Ids remembered to take each once per window.</summary>
    public const int RecentCapacity = 10_000;

    private readonly Channel<(string ChannelId, string ResourceId)> _queue = Channel.CreateBounded<(string, string)>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly RecentIds _recent = new(RecentCapacity);
    private readonly Lock _gate = new();
    private readonly ICalhookStore _store;
    private readonly GoogleCalendarClient _google;
    private readonly ChannelMap _map;
    private readonly TimeProvider _time;
    private readonly ChannelOptions _options;
    private readonly ILogger<UnknownChannelStopper> _logger;
    private DateTimeOffset _nextCallAt;
    private long _stopCalls;
    private long _dropped;

    public UnknownChannelStopper(
        ICalhookStore store, GoogleCalendarClient google, ChannelMap map, TimeProvider time, IOptions<ChannelOptions> options,
        ILogger<UnknownChannelStopper> logger)
    {
        _store = store;
        _google = google;
        _map = map;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>How many stop calls went to Google for unknown channels.</summary>
    public long StopCalls => Interlocked.Read(ref _stopCalls);

    /// <summary>How many unknown ids were dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>How many ids the recent set holds now (never more than <see cref="RecentCapacity"/>).</summary>
    public int RecentCount
    {
        get
        {
            lock (_gate)
            {
                return _recent.Count;
            }
        }
    }

    /// <summary>On the receiver's path: never blocks, never grows beyond its bounds.</summary>
    public void Enqueue(string channelId, string resourceId)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_recent.Contains(channelId, now - _options.UnknownChannelStopWindow))
            {
                return;
            }

            // Remembered only when queued: a dropped id is taken again from its next ping.
            if (_queue.Writer.TryWrite((channelId, resourceId)))
            {
                _recent.Add(channelId, now);
            }
            else
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Unverified input must not take the request budget that pushes and renewals need: these stops spend the
        // lowest priority's share only.
        using var priority = RequestBudgetHandler.WithPriority(GoogleRequestPriority.SafetyNet);
        try
        {
            await foreach (var (channelId, resourceId) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await StopAsync(channelId, resourceId, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogStopError(_logger, channelId, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// A channel of ours (stopped, or left over from a failed open) is stopped as its watch's account, with the resource
    /// id Google gave us; a foreign one on a calendar we watch, as each account that watches that resource in turn.
    /// </summary>
    private async Task StopAsync(string channelId, string resourceId, CancellationToken cancellationToken)
    {
        if (_map.TryGet(channelId, out _))
        {
            return; // known by now: opened meanwhile
        }

        var now = _time.GetUtcNow();
        var record = await _store.GetChannelAsync(channelId, cancellationToken);
        if (record is { StoppedAt: null } && now - record.CreatedAt < _options.UnknownChannelStopWindow)
        {
            return; // ours and open: being opened right now, or restored a moment ago
        }

        IReadOnlyList<string> accounts = record is not null && await _store.GetWatchAsync(record.WatchId, cancellationToken) is { } watch
            ? [watch.AccountId]
            : _map.AccountsForResource(resourceId);
        if (accounts.Count == 0)
        {
            LogNotStoppable(_logger, channelId);
            return;
        }

        // Only the account that opened a channel can stop it: try each account that watches the resource until one can.
        foreach (var accountId in accounts)
        {
            await WaitForCallSlotAsync(cancellationToken);
            var result = await _google.StopChannelAsync(accountId, channelId, record?.ResourceId ?? resourceId, cancellationToken);
            Interlocked.Increment(ref _stopCalls);
            LogStopped(_logger, channelId, result.IsSuccess ? 200 : result.Error!.Status);
            if (result.IsSuccess)
            {
                break;
            }
        }

        if (record is { StoppedAt: null })
        {
            await _store.MarkChannelStoppedAsync(channelId, _time.GetUtcNow(), cancellationToken);
        }
    }

    /// <summary>Spaces stop calls evenly at <see cref="ChannelOptions.UnknownChannelStopsPerSecond"/>.</summary>
    private async Task WaitForCallSlotAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_nextCallAt > now)
        {
            await Task.Delay(_nextCallAt - now, _time, cancellationToken);
            now = _time.GetUtcNow();
        }

        _nextCallAt = (_nextCallAt > now ? _nextCallAt : now) + TimeSpan.FromSeconds(1.0 / _options.UnknownChannelStopsPerSecond);
    }

    [LoggerMessage(EventId = LogEvents.UnknownChannelStopped, Level = LogLevel.Information, Message = "Unknown channel {ChannelId} stop answered {Status}")]
    private static partial void LogStopped(ILogger logger, string channelId, int status);

    [LoggerMessage(EventId = LogEvents.UnknownChannelNotStoppable, Level = LogLevel.Debug, Message = "Unknown channel {ChannelId}: no account of ours can stop it")]
    private static partial void LogNotStoppable(ILogger logger, string channelId);

    [LoggerMessage(EventId = LogEvents.UnknownChannelStopFailed, Level = LogLevel.Error, Message = "Stopping unknown channel {ChannelId} failed")]
    private static partial void LogStopError(ILogger logger, string channelId, Exception exception);

    /// <summary>
    /// A fixed-capacity set of ids with the time each was added: adding to a full set forgets the oldest, so memory
    /// stays bounded however many distinct ids a flood brings. Not thread-safe (the owner locks).
    /// </summary>
    private sealed class RecentIds(int capacity)
    {
        private readonly Dictionary<string, DateTimeOffset> _added = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        public int Count => _added.Count;

        /// <summary>Whether the id was added after <paramref name="since"/>.</summary>
        public bool Contains(string id, DateTimeOffset since) => _added.TryGetValue(id, out var at) && at > since;

        public void Add(string id, DateTimeOffset at)
        {
            if (_added.ContainsKey(id))
            {
                _added[id] = at; // re-added after its window: keeps its place in the order, which only makes it forgotten sooner
                return;
            }

            if (_added.Count >= capacity)
            {
                _added.Remove(_order.Dequeue());
            }

            _added[id] = at;
            _order.Enqueue(id);
        }
    }
}
