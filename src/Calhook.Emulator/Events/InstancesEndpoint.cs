using System.Text.Json;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Events;

/// <summary><c>events.instances</c>: a series' instances in start order, exceptions in place of the instances they change.</summary>
internal static class InstancesEndpoint
{
    public static IResult Handle(HttpContext http, string calendarId, string eventId, CalendarStore store)
    {
        var (calendar, query, refusal) = EventEndpoints.ReadableWithQuery(http, calendarId, store);
        if (calendar is null || query is null)
        {
            return refusal!;
        }

        var skip = 0;
        if (query.PageToken is { } token)
        {
            if (ListTokens.DecodePage(token) is not { } position || position.QueryHash != query.Hash)
            {
                return GoogleError.Invalid("Invalid Value", "pageToken").ToResult();
            }

            skip = position.Skip;
        }

        EventPage page;
        lock (calendar.Gate)
        {
            if (calendar.Find(eventId) is not { IsRecurring: true, IsCancelled: false } master)
            {
                return GoogleError.NotFound().ToResult();
            }

            var exceptions = calendar.ExceptionsOf(master.Id);
            var items = new List<byte[]>();
            foreach (var occurrence in master.Occurrences(store.Runtime.Options.MaxInstancesPerSeries))
            {
                if (query.TimeMax is { } max && occurrence.Start >= max)
                {
                    break;
                }

                if (query.OriginalStart is { } original
                    && (!EventTime.TryParseInstant(original, null, out var at) || at != occurrence.Start))
                {
                    continue;
                }

                var exception = exceptions.GetValueOrDefault(occurrence.Start) ?? calendar.Find(occurrence.InstanceId);
                if (exception is { IsCancelled: true } && !query.ShowDeleted)
                {
                    continue;
                }

                if (exception is not null)
                {
                    if (Filters.InRange(exception, query))
                    {
                        items.Add(exception.Utf8);
                    }

                    continue;
                }

                if (StoredEvent.Overlaps(occurrence.Start, occurrence.End, query.TimeMin, query.TimeMax))
                {
                    items.Add(JsonSerializer.SerializeToUtf8Bytes(InstanceJson.Build(master, occurrence), EmulatorJson.Wire.JsonObject));
                }
            }

            var pageItems = items.Skip(skip).Take(query.MaxResults).ToList();
            var next = skip + pageItems.Count < items.Count
                ? ListTokens.EncodePage(new ListTokens.PagePosition(0, 0, -1, skip + pageItems.Count, query.Hash))
                : null;
            page = new EventPage(pageItems, next, null, calendar.Summary, calendar.TimeZone, master.Updated);
        }

        return JsonResults.Write(w => EventEndpoints.WriteEnvelope(w, page));
    }
}
