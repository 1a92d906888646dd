using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Changes;

/// <summary>
/// The live tail of the change log for every stream reader: one loop reads each commit's changes from the store once,
/// serializes each change once, and offers the same bytes to every live reader's own bounded buffer, so a thousand
/// readers cost one store read per commit, not a thousand, and none of them waits for another. A reader whose buffer
/// would pass <see cref="ChangeStreamOptions.ReaderBufferBytes"/> is detached: it sends what it holds, then reads the
/// store itself from where it stopped (as a reader that starts behind the tail does) and <see cref="TryJoin"/>s again.
/// Memory per reader is bounded that way; a reader that stops reading altogether is disconnected by its writer after
/// <see cref="ChangeStreamOptions.StalledReaderTimeout"/>. Thread-safe.
/// </summary>
internal sealed partial class ChangeStreamHub : BackgroundService
{
    private const int PageSize = 1000;

    private readonly ICalhookStore _store;
    private readonly ChangeNotifier _notifier;
    private readonly ChangeStreamOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ChangeStreamHub> _logger;
    private readonly Lock _gate = new();
    private readonly List<Reader> _readers = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _tail;
    private int _connected;

    public ChangeStreamHub(ICalhookStore store, ChangeNotifier notifier, IOptions<ChangeStreamOptions> options, TimeProvider time,
        ILogger<ChangeStreamHub> logger)
    {
        _store = store;
        _time = time;
        _notifier = notifier;
        _options = options.Value;
        _logger = logger;
    }

    public ChangeStreamOptions Options => _options;

    /// <summary>Readers connected now (catching up or live).</summary>
    public int Connected => Volatile.Read(ref _connected);

    /// <summary>Readers disconnected so far because they stopped reading.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Times so far a live reader's buffer was full and it went back to reading the store.</summary>
    public long Detached => Interlocked.Read(ref _detached);

    private long _dropped;
    private long _detached;

    /// <summary>Counts a reader disconnected because it stopped reading.</summary>
    public void CountDropped()
    {
        Interlocked.Increment(ref _dropped);
        LogReaderDropped(_options.StalledReaderTimeout);
    }

    /// <summary>Counts a new connection; false (and nothing counted) when <see cref="ChangeStreamOptions.MaxReaders"/> are connected.</summary>
    public bool TryConnect()
    {
        while (true)
        {
            var now = Volatile.Read(ref _connected);
            if (now >= _options.MaxReaders)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _connected, now + 1, now) == now)
            {
                return true;
            }
        }
    }

    public void Disconnect(Reader reader)
    {
        lock (_gate)
        {
            _readers.Remove(reader);
        }

        Interlocked.Decrement(ref _connected);
    }

    /// <summary>Completes once the hub knows where the log ends.</summary>
    public Task Ready => _ready.Task;

    /// <summary>
    /// Makes <paramref name="reader"/> live when it has read the log up to the hub's tail (its <see cref="Reader.Cursor"/>
    /// is at or past it): from then on it gets every change after its cursor through its buffer. False when the tail
    /// moved past the reader: it reads the store again and retries.
    /// </summary>
    public bool TryJoin(Reader reader)
    {
        lock (_gate)
        {
            if (reader.Cursor < _tail)
            {
                return false;
            }

            _readers.Add(reader);
            return true;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    _tail = await _store.GetLastSequenceAsync(stoppingToken);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The store is not reachable yet: readers wait for the hub; try again shortly.
                    LogReadFailed(e);
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken);
                }
            }

            _ready.TrySetResult();
            while (!stoppingToken.IsCancellationRequested)
            {
                // Taken before reading, so a commit during the read still wakes the next round.
                var next = _notifier.NextCommit;
                try
                {
                    await BroadcastAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The store failed a read: readers keep what they have; the next commit retries from the same tail.
                    LogReadFailed(e);
                }

                await next.WaitAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _ready.TrySetResult();
        }
    }

    private async Task BroadcastAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            long from;
            lock (_gate)
            {
                if (_readers.Count == 0)
                {
                    // Nobody live: skip the read. A reader joining later is behind the tail and reads the store.
                    _tail = Math.Max(_tail, _notifier.LastSequence);
                    return;
                }

                from = _tail;
            }

            var changes = await _store.ReadChangesAsync(new ChangeQuery(from, PageSize, null, null), cancellationToken);
            if (changes.Count == 0)
            {
                return;
            }

            var frames = changes.Select(StreamFrame.From).ToList();
            List<Reader>? overflowed = null;
            lock (_gate)
            {
                foreach (var reader in _readers)
                {
                    if (!reader.Offer(frames, _options.ReaderBufferBytes))
                    {
                        (overflowed ??= []).Add(reader);
                    }
                }

                _tail = frames[^1].Sequence;
                if (overflowed is not null)
                {
                    _readers.RemoveAll(overflowed.Contains);
                }
            }

            foreach (var reader in overflowed ?? [])
            {
                Interlocked.Increment(ref _detached);
                reader.Detach();
            }

            if (changes.Count < PageSize)
            {
                return;
            }
        }
    }

    /// <summary>One change as the stream sends it, serialized once for every reader.</summary>
    internal sealed record StreamFrame(Change Change, byte[] Bytes)
    {
        public long Sequence => Change.Sequence;

        public static StreamFrame From(Change change)
        {
            var json = JsonSerializer.Serialize(ChangeWire.From(change), ChangeJsonContext.Wire.ChangeWire);
            return new StreamFrame(change, Encoding.UTF8.GetBytes($"id: {change.Sequence}\nevent: {change.Type}\ndata: {json}\n\n"));
        }
    }

    /// <summary>
    /// One connected stream reader: its filter, how far it has been given the log, and, while live, its bounded buffer.
    /// The hub writes the buffer and <see cref="Cursor"/> (under its lock) while the reader is live; the reader's writer
    /// owns both otherwise.
    /// </summary>
    internal sealed class Reader(ChangeFilter filter, long cursor)
    {
        private Channel<StreamFrame> _buffer = NewBuffer();
        private long _bufferedBytes;

        public ChangeFilter Filter { get; } = filter;

        /// <summary>The last sequence this reader was given (written or buffered), whether its filter let it through or not.</summary>
        public long Cursor { get; set; } = cursor;

        /// <summary>The live buffer; it completes when the hub detaches the reader.</summary>
        public ChannelReader<StreamFrame> Buffer => _buffer.Reader;

        /// <summary>A fresh live buffer, before joining again.</summary>
        public void Rejoining()
        {
            _buffer = NewBuffer();
            Interlocked.Exchange(ref _bufferedBytes, 0);
        }

        /// <summary>Buffers the frames after <see cref="Cursor"/> that pass the filter; false at the first one that would overflow the buffer.</summary>
        public bool Offer(IReadOnlyList<StreamFrame> frames, int capacityBytes)
        {
            foreach (var frame in frames)
            {
                if (frame.Sequence <= Cursor)
                {
                    continue;
                }

                if (Filter.Matches(frame.Change))
                {
                    // One frame always fits into an empty buffer, however large.
                    var buffered = Interlocked.Read(ref _bufferedBytes);
                    if (buffered > 0 && buffered + frame.Bytes.Length > capacityBytes)
                    {
                        return false;
                    }

                    Interlocked.Add(ref _bufferedBytes, frame.Bytes.Length);
                    _buffer.Writer.TryWrite(frame);
                }

                Cursor = frame.Sequence;
            }

            return true;
        }

        /// <summary>The writer took <paramref name="frame"/> off the buffer.</summary>
        public void Taken(StreamFrame frame) => Interlocked.Add(ref _bufferedBytes, -frame.Bytes.Length);

        /// <summary>No more live frames: the writer sends what is buffered, then reads the store after <see cref="Cursor"/>.</summary>
        public void Detach() => _buffer.Writer.TryComplete();

        private static Channel<StreamFrame> NewBuffer() =>
            Channel.CreateUnbounded<StreamFrame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    }

    [LoggerMessage(EventId = LogEvents.ChangeStreamReadFailed, Level = LogLevel.Warning, Message = "The change stream could not read the log; it retries at the next commit")]
    private partial void LogReadFailed(Exception exception);

    [LoggerMessage(EventId = LogEvents.ChangeStreamReaderDisconnected, Level = LogLevel.Information, Message = "A change stream reader was disconnected: it accepted nothing for {Timeout}")]
    private partial void LogReaderDropped(TimeSpan timeout);
}
