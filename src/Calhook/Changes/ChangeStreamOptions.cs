namespace Calhook.Changes;

/// <summary>The SSE stream <c>GET /v1/changes/stream</c>, section <c>Calhook:Stream</c>. Validated at start-up.</summary>
public sealed class ChangeStreamOptions
{
    public const string SectionName = "Calhook:Stream";

    /// <summary>
    /// Most stream readers connected at once; one more is answered 503 with <c>Retry-After</c>. Default 1000; at least 1.
    /// </summary>
    public int MaxReaders { get; set; } = 1000;

    /// <summary>
    /// Bytes of changes (as sent) the live tail holds for one reader that reads slower than changes arrive. A reader
    /// whose backlog would pass this goes back to reading the store from where it is (it misses nothing), so a slow
    /// reader costs at most this much of live buffer. A single change larger than this is still buffered.
    /// Default 256 KiB; at least 1 KiB.
    /// </summary>
    public int ReaderBufferBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// A reader that accepts no data for this long while changes wait for it (its connection's buffers are full) is
    /// disconnected; it can resume with <c>Last-Event-ID</c>. Default 30 s; at least 100 ms.
    /// </summary>
    public TimeSpan StalledReaderTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
