using System.Text.Json.Nodes;
using Calhook.Emulator.Recurrence;

namespace Calhook.Emulator.Events;

/// <summary>Builds the JSON of one unmodified instance of a series, and of list tombstones.</summary>
internal static class InstanceJson
{
    public static JsonObject Build(StoredEvent master, Occurrence occurrence)
    {
        var node = new JsonObject();
        foreach (var (name, value) in master.Node)
        {
            if (name is "recurrence")
            {
                continue;
            }

            node[name] = name switch
            {
                "id" => occurrence.InstanceId,
                "start" => occurrence.StartJson.DeepClone(),
                "end" => occurrence.EndJson.DeepClone(),
                _ => value?.DeepClone(),
            };
            if (name == "id")
            {
                node["recurringEventId"] = master.Id;
                node["originalStartTime"] = occurrence.OriginalStartJson.DeepClone();
            }
        }

        return node;
    }

    /// <summary>What a list shows of a cancelled event: id (and the instance it cancels), as Google guarantees.</summary>
    public static JsonObject Tombstone(StoredEvent e)
    {
        var node = new JsonObject { ["kind"] = "calendar#event", ["etag"] = e.Etag, ["id"] = e.Id, ["status"] = "cancelled" };
        if (e.RecurringEventId is not null)
        {
            node["recurringEventId"] = e.RecurringEventId;
            node["originalStartTime"] = e.Node["originalStartTime"]?.DeepClone();
        }

        return node;
    }
}
