using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Emulator.Channels;

/// <summary><c>events.watch</c>, <c>calendarList.watch</c> and <c>channels.stop</c>.</summary>
internal static partial class ChannelEndpoints
{
    public static void MapChannels(this RouteGroupBuilder api)
    {
        api.MapPost("/calendars/{calendarId}/events/watch", async (HttpContext http, string calendarId, CalendarStore store,
            ChannelRegistry registry, NotificationDispatcher dispatcher) =>
        {
            var (calendar, error) = store.Resolve(calendarId, http.User());
            if (calendar is null)
            {
                return error!.ToResult();
            }

            var uri = $"{Origin(http)}calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events?alt=json";
            return await WatchAsync(http, store, registry, dispatcher, calendar.Id, calendar.Id, uri);
        });
        api.MapPost("/users/me/calendarList/watch", (HttpContext http, CalendarStore store, ChannelRegistry registry,
            NotificationDispatcher dispatcher) =>
            WatchAsync(http, store, registry, dispatcher, CalendarListCollection(http.User()), null,
                $"{Origin(http)}calendar/v3/users/me/calendarList?alt=json"));
        api.MapPost("/channels/stop", async (HttpContext http, CalendarStore store, ChannelRegistry registry, NotificationDispatcher dispatcher) =>
        {
            var (body, bad) = await RequestBody.ReadObjectAsync(http.Request, store.Runtime.Options.MaxRequestBodyBytes, http.RequestAborted);
            if (body is null)
            {
                return bad!.ToResult();
            }

            var id = Text(body, "id");
            if (id is null)
            {
                return GoogleError.Required("Required channel id.").ToResult();
            }

            var channel = registry.Find(id);
            var resourceId = Text(body, "resourceId");
            if (channel is null || channel.User != http.User() || (resourceId is not null && resourceId != channel.ResourceId))
            {
                return new GoogleError(404, "global", "notFound", $"Channel '{id}' not found for project '0'").ToResult();
            }

            dispatcher.Stop(channel);
            return Results.NoContent();
        });
    }

    public static string CalendarListCollection(string user) => "calendarList:" + user;

    private static async Task<IResult> WatchAsync(HttpContext http, CalendarStore store, ChannelRegistry registry,
        NotificationDispatcher dispatcher, string collection, string? calendarId, string resourceUri)
    {
        var runtime = store.Runtime;
        var (body, bad) = await RequestBody.ReadObjectAsync(http.Request, runtime.Options.MaxRequestBodyBytes, http.RequestAborted);
        if (body is null)
        {
            return bad!.ToResult();
        }

        var id = Text(body, "id");
        if (id is null)
        {
            return GoogleError.Required("Required channel id.").ToResult();
        }

        if (id.Length > 64 || !ChannelId().IsMatch(id))
        {
            return GoogleError.Invalid("Channel id must match [A-Za-z0-9\\-_\\+/=]+").ToResult();
        }

        if (Text(body, "type") is not ("web_hook" or "webhook"))
        {
            return new GoogleError(400, "push", "channelTypeNotSupported", "Unknown channel type.").ToResult();
        }

        var address = Text(body, "address");
        if (address is null || !Uri.TryCreate(address, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
        {
            return new GoogleError(400, "push", "invalidAddress", $"Invalid webhook address: {address}").ToResult();
        }

        if (runtime.Config.RequireHttpsAddress && target.Scheme != "https")
        {
            return new GoogleError(400, "push", "webhookUrlNotHttps", $"WebHook callback must be HTTPS: {address}").ToResult();
        }

        var token = Text(body, "token");
        if (token is { Length: > 256 })
        {
            return GoogleError.Invalid("Channel token too long.").ToResult();
        }

        var now = runtime.Clock.GetUtcNow();
        var ttl = TimeSpan.FromSeconds(runtime.Config.MaxChannelTtlSeconds);
        if (body["params"] is JsonObject parameters && Text(parameters, "ttl") is { } ttlText)
        {
            if (!long.TryParse(ttlText, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            {
                return GoogleError.Invalid("Invalid ttl value.").ToResult();
            }

            ttl = TimeSpan.FromSeconds(Math.Min(seconds, runtime.Config.MaxChannelTtlSeconds));
        }

        var expiresAt = now + ttl;
        if (Text(body, "expiration") is { } expirationText)
        {
            // Google's Channel.expiration is int64 (a JSON string); clients also send a bare number.
            if (!long.TryParse(expirationText, CultureInfo.InvariantCulture, out var ms))
            {
                return GoogleError.Invalid("Invalid expiration value.").ToResult();
            }

            var requested = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            if (requested <= now)
            {
                return GoogleError.Invalid("Invalid expiration: the time is in the past.").ToResult();
            }

            if (requested < expiresAt)
            {
                expiresAt = requested;
            }
        }

        expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiresAt.ToUnixTimeMilliseconds());
        var channel = new WatchChannel(id, CalendarStore.ResourceIdOf(collection), resourceUri, token, target, expiresAt,
            http.User(), collection, calendarId);
        if (!registry.TryAdd(channel))
        {
            return new GoogleError(400, "global", "channelIdNotUnique", $"Channel id {id} not unique").ToResult();
        }

        dispatcher.Start(channel);
        return JsonResults.Node(new JsonObject
        {
            ["kind"] = "api#channel",
            ["id"] = id,
            ["resourceId"] = channel.ResourceId,
            ["resourceUri"] = resourceUri,
            ["token"] = token,
            ["expiration"] = expiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        }.RemoveNulls());
    }

    private static JsonObject RemoveNulls(this JsonObject json)
    {
        foreach (var name in json.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            json.Remove(name);
        }

        return json;
    }

    private static string? Text(JsonObject body, string name) => body[name] is JsonValue v
        ? v.TryGetValue(out string? s) ? s : v.TryGetValue(out long n) ? n.ToString(CultureInfo.InvariantCulture) : null
        : null;

    private static string Origin(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}/";

    [GeneratedRegex("^[A-Za-z0-9\\-_+/=]+$")]
    private static partial Regex ChannelId();
}
