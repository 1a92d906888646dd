using System.Text.Json;
using System.Text.Json.Serialization;
using Calhook.Calendars;
using Calhook.Hosting;
using Calhook.Receiving;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Calhook.Channels;

/// <summary><c>POST/GET /v1/watches</c>, <c>GET/DELETE /v1/watches/{id}</c>: which calendars Calhook keeps a channel on.</summary>
internal static class WatchesApi
{
    public static IEndpointRouteBuilder MapWatches(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/watches").RequireCalhookApiKey();
        group.MapPost("", CreateAsync);
        group.MapGet("", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapDelete("/{id}", DeleteAsync);
        return endpoints;
    }

    private static async Task<Results<Created<WatchState>, ProblemHttpResult>> CreateAsync(
        CreateWatchRequest request, ICalhookStore store, ChannelMap map, NotificationRecorder notifications, SyncProgress progress,
        CalendarWatches calendars, TimeProvider time, CancellationToken cancellationToken)
    {
        var all = request.AllCalendars == true;
        if (string.IsNullOrWhiteSpace(request.AccountId) || (string.IsNullOrWhiteSpace(request.CalendarId) != all))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid watch",
                "A watch needs 'accountId' and either 'calendarId' or \"allCalendars\": true (not both).");
        }

        if (!all && CalendarIds.Problem(request.CalendarId!) is { } calendarIdProblem)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid watch", calendarIdProblem);
        }

        // A deleted account keeps its row (status removed) for its history; it cannot be watched with.
        if (await store.GetAccountAsync(request.AccountId, cancellationToken) is not { Status: not AccountStatus.Removed })
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid watch", $"Account '{request.AccountId}' does not exist.");
        }

        // Every account with watches has its calendar list watched: calendar-level changes, removed calendars.
        var watch = await calendars.StartAsync(request.AccountId, all ? null : request.CalendarId, cancellationToken);
        return TypedResults.Created($"/v1/watches/{watch.Id}", await WatchState.ReadAsync(watch, store, map, notifications, time.GetUtcNow(), progress, cancellationToken));
    }

    private static async Task<Ok<WatchList>> ListAsync(
        ICalhookStore store, ChannelMap map, NotificationRecorder notifications, SyncProgress progress, TimeProvider time, CancellationToken cancellationToken)
    {
        var watches = await store.ListWatchesAsync(cancellationToken);
        var now = time.GetUtcNow();
        var items = new List<WatchState>();
        foreach (var watch in watches.Where(w => w.Kind != WatchKind.CalendarList))
        {
            items.Add(await WatchState.ReadAsync(watch, store, map, notifications, now, progress, cancellationToken));
        }

        return TypedResults.Ok(new WatchList(items));
    }

    private static async Task<Results<Ok<WatchState>, ProblemHttpResult>> GetAsync(
        string id, ICalhookStore store, ChannelMap map, NotificationRecorder notifications, SyncProgress progress, TimeProvider time,
        CancellationToken cancellationToken) =>
        await store.GetWatchAsync(id, cancellationToken) is { Kind: not WatchKind.CalendarList } watch
            ? TypedResults.Ok(await WatchState.ReadAsync(watch, store, map, notifications, time.GetUtcNow(), progress, cancellationToken))
            : Problem(StatusCodes.Status404NotFound, "Watch not found", $"There is no watch '{id}'.");

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string id, ICalhookStore store, CalendarWatches calendars, CancellationToken cancellationToken)
    {
        if (await store.GetWatchAsync(id, cancellationToken) is not { Kind: not WatchKind.CalendarList } watch)
        {
            return Problem(StatusCodes.Status404NotFound, "Watch not found", $"There is no watch '{id}'.");
        }

        await calendars.StopAsync(watch, cancellationToken);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(detail, statusCode: status, title: title);
}

internal sealed record CreateWatchRequest(string? AccountId, string? CalendarId, bool? AllCalendars = null);

/// <summary>
/// The watch state of the API: <c>{id, accountId, calendarId, status, channelId, channelExpiresAt, lastNotificationAt,
/// lastSyncAt, error, progress}</c>; <c>progress</c> (<c>{phase, eventsFetched}</c>) only while a full list runs; plus
/// <c>allCalendars</c> (true on a watch of every calendar of the account, whose <c>calendarId</c> is null) and
/// <c>parentWatchId</c> (on the per-calendar watches such a watch made).
/// </summary>
internal sealed record WatchState(
    string Id, string AccountId, string? CalendarId, string Status, string? ChannelId, DateTimeOffset? ChannelExpiresAt,
    DateTimeOffset? LastNotificationAt, DateTimeOffset? LastSyncAt, string? Error, WatchProgress? Progress = null,
    bool AllCalendars = false, string? ParentWatchId = null)
{
    /// <summary>
    /// The state as the API shows it at <paramref name="now"/>. An all-calendars watch has no channel of its own: it
    /// shows its account's calendar-list watch's channel, sync and problem, under its own id and lifecycle.
    /// </summary>
    public static async Task<WatchState> ReadAsync(WatchRecord watch, ICalhookStore store, ChannelMap map, NotificationRecorder notifications,
        DateTimeOffset now, SyncProgress? progress, CancellationToken cancellationToken)
    {
        if (watch.Kind != WatchKind.AllCalendars)
        {
            return From(watch, map, notifications, now, progress);
        }

        var list = (await store.ListWatchesAsync(cancellationToken)).FirstOrDefault(w => w.AccountId == watch.AccountId && w.Kind == WatchKind.CalendarList);
        var state = From(list is null || watch.Status == WatchStatus.Stopped ? watch : list, map, notifications, now, progress);
        return state with { Id = watch.Id, CalendarId = null, AllCalendars = true, Status = watch.Status == WatchStatus.Stopped ? StatusName(WatchStatus.Stopped) : state.Status };
    }

    /// <summary>
    /// The stored watch as the API shows it at <paramref name="now"/>. A watch the store calls <c>active</c> whose
    /// channel has expired (its renewal has not happened, whatever the reason) is shown <c>failing</c>, saying so:
    /// without an open channel, changes are found only by the periodic sync.
    /// </summary>
    public static WatchState From(
        WatchRecord watch, ChannelMap map, NotificationRecorder notifications, DateTimeOffset now, SyncProgress? progress = null)
    {
        var channel = watch.Status == WatchStatus.Stopped ? null : map.CurrentOf(watch.Id);
        var lastNotification = notifications.Pending(watch.Id) is { } pending && (watch.LastNotificationAt is null || pending > watch.LastNotificationAt)
            ? pending
            : watch.LastNotificationAt;
        var (status, error) = (StatusName(watch.Status), watch.Error);
        if (watch.Status == WatchStatus.Active && channel?.ExpiresAt is { } expiresAt && expiresAt <= now)
        {
            (status, error) = ("failing", $"No push channel is open: the last one expired at {expiresAt:O} and its renewal has not completed; until it does, changes are found only by the periodic sync.");
        }

        return new WatchState(watch.Id, watch.AccountId, watch.CalendarId, status, channel?.ChannelId, channel?.ExpiresAt,
            lastNotification, watch.LastSyncAt, error, watch.Status == WatchStatus.Stopped ? null : progress?.Of(watch.Id, watch.LastSyncAt),
            ParentWatchId: watch.ParentWatchId);
    }

    public static string StatusName(WatchStatus status) => status switch
    {
        WatchStatus.Starting => "starting",
        WatchStatus.Active => "active",
        WatchStatus.Failing => "failing",
        WatchStatus.NeedsReauth => "needs_reauth",
        _ => "stopped",
    };
}

internal sealed record WatchList(IReadOnlyList<WatchState> Items);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CreateWatchRequest))]
[JsonSerializable(typeof(WatchState))]
[JsonSerializable(typeof(WatchList))]
internal sealed partial class WatchesJsonContext : JsonSerializerContext;
