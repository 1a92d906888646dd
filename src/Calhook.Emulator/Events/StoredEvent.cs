using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Recurrence;

namespace Calhook.Emulator.Events;

/// <summary>
/// One committed version of an event. Immutable once stored: a mutation stores a new version. <see cref="Utf8"/> is the
/// stored form and may be read anywhere; <see cref="Node"/> is parsed from it on first use and read only under the
/// calendar's lock (JsonNode is not thread-safe). Keeping bytes rather than a node tree per event keeps a large
/// calendar to about a kilobyte per event, which is what makes bulk inserts cheap (fewer objects for the GC to trace).
/// </summary>
internal sealed class StoredEvent
{
    private IReadOnlyList<Occurrence>? _occurrences;
    private JsonObject? _node;

    private StoredEvent(JsonObject node, long seq, DateTimeOffset updated)
    {
        Seq = seq;
        Updated = updated;
        Id = (string)node["id"]!;
        Etag = (string)node["etag"]!;
        Utf8 = JsonSerializer.SerializeToUtf8Bytes(node, Wire.EmulatorJson.Wire.JsonObject);
        IsCancelled = node["status"]?.GetValue<string>() == "cancelled";
        RecurringEventId = node["recurringEventId"] is JsonValue r && r.TryGetValue(out string? rid) ? rid : null;
        IsRecurring = node["recurrence"] is JsonArray { Count: > 0 };
        if (EventTime.TryParse(node["start"], out var start))
        {
            Start = start;
        }

        if (EventTime.TryParse(node["end"], out var end))
        {
            End = end;
        }

        OriginalStart = EventTime.TryParse(node["originalStartTime"], out var original) ? original : null;
    }

    public string Id { get; }

    public long Seq { get; }

    public DateTimeOffset Updated { get; }

    /// <summary>The event as JSON. Call under the calendar lock; never modify it (clone first).</summary>
    public JsonObject Node => _node ??= JsonNode.Parse(Utf8)!.AsObject();

    public byte[] Utf8 { get; }

    public bool IsCancelled { get; }

    public bool IsRecurring { get; }

    /// <summary>Set on exceptions (modified or cancelled instances of a series).</summary>
    public string? RecurringEventId { get; }

    public EventTime? Start { get; }

    public EventTime? End { get; }

    public EventTime? OriginalStart { get; }

    public string Etag { get; }

    public static StoredEvent Create(JsonObject node, long seq, DateTimeOffset updated) => new(node, seq, updated);

    /// <summary>The series' instances (cached per version); empty for single events. Call under the calendar lock.</summary>
    public IReadOnlyList<Occurrence> Occurrences(int cap)
    {
        if (_occurrences is not null)
        {
            return _occurrences;
        }

        if (!IsRecurring || Start is not { } start || End is not { } end)
        {
            return _occurrences = [];
        }

        var lines = ((JsonArray)Node["recurrence"]!).Select(l => l?.GetValue<string>() ?? "");
        _occurrences = RecurrenceExpander.Expand(Id, start, end, lines, cap, out _) ?? [];
        return _occurrences;
    }

    /// <summary>Whether the event overlaps [min, max): Google filters on the end for timeMin and the start for timeMax.</summary>
    public static bool Overlaps(DateTimeOffset start, DateTimeOffset end, DateTimeOffset? min, DateTimeOffset? max) =>
        (min is null || end > min) && (max is null || start < max);
}
