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
    /// The id, and whether the event is a tombstone, read in one pass over its first properties: a lookup by name scans
    /// every property (from the last), and a full list asks this of every event. Google writes <c>id</c> and
    /// <c>status</c> among the first few (after <c>kind</c> and <c>etag</c>), so the pass usually stops there; it
    /// reads on to the end when either is missing. Google never repeats a property.
    /// </summary>
    public static EventHead Head(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return default;
        }

        string? id = null;
        bool? cancelled = null;
        foreach (var property in item.EnumerateObject())
        {
            var value = property.Value;
            if (id is null && property.NameEquals("id"u8))
            {
                id = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            }
            else if (cancelled is null && property.NameEquals("status"u8))
            {
                cancelled = IsCancelledStatus(value);
            }

            if (id is not null && cancelled is not null)
            {
                break;
            }
        }

        return new EventHead(id, cancelled ?? false);
    }

    public static JsonElement? OriginalStartTime(JsonElement item) =>
        item.TryGetProperty("originalStartTime", out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>True for Google's tombstones (<c>status: "cancelled"</c>): a deleted event or a cancelled instance.</summary>
    public static bool IsCancelled(JsonElement item) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("status"u8, out var status) && IsCancelledStatus(status);

    private static bool IsCancelledStatus(JsonElement status) => status.ValueKind == JsonValueKind.String && status.ValueEquals("cancelled"u8);

    /// <summary>A string property, named in UTF-8 as the document holds it (a name as a string is transcoded at every lookup).</summary>
    public static string? String(JsonElement item, ReadOnlySpan<byte> property) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

/// <summary>What a full list needs of every event: <see cref="EventJson.Head"/>.</summary>
/// <param name="Id">The event's id (null if it has none).</param>
/// <param name="Cancelled">A tombstone (<c>status: "cancelled"</c>).</param>
internal readonly record struct EventHead(string? Id, bool Cancelled);
