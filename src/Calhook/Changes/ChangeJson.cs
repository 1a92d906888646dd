using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Calhook.Changes;

/// <summary>
/// A change as it appears on the wire (feed, stream, webhooks): exactly "A change" in docs/change-feed.md. Absent values are
/// omitted (<c>previous</c> on created, <c>event</c> on deleted, <c>before</c>/<c>after</c> of a field that did not exist).
/// </summary>
internal sealed record ChangeWire(
    string Id,
    long Sequence,
    string Type,
    string CalendarId,
    string? EventId,
    DateTime DetectedAt,
    string? RecurringEventId,
    JsonElement? OriginalStartTime,
    string? SplitFrom,
    JsonElement? Event,
    JsonElement? Previous,
    IReadOnlyList<FieldChangeWire> Diff,
    JsonElement? Calendar = null)
{
    public static ChangeWire From(Change change) => new(
        change.Id,
        change.Sequence,
        change.Type,
        change.CalendarId,
        change.EventId.Length == 0 ? null : change.EventId,
        change.DetectedAt.UtcDateTime,
        change.RecurringEventId,
        change.OriginalStartTime,
        change.SplitFrom,
        change.Event,
        change.Previous,
        [.. change.Diff.Select(d => new FieldChangeWire(d.Path, d.Before, d.After))],
        change.Calendar);
}

internal sealed record FieldChangeWire(string Path, JsonElement? Before, JsonElement? After);

/// <summary>The feed page: <c>{"changes":[…],"next":SEQ,"hasMore":bool}</c>.</summary>
internal sealed record ChangesPage(IReadOnlyList<ChangeWire> Changes, long Next, bool HasMore);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChangeWire))]
[JsonSerializable(typeof(ChangesPage))]
[JsonSerializable(typeof(IReadOnlyList<FieldChange>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class ChangeJsonContext : JsonSerializerContext
{
    /// <summary>
    /// What the feed and the stream write: only what JSON requires is escaped, so an offset reads <c>+01:00</c>
    /// (the default encoder writes <c>\u002B01:00</c>) and an etag <c>"\"3181…\""</c>. Consumers parse JSON, not HTML.
    /// </summary>
    public static ChangeJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
