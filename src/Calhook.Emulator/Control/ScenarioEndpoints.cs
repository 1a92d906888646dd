using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Channels;
using Calhook.Emulator.Events;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Emulator.Control;

/// <summary>
/// What happens at Google without an API call from the client under test, under <c>/emulator/v1/</c>: edits made in
/// Google's web UI ("this and following"), other people's actions (an attendee answering, an owner sharing, renaming,
/// unsharing or deleting a calendar) and Google's own late fills (Meet data). Errors are Google's error body.
/// </summary>
internal static class ScenarioEndpoints
{
    private static readonly string[] ShareRoles = ["freeBusyReader", "reader", "writer", "owner"];
    private static readonly string[] Answers = ["needsAction", "declined", "tentative", "accepted"];

    public static void MapScenarios(this IEndpointRouteBuilder endpoints)
    {
        var calendars = endpoints.MapGroup("/emulator/v1/calendars/{calendarId}");
        calendars.MapPost("/events/{eventId}/this-and-following", (HttpRequest request, string calendarId, string eventId,
            CalendarStore store, SeriesSplitter splitter) => WithBodyAsync(request, calendarId, store, (calendar, body) =>
        {
            if (body["edit"] is not JsonObject edit)
            {
                return GoogleError.Required("\"edit\" (the fields to change from this instance on) is required.").ToResult();
            }

            var newId = body["newId"] is JsonValue n && n.GetValueKind() == JsonValueKind.True;
            var (series, error) = splitter.ThisAndFollowing(calendar, eventId, edit, newId);
            return series is null ? error!.ToResult() : JsonResults.Raw(series.Utf8);
        }));
        calendars.MapPost("/events/{eventId}/delete-this-and-following", (string calendarId, string eventId, CalendarStore store, SeriesSplitter splitter) =>
            WithCalendar(calendarId, store, calendar =>
                splitter.ThisAndFollowing(calendar, eventId, edit: null, newId: false).Error is { } error ? error.ToResult() : Results.NoContent()));
        calendars.MapPost("/events/{eventId}/respond", (HttpRequest request, string calendarId, string eventId, CalendarStore store, EventWriter writer) =>
            WithBodyAsync(request, calendarId, store, (calendar, body) =>
            {
                var email = Text(body, "email");
                var answer = Text(body, "responseStatus");
                if (email is null || answer is null || Array.IndexOf(Answers, answer) < 0)
                {
                    return GoogleError.Invalid("\"email\" and \"responseStatus\" (needsAction, declined, tentative or accepted) are required.").ToResult();
                }

                return writer.Touch(calendar, eventId, e =>
                {
                    var attendee = (e["attendees"] as JsonArray)?.OfType<JsonObject>()
                        .FirstOrDefault(a => string.Equals(Text(a, "email"), email, StringComparison.OrdinalIgnoreCase));
                    if (attendee is null)
                    {
                        return GoogleError.Invalid($"{email} is not an attendee of this event.");
                    }

                    attendee["responseStatus"] = answer;
                    if (Text(body, "comment") is { } comment)
                    {
                        attendee["comment"] = comment;
                    }

                    return null;
                }).ToResult();
            }));
        calendars.MapPost("/events/{eventId}/conference", (string calendarId, string eventId, CalendarStore store, EventWriter writer) =>
            WithCalendar(calendarId, store, calendar => writer.Touch(calendar, eventId, AddMeet).ToResult()));
        calendars.MapPost("/share", (HttpRequest request, string calendarId, CalendarStore store) =>
            WithBodyAsync(request, calendarId, store, (calendar, body) =>
            {
                var user = Text(body, "user");
                var role = Text(body, "role") ?? "reader";
                if (!UserDirectory.IsValidEmail(user) || Array.IndexOf(ShareRoles, role) < 0)
                {
                    return GoogleError.Invalid("\"user\" must be an email address and \"role\" one of freeBusyReader, reader, writer, owner.").ToResult();
                }

                if (user == calendar.Owner)
                {
                    return GoogleError.Invalid("The owner already has the calendar.").ToResult();
                }

                store.Share(calendar, user!, role);
                return Results.NoContent();
            }));
        calendars.MapPost("/unshare", (HttpRequest request, string calendarId, CalendarStore store, ChannelRegistry channels,
            NotificationDispatcher dispatcher) => WithBodyAsync(request, calendarId, store, (calendar, body) =>
        {
            var user = Text(body, "user");
            if (user is null || !store.Unshare(calendar, user))
            {
                return GoogleError.NotFound().ToResult();
            }

            StopChannels(channels, dispatcher, calendar.Id, user);
            return Results.NoContent();
        }));
        calendars.MapPost("/rename", (HttpRequest request, string calendarId, CalendarStore store) =>
            WithBodyAsync(request, calendarId, store, (calendar, body) =>
            {
                if (Text(body, "summary") is not { Length: > 0 } summary)
                {
                    return GoogleError.Required("Missing title.").ToResult();
                }

                // A calendar property: Google's lists neither move the entry's etag nor return it with a sync token.
                lock (calendar.Gate)
                {
                    calendar.Summary = summary;
                }

                store.Runtime.MarkChanged(); // not a list change (Google pushes nothing), but state worth saving
                return Results.NoContent();
            }));
        calendars.MapDelete("", (string calendarId, CalendarStore store, ChannelRegistry channels, NotificationDispatcher dispatcher) =>
            WithCalendar(calendarId, store, calendar =>
            {
                if (calendar.IsPrimary)
                {
                    return new GoogleError(400, "global", "cannotDeletePrimaryCalendar", "Cannot delete primary calendar.").ToResult();
                }

                store.Remove(calendar);
                StopChannels(channels, dispatcher, calendar.Id, user: null);
                return Results.NoContent();
            }));
    }

    /// <summary>Runs <paramref name="handle"/> on the calendar when it exists and is not deleted; 404 otherwise.</summary>
    private static IResult WithCalendar(string calendarId, CalendarStore store, Func<CalendarState, IResult> handle) =>
        store.Find(calendarId) is { IsDeleted: false } calendar ? handle(calendar) : GoogleError.NotFound().ToResult();

    /// <summary>
    /// Runs <paramref name="handle"/> on the calendar and the request's JSON object: 404 for a missing or deleted
    /// calendar (checked first), Google's 400 for a missing, oversized or malformed body.
    /// </summary>
    private static async Task<IResult> WithBodyAsync(HttpRequest request, string calendarId, CalendarStore store,
        Func<CalendarState, JsonObject, IResult> handle)
    {
        if (store.Find(calendarId) is not { IsDeleted: false } calendar)
        {
            return GoogleError.NotFound().ToResult();
        }

        var (body, bad) = await RequestBody.ReadObjectAsync(request, RequestBody.ControlMaxBytes, request.HttpContext.RequestAborted);
        return body is null ? bad!.ToResult() : handle(calendar, body);
    }

    /// <summary>Google Meet's late fill: a pending create request is answered, as Google does once the Meet space exists.</summary>
    private static GoogleError? AddMeet(JsonObject e)
    {
        var code = MeetCode();
        var conference = new JsonObject();
        if (e["conferenceData"]?["createRequest"] is JsonObject create)
        {
            var answered = (JsonObject)create.DeepClone();
            answered["status"] = new JsonObject { ["statusCode"] = "success" };
            conference["createRequest"] = answered;
        }

        conference["entryPoints"] = new JsonArray(new JsonObject
        {
            ["entryPointType"] = "video", ["uri"] = $"https://meet.google.com/{code}", ["label"] = $"meet.google.com/{code}",
        });
        conference["conferenceSolution"] = new JsonObject
        {
            ["key"] = new JsonObject { ["type"] = "hangoutsMeet" },
            ["name"] = "Google Meet",
            ["iconUri"] = "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        };
        conference["conferenceId"] = code;
        e["hangoutLink"] = $"https://meet.google.com/{code}";
        e["conferenceData"] = conference;
        return null;
    }

    /// <summary>A user without access gets no more pushes for the calendar's events (all users when it is deleted).</summary>
    private static void StopChannels(ChannelRegistry channels, NotificationDispatcher dispatcher, string calendarId, string? user)
    {
        foreach (var channel in channels.Watching(calendarId).Where(c => user is null || c.User == user).ToList())
        {
            dispatcher.Stop(channel);
        }
    }

    private static string MeetCode()
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        Span<char> code = stackalloc char[12];
        for (var i = 0; i < code.Length; i++)
        {
            code[i] = i is 3 or 8 ? '-' : letters[RandomNumberGenerator.GetInt32(letters.Length)];
        }

        return new string(code);
    }

    private static string? Text(JsonObject body, string name) => body[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
