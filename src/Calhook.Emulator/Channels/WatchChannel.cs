namespace Calhook.Emulator.Channels;

/// <summary>One push message waiting for delivery.</summary>
internal readonly record struct PushMessage(long Number, string State);

/// <summary>A push channel opened by <c>events.watch</c> or <c>calendarList.watch</c>. Counters are thread-safe.</summary>
internal sealed class WatchChannel(string id, string resourceId, string resourceUri, string? token, Uri address,
    DateTimeOffset expiresAt, string user, string collection, string? calendarId)
{
    private long _delivered;
    private long _failed;
    private long _lastNumber;

    public string Id { get; } = id;
    public string ResourceId { get; } = resourceId;
    public string ResourceUri { get; } = resourceUri;
    public string? Token { get; } = token;
    public Uri Address { get; } = address;
    public DateTimeOffset ExpiresAt { get; } = expiresAt;
    public string User { get; } = user;

    /// <summary>What is watched: a calendar id, or <c>calendarList:{user}</c>.</summary>
    public string Collection { get; } = collection;

    public string? CalendarId { get; } = calendarId;

    public System.Threading.Channels.Channel<PushMessage> Queue { get; } =
        System.Threading.Channels.Channel.CreateUnbounded<PushMessage>(new() { SingleReader = true });

    public CancellationTokenSource Stopping { get; } = new();

    public bool IsStopped => Stopping.IsCancellationRequested;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failed => Interlocked.Read(ref _failed);

    public bool IsActive(DateTimeOffset now) => !IsStopped && ExpiresAt > now;

    public void CountDelivered() => Interlocked.Increment(ref _delivered);

    public void CountFailed() => Interlocked.Increment(ref _failed);

    /// <summary>Message numbers: 1 for sync, then increasing by <paramref name="gap"/>.</summary>
    public long NextNumber(long gap) => Interlocked.Add(ref _lastNumber, gap);
}
