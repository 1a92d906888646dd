using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Events;

/// <summary>What Google does to series and events beyond plain CRUD, checked against the recorded responses' shapes.</summary>
public sealed class SeriesLifecycleTests
{
    private static string Events => EmulatorHost.EventsPath();

    /// <summary>A control's raw path, for the answers whose wire shape (Google's error body) is what a test checks.</summary>
    private static string Control(string eventId, string action) =>
        $"emulator/v1/calendars/{Uri.EscapeDataString(EmulatorHost.Alice)}/events/{eventId}/{action}";

    private static async Task<(string Master, List<JsonObject> Instances, string Token)> DailySeriesAsync(EmulatorHost host, string rule = "RRULE:FREQ=DAILY")
    {
        var master = await host.InsertAsync(Some.Series("Dishes", "2025-03-24T07:30:00", "America/Chicago", rule));
        var instances = (await host.GetJsonAsync($"{Events}/{master["id"]}/instances?maxResults=10"))["items"]!.AsArray().Select(i => (JsonObject)i!).ToList();
        var (_, token, _) = await host.ListAllAsync("");
        return ((string)master["id"]!, instances, token);
    }

    private static async Task<List<JsonObject>> SinceAsync(EmulatorHost host, string token) =>
        (await host.ListAllAsync($"syncToken={Uri.EscapeDataString(token)}")).Items;

    [Fact]
    public async Task Deleting_a_series_lists_only_the_masters_tombstone_unless_the_switch_adds_the_instances()
    {
        foreach (var withInstances in new[] { false, true })
        {
            await using var host = await EmulatorHost.StartAsync(o => o.InstanceTombstonesOnSeriesDelete = withInstances);
            var (master, instances, _) = await DailySeriesAsync(host);
            var edited = (string)instances[2]["id"]!;
            await host.SendAsync(HttpMethod.Patch, $"{Events}/{edited}", new JsonObject { ["summary"] = "Dishes (Tuesday)" });
            var (_, token, _) = await host.ListAllAsync("");

            Assert.Equal(204, (await host.SendAsync(HttpMethod.Delete, $"{Events}/{master}")).Status);

            var items = await SinceAsync(host, token);
            Assert.Equal(withInstances ? [master, edited] : [master], items.Select(i => (string)i["id"]!));
            Assert.All(items, i => Assert.Equal("cancelled", (string)i["status"]!));
            // The ground truth still records the instance's deletion.
            Assert.Contains(await host.Control.GetHistoryAsync(EmulatorHost.Alice), h => h.EventId == edited && h.Kind == "deleted");
        }
    }

    [Fact]
    public async Task Sequence_rises_when_start_end_or_recurrence_change_and_stays_for_other_edits()
    {
        await using var host = await EmulatorHost.StartAsync();
        var (master, instances, _) = await DailySeriesAsync(host);
        async Task<int> PatchAsync(string id, JsonObject patch) =>
            (int)(await host.SendAsync(HttpMethod.Patch, $"{Events}/{id}", patch)).Json!["sequence"]!;

        Assert.Equal(0, await PatchAsync(master, new JsonObject { ["summary"] = "Dishes!" }));
        Assert.Equal(1, await PatchAsync(master, new JsonObject { ["recurrence"] = new JsonArray("RRULE:FREQ=DAILY;COUNT=20") }));
        var moved = new JsonObject
        {
            ["start"] = new JsonObject { ["dateTime"] = "2025-03-26T16:00:00-05:00", ["timeZone"] = "America/Chicago" },
            ["end"] = new JsonObject { ["dateTime"] = "2025-03-26T16:45:00-05:00", ["timeZone"] = "America/Chicago" },
        };
        Assert.Equal(2, await PatchAsync((string)instances[2]["id"]!, moved));
        Assert.Equal(1, await PatchAsync(master, new JsonObject { ["description"] = "weekly chores" }));
    }

    [Fact]
    public async Task This_and_following_truncates_with_until_and_creates_the_R_suffixed_series_as_recorded()
    {
        await using var host = await EmulatorHost.StartAsync();
        var (master, instances, _) = await DailySeriesAsync(host);
        var later = (string)instances[4]["id"]!;
        await host.SendAsync(HttpMethod.Patch, $"{Events}/{later}", new JsonObject { ["summary"] = "Dishes (late)" });
        var (_, token, _) = await host.ListAllAsync("");

        var series = await host.Control.EditThisAndFollowingAsync(EmulatorHost.Alice, (string)instances[2]["id"]!,
            new JsonObject { ["description"] = "Changed all occurrences" });

        // Recorded: 68k0p6ackplecqs9fuvbs1fju0_R20250326T123000 for the instance at 2025-03-26 07:30 America/Chicago.
        Assert.Equal(master + "_R20250326T123000", (string)series["id"]!);
        Assert.Equal(["RRULE:FREQ=DAILY"], series["recurrence"]!.AsArray().Select(l => (string)l!));
        Assert.Equal("2025-03-26T07:30:00-05:00", (string)series["start"]!["dateTime"]!);
        Assert.Equal(0, (int)series["sequence"]!);
        Assert.Equal(master + "_R20250326T123000@google.com", (string)series["iCalUID"]!);
        var items = await SinceAsync(host, token);
        var truncated = items.Single(i => (string)i["id"]! == master);
        Assert.Equal(["RRULE:FREQ=DAILY;UNTIL=20250326T045959Z"], truncated["recurrence"]!.AsArray().Select(l => (string)l!));
        Assert.Equal(0, (int)truncated["sequence"]!);
        Assert.Equal((string)truncated["created"]!, (string)series["created"]!);
        // The edited instance past the split is orphaned: an id-only tombstone, as recorded.
        var orphan = items.Single(i => (string)i["id"]! == later);
        Assert.Equal(["kind", "etag", "id", "status"], orphan.Select(p => p.Key));
        Assert.Equal("cancelled", (string)orphan["status"]!);
        Assert.Contains(items, i => (string)i["id"]! == (string)series["id"]!);
        // The new series' instances can be edited like any other.
        var newInstances = (await host.GetJsonAsync($"{Events}/{series["id"]}/instances?maxResults=2"))["items"]!.AsArray();
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Patch, $"{Events}/{newInstances[1]!["id"]}", new JsonObject { ["summary"] = "x" })).Status);
    }

    [Fact]
    public async Task This_and_following_with_a_new_id_raises_the_sequence_when_the_times_move()
    {
        await using var host = await EmulatorHost.StartAsync();
        var (master, instances, _) = await DailySeriesAsync(host, "RRULE:FREQ=DAILY;COUNT=10");
        var edit = new JsonObject
        {
            ["summary"] = "Dishes: This And Following",
            ["start"] = new JsonObject { ["dateTime"] = "2025-03-27T07:00:00", ["timeZone"] = "America/Chicago" },
            ["end"] = new JsonObject { ["dateTime"] = "2025-03-27T08:00:00", ["timeZone"] = "America/Chicago" },
        };

        var series = await host.Control.EditThisAndFollowingAsync(EmulatorHost.Alice, (string)instances[3]["id"]!, edit, newId: true);

        Assert.DoesNotContain("_", (string)series["id"]!, StringComparison.Ordinal);
        Assert.Equal(1, (int)series["sequence"]!);
        Assert.Equal(["RRULE:FREQ=DAILY;COUNT=7"], series["recurrence"]!.AsArray().Select(l => (string)l!));
        var truncated = await host.GetJsonAsync($"{Events}/{master}");
        Assert.Equal(["RRULE:FREQ=DAILY;UNTIL=20250327T045959Z"], truncated["recurrence"]!.AsArray().Select(l => (string)l!));
        Assert.Equal(3, (await host.GetJsonAsync($"{Events}/{master}/instances"))["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Delete_this_and_following_truncates_and_tombstones_the_orphaned_exceptions_by_id_only()
    {
        await using var host = await EmulatorHost.StartAsync();
        var (master, instances, _) = await DailySeriesAsync(host);
        var orphan = (string)instances[4]["id"]!;
        await host.SendAsync(HttpMethod.Patch, $"{Events}/{orphan}", new JsonObject { ["summary"] = "Dishes (late)" });
        var kept = (string)instances[1]["id"]!;
        await host.SendAsync(HttpMethod.Patch, $"{Events}/{kept}", new JsonObject { ["summary"] = "Dishes (early)" });
        var (_, token, _) = await host.ListAllAsync("");

        await host.Control.DeleteThisAndFollowingAsync(EmulatorHost.Alice, (string)instances[2]["id"]!);

        var items = await SinceAsync(host, token);
        Assert.Equal([master, orphan], items.Select(i => (string)i["id"]!));
        Assert.Equal(["kind", "etag", "id", "status"], items[1].Select(p => p.Key));
        var (missing, json) = await host.SendAsync(HttpMethod.Post, Control("nosuchseries_20250326T123000Z", "delete-this-and-following"));
        EmulatorHost.AssertError(404, "notFound", missing, json);
        var (first, firstJson) = await host.SendAsync(HttpMethod.Post, Control((string)instances[0]["id"]!, "delete-this-and-following"));
        EmulatorHost.AssertError(400, "invalid", first, firstJson);
    }

    [Fact]
    public async Task Another_attendee_answering_and_meet_data_filled_later_are_updates_that_keep_the_sequence()
    {
        await using var host = await EmulatorHost.StartAsync();
        var body = Some.Event("Review", Some.Monday);
        body["attendees"] = new JsonArray(new JsonObject { ["email"] = "carol@example.com", ["responseStatus"] = "needsAction" });
        var created = await host.InsertAsync(body);
        var id = (string)created["id"]!;

        var answer = await host.Control.RespondAsync(EmulatorHost.Alice, id, "carol@example.com", "accepted");
        Assert.Equal("accepted", (string)answer["attendees"]![0]!["responseStatus"]!);
        Assert.NotEqual((string)created["etag"]!, (string)answer["etag"]!);
        Assert.Equal(0, (int)answer["sequence"]!);
        var (stranger, strangerJson) = await host.SendAsync(HttpMethod.Post, Control(id, "respond"), new JsonObject { ["email"] = "dave@example.com", ["responseStatus"] = "accepted" });
        EmulatorHost.AssertError(400, "invalid", stranger, strangerJson);

        var meet = await host.Control.AddConferenceAsync(EmulatorHost.Alice, id);
        Assert.Equal("hangoutsMeet", (string)meet["conferenceData"]!["conferenceSolution"]!["key"]!["type"]!);
        Assert.StartsWith("https://meet.google.com/", (string)meet["hangoutLink"]!, StringComparison.Ordinal);
        Assert.Equal((string)meet["hangoutLink"]!, (string)meet["conferenceData"]!["entryPoints"]![0]!["uri"]!);
        Assert.Equal(0, (int)meet["sequence"]!);
    }

    [Theory]
    [InlineData("abcd")]
    [InlineData("ABCDEFGH")]
    [InlineData("abcdwxyz")]
    [InlineData("abcde_20250326")]
    public async Task A_client_id_outside_base32hex_or_5_to_1024_long_gets_googles_400(string id)
    {
        await using var host = await EmulatorHost.StartAsync();
        var body = Some.Event("X", Some.Monday);
        body["id"] = id;
        var (status, json) = await host.SendAsync(HttpMethod.Post, Events, body);
        Assert.Equal(400, status);
        Assert.Equal("""{"error":{"errors":[{"domain":"global","reason":"invalid","message":"Invalid resource id value."}],"code":400,"message":"Invalid resource id value."}}""",
            json!.ToJsonString());
        body["id"] = new string('v', 1024);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Post, Events, body)).Status);
        body["id"] = new string('0', 1025);
        Assert.Equal(400, (await host.SendAsync(HttpMethod.Post, Events, body)).Status);
    }
}
