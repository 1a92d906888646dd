using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>
/// Invariant 1 (docs/architecture.md) under real crashes: the <c>calhook serve</c> process is killed (SIGKILL) at random moments while
/// mutations are being synced, then started again on the same data directory, many times. The change log must end
/// up describing exactly what happened in the calendar: every event's chain of changes links up (each change's
/// <c>previous</c> is the prior change's <c>event</c>), nothing is reported twice, and the last change of every
/// event matches the calendar's final state.
/// </summary>
public sealed class CrashSafetyTests
{
    private const string User = "crash@example.com";
    private const string ApiKey = "chk_crash_test_key_0123456789abcdef";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Killing_the_process_at_random_points_during_sync_loses_and_duplicates_nothing()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
        using var data = new TestDirectory();
        var baseAddress = new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/");
        using var google = await GoogleClientAsync(emulator.BaseAddress);
        using var calhook = new HttpClient { BaseAddress = baseAddress };
        calhook.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        var random = new Random(20261128);

        var serve = await StartAsync(baseAddress, emulator.BaseAddress, data.Path);
        try
        {
            using var control = new EmulatorControlClient(emulator.BaseAddress);
            var refreshToken = (await control.CreateTokensAsync(User)).RefreshToken;
            var account = await PostAsync(calhook, "/v1/accounts", new JsonObject { ["type"] = "oauth", ["email"] = User, ["refreshToken"] = refreshToken });
            var watch = await PostAsync(calhook, "/v1/watches", new JsonObject { ["accountId"] = (string?)account["id"], ["calendarId"] = User });
            await Polling.EventuallyAsync(
                async () => JsonNode.Parse(await calhook.GetStringAsync(new Uri($"/v1/watches/{watch["id"]}", UriKind.Relative)))!["lastSyncAt"] is not null,
                Generous, "the baseline sync of the watched calendar finishes");

            var live = new List<string>();
            for (var round = 0; round < 6; round++)
            {
                // A burst of mutations, then a kill at a random moment while Calhook is syncing them.
                for (var i = 0; i < 12; i++)
                {
                    await MutateAsync(google, live, random);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 250)), TimeProvider.System);
                await serve.KillAsync();
                await serve.DisposeAsync();
                serve = await StartAsync(baseAddress, emulator.BaseAddress, data.Path);
            }

            var truth = await CalendarStateAsync(google);
            var changes = await Polling.EventuallyAsync(
                () => ReadFeedAsync(calhook),
                feed => Converged(feed, truth),
                Generous,
                "after the crashes, the change log converges to the calendar's final state");

            AssertLinkedWithoutDuplicates(changes);
        }
        finally
        {
            await serve.DisposeAsync();
        }
    }

    private static async Task<CalhookProcess> StartAsync(Uri baseAddress, Uri emulator, string data)
    {
        var serve = CalhookProcess.Start(
            "serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data,
            "--google-url", emulator.ToString().TrimEnd('/'), "--api-key", ApiKey);
        await serve.WaitUntilHealthyAsync(baseAddress, Generous);
        return serve;
    }

    private static async Task MutateAsync(HttpClient google, List<string> live, Random random)
    {
        var choice = live.Count < 3 ? 0 : random.Next(0, 4);
        if (choice == 0)
        {
            var hour = random.Next(8, 18);
            var day = random.Next(1, 9);
            var created = await PostAsync(google, "events", new JsonObject
            {
                ["summary"] = $"Event {random.Next()}",
                ["start"] = new JsonObject { ["dateTime"] = $"2026-12-0{day}T{hour:00}:00:00Z" },
                ["end"] = new JsonObject { ["dateTime"] = $"2026-12-0{day}T{hour:00}:30:00Z" },
            });
            live.Add((string)created["id"]!);
            return;
        }

        var id = live[random.Next(live.Count)];
        if (choice == 3)
        {
            using var deleted = await google.DeleteAsync(new Uri($"events/{id}", UriKind.Relative));
            deleted.EnsureSuccessStatusCode();
            live.Remove(id);
            return;
        }

        using var patched = await google.PatchAsJsonAsync($"events/{id}", new JsonObject { ["summary"] = $"Renamed {random.Next()}" });
        patched.EnsureSuccessStatusCode();
    }

    /// <summary>Every event of the calendar, cancelled ones included: id → (status, etag).</summary>
    private static async Task<Dictionary<string, (string Status, string Etag)>> CalendarStateAsync(HttpClient google)
    {
        var state = new Dictionary<string, (string, string)>();
        string? pageToken = null;
        do
        {
            var page = JsonNode.Parse(await google.GetStringAsync(new Uri(
                $"events?showDeleted=true&maxResults=2500{(pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken))}", UriKind.Relative)))!;
            foreach (var item in page["items"]!.AsArray())
            {
                state[(string)item!["id"]!] = ((string?)item["status"] ?? "confirmed", (string?)item["etag"] ?? "");
            }

            pageToken = (string?)page["nextPageToken"];
        }
        while (pageToken is not null);
        return state;
    }

    private static async Task<List<JsonNode>> ReadFeedAsync(HttpClient calhook)
    {
        var all = new List<JsonNode>();
        long after = 0;
        while (true)
        {
            var page = JsonNode.Parse(await calhook.GetStringAsync(new Uri($"/v1/changes?after={after}&limit=1000", UriKind.Relative)))!;
            all.AddRange(page["changes"]!.AsArray().Select(c => c!));
            after = (long)page["next"]!;
            if (!(bool)page["hasMore"]!)
            {
                return all;
            }
        }
    }

    private static bool Converged(List<JsonNode> changes, Dictionary<string, (string Status, string Etag)> truth)
    {
        var last = changes.GroupBy(c => (string)c["eventId"]!).ToDictionary(g => g.Key, g => g.Last());
        foreach (var (id, (status, etag)) in truth)
        {
            last.TryGetValue(id, out var change);
            var ok = status == "cancelled"
                ? change is null || (string?)change["type"] == "event.deleted"
                : change is not null && (string?)change["type"] != "event.deleted" && (string?)change["event"]?["etag"] == etag;
            if (!ok)
            {
                return false;
            }
        }

        return last.Keys.All(truth.ContainsKey);
    }

    private static void AssertLinkedWithoutDuplicates(List<JsonNode> changes)
    {
        var sequences = changes.Select(c => (long)c["sequence"]!).ToList();
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
        Assert.Equal(changes.Count, changes.Select(c => (string)c["id"]!).Distinct().Count());

        foreach (var chain in changes.GroupBy(c => (string)c["eventId"]!))
        {
            JsonNode? before = null;
            foreach (var change in chain)
            {
                var type = (string)change["type"]!;
                if (before is null)
                {
                    Assert.Equal("event.created", type);
                }
                else
                {
                    Assert.NotEqual("event.deleted", (string)before["type"]!);
                    Assert.Equal((string?)before["event"]!["etag"], (string?)change["previous"]?["etag"]);
                }

                if (type == "event.updated")
                {
                    Assert.NotEqual((string?)change["previous"]!["etag"], (string?)change["event"]!["etag"]);
                }

                before = change;
            }
        }
    }

    private static async Task<HttpClient> GoogleClientAsync(Uri emulator)
    {
        using var control = new EmulatorControlClient(emulator);
        var tokens = await control.CreateTokensAsync(User);
        var google = new HttpClient { BaseAddress = new Uri(emulator, "calendar/v3/calendars/primary/") };
        google.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return google;
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, JsonObject body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
