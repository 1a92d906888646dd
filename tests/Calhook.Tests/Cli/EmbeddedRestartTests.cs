using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>
/// <c>serve</c> on its defaults keeps the embedded emulator's state in the data directory: after a restart (here a
/// crash) the demo account and watch are the same, and so are the calendar and its events.
/// </summary>
public sealed partial class EmbeddedRestartTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Serve_on_defaults_resumes_the_same_accounts_watches_calendars_and_events_after_a_restart()
    {
        using var data = new TestDirectory();
        var baseAddress = new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/");
        string[] serve = ["serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data.Path];
        var stateFile = data.File("emulator-state.json");
        JsonObject before;
        string key;

        await using (var first = CalhookProcess.Start(serve))
        {
            await first.WaitUntilHealthyAsync(baseAddress, Generous);
            key = (await File.ReadAllTextAsync(data.File("api-key"))).Trim();
            using var calhook = Admin(baseAddress, key);
            before = await WaitForBaselineAsync(calhook);
            var emulator = await EmulatorAddressAsync(first);
            await CreateEventAsync(emulator, "Made before the restart");
            await Polling.EventuallyAsync(async () => await SummariesInFeedAsync(calhook) is var s && s.Contains("Made before the restart"), Generous,
                "the event made before the restart reaches the feed");
            // Saved within half a second of the change; a crash after that loses nothing.
            await Polling.EventuallyAsync(async () => File.Exists(stateFile) && (await File.ReadAllTextAsync(stateFile)).Contains("Made before the restart", StringComparison.Ordinal),
                Generous, "the emulator's state file holds the event");
        }

        await using var second = CalhookProcess.Start(serve);
        await second.WaitUntilHealthyAsync(baseAddress, Generous);
        using var again = Admin(baseAddress, key);
        var after = await WaitForBaselineAsync(again);

        Assert.Equal((string)before["id"]!, (string)after["id"]!);
        Assert.Equal((string)before["accountId"]!, (string)after["accountId"]!);
        var emulatorAgain = await EmulatorAddressAsync(second);
        Assert.Contains("Made before the restart", await EventSummariesAsync(emulatorAgain));

        // The watch still works after the restart: a new event reaches the feed.
        await CreateEventAsync(emulatorAgain, "Made after the restart");
        await Polling.EventuallyAsync(async () => await SummariesInFeedAsync(again) is var s && s.Contains("Made after the restart"), Generous,
            "the event made after the restart reaches the feed");
        var watches = (await again.GetFromJsonAsync<JsonObject>("/v1/watches"))!["items"]!.AsArray();
        Assert.Single(watches, w => (string?)w!["status"] != "stopped");
        Assert.Equal("active", (string)(await again.GetFromJsonAsync<JsonObject>($"/v1/watches/{before["id"]}"))!["status"]!);
    }

    private static HttpClient Admin(Uri baseAddress, string key)
    {
        var http = new HttpClient { BaseAddress = baseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private static async Task<JsonObject> WaitForBaselineAsync(HttpClient calhook)
    {
        var items = await Polling.EventuallyAsync(
            async () => (await calhook.GetFromJsonAsync<JsonObject>("/v1/watches"))!["items"]!.AsArray(),
            items => items.Count(w => (string?)w!["status"] != "stopped") == 1 && items.Any(w => w!["lastSyncAt"] is not null && (string?)w["status"] != "stopped"),
            Generous, "one demo watch with its baseline");
        return items.Single(w => (string?)w!["status"] != "stopped")!.AsObject();
    }

    private static async Task<Uri> EmulatorAddressAsync(CalhookProcess serve) =>
        await Polling.EventuallyAsync(
            () => Task.FromResult(EmulatorLine().Match(serve.Output) is { Success: true } match ? new Uri(match.Groups[1].Value) : null),
            uri => uri is not null, Generous, "serve prints the emulator's address") ?? throw new InvalidOperationException();

    private static async Task<HttpClient> DemoUserAsync(Uri emulator)
    {
        using var control = new EmulatorControlClient(emulator);
        var tokens = await control.CreateTokensAsync("demo@example.com");
        var http = new HttpClient { BaseAddress = emulator };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return http;
    }

    private static async Task CreateEventAsync(Uri emulator, string summary)
    {
        using var http = await DemoUserAsync(emulator);
        var response = await http.PostAsJsonAsync("calendar/v3/calendars/primary/events", new
        {
            summary,
            start = new { dateTime = "2026-12-01T10:00:00Z" },
            end = new { dateTime = "2026-12-01T11:00:00Z" },
        });
        response.EnsureSuccessStatusCode();
    }

    private static async Task<List<string>> EventSummariesAsync(Uri emulator)
    {
        using var http = await DemoUserAsync(emulator);
        var page = (await http.GetFromJsonAsync<JsonObject>("calendar/v3/calendars/primary/events"))!;
        return page["items"]!.AsArray().Select(i => (string?)i!["summary"] ?? "").ToList();
    }

    private static async Task<List<string>> SummariesInFeedAsync(HttpClient calhook)
    {
        var feed = (await calhook.GetFromJsonAsync<JsonObject>("/v1/changes?after=0&limit=1000"))!;
        return feed["changes"]!.AsArray().Select(c => (string?)c!["event"]?["summary"] ?? "").ToList();
    }

    [GeneratedRegex(@"Emulator:\s+(http://\S+)")]
    private static partial Regex EmulatorLine();
}
