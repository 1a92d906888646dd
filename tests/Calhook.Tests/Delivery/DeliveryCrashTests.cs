using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;
using Calhook.Tests.Cli;

namespace Calhook.Tests.Delivery;

/// <summary>
/// A real <c>calhook serve</c> process killed (SIGKILL) while its subscriber is down and webhooks are being retried:
/// started again on the same data, it resumes, and the subscriber ends up with every change, in order per calendar,
/// duplicates only as repeats of the same <c>webhook-id</c>.
/// </summary>
public sealed class DeliveryCrashTests
{
    private const string User = "webhook-crash@example.com";
    private const string ApiKey = "chk_webhook_crash_key_0123456789ab";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_subscriber_down_across_a_SIGKILL_of_the_service_gets_every_change_once_it_is_back()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
        using var data = new TestDirectory();
        var baseAddress = new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/");
        using var calhook = new HttpClient { BaseAddress = baseAddress };
        calhook.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var down = 1;
        subscriber.Respond = _ => Task.FromResult(Volatile.Read(ref down) == 1 ? 503 : 200);

        var serve = await StartAsync(baseAddress, emulator.BaseAddress, data.Path);
        try
        {
            using var control = new EmulatorControlClient(emulator.BaseAddress);
            var tokens = await control.CreateTokensAsync(User);
            using var google = new HttpClient { BaseAddress = new Uri(emulator.BaseAddress, "calendar/v3/calendars/primary/") };
            google.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            var account = await PostAsync(calhook, "/v1/accounts", new JsonObject { ["type"] = "oauth", ["email"] = User, ["refreshToken"] = tokens.RefreshToken });
            var watch = await PostAsync(calhook, "/v1/watches", new JsonObject { ["accountId"] = (string?)account["id"], ["calendarId"] = User });
            await Polling.EventuallyAsync(
                async () => JsonNode.Parse(await calhook.GetStringAsync(new Uri($"/v1/watches/{watch["id"]}", UriKind.Relative)))!["lastSyncAt"] is not null,
                Generous, "the baseline sync finishes");
            var subscription = await PostAsync(calhook, "/v1/subscriptions", new JsonObject { ["url"] = subscriber.Url.ToString() });
            subscriber.Trust((string)subscription["secret"]!);

            for (var i = 0; i < 5; i++)
            {
                await CreateEventAsync(google, $"Before the crash {i}");
            }

            await Polling.EventuallyAsync(() => Task.FromResult(subscriber.Received.Count >= 2), Generous, "webhooks are being attempted and refused");
            await serve.KillAsync();
            await serve.DisposeAsync();
            for (var i = 0; i < 3; i++)
            {
                await CreateEventAsync(google, $"While it is dead {i}");
            }

            serve = await StartAsync(baseAddress, emulator.BaseAddress, data.Path);
            await CreateEventAsync(google, "After the restart");
            var feed = await Polling.EventuallyAsync(() => ReadFeedAsync(calhook), f => f.Count >= 9, Generous, "all nine creations reach the feed");
            Volatile.Write(ref down, 0);

            var accepted = await Polling.EventuallyAsync(
                () => Task.FromResult(subscriber.Accepted), a => a.Select(w => w.Id).Distinct().Count() >= feed.Count, Generous,
                "every change of the feed is delivered");
            Assert.Equal(feed.Select(c => (string)c["id"]!).Order(), accepted.Select(w => w.Id).Distinct().Order());
            var sequences = accepted.Select(w => w.Sequence).ToList();
            Assert.Equal(sequences.Order(), sequences); // one calendar: strictly in log order
            Assert.Equal(0, subscriber.Unverified);
        }
        finally
        {
            await serve.DisposeAsync();
        }
    }

    private static async Task<CalhookProcess> StartAsync(Uri baseAddress, Uri emulator, string data)
    {
        var environment = new Dictionary<string, string> { ["Calhook__Delivery__AllowPrivateNetworks"] = "true" };
        // Short waits that never run out while the subscriber is down (about 2 minutes of attempts).
        for (var i = 0; i < 120; i++)
        {
            environment[$"Calhook__Delivery__RetryDelays__{i}"] = "00:00:01";
        }

        var serve = CalhookProcess.Start(environment,
            "serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data,
            "--google-url", emulator.ToString().TrimEnd('/'), "--api-key", ApiKey);
        await serve.WaitUntilHealthyAsync(baseAddress, Generous);
        return serve;
    }

    private static async Task CreateEventAsync(HttpClient google, string summary) =>
        await PostAsync(google, "events", new JsonObject
        {
            ["summary"] = summary,
            ["start"] = new JsonObject { ["dateTime"] = "2026-12-04T10:00:00Z" },
            ["end"] = new JsonObject { ["dateTime"] = "2026-12-04T11:00:00Z" },
        });

    private static async Task<List<JsonNode>> ReadFeedAsync(HttpClient calhook)
    {
        var page = JsonNode.Parse(await calhook.GetStringAsync(new Uri("/v1/changes?after=0&limit=1000", UriKind.Relative)))!;
        return [.. page["changes"]!.AsArray().Select(c => c!)];
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, JsonObject body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
