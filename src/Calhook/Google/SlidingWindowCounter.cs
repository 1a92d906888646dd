namespace Calhook.Google;

/// <summary>
/// Counts events in a sliding window made of equal buckets: an event counts until its whole bucket has left the
/// window, so the count is never below the true count of any window of that length (it errs on the safe side by at
/// most one bucket). A window of N buckets therefore keeps N + 1 of them: the window that ends early in the newest
/// bucket still reaches into the bucket N before it. Events are this process's own (<see cref="Add"/>) or carried over from an earlier one
/// (<see cref="Carry"/>): both count, only the own ones are exported (<see cref="ExportOwn"/>), so a count carried
/// from one process to the next is never counted twice. Not thread-safe: <see cref="RequestBudget"/> holds a lock around it.
/// </summary>
internal sealed class SlidingWindowCounter
{
    private readonly long[] _counts;
    private readonly long[] _own;
    private readonly long _bucketTicks;
    private long _newestBucket;
    private long _total;

    public SlidingWindowCounter(TimeSpan window, int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window.Ticks, buckets);
        Window = window;
        _counts = new long[buckets + 1];
        _own = new long[buckets + 1];
        _bucketTicks = window.Ticks / buckets;
    }

    public TimeSpan Window { get; }

    /// <summary>Events counted in the window that ends at <paramref name="now"/>.</summary>
    public long Count(DateTimeOffset now)
    {
        Advance(now);
        return _total;
    }

    public void Add(DateTimeOffset now, long count = 1)
    {
        Advance(now);
        _counts[_newestBucket % _counts.Length] += count;
        _own[_newestBucket % _counts.Length] += count;
        _total += count;
        OwnChanged = true;
    }

    /// <summary>Whether an own event was added since the last <see cref="ExportOwn"/>.</summary>
    public bool OwnChanged { get; private set; }

    /// <summary>Makes <see cref="OwnChanged"/> true again (an export that was not saved).</summary>
    public void MarkChanged() => OwnChanged = true;

    /// <summary>
    /// This process's own events in the window that ends at <paramref name="now"/>: the newest bucket's number and the
    /// counts of the window's buckets, oldest first, ending with the newest (leading empty buckets left out).
    /// </summary>
    public (long NewestBucket, long[] Counts) ExportOwn(DateTimeOffset now)
    {
        Advance(now);
        OwnChanged = false;
        var buckets = _counts.Length;
        var counts = new long[buckets];
        for (var i = 0; i < buckets; i++)
        {
            var bucket = _newestBucket - (buckets - 1) + i;
            counts[i] = bucket < 0 ? 0 : _own[bucket % buckets];
        }

        var first = Array.FindIndex(counts, c => c != 0);
        return (_newestBucket, first < 0 ? [] : counts[first..]);
    }

    /// <summary>
    /// Counts events of an earlier process (as <see cref="ExportOwn"/> gave them) in the buckets where they happened;
    /// those that have left the window by <paramref name="now"/>, or lie ahead of it, are dropped.
    /// </summary>
    public void Carry(DateTimeOffset now, long newestBucket, IReadOnlyList<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        Advance(now);
        var buckets = _counts.Length;
        for (var i = 0; i < counts.Count; i++)
        {
            var bucket = newestBucket - (counts.Count - 1) + i;
            if (bucket <= _newestBucket - buckets || bucket > _newestBucket || counts[i] <= 0)
            {
                continue;
            }

            _counts[bucket % buckets] += counts[i];
            _total += counts[i];
        }
    }

    /// <summary>
    /// How long from <paramref name="now"/> until the count falls below <paramref name="limit"/> without new events:
    /// zero when it is below already.
    /// </summary>
    public TimeSpan TimeUntilBelow(DateTimeOffset now, long limit)
    {
        Advance(now);
        var total = _total;
        var buckets = _counts.Length;

        // After k bucket boundaries the k oldest buckets have left the window; find the smallest such k.
        for (var k = 0; k < buckets; k++)
        {
            if (total < limit)
            {
                return k == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(((_newestBucket + 1) * _bucketTicks) - now.UtcTicks + ((k - 1) * _bucketTicks));
            }

            var oldest = (_newestBucket - (buckets - 1) + k) % buckets;
            total -= _counts[oldest < 0 ? oldest + buckets : oldest];
        }

        return TimeSpan.FromTicks(((_newestBucket + 1) * _bucketTicks) - now.UtcTicks + ((buckets - 1) * _bucketTicks));
    }

    private void Advance(DateTimeOffset now)
    {
        var bucket = now.UtcTicks / _bucketTicks;
        if (bucket <= _newestBucket)
        {
            return;
        }

        // Clear the buckets that left the window (all of them after a long quiet spell).
        var steps = Math.Min(bucket - _newestBucket, _counts.Length);
        for (var i = 1; i <= steps; i++)
        {
            var index = (_newestBucket + i) % _counts.Length;
            _total -= _counts[index];
            _counts[index] = 0;
            _own[index] = 0;
        }

        _newestBucket = bucket;
    }
}
