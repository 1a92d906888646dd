using System.Text.Json.Nodes;

namespace Calhook.Emulator.Events;

/// <summary>The non-time filters of <c>events.list</c>: <c>q</c>, <c>iCalUID</c>, <c>eventTypes</c>, <c>updatedMin</c>.</summary>
internal static class Filters
{
    private static readonly string[] SearchedFields = ["summary", "description", "location"];

    public static bool Matches(StoredEvent e, ListQuery query)
    {
        if (query.UpdatedMin is { } updatedMin && e.Updated < updatedMin)
        {
            return false;
        }

        if (query.ICalUid is { } uid && (string?)e.Node["iCalUID"] != uid)
        {
            return false;
        }

        if (query.EventTypes.Length > 0 && !query.EventTypes.Contains((string?)e.Node["eventType"] ?? "default"))
        {
            return false;
        }

        return query.Terms.Length == 0 || query.Terms.All(term => Contains(e.Node, term));
    }

    public static bool InRange(StoredEvent e, ListQuery query) =>
        e.Start is not { } start || e.End is not { } end || StoredEvent.Overlaps(start.Instant, end.Instant, query.TimeMin, query.TimeMax);

    private static bool Contains(JsonObject node, string term)
    {
        foreach (var field in SearchedFields)
        {
            if (node[field] is JsonValue v && v.TryGetValue(out string? text) && text.Contains(term, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return node["attendees"] is JsonArray attendees && attendees.OfType<JsonObject>().Any(a =>
            ((string?)a["email"])?.Contains(term, StringComparison.OrdinalIgnoreCase) == true
            || ((string?)a["displayName"])?.Contains(term, StringComparison.OrdinalIgnoreCase) == true);
    }
}
