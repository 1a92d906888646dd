using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Tests.Cli;
using Calhook.TestKit;

namespace Calhook.Tests.RealGoogle;

/// <summary>
/// The recorded Google responses, replayed in order by a fake Google to a real <c>calhook serve</c> process through
/// pushes, on a host without a time-zone database (<c>TZDIR</c> pointing nowhere): the feed is asserted change by
/// change. The recordings are of several series (each its own story); the baseline holds what Calhook knew before
/// them (the masters before their recorded edits, and exceptions it had reported), built from the recordings.
/// </summary>
public sealed class ReplayTests
{
    private const string ApiKey = "chk_replay_test_key_0123456789abcdef";
    private const string Calendar = "test.user@gmail.com";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static readonly string[] Steps =
    [
        "events-incremental-new-recurring-series-daily",
        "events-incremental-three-instance-exceptions-edited",
        "events-incremental-edit-all-split-R-suffix-series",
        "events-incremental-this-and-following-new-series-id",
        "events-incremental-delete-one-instance-cancelled-exception",
        "events-incremental-delete-this-and-following-until-cancelled-id-only",
        "events-incremental-this-and-following-with-prior-exceptions",
        "events-incremental-series-deleted-tombstone-id-only",
        "events-incremental-minimal-fieldsmask-cancelled-tombstone",
        "events-incremental-empty-items-nextsynctoken",
    ];

    [Fact]
    public async Task Recorded_series_lifecycles_noise_and_a_refused_sync_token_reach_the_feed_change_by_change()
    {
        await using var google = await FakeGoogle.StartAsync();
        var story = new Story();
        google.FullList = Page(story.Baseline, "baseline-token");
        using var data = new TestDirectory();
        using var noTimeZones = new TestDirectory();
        var baseAddress = new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/");
        await using var serve = CalhookProcess.Start(
            new Dictionary<string, string> { ["TZDIR"] = noTimeZones.Path },
            "serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data.Path,
            "--google-url", google.BaseAddress.ToString().TrimEnd('/'), "--api-key", ApiKey);
        await serve.WaitUntilHealthyAsync(baseAddress, Generous);
        using var calhook = new HttpClient { BaseAddress = baseAddress };
        calhook.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        var account = await PostAsync(calhook, "/v1/accounts", new JsonObject { ["type"] = "oauth", ["email"] = Calendar, ["refreshToken"] = "1//recorded-refresh" });
        var watch = await PostAsync(calhook, "/v1/watches", new JsonObject { ["accountId"] = (string?)account["id"], ["calendarId"] = Calendar });
        var watchUri = new Uri($"/v1/watches/{watch["id"]}", UriKind.Relative);
        await Polling.EventuallyAsync(async () => JsonNode.Parse(await calhook.GetStringAsync(watchUri))!, w => w["lastSyncAt"] is not null && google.Channel is not null,
            Generous, "the baseline is committed and a channel is open");

        // Each recorded page, then Google's 400 for a token it cannot read: one push each, served in order.
        var served = 0;
        foreach (var step in Steps)
        {
            google.Arm(Recorded.Body(step));
            await PushUntilServedAsync(google, ++served);
        }

        google.FullList = Page(story.Resync(Steps), "resync-token");
        google.Arm(new FakeGoogle.Step(400, Recorded.Body("error-400-invalid-value-synctoken")));
        await PushUntilServedAsync(google, ++served);

        var expected = story.ExpectedFeed;
        var feed = await Polling.EventuallyAsync(() => FeedAsync(calhook), f => f.Count >= expected.Length, Generous,
            $"the {expected.Length} changes of the story are in the feed");
        Assert.Equal(string.Join("\n", expected), string.Join("\n", feed.Select(Describe)));

        var watchState = JsonNode.Parse(await calhook.GetStringAsync(watchUri))!;
        Assert.Equal("active", (string?)watchState["status"]);

        // Full and incremental lists send the same parameters; only the tokens differ.
        var shapes = google.ListQueries.Select(q => string.Join('&', q.TrimStart('?').Split('&').Where(p => !p.StartsWith("syncToken=", StringComparison.Ordinal)
            && !p.StartsWith("pageToken=", StringComparison.Ordinal)).Order(StringComparer.Ordinal))).Distinct().ToList();
        Assert.Equal(["maxResults=2500&showDeleted=true"], shapes);
    }

    private static async Task PushUntilServedAsync(FakeGoogle google, int served)
    {
        await google.PushAsync();
        await Polling.EventuallyAsync(() => Task.FromResult(google.Served), s => s >= served, Generous, $"step {served} is served");
    }

    private static string Describe(JsonNode change)
    {
        var text = $"{change["type"]} {change["eventId"]}";
        if (change["recurringEventId"] is { } series)
        {
            text += $" of {series}";
        }

        if (change["splitFrom"] is { } from)
        {
            text += $" split from {from}";
        }

        if (change["diff"] is JsonArray { Count: > 0 } diff)
        {
            text += " [" + string.Join(",", diff.Select(d => (string)d!["path"]!)) + "]";
        }

        return text;
    }

    private static string Page(IEnumerable<string> items, string nextSyncToken)
    {
        var page = new JsonObject { ["kind"] = "calendar#events", ["timeZone"] = "America/Chicago", ["items"] = new JsonArray([.. items.Select(i => JsonNode.Parse(i))]) };
        page["nextSyncToken"] = nextSyncToken;
        return page.ToJsonString();
    }

    private static async Task<JsonNode> PostAsync(HttpClient client, string path, JsonObject body)
    {
        using var response = await client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<List<JsonNode>> FeedAsync(HttpClient client)
    {
        var page = JsonNode.Parse(await client.GetStringAsync(new Uri("/v1/changes?after=0&limit=1000", UriKind.Relative)))!;
        return [.. page["changes"]!.AsArray().Select(c => c!)];
    }
}
