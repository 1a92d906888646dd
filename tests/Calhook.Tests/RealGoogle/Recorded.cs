using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.RealGoogle;

/// <summary>The recorded Google responses in the repository's fixtures (sources in their SOURCES.md), read as test data.</summary>
internal static class Recorded
{
    /// <summary>The one copy of the fixtures, copied next to the test assembly by the TestKit.</summary>
    public static string Directory => GoogleFixtures.Folder;

    /// <summary>A fixture's whole body, by the start of its file name (<c>events-incremental-series-deleted</c>).</summary>
    public static string Body(string name)
    {
        var matches = System.IO.Directory.GetFiles(Directory, name + "*.json");
        return File.ReadAllText(Assert.Single(matches));
    }

    /// <summary>The <c>items</c> of an events page fixture, each as its JSON text.</summary>
    public static string[] Items(string name) =>
        [.. JsonDocument.Parse(Body(name)).RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetRawText())];

    /// <summary>The item with this id.</summary>
    public static string Item(string name, string id) => Items(name).Single(i => JsonDocument.Parse(i).RootElement.GetProperty("id").GetString() == id);

    /// <summary>
    /// A recorded event with some fields set (or removed, with null): the state before a recorded edit, when only
    /// the edit was recorded (a master before "this and following" gave it an UNTIL, an exception Calhook knew).
    /// </summary>
    public static string With(string json, params (string Field, JsonNode? Value)[] fields)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        foreach (var (field, value) in fields)
        {
            if (value is null)
            {
                node.Remove(field);
            }
            else
            {
                node[field] = value;
            }
        }

        return node.ToJsonString();
    }

    /// <summary>A series master as it was before an edit set <c>UNTIL</c> on its daily rule.</summary>
    public static string Unending(string master) => With(master, ("recurrence", new JsonArray("RRULE:FREQ=DAILY")));

    /// <summary>
    /// An edited instance of a recorded series: <paramref name="instanceOf"/>'s occurrence at
    /// <paramref name="originalStart"/> (a local time with offset) with its summary changed.
    /// </summary>
    public static string Exception(string master, string instanceId, string originalStart, string endTime, string summary)
    {
        var node = JsonNode.Parse(master)!.AsObject();
        var zone = node["start"]!["timeZone"]!.GetValue<string>();
        node.Remove("recurrence");
        node["id"] = instanceId;
        node["summary"] = summary;
        node["recurringEventId"] = JsonNode.Parse(master)!["id"]!.GetValue<string>();
        node["originalStartTime"] = new JsonObject { ["dateTime"] = originalStart, ["timeZone"] = zone };
        node["start"] = new JsonObject { ["dateTime"] = originalStart, ["timeZone"] = zone };
        node["end"] = new JsonObject { ["dateTime"] = endTime, ["timeZone"] = zone };
        return node.ToJsonString();
    }
}
