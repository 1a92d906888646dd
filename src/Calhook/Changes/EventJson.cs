using System.Text.Json;

namespace Calhook.Changes;

/// <summary>Reads the few fields of Google's event JSON that change detection needs.</summary>
internal static class EventJson
{
    public static JsonElement Parse(string json) => JsonSerializer.Deserialize(json, ChangeJsonContext.Default.JsonElement);

    public static JsonElement Parse(ReadOnlySpan<byte> utf8Json) => JsonSerializer.Deserialize(utf8Json, ChangeJsonContext.Default.JsonElement);

    public static string? Id(JsonElement item) => String(item, "id"u8);

    public static string? RecurringEventId(JsonElement item) => String(item, "recurringEventId"u8);

    /// <summary>
    /// The id, and whether the event is a tombstone and an instance of a series, read in one pass over its properties:
    /// each lookup by name scans them all (from the last), and a full list asks these three of every event.
    /// </summary>
    public static EventHead Head(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return default;
        }

        // The last copy of a repeated property wins, as it does for a lookup by name.
        string? id = null;
        var cancelled = false;
        var instance = false;
        foreach (var property in item.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("id"u8))
            {
                id = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            }
            else if (property.NameEquals("status"u8))
            {
                cancelled = value.ValueKind == JsonValueKind.String && value.ValueEquals("cancelled"u8);
            }
            else if (property.NameEquals("recurringEventId"u8))
            {
                instance = value.ValueKind == JsonValueKind.String;
            }
        }

        return new EventHead(id, cancelled, instance);
    }

    public static JsonElement? OriginalStartTime(JsonElement item) =>
        item.TryGetProperty("originalStartTime", out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>True for Google's tombstones (<c>status: "cancelled"</c>): a deleted event or a cancelled instance.</summary>
    public static bool IsCancelled(JsonElement item) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("status"u8, out var status) && status.ValueKind == JsonValueKind.String
        && status.ValueEquals("cancelled"u8);

    /// <summary>A string property, named in UTF-8 as the document holds it (a name as a string is transcoded at every lookup).</summary>
    public static string? String(JsonElement item, ReadOnlySpan<byte> property) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

/// <summary>What a full list needs of every event: <see cref="EventJson.Head"/>.</summary>
/// <param name="Id">The event's id (null if it has none).</param>
/// <param name="Cancelled">A tombstone (<c>status: "cancelled"</c>).</param>
/// <param name="Instance">An instance of a series (it has a <c>recurringEventId</c>).</param>
internal readonly record struct EventHead(string? Id, bool Cancelled, bool Instance);
