using System.Globalization;
using Calhook.Emulator.Events;
using Calhook.Emulator.Faults;
using Microsoft.Extensions.Logging;

namespace Calhook.Emulator.Channels;

/// <summary>
/// Delivers push messages: one background loop per channel reads that channel's queue, so messages leave in
/// mutation order (unless the reorder fault is on) and a slow or failing receiver delays only its own channel.
/// Mutations only enqueue; they never wait for a delivery.
/// </summary>
internal sealed partial class NotificationDispatcher : IAsyncDisposable
{
    private static readonly int[] Success = [200, 201, 202, 204, 102];
    private static readonly int[] Retried = [500, 502, 503, 504];

    private readonly ChannelRegistry _registry;
    private readonly FaultInjector _faults;
    private readonly EmulatorRuntime _runtime;
    private readonly ILogger<NotificationDispatcher> _logger;
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _loopsGate = new();

    public NotificationDispatcher(ChannelRegistry registry, FaultInjector faults, EmulatorRuntime runtime, ChangeSignal signal,
        ILogger<NotificationDispatcher> logger)
    {
        _registry = registry;
        _faults = faults;
        _runtime = runtime;
        _logger = logger;
        signal.Changed += Publish;
    }

    /// <summary>Registers the loop of a new channel and queues its <c>sync</c> message (number 1).</summary>
    public void Start(WatchChannel channel)
    {
        channel.Queue.Writer.TryWrite(new PushMessage(channel.NextNumber(1), "sync"));
        _runtime.MarkChanged();
        Resume(channel);
    }

    /// <summary>Restarts the loop of a channel restored from the state file (its <c>sync</c> message went out long ago).</summary>
    public void Resume(WatchChannel channel)
    {
        lock (_loopsGate)
        {
            _loops.RemoveAll(t => t.IsCompleted);
            _loops.Add(Task.Run(() => RunAsync(channel, _shutdown.Token)));
        }
    }

    public void Stop(WatchChannel channel)
    {
        _runtime.MarkChanged();
        channel.Queue.Writer.TryComplete();
        channel.Stopping.Cancel();
        _registry.Remove(channel);
    }

    /// <summary>Queues an <c>exists</c> message on every active channel watching the collection.</summary>
    public void Publish(string collection)
    {
        DateTimeOffset? now = null;
        foreach (var channel in _registry.Watching(collection))
        {
            // The clock is read only when someone watches: most mutations of a bulk load have no channel.
            now ??= _runtime.Clock.GetUtcNow();
            if (!channel.IsActive(now.Value))
            {
                continue;
            }

            channel.Queue.Writer.TryWrite(new PushMessage(channel.NextNumber(_faults.NextMessageGap()), "exists"));
        }
    }

    private async Task RunAsync(WatchChannel channel, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, channel.Stopping.Token);
        var ct = linked.Token;
        var reader = channel.Queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(ct))
            {
                if (!reader.TryRead(out var message))
                {
                    continue;
                }

                if (message.State != "sync" && _faults.Reorder)
                {
                    // Reorder fault: the next message of this channel (if one comes within the window) overtakes this one.
                    if (await ReadWithinAsync(reader, _runtime.Options.ReorderWindow, ct) is { } newer)
                    {
                        await DeliverAsync(channel, newer, ct);
                    }
                }

                await DeliverAsync(channel, message, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped channel or emulator shutdown: queued messages are dropped, as Google stops sending.
        }
    }

    private async Task<PushMessage?> ReadWithinAsync(System.Threading.Channels.ChannelReader<PushMessage> reader, TimeSpan window,
        CancellationToken ct)
    {
        if (reader.TryRead(out var ready))
        {
            return ready;
        }

        using var timer = new CancellationTokenSource(window, _runtime.Clock);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        try
        {
            return await reader.WaitToReadAsync(wait.Token) && reader.TryRead(out var next) ? next : null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task DeliverAsync(WatchChannel channel, PushMessage message, CancellationToken ct)
    {
        if (!channel.IsActive(_runtime.Clock.GetUtcNow()))
        {
            return;
        }

        if (_faults.DropNotification())
        {
            LogDropped(channel.Id, message.Number);
            return;
        }

        var delay = _faults.NotificationDelay();
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _runtime.Clock, ct);
        }

        var copies = _faults.DuplicateNotification() ? 2 : 1;
        for (var copy = 0; copy < copies; copy++)
        {
            if (await SendWithRetriesAsync(channel, message, ct))
            {
                channel.CountDelivered();
            }
            else
            {
                channel.CountFailed();
            }
        }
    }

    private async Task<bool> SendWithRetriesAsync(WatchChannel channel, PushMessage message, CancellationToken ct)
    {
        var options = _runtime.Options;
        for (var attempt = 1; ; attempt++)
        {
            var status = await SendOnceAsync(channel, message, ct);
            if (Success.Contains(status))
            {
                return true;
            }

            var retriable = status == 0 || Retried.Contains(status);
            if (!retriable || attempt >= options.NotificationMaxAttempts)
            {
                LogFailed(channel.Id, message.Number, status, attempt);
                return false;
            }

            // Exponential backoff: base, 2×base, 4×base, …
            await Task.Delay(options.NotificationRetryDelay * Math.Pow(2, attempt - 1), _runtime.Clock, ct);
        }
    }

    /// <summary>One POST; the status code, or 0 when the receiver could not be reached in time.</summary>
    private async Task<int> SendOnceAsync(WatchChannel channel, PushMessage message, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, channel.Address);
        request.Headers.TryAddWithoutValidation("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)");
        request.Headers.Add("X-Goog-Channel-ID", channel.Id);
        if (channel.Token is not null)
        {
            request.Headers.Add("X-Goog-Channel-Token", channel.Token);
        }

        request.Headers.Add("X-Goog-Channel-Expiration", channel.ExpiresAt.ToString("r", CultureInfo.InvariantCulture));
        request.Headers.Add("X-Goog-Message-Number", message.Number.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("X-Goog-Resource-ID", channel.ResourceId);
        request.Headers.Add("X-Goog-Resource-State", message.State);
        request.Headers.Add("X-Goog-Resource-URI", channel.ResourceUri);
        request.Content = new ByteArrayContent([]);
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; utf-8");
        using var timeout = new CancellationTokenSource(_runtime.Options.NotificationTimeout, _runtime.Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        Task[] running;
        lock (_loopsGate)
        {
            running = [.. _loops];
        }

        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _http.Dispose();
        _shutdown.Dispose();
    }

    [LoggerMessage(EmulatorLogEvents.NotificationDropped, LogLevel.Debug, "Notification {MessageNumber} of channel {ChannelId} dropped by the drop fault")]
    private partial void LogDropped(string channelId, long messageNumber);

    [LoggerMessage(EmulatorLogEvents.NotificationFailed, LogLevel.Information, "Notification {MessageNumber} of channel {ChannelId} failed with status {Status} after {Attempts} attempts")]
    private partial void LogFailed(string channelId, long messageNumber, int status, int attempts);
}
