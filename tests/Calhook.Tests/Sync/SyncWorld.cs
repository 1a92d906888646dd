using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Sync;

/// <summary>
/// An <see cref="EmulatorWorld"/> with one account (alice) and one watch of her calendar whose baseline is done: the
/// rig of the end-to-end sync stories. Mutations go to the emulator as Google calls; the feed and the emulator's
/// ground-truth history are read over HTTP.
/// </summary>
internal sealed class SyncWorld : IAsyncDisposable
{
    public const string Alice = "alice@example.com";

    private readonly EmulatorWorld _world;

    private SyncWorld(EmulatorWorld world, HttpClient google, string watchId)
    {
        _world = world;
        Google = google;
        WatchId = watchId;
    }

    /// <summary>Calhook's API with the API key; survives restarts of the host (same port).</summary>
    public HttpClient Api => _world.Api;

    public EmulatorServer Emulator => _world.Emulator;

    public CalhookTestHost Calhook => _world.Calhook;

    /// <summary>The emulator's controls (history, faults, expiring sync tokens).</summary>
    public EmulatorControlClient Control => _world.Control;

    /// <summary>The emulator's Calendar API, signed in as alice.</summary>
    public HttpClient Google { get; }

    public string WatchId { get; }

    public static async Task<SyncWorld> StartAsync(TimeSpan? safetyNet = null, Action<IServiceCollection>? configureServices = null)
    {
        var world = await EmulatorWorld.StartAsync(options =>
        {
            options.ConfigureServices = configureServices;
            options.Settings["Calhook:Google:ClientId"] = "calhook-tests";
            options.Settings["Calhook:Google:ClientSecret"] = "calhook-tests-secret";
            options.Settings["Calhook:Sync:SafetyNetInterval"] = (safetyNet ?? TimeSpan.FromMinutes(5)).ToString("c");
            options.Settings["Calhook:Sync:RetryDelay"] = "00:00:00.200";
        });
        var (google, refreshToken) = await world.SignInAsync(Alice);
        var accountId = await world.AddAccountAsync(Alice, refreshToken);
        var watchId = (string)(await EmulatorWorld.PostAsync(world.Api, "v1/watches", new { accountId, calendarId = Alice }))["id"]!;
        await world.WaitSyncedAsync(watchId, "the baseline sync is committed");
        return new SyncWorld(world, google, watchId);
    }

    public static string Events => $"calendar/v3/calendars/{Uri.EscapeDataString(Alice)}/events";

    /// <summary>
    /// Sends a Calendar API call to the emulator and returns the event it answers (null for no content). Injected
    /// 503, 429 and 403 rate-limit answers (API faults) are retried, as any Google client would.
    /// </summary>
    public async Task<JsonObject?> GoogleAsync(HttpMethod method, string path, object? body = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            var response = await Google.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var injected = (int)response.StatusCode is 503 or 429
                || ((int)response.StatusCode == 403 && text.Contains("rateLimitExceeded", StringComparison.Ordinal));
            if (injected && attempt < 20)
            {
                continue;
            }

            Assert.True(response.IsSuccessStatusCode, $"{method} {path} answered {(int)response.StatusCode}: {text}");
            return text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject;
        }
    }

    public async Task<string> InsertAsync(object body) => (string)(await GoogleAsync(HttpMethod.Post, Events, body))!["id"]!;

    public Task PatchAsync(string eventId, object body) => GoogleAsync(HttpMethod.Patch, $"{Events}/{eventId}", body);

    public Task DeleteAsync(string eventId) => GoogleAsync(HttpMethod.Delete, $"{Events}/{eventId}");

    public async Task<long> LastHistorySeqAsync() => (await Control.GetHistoryAsync(Alice)).LastOrDefault()?.Seq ?? 0;

    /// <summary>Every change in the feed after <paramref name="after"/>.</summary>
    public Task<List<JsonObject>> FeedAsync(long after = 0) => _world.FeedAsync(after);

    /// <summary>Waits until the feed holds <paramref name="count"/> changes, and returns them.</summary>
    public Task<List<JsonObject>> FeedWithAsync(int count, string because) =>
        Polling.EventuallyAsync(() => FeedAsync(), changes => changes.Count >= count, TimeSpan.FromSeconds(20), because);

    public async Task ForceSyncAsync() =>
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await Api.PostAsync($"v1/watches/{WatchId}/sync", null)).StatusCode);

    public static bool SameJson(JsonNode? a, JsonNode? b) =>
        JsonElement.DeepEquals(JsonSerializer.SerializeToElement(a), JsonSerializer.SerializeToElement(b));

    public async ValueTask DisposeAsync()
    {
        Google.Dispose();
        await _world.DisposeAsync();
    }
}
