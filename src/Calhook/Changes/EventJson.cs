using System.Text.Json;

namespace Calhook.Changes;

/// <summary>Reads the few fields of Google's event JSON that change detection needs.</summary>
internal static class EventJson
{
    public static JsonElement Parse(string json) => JsonSerializer.Deserialize(json, ChangeJsonContext.Default.JsonElement);

    public static JsonElement Parse(ReadOnlySpan<byte> utf8Json) => JsonSerializer.Deserialize(utf8Json, ChangeJsonContext.Default.JsonElement);

    public static string? Id(JsonElement item) => String(item, "id");

    public static string? RecurringEventId(JsonElement item) => String(item, "recurringEventId");

    public static JsonElement? OriginalStartTime(JsonElement item) =>
        item.TryGetProperty("originalStartTime", out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>True for Google's tombstones (<c>status: "cancelled"</c>): a deleted event or a cancelled instance.</summary>
    public static bool IsCancelled(JsonElement item) => String(item, "status") == "cancelled";

    public static string? String(JsonElement item, string property) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
