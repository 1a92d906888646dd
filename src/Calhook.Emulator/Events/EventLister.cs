using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Events;

/// <summary>One page of <c>events.list</c>: items as UTF-8 JSON, and a page token or (last page only) a sync token.</summary>
internal sealed record EventPage(List<byte[]> Items, string? NextPageToken, string? NextSyncToken, string Summary,
    string TimeZone, DateTimeOffset Updated);

/// <summary>
/// <c>events.list</c>. Walks the calendar's modification-ordered index from the sync token's seq (or 0), so an
/// incremental list costs O(changes) and a page resumes where the last stopped without sorting. A list's sync token
/// is the seq when its first page was served: anything changed while paging is seen again, never lost.
/// </summary>
internal sealed class EventLister(EmulatorRuntime runtime, ListTokens tokens)
{
    public (EventPage? Page, GoogleError? Error) List(CalendarState calendar, ListQuery query)
    {
        lock (calendar.Gate)
        {
            long from = 0;
            if (query.SyncToken is { } syncToken)
            {
                var (seq, error) = tokens.ReadSyncToken(calendar, syncToken);
                if (error is not null)
                {
                    return (null, error);
                }

                from = seq;
            }

            var position = new ListTokens.PagePosition(calendar.LastSeq, from, -1, 0, query.Hash);
            if (query.PageToken is { } pageToken)
            {
                if (ListTokens.DecodePage(pageToken) is not { } decoded || decoded.QueryHash != query.Hash)
                {
                    return (null, GoogleError.Invalid("Invalid Value", "pageToken"));
                }

                position = decoded;
            }

            var (items, next) = query.OrderBy == "startTime" ? ByStartTime(calendar, query, position) : ByModification(calendar, query, position);
            var page = new EventPage(items, next is { } n ? ListTokens.EncodePage(n) : null,
                next is null ? tokens.IssueSyncToken(calendar, position.Snapshot) : null,
                calendar.Summary, calendar.TimeZone, calendar.LastUpdated);
            return (page, null);
        }
    }

    private (List<byte[]>, ListTokens.PagePosition?) ByModification(CalendarState calendar, ListQuery query, ListTokens.PagePosition at)
    {
        var page = new List<byte[]>(Math.Min(query.MaxResults, 256));
        long consumed = at.AfterSeq;
        using var entries = calendar.ChangedAfter(at.AfterSeq).GetEnumerator();
        while (entries.MoveNext())
        {
            var e = entries.Current;
            if (page.Count >= query.MaxResults)
            {
                return (page, at with { AfterSeq = consumed, EntrySeq = -1, Skip = 0 });
            }

            var items = ItemsFor(calendar, e, query);
            var skip = e.Seq == at.EntrySeq ? at.Skip : 0;
            for (var i = skip; i < items.Count; i++)
            {
                if (page.Count >= query.MaxResults)
                {
                    return (page, at with { AfterSeq = e.Seq - 1, EntrySeq = e.Seq, Skip = i });
                }

                page.Add(items[i]);
            }

            consumed = e.Seq;
        }

        return (page, null);
    }

    private (List<byte[]>, ListTokens.PagePosition?) ByStartTime(CalendarState calendar, ListQuery query, ListTokens.PagePosition at)
    {
        // Google makes no promise about concurrent changes in this ordering; an offset into the sorted result is enough.
        var all = new List<(DateTimeOffset Start, byte[] Item)>();
        foreach (var e in calendar.ChangedAfter(at.AfterSeq))
        {
            var items = ItemsFor(calendar, e, query);
            foreach (var item in items)
            {
                all.Add((StartOf(item), item));
            }
        }

        all.Sort((a, b) => a.Start.CompareTo(b.Start));
        var page = all.Skip(at.Skip).Take(query.MaxResults).Select(x => x.Item).ToList();
        var more = at.Skip + page.Count < all.Count;
        return (page, more ? at with { Skip = at.Skip + page.Count } : null);
    }

    private static DateTimeOffset StartOf(byte[] item)
    {
        using var doc = JsonDocument.Parse(item);
        return doc.RootElement.TryGetProperty("start", out var start)
            && EventTime.TryParse(JsonNode.Parse(start.GetRawText()), out var time) ? time.Instant : DateTimeOffset.MaxValue;
    }

    /// <summary>What one stored event contributes to a list: itself, its instances, a tombstone, or nothing.</summary>
    private List<byte[]> ItemsFor(CalendarState calendar, StoredEvent e, ListQuery query)
    {
        if (!Filters.Matches(e, query))
        {
            return [];
        }

        if (e.IsCancelled)
        {
            // Cancelled events show only in incremental results or with showDeleted; a cancelled instance of a live
            // series shows even without showDeleted when series are not expanded.
            var cancelledInstanceOfLiveSeries = !query.SingleEvents && e.RecurringEventId is { } m && calendar.Find(m) is { IsCancelled: false };
            if (!query.Incremental && !query.ShowDeleted && !cancelledInstanceOfLiveSeries)
            {
                return [];
            }

            // A deleted series: Google's recordings show only the master's tombstone, none for its exceptions
            // (the config switch instanceTombstonesOnSeriesDelete adds them).
            if (e.RecurringEventId is { } series && calendar.Find(series) is { IsCancelled: true } && !runtime.Config.InstanceTombstonesOnSeriesDelete)
            {
                return [];
            }

            return [query.ShowDeleted ? e.Utf8 : Serialize(InstanceJson.Tombstone(e))];
        }

        if (!e.IsRecurring || e.RecurringEventId is not null)
        {
            return Filters.InRange(e, query) ? [e.Utf8] : [];
        }

        var occurrences = e.Occurrences(runtime.Options.MaxInstancesPerSeries);
        if (!query.SingleEvents)
        {
            return occurrences.Any(o => StoredEvent.Overlaps(o.Start, o.End, query.TimeMin, query.TimeMax)) ? [e.Utf8] : [];
        }

        var exceptions = calendar.ExceptionsOf(e.Id);
        var result = new List<byte[]>();
        foreach (var occurrence in occurrences)
        {
            if (query.TimeMax is { } max && occurrence.Start >= max)
            {
                break;
            }

            if (exceptions.ContainsKey(occurrence.Start) || calendar.Find(occurrence.InstanceId) is not null)
            {
                continue;
            }

            if (!StoredEvent.Overlaps(occurrence.Start, occurrence.End, query.TimeMin, query.TimeMax))
            {
                continue;
            }

            result.Add(Serialize(InstanceJson.Build(e, occurrence)));
        }

        return result;
    }

    private static byte[] Serialize(JsonObject node) => JsonSerializer.SerializeToUtf8Bytes(node, EmulatorJson.Wire.JsonObject);
}
