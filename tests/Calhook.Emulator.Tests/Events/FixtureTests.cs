using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Events;

/// <summary>Every event in Google's recorded responses (tests/fixtures/google) is accepted and comes back intact.</summary>
public sealed class FixtureTests
{
    private static readonly string[] ServerFields = ["etag", "updated", "created", "htmlLink", "kind"];

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var name in GoogleFixtures.Names())
        {
            if (EventsIn(GoogleFixtures.PathOf(name)).Count > 0)
            {
                data.Add(name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Fixture_events_are_imported_and_come_back_from_get_and_list_intact(string file)
    {
        await using var host = await EmulatorHost.StartAsync();
        foreach (var original in EventsIn(GoogleFixtures.PathOf(file)))
        {
            var body = (JsonObject)original.DeepClone();
            var (status, stored) = await host.SendAsync(HttpMethod.Post, $"{EmulatorHost.EventsPath()}/import", body);
            Assert.True(status == 200, $"{file}: {original["id"]} answered {status} {stored?.ToJsonString()}");
            var id = (string)stored!["id"]!;
            var keptId = (string?)original["id"] == id;
            var fetched = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}/{Uri.EscapeDataString(id)}");
            AssertIntact(original, fetched, keptId, file);
            var (listed, _, _) = await host.ListAllAsync("showDeleted=true&maxResults=2500");
            AssertIntact(original, listed.Single(i => (string)i["id"]! == id), keptId, file);
        }
    }

    private static void AssertIntact(JsonObject original, JsonObject actual, bool keptId, string file)
    {
        foreach (var (name, value) in original)
        {
            if (ServerFields.Contains(name) || (name == "id" && !keptId))
            {
                continue;
            }

            Assert.True(JsonNode.DeepEquals(value, actual[name]), $"{file}: field {name} changed: {value?.ToJsonString()} -> {actual[name]?.ToJsonString()}");
        }
    }

    private static List<JsonObject> EventsIn(string file)
    {
        var root = JsonNode.Parse(File.ReadAllText(file)) as JsonObject;
        if ((string?)root?["kind"] == "calendar#event")
        {
            return [root!];
        }

        if ((string?)root?["kind"] is "calendar#events" || root?["items"] is JsonArray { Count: > 0 } && root["items"]![0]?["kind"]?.ToString() == "calendar#event")
        {
            return root!["items"]!.AsArray().OfType<JsonObject>().ToList();
        }

        return [];
    }
}
