using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Channels;
using Calhook.Emulator.Events;
using Calhook.Emulator.Faults;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Emulator.Control;

/// <summary>The emulator's own controls under <c>/emulator/v1/</c> (no auth, no API faults).</summary>
internal static class ControlEndpoints
{
    public static void MapControls(this IEndpointRouteBuilder endpoints)
    {
        var control = endpoints.MapGroup("/emulator/v1");
        control.MapPost("/tokens", (HttpRequest request, UserDirectory users, CalendarStore store) =>
            WithBodyAsync(request, EmulatorJson.Wire.UserRequest, body =>
            {
                if (!UserDirectory.IsValidEmail(body?.User))
                {
                    return GoogleError.Invalid("\"user\" must be an email address.").ToResult();
                }

                store.EnsureUser(body!.User!);
                var issued = users.Issue(body.User!);
                return Results.Json(new TokenAnswer(issued.AccessToken, issued.ExpiresIn, issued.RefreshToken, null, null), EmulatorJson.Wire.TokenAnswer);
            }));
        control.MapPost("/service-accounts", async (HttpRequest request, ServiceAccounts accounts) =>
        {
            // The body is optional: without a name the account gets a fresh one.
            ServiceAccountRequest? body = null;
            if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
            {
                (body, var error) = await ReadAsync(request, EmulatorJson.Wire.ServiceAccountRequest);
                if (error is not null)
                {
                    return error.ToResult();
                }
            }

            var name = body?.Name ?? "svc-" + Guid.NewGuid().ToString("N")[..8];
            if (!ServiceAccounts.IsValidName(name))
            {
                return GoogleError.Invalid("\"name\" must be 6-30 lowercase letters, digits or dashes, starting with a letter.").ToResult();
            }

            var origin = new Uri($"{request.Scheme}://{request.Host}/");
            return Results.Json(accounts.CreateKey(name, origin), EmulatorJson.Wire.ServiceAccountKeyFile);
        });
        control.MapPost("/users/{user}/revoke", (string user, UserDirectory users) =>
            Results.Json(new RevokeAnswer(user, users.Revoke(user)), EmulatorJson.Wire.RevokeAnswer));
        control.MapGet("/channels", (ChannelRegistry registry, EmulatorRuntime runtime) =>
        {
            var now = runtime.Clock.GetUtcNow();
            var items = registry.All.Where(c => c.IsActive(now)).OrderBy(c => c.Id, StringComparer.Ordinal)
                .Select(c => new ChannelItem(c.Id, c.ResourceId, c.CalendarId, c.Address.ToString(), c.Token,
                    c.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), c.User, c.Delivered, c.Failed))
                .ToList();
            return Results.Json(new ItemList<ChannelItem>(items), EmulatorJson.Wire.ItemListChannelItem);
        });
        control.MapGet("/calendars/{calendarId}/history", (string calendarId, long? after, int? limit, CalendarStore store) =>
        {
            if (store.Find(calendarId) is not { } calendar)
            {
                return GoogleError.NotFound().ToResult();
            }

            List<HistoryEntry> entries;
            lock (calendar.Gate)
            {
                entries = calendar.HistoryAfter(after ?? 0, Math.Clamp(limit ?? 100_000, 1, 100_000));
            }

            var items = entries.Select(h => new HistoryItem(h.Seq, h.Kind.ToString().ToLowerInvariant(), h.EventId,
                EventTime.FormatUtc(h.At), JsonNode.Parse(h.Event)!)).ToList();
            return Results.Json(new ItemList<HistoryItem>(items), EmulatorJson.Wire.ItemListHistoryItem);
        });
        control.MapPost("/calendars/{calendarId}/expire-sync-tokens", (string calendarId, CalendarStore store, ListTokens tokens) =>
        {
            if (store.Find(calendarId) is not { } calendar)
            {
                return GoogleError.NotFound().ToResult();
            }

            lock (calendar.Gate)
            {
                calendar.TokensValidFrom = tokens.NextIssueNumber;
            }

            return Results.NoContent();
        });
        control.MapGet("/faults", (FaultInjector faults) => Results.Json(faults.Settings, EmulatorJson.Wire.FaultSettings));
        control.MapPut("/faults", (HttpRequest request, FaultInjector faults) =>
            WithBodyAsync(request, EmulatorJson.Wire.FaultSettings, body =>
            {
                var settings = body ?? new FaultSettings();
                if (settings.Validate() is { } problem)
                {
                    return GoogleError.Invalid(problem).ToResult();
                }

                faults.Apply(settings);
                return Results.Json(settings, EmulatorJson.Wire.FaultSettings);
            }));
        control.MapDelete("/faults", (FaultInjector faults) =>
        {
            faults.Reset();
            return Results.NoContent();
        });
        control.MapGet("/config", (EmulatorRuntime runtime) => Results.Json(runtime.Config, EmulatorJson.Wire.RuntimeConfig));
        control.MapPut("/config", (HttpRequest request, EmulatorRuntime runtime) =>
            WithBodyAsync(request, EmulatorJson.Wire.ConfigBody, body =>
            {
                var current = runtime.Config;
                if (body?.MaxChannelTtlSeconds is < 1 || body?.SyncTokenLifetimeSeconds is < 0)
                {
                    return GoogleError.Invalid("maxChannelTtlSeconds must be positive and syncTokenLifetimeSeconds not negative.").ToResult();
                }

                // A missing field keeps its value; syncTokenLifetimeSeconds 0 means "tokens never expire".
                runtime.Config = new RuntimeConfig(body?.MaxChannelTtlSeconds ?? current.MaxChannelTtlSeconds,
                    body?.SyncTokenLifetimeSeconds is { } life ? (life == 0 ? null : life) : current.SyncTokenLifetimeSeconds,
                    body?.RequireHttpsAddress ?? current.RequireHttpsAddress,
                    body?.InstanceTombstonesOnSeriesDelete ?? current.InstanceTombstonesOnSeriesDelete);
                return Results.Json(runtime.Config, EmulatorJson.Wire.RuntimeConfig);
            }));
    }

    /// <summary>Runs <paramref name="handle"/> on the request's body read as <typeparamref name="T"/>; Google's 400 when it cannot be.</summary>
    private static async Task<IResult> WithBodyAsync<T>(HttpRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type,
        Func<T?, IResult> handle)
    {
        var (body, error) = await ReadAsync(request, type);
        return error is null ? handle(body) : error.ToResult();
    }

    private static async Task<(T? Body, GoogleError? Error)> ReadAsync<T>(HttpRequest request,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        var (node, error) = await RequestBody.ReadObjectAsync(request, RequestBody.ControlMaxBytes, request.HttpContext.RequestAborted);
        if (node is null)
        {
            return (default, error);
        }

        try
        {
            return (node.Deserialize(type), null);
        }
        catch (JsonException)
        {
            return (default, GoogleError.Invalid("Invalid field type in body."));
        }
    }
}
