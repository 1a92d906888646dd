using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Emulator.Events;

/// <summary><c>events.*</c> at Google's paths: insert, import, get, update, patch, delete, list, instances.</summary>
internal static class EventEndpoints
{
    public static void MapEvents(this RouteGroupBuilder api)
    {
        var events = api.MapGroup("/calendars/{calendarId}/events");
        events.MapGet("", List);
        events.MapPost("", (HttpContext http, string calendarId, CalendarStore store, EventWriter writer) =>
            InsertAsync(http, calendarId, store, writer, import: false));
        events.MapPost("/import", (HttpContext http, string calendarId, CalendarStore store, EventWriter writer) =>
            InsertAsync(http, calendarId, store, writer, import: true));
        events.MapGet("/{eventId}", Get);
        events.MapPut("/{eventId}", (HttpContext http, string calendarId, string eventId, CalendarStore store, EventWriter writer) =>
            ReplaceAsync(http, calendarId, eventId, store, writer, patch: false));
        events.MapPatch("/{eventId}", (HttpContext http, string calendarId, string eventId, CalendarStore store, EventWriter writer) =>
            ReplaceAsync(http, calendarId, eventId, store, writer, patch: true));
        events.MapDelete("/{eventId}", Delete);
        events.MapGet("/{eventId}/instances", InstancesEndpoint.Handle);
    }

    private static IResult List(HttpContext http, string calendarId, CalendarStore store, EventLister lister)
    {
        var (calendar, query, refusal) = ReadableWithQuery(http, calendarId, store);
        if (calendar is null || query is null)
        {
            return refusal!;
        }

        var (page, failure) = lister.List(calendar, query);
        return page is null ? failure!.ToResult() : JsonResults.Write(w => WriteEnvelope(w, page));
    }

    private static async Task<IResult> InsertAsync(HttpContext http, string calendarId, CalendarStore store, EventWriter writer, bool import)
    {
        var (calendar, body, refusal) = await WritableWithBodyAsync(http, calendarId, store);
        return refusal ?? writer.Insert(calendar!, body!, import).ToResult();
    }

    private static IResult Get(HttpContext http, string calendarId, string eventId, CalendarStore store, EventWriter writer)
    {
        var (calendar, error) = store.Resolve(calendarId, http.User());
        if (calendar is null)
        {
            return error!.ToResult();
        }

        byte[] json;
        string etag;
        lock (calendar.Gate)
        {
            if (calendar.Find(eventId) is { } stored)
            {
                (json, etag) = (stored.Utf8, stored.Etag);
            }
            else if (writer.VirtualInstance(calendar, eventId) is { } instance)
            {
                (json, etag) = (JsonSerializer.SerializeToUtf8Bytes(instance, EmulatorJson.Wire.JsonObject), (string)instance["etag"]!);
            }
            else
            {
                return GoogleError.NotFound().ToResult();
            }
        }

        return http.Request.Headers.IfNoneMatch.ToString() == etag ? Results.StatusCode(304) : JsonResults.Raw(json);
    }

    private static async Task<IResult> ReplaceAsync(HttpContext http, string calendarId, string eventId, CalendarStore store,
        EventWriter writer, bool patch)
    {
        var (calendar, body, refusal) = await WritableWithBodyAsync(http, calendarId, store);
        return refusal ?? writer.Replace(calendar!, eventId, body!, IfMatch(http), patch).ToResult();
    }

    private static IResult Delete(HttpContext http, string calendarId, string eventId, CalendarStore store, EventWriter writer)
    {
        var (calendar, error) = store.ResolveWritable(calendarId, http.User());
        if (calendar is null)
        {
            return error!.ToResult();
        }

        return writer.Delete(calendar, eventId, IfMatch(http)) is { } failure ? failure.ToResult() : Results.NoContent();
    }

    /// <summary>The calendar the user may read and the list query, or the answer that refuses them (checked in that order).</summary>
    internal static (CalendarState? Calendar, ListQuery? Query, IResult? Refusal) ReadableWithQuery(HttpContext http, string calendarId, CalendarStore store)
    {
        var (calendar, error) = store.Resolve(calendarId, http.User());
        if (calendar is null)
        {
            return (null, null, error!.ToResult());
        }

        var (query, invalid) = ListQuery.Parse(http.Request.Query);
        return query is null ? (null, null, invalid!.ToResult()) : (calendar, query, null);
    }

    /// <summary>The calendar the user may write and the request's JSON object, or the answer that refuses them (checked in that order).</summary>
    private static async Task<(CalendarState? Calendar, JsonObject? Body, IResult? Refusal)> WritableWithBodyAsync(HttpContext http, string calendarId,
        CalendarStore store)
    {
        var (calendar, error) = store.ResolveWritable(calendarId, http.User());
        if (calendar is null)
        {
            return (null, null, error!.ToResult());
        }

        var (body, bad) = await RequestBody.ReadObjectAsync(http.Request, store.Runtime.Options.MaxRequestBodyBytes, http.RequestAborted);
        return body is null ? (null, null, bad!.ToResult()) : (calendar, body, null);
    }

    private static string? IfMatch(HttpContext http) => http.Request.Headers.IfMatch.ToString() is { Length: > 0 } m ? m : null;

    /// <summary>The <c>calendar#events</c> envelope around a page.</summary>
    public static void WriteEnvelope(Utf8JsonWriter w, EventPage page)
    {
        w.WriteStartObject();
        w.WriteString("kind", "calendar#events");
        w.WriteString("etag", $"\"{page.Updated.ToUnixTimeMilliseconds()}\"");
        w.WriteString("summary", page.Summary);
        w.WriteString("description", "");
        w.WriteString("updated", EventTime.FormatUtc(page.Updated == default ? DateTimeOffset.UnixEpoch : page.Updated));
        w.WriteString("timeZone", page.TimeZone);
        w.WriteString("accessRole", "owner");
        w.WriteStartArray("defaultReminders");
        w.WriteEndArray();
        if (page.NextPageToken is not null)
        {
            w.WriteString("nextPageToken", page.NextPageToken);
        }

        if (page.NextSyncToken is not null)
        {
            w.WriteString("nextSyncToken", page.NextSyncToken);
        }

        w.WriteStartArray("items");
        foreach (var item in page.Items)
        {
            w.WriteRawValue(item, skipInputValidation: true);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
