using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Xunit;

namespace Calhook.TestKit;

/// <summary>
/// The emulator and a real Calhook service pointed at it, over loopback: the one way for a test to put Google behind
/// Calhook. It owns both and stops both. Mutations go to the emulator as Google calls (<see cref="SignInAsync"/>), its
/// controls through <see cref="Control"/>, and Calhook's admin API and feed through <see cref="Api"/>. Story rigs
/// (SyncWorld, CalendarWorld) add their accounts and watches on top; a test that restarts Calhook while the emulator
/// lives on starts a <see cref="CalhookTestHost"/> of its own against <see cref="Emulator"/>.
/// </summary>
public sealed class EmulatorWorld : IAsyncDisposable
{
    private EmulatorWorld(EmulatorServer emulator, CalhookTestHost calhook)
    {
        Emulator = emulator;
        Calhook = calhook;
        Control = new EmulatorControlClient(emulator.BaseAddress);

        // Its own client: the host's is re-configured on each start, which a used HttpClient refuses.
        Api = new HttpClient { BaseAddress = calhook.BaseAddress };
        Api.DefaultRequestHeaders.Authorization = calhook.Client.DefaultRequestHeaders.Authorization;
    }

    public EmulatorServer Emulator { get; }

    public CalhookTestHost Calhook { get; }

    /// <summary>The emulator's controls: tokens, history, faults, config, channels, expiring sync tokens.</summary>
    public EmulatorControlClient Control { get; }

    /// <summary>Calhook's API with the API key; survives restarts of the host (same port).</summary>
    public HttpClient Api { get; }

    /// <summary>
    /// Starts the emulator (notification retries after 20 ms, so a refused ping is retried at once) and Calhook with
    /// <paramref name="configure"/> applied to its options (settings, services).
    /// </summary>
    public static async Task<EmulatorWorld> StartAsync(Action<CalhookTestHostOptions>? configure = null)
    {
        var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { NotificationRetryDelay = TimeSpan.FromMilliseconds(20) });
        try
        {
            var options = new CalhookTestHostOptions { GoogleBaseUrl = emulator.BaseAddress };
            configure?.Invoke(options);
            return new EmulatorWorld(emulator, await CalhookTestHost.StartAsync(options));
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }
    }

    /// <summary>Signs <paramref name="user"/> in to the emulator: a client of its Calendar API as that user, and a refresh token for Calhook.</summary>
    public async Task<(HttpClient Google, string RefreshToken)> SignInAsync(string user)
    {
        var tokens = await Control.CreateTokensAsync(user);
        var google = new HttpClient { BaseAddress = Emulator.BaseAddress };
        google.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return (google, tokens.RefreshToken);
    }

    /// <summary>Connects <paramref name="email"/> as an OAuth account through the admin API; returns the account id.</summary>
    public async Task<string> AddAccountAsync(string email, string refreshToken) =>
        (string)(await CreateAsync("v1/accounts", new { type = "oauth", email, refreshToken }))["id"]!;

    /// <summary>Issues tokens for the emulator user <paramref name="user"/> and connects it as an OAuth account; returns the account id.</summary>
    public async Task<string> ConnectAsync(string user) =>
        await AddAccountAsync(user, (await Control.CreateTokensAsync(user)).RefreshToken);

    /// <summary>Creates a watch of <paramref name="calendarId"/> through the admin API and returns it as answered.</summary>
    public Task<JsonObject> WatchAsync(string accountId, string calendarId) => CreateAsync("v1/watches", new { accountId, calendarId });

    /// <summary>Connects <paramref name="user"/> and watches its primary calendar; returns the watch id.</summary>
    public async Task<string> WatchOwnCalendarAsync(string user) => (string)(await WatchAsync(await ConnectAsync(user), user))["id"]!;

    /// <summary>Polls the watch until its status is <paramref name="status"/> (15 s unless told), and returns its state then.</summary>
    public Task<JsonObject> WaitForStatusAsync(string watchId, string status, TimeSpan? timeout = null) =>
        Polling.EventuallyAsync(() => WatchStateAsync(watchId), w => (string?)w["status"] == status, timeout ?? TimeSpan.FromSeconds(15),
            $"watch {watchId} reaches '{status}'");

    /// <summary>Inserts an event of an hour called <paramref name="summary"/> into the calendar, as a Google client does; returns its id.</summary>
    public static async Task<string> InsertEventAsync(HttpClient google, string calendarId, string summary) =>
        (string)(await PostAsync(google, $"calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events", new
        {
            summary,
            start = new { dateTime = "2026-12-01T09:00:00+01:00" },
            end = new { dateTime = "2026-12-01T10:00:00+01:00" },
        }))["id"]!;

    /// <summary>Opens a push channel straight with the emulator (events.watch), behind Calhook's back; returns Google's answer.</summary>
    public static Task<JsonObject> OpenChannelAsync(HttpClient google, string calendarId, string channelId, string token, Uri address) =>
        PostAsync(google, $"calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events/watch",
            new { id = channelId, type = "web_hook", address = address?.AbsoluteUri, token });

    /// <summary>POSTs <paramref name="body"/> as JSON, asserts a 2xx answer and returns its JSON (an empty object for no content).</summary>
    public static async Task<JsonObject> PostAsync(HttpClient client, string path, object? body)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? [] : (JsonObject)JsonNode.Parse(text)!;
    }

    /// <summary>POSTs <paramref name="body"/> to Calhook's admin API, asserts 201 Created and returns what was created.</summary>
    public async Task<JsonObject> CreateAsync(string path, object body)
    {
        using var response = await Api.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }

    public async Task<JsonObject> WatchStateAsync(string watchId) => (await Api.GetFromJsonAsync<JsonObject>($"v1/watches/{watchId}"))!;

    /// <summary>Waits until the watch's first sync (its baseline) is committed.</summary>
    public Task WaitSyncedAsync(string watchId, string because) =>
        Polling.EventuallyAsync(async () => (await WatchStateAsync(watchId))["lastSyncAt"] is not null, TimeSpan.FromSeconds(20), because);

    /// <summary>Every change in the feed after <paramref name="after"/> (up to 1000).</summary>
    public async Task<List<JsonObject>> FeedAsync(long after = 0)
    {
        var page = await Api.GetFromJsonAsync<JsonObject>($"v1/changes?after={after}&limit=1000");
        return [.. page!["changes"]!.AsArray().Select(c => (JsonObject)c!)];
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        Control.Dispose();
        await Calhook.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}
