using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Calendars;

/// <summary>
/// An <see cref="EmulatorWorld"/> in which Calhook acts as bob (one account). Alice owns calendars and shares,
/// renames, unshares and deletes them through the emulator's controls; bob's calendar list and events are read by
/// Calhook as Google's would be.
/// </summary>
internal sealed class CalendarWorld : IAsyncDisposable
{
    public const string Alice = "alice@example.com";
    public const string Bob = "bob@example.com";

    private readonly EmulatorWorld _world;

    private CalendarWorld(EmulatorWorld world, HttpClient alice, HttpClient bob, string accountId)
    {
        _world = world;
        AliceGoogle = alice;
        BobGoogle = bob;
        AccountId = accountId;
    }

    public EmulatorServer Emulator => _world.Emulator;

    public CalhookTestHost Calhook => _world.Calhook;

    public HttpClient Api => _world.Api;

    /// <summary>The emulator's controls: alice shares, renames, unshares and deletes her calendars through them.</summary>
    public EmulatorControlClient Control => _world.Control;

    /// <summary>The emulator's Calendar API as alice.</summary>
    public HttpClient AliceGoogle { get; }

    /// <summary>The emulator's Calendar API as bob.</summary>
    public HttpClient BobGoogle { get; }

    public string AccountId { get; }

    /// <param name="fullListEveryTime">Calhook:CalendarList:FullListInterval zero: every calendar-list sync reads the whole list.</param>
    public static async Task<CalendarWorld> StartAsync(bool fullListEveryTime = false)
    {
        var world = await EmulatorWorld.StartAsync(options =>
        {
            options.Settings["Calhook:Google:ClientId"] = "calhook-tests";
            options.Settings["Calhook:Google:ClientSecret"] = "calhook-tests-secret";
            options.Settings["Calhook:Sync:RetryDelay"] = "00:00:00.200";
            if (fullListEveryTime)
            {
                options.Settings["Calhook:CalendarList:FullListInterval"] = "00:00:00";
            }
        });
        var (alice, _) = await world.SignInAsync(Alice);
        var (bob, bobRefreshToken) = await world.SignInAsync(Bob);
        return new CalendarWorld(world, alice, bob, await world.AddAccountAsync(Bob, bobRefreshToken));
    }

    private static Task<JsonObject> PostAsync(HttpClient client, string path, object? body) => EmulatorWorld.PostAsync(client, path, body);

    /// <summary>Creates a watch (a calendar id, or null for all calendars) and returns its id.</summary>
    public async Task<string> WatchAsync(string? calendarId) =>
        (string)(await PostAsync(Api, "v1/watches", calendarId is null
            ? new { accountId = AccountId, allCalendars = true }
            : (object)new { accountId = AccountId, calendarId }))["id"]!;

    public Task<JsonObject> WatchStateAsync(string watchId) => _world.WatchStateAsync(watchId);

    public async Task<List<JsonObject>> WatchesAsync() =>
        [.. (await Api.GetFromJsonAsync<JsonObject>("v1/watches"))!["items"]!.AsArray().Select(w => (JsonObject)w!)];

    /// <summary>Waits until the watch's first sync is committed.</summary>
    public Task WaitSyncedAsync(string watchId, string because) => _world.WaitSyncedAsync(watchId, because);

    /// <summary>Waits for the per-calendar watch an all-calendars watch made for the calendar, synced, and returns its id.</summary>
    public async Task<string> WaitFollowedAsync(string parentWatchId, string calendarId)
    {
        var child = await Polling.EventuallyAsync(WatchesAsync,
            watches => watches.Any(w => (string?)w["parentWatchId"] == parentWatchId && (string?)w["calendarId"] == calendarId && (string)w["status"]! != "stopped"),
            TimeSpan.FromSeconds(20), $"the all-calendars watch follows {calendarId}");
        var id = (string)child.First(w => (string?)w["parentWatchId"] == parentWatchId && (string?)w["calendarId"] == calendarId && (string)w["status"]! != "stopped")["id"]!;
        await WaitSyncedAsync(id, $"the watch of {calendarId} has its baseline");
        return id;
    }

    public async Task SyncAsync(string watchId) =>
        Assert.Equal(HttpStatusCode.Accepted, (await Api.PostAsync($"v1/watches/{watchId}/sync", null)).StatusCode);

    /// <summary>Alice creates a calendar and returns its id.</summary>
    public async Task<string> CreateCalendarAsync(HttpClient owner, string summary) =>
        (string)(await PostAsync(owner, "calendar/v3/calendars", new { summary, timeZone = "Europe/Paris" }))["id"]!;

    public Task<string> InsertEventAsync(HttpClient client, string calendarId, string summary) => EmulatorWorld.InsertEventAsync(client, calendarId, summary);

    public Task<List<JsonObject>> FeedAsync() => _world.FeedAsync();

    /// <summary>Waits until a change matching <paramref name="match"/> is in the feed, and returns the whole feed.</summary>
    public Task<List<JsonObject>> FeedWithAsync(Func<JsonObject, bool> match, string because) =>
        Polling.EventuallyAsync(FeedAsync, changes => changes.Any(match), TimeSpan.FromSeconds(20), because);

    public async ValueTask DisposeAsync()
    {
        AliceGoogle.Dispose();
        BobGoogle.Dispose();
        await _world.DisposeAsync();
    }
}
