using System.Text;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Events;

public sealed class EventCrudTests
{
    [Fact]
    public async Task Insert_get_update_patch_delete_round_trip_and_every_mutation_changes_etag_and_updated()
    {
        await using var host = await EmulatorHost.StartAsync();
        var created = await host.InsertAsync("Standup", Some.Monday);
        var id = (string)created["id"]!;
        Assert.Matches("^[a-v0-9]{26}$", id);
        Assert.Equal("calendar#event", (string)created["kind"]!);
        Assert.Equal("confirmed", (string)created["status"]!);
        var path = $"{EmulatorHost.EventsPath()}/{id}";
        Assert.Equal("Standup", (string)(await host.GetJsonAsync(path))["summary"]!);

        var replaced = Some.Event("Standup v2", Some.Monday);
        var (s1, updated) = await host.SendAsync(HttpMethod.Put, path, replaced);
        Assert.True(s1 == 200, updated?.ToJsonString());
        Assert.NotEqual((string)created["etag"]!, (string)updated!["etag"]!);
        Assert.True(string.CompareOrdinal((string)updated["updated"]!, (string)created["updated"]!) > 0);
        Assert.Equal((string)created["created"]!, (string)updated["created"]!);

        var (s2, patched) = await host.SendAsync(HttpMethod.Patch, path, new JsonObject { ["location"] = "Room 1" });
        Assert.Equal(200, s2);
        Assert.Equal("Standup v2", (string)patched!["summary"]!);
        Assert.Equal("Room 1", (string)patched["location"]!);
        Assert.NotEqual((string)updated["etag"]!, (string)patched["etag"]!);

        var (s3, _) = await host.SendAsync(HttpMethod.Delete, path);
        Assert.Equal(204, s3);
        Assert.Equal("cancelled", (string)(await host.GetJsonAsync(path))["status"]!);
        var (s4, again) = await host.SendAsync(HttpMethod.Delete, path);
        EmulatorHost.AssertError(410, "deleted", s4, again);
    }

    [Fact]
    public async Task If_match_with_a_stale_etag_gives_412_and_the_current_one_succeeds()
    {
        await using var host = await EmulatorHost.StartAsync();
        var created = await host.InsertAsync("A", Some.Monday);
        var path = $"{EmulatorHost.EventsPath()}/{created["id"]}";
        var (status, json) = await host.SendAsync(HttpMethod.Patch, path, new JsonObject { ["summary"] = "B" },
            r => r.Headers.TryAddWithoutValidation("If-Match", "\"123\""));
        EmulatorHost.AssertError(412, "conditionNotMet", status, json);
        var (ok, _) = await host.SendAsync(HttpMethod.Patch, path, new JsonObject { ["summary"] = "B" },
            r => r.Headers.TryAddWithoutValidation("If-Match", (string)created["etag"]!));
        Assert.Equal(200, ok);
    }

    [Fact]
    public async Task Client_ids_follow_googles_rule_and_duplicates_conflict()
    {
        await using var host = await EmulatorHost.StartAsync();
        var body = Some.Event("X", Some.Monday);
        body["id"] = "abcdefghij0123";
        await host.InsertAsync(body);
        var (dup, dupJson) = await host.SendAsync(HttpMethod.Post, EmulatorHost.EventsPath(), body);
        EmulatorHost.AssertError(409, "duplicate", dup, dupJson);
        foreach (var bad in new[] { "ABCDEFG", "abc", "has-dash-id", "wxyzwxyz" })
        {
            body["id"] = bad;
            var (status, json) = await host.SendAsync(HttpMethod.Post, EmulatorHost.EventsPath(), body);
            EmulatorHost.AssertError(400, "invalid", status, json);
        }
    }

    [Theory]
    [InlineData("{\"summary\": ", "parseError")]
    [InlineData("[1,2]", "parseError")]
    [InlineData("{\"summary\": 5, \"start\": {\"date\": \"2026-01-01\"}, \"end\": {\"date\": \"2026-01-02\"}}", "invalid")]
    [InlineData("{\"summary\": \"x\", \"start\": \"2026-01-01\", \"end\": {\"date\": \"2026-01-02\"}}", "invalid")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"date\": \"2026-01-01\"}, \"end\": {\"date\": \"2026-01-02\"}, \"attendees\": {}}", "invalid")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"date\": \"2026-01-01\"}}", "required")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"dateTime\": \"2026-01-01T10:00:00\"}, \"end\": {\"dateTime\": \"2026-01-01T11:00:00\"}}", "invalid")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"date\": \"2026-01-01\", \"dateTime\": \"2026-01-01T10:00:00Z\"}, \"end\": {\"date\": \"2026-01-02\"}}", "invalid")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"date\": \"2026-01-05\"}, \"end\": {\"date\": \"2026-01-02\"}}", "timeRangeEmpty")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"dateTime\": \"2026-01-01T10:00:00Z\", \"timeZone\": \"Mars/Olympus\"}, \"end\": {\"dateTime\": \"2026-01-01T11:00:00Z\"}}", "invalid")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"dateTime\": \"2026-01-01T10:00:00Z\"}, \"end\": {\"dateTime\": \"2026-01-01T11:00:00Z\"}, \"recurrence\": [\"RRULE:FREQ=DAILY\"]}", "required")]
    [InlineData("{\"summary\": \"x\", \"start\": {\"date\": \"2026-01-01\"}, \"end\": {\"date\": \"2026-01-02\"}, \"recurrence\": [\"RRULE:FREQ=SOMETIMES\"]}", "invalid")]
    public async Task Bad_bodies_get_googles_400_shape_never_500(string body, string reason)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await host.Http.PostAsync(EmulatorHost.EventsPath(), content);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject;
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        EmulatorHost.AssertError(400, reason, (int)response.StatusCode, json);
    }

    [Fact]
    public async Task Oversized_bodies_and_bad_query_values_get_400()
    {
        await using var host = await EmulatorHost.StartAsync(o => o.MaxRequestBodyBytes = 10_000);
        var body = Some.Event(new string('x', 20_000), Some.Monday);
        var (status, json) = await host.SendAsync(HttpMethod.Post, EmulatorHost.EventsPath(), body);
        EmulatorHost.AssertError(400, "invalid", status, json);
        foreach (var query in new[] { "maxResults=abc", "maxResults=0", "showDeleted=maybe", "timeMin=yesterday", "orderBy=startTime", "orderBy=nope" })
        {
            var (s, j) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?{query}");
            EmulatorHost.AssertError(400, "invalid", s, j);
        }
    }

    [Fact]
    public async Task Unknown_events_and_calendars_are_404_and_unknown_paths_answer_json()
    {
        await using var host = await EmulatorHost.StartAsync();
        var (s1, j1) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}/nosuchevent1");
        EmulatorHost.AssertError(404, "notFound", s1, j1);
        var (s2, j2) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath("nobody@example.com"));
        EmulatorHost.AssertError(404, "notFound", s2, j2);
        var (s3, j3) = await host.SendAsync(HttpMethod.Get, "calendar/v3/no/such/thing");
        EmulatorHost.AssertError(404, "notFound", s3, j3);
    }

    [Fact]
    public async Task Primary_resolves_to_the_users_calendar_and_calendars_can_be_created_listed_and_deleted()
    {
        await using var host = await EmulatorHost.StartAsync();
        var primary = await host.GetJsonAsync("calendar/v3/calendars/primary");
        Assert.Equal(EmulatorHost.Alice, (string)primary["id"]!);
        var (status, created) = await host.SendAsync(HttpMethod.Post, "calendar/v3/calendars", new JsonObject { ["summary"] = "Team", ["timeZone"] = "Europe/Paris" });
        Assert.Equal(200, status);
        var id = (string)created!["id"]!;
        var list = await host.GetJsonAsync("calendar/v3/users/me/calendarList");
        Assert.Equal(new[] { EmulatorHost.Alice, id }, list["items"]!.AsArray().Select(i => (string)i!["id"]!));
        Assert.True((bool)list["items"]![0]!["primary"]!);
        Assert.Equal("owner", (string)(await host.GetJsonAsync($"calendar/v3/users/me/calendarList/{Uri.EscapeDataString(id)}"))["accessRole"]!);
        Assert.Equal(204, (await host.SendAsync(HttpMethod.Delete, $"calendar/v3/calendars/{Uri.EscapeDataString(id)}")).Status);
        var (gone, goneJson) = await host.SendAsync(HttpMethod.Get, $"calendar/v3/calendars/{Uri.EscapeDataString(id)}");
        EmulatorHost.AssertError(404, "notFound", gone, goneJson);
        var (primaryDelete, _) = await host.SendAsync(HttpMethod.Delete, "calendar/v3/calendars/primary");
        Assert.Equal(400, primaryDelete);
    }
}
