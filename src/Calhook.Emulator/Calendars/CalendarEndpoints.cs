using System.Text.Json.Nodes;
using Calhook.Emulator.Events;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Emulator.Calendars;

/// <summary><c>calendars.insert/get/delete</c> and <c>calendarList.list/get</c>.</summary>
internal static class CalendarEndpoints
{
    public static void MapCalendars(this RouteGroupBuilder api)
    {
        api.MapPost("/calendars", async (HttpContext http, CalendarStore store) =>
        {
            var (body, bad) = await RequestBody.ReadObjectAsync(http.Request, store.Runtime.Options.MaxRequestBodyBytes, http.RequestAborted);
            if (body is null)
            {
                return bad!.ToResult();
            }

            if (body["summary"] is not JsonValue summary || !summary.TryGetValue(out string? title) || title.Length == 0)
            {
                return GoogleError.Required("Missing title.").ToResult();
            }

            var zone = body["timeZone"] is JsonValue z && z.TryGetValue(out string? tz) ? tz : "UTC";
            if (EventTime.FindZone(zone) is null)
            {
                return GoogleError.Invalid("Invalid time zone.").ToResult();
            }

            var calendar = store.CreateSecondary(http.User(), title, zone);
            if (body["description"] is JsonValue d && d.TryGetValue(out string? description))
            {
                calendar.Description = description;
            }

            return JsonResults.Node(CalendarJson(calendar));
        });
        api.MapGet("/calendars/{calendarId}", (HttpContext http, string calendarId, CalendarStore store) =>
        {
            var (calendar, error) = store.Resolve(calendarId, http.User());
            return calendar is null ? error!.ToResult() : JsonResults.Node(CalendarJson(calendar));
        });
        api.MapDelete("/calendars/{calendarId}", (HttpContext http, string calendarId, CalendarStore store) =>
        {
            var (calendar, error) = store.Resolve(calendarId, http.User());
            if (calendar is null)
            {
                return error!.ToResult();
            }

            if (calendar.IsPrimary)
            {
                return new GoogleError(400, "global", "cannotDeletePrimaryCalendar", "Cannot delete primary calendar.").ToResult();
            }

            if (calendar.Owner != http.User())
            {
                return GoogleError.Forbidden().ToResult();
            }

            store.Remove(calendar);
            return Results.NoContent();
        });
        api.MapGet("/users/me/calendarList", (HttpContext http, CalendarStore store) => CalendarListPage.List(http, store));
        api.MapGet("/users/me/calendarList/{calendarId}", (HttpContext http, string calendarId, CalendarStore store) =>
        {
            var (calendar, error) = store.Resolve(calendarId, http.User());
            if (calendar is null)
            {
                return error!.ToResult();
            }

            var role = store.Lists.RoleOf(http.User(), calendar.Id) ?? "owner";
            return JsonResults.Node(ListEntryJson(calendar, role, http.User()));
        });
    }

    public static JsonObject CalendarJson(CalendarState c)
    {
        var json = new JsonObject
        {
            ["kind"] = "calendar#calendar",
            ["etag"] = $"\"{Math.Abs(c.Id.GetHashCode(StringComparison.Ordinal))}\"",
            ["id"] = c.Id,
            ["summary"] = c.Summary,
            ["timeZone"] = c.TimeZone,
            ["conferenceProperties"] = new JsonObject { ["allowedConferenceSolutionTypes"] = new JsonArray("hangoutsMeet") },
        };
        if (c.Description is not null)
        {
            json["description"] = c.Description;
        }

        return json;
    }

    /// <summary>A <c>calendar#calendarListEntry</c> as the recorded lists show one, for <paramref name="user"/>.</summary>
    public static JsonObject ListEntryJson(CalendarState c, string role, string user, ListEntry? entry = null)
    {
        var json = new JsonObject
        {
            ["kind"] = "calendar#calendarListEntry",
            ["etag"] = entry is null ? "\"0\"" : $"\"{entry.Updated.ToUnixTimeMilliseconds() * 1000 + entry.Seq % 1000}\"",
            ["id"] = c.Id,
            ["summary"] = c.Summary,
        };
        if (c.Description is not null)
        {
            json["description"] = c.Description;
        }

        json["timeZone"] = c.TimeZone;
        json["colorId"] = "14";
        json["backgroundColor"] = "#9fe1e7";
        json["foregroundColor"] = "#000000";
        json["selected"] = true;
        json["accessRole"] = role;
        json["defaultReminders"] = new JsonArray();
        if (c.IsPrimary && c.Owner == user)
        {
            json["primary"] = true;
        }

        json["conferenceProperties"] = new JsonObject { ["allowedConferenceSolutionTypes"] = new JsonArray("hangoutsMeet") };
        return json;
    }
}
