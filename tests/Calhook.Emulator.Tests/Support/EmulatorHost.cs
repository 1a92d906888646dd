using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Support;

/// <summary>A running emulator on loopback plus an HTTP client signed in as one user.</summary>
internal sealed class EmulatorHost : IAsyncDisposable
{
    private EmulatorHost(EmulatorServer server, HttpClient http)
    {
        Server = server;
        Http = http;
        Control = new EmulatorControlClient(server.BaseAddress);
    }

    public EmulatorServer Server { get; }

    /// <summary>The emulator's controls, through the client it ships.</summary>
    public EmulatorControlClient Control { get; }

    /// <summary>Signed in as <c>alice@example.com</c>.</summary>
    public HttpClient Http { get; }

    public string RefreshToken { get; private set; } = "";

    public const string Alice = "alice@example.com";

    public static async Task<EmulatorHost> StartAsync(Action<EmulatorOptions>? configure = null)
    {
        var options = new EmulatorOptions { NotificationRetryDelay = TimeSpan.FromMilliseconds(20) };
        configure?.Invoke(options);
        var server = await EmulatorServer.StartAsync(options);
        var http = new HttpClient { BaseAddress = server.BaseAddress };
        var host = new EmulatorHost(server, http);
        var tokens = await host.Control.CreateTokensAsync(Alice);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        host.RefreshToken = tokens.RefreshToken;
        return host;
    }

    /// <summary>A client of the Calendar API signed in as <paramref name="user"/> (created if needed).</summary>
    public async Task<HttpClient> SignInAsync(string user) => ClientFor((await Control.CreateTokensAsync(user)).AccessToken);

    public HttpClient ClientFor(string accessToken)
    {
        var client = new HttpClient { BaseAddress = Server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
    }

    public static string EventsPath(string calendarId = Alice) => $"calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events";

    public async Task<JsonObject> InsertAsync(JsonObject body, string calendarId = Alice)
    {
        var (status, json) = await SendAsync(HttpMethod.Post, EventsPath(calendarId), body);
        Assert.True(status == 200, $"insert answered {status}: {json}");
        return json!;
    }

    public Task<JsonObject> InsertAsync(string summary, DateTimeOffset start) => InsertAsync(Some.Event(summary, start));

    public async Task<(int Status, JsonObject? Json)> SendAsync(HttpMethod method, string path, JsonNode? body = null,
        Action<HttpRequestMessage>? configure = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        configure?.Invoke(request);
        using var response = await (client ?? Http).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode >= 400)
        {
            Assert.StartsWith("application/json", response.Content.Headers.ContentType?.MediaType ?? "");
        }

        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }

    public async Task<JsonObject> GetJsonAsync(string path)
    {
        var (status, json) = await SendAsync(HttpMethod.Get, path);
        Assert.True(status == 200, $"GET {path} answered {status}: {json?.ToJsonString()}");
        return json!;
    }

    /// <summary>Pages through a list until nextSyncToken; returns every item and the sync token.</summary>
    public async Task<(List<JsonObject> Items, string SyncToken, int Pages)> ListAllAsync(string query, string calendarId = Alice)
    {
        var items = new List<JsonObject>();
        string? pageToken = null;
        for (var pages = 1; ; pages++)
        {
            var page = await GetJsonAsync($"{EventsPath(calendarId)}?{query}{(pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken))}");
            items.AddRange(page["items"]!.AsArray().Select(i => (JsonObject)i!));
            pageToken = (string?)page["nextPageToken"];
            if (pageToken is null)
            {
                return (items, (string)page["nextSyncToken"]!, pages);
            }

            Assert.Null(page["nextSyncToken"]);
        }
    }

    public static void AssertError(int expectedStatus, string reason, int status, JsonObject? json)
    {
        Assert.Equal(expectedStatus, status);
        Assert.NotNull(json);
        var error = json["error"]!;
        Assert.Equal(expectedStatus, (int)error["code"]!);
        Assert.Equal(reason, (string)error["errors"]![0]!["reason"]!);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Control.Dispose();
        await Server.DisposeAsync();
    }
}
