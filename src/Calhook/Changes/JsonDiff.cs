using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Calhook.Changes;

/// <summary>
/// Field-level diff of two Google event JSON objects, as stable, readable JSON paths
/// (<c>start.dateTime</c>, <c>attendees[email=bob@example.com].responseStatus</c>). Pure and thread-safe.
/// </summary>
internal static class JsonDiff
{
    /// <summary>
    /// Top-level bookkeeping fields: Google changes them on writes (<c>etag</c>, <c>updated</c>) or on its own
    /// (<c>sequence</c>, bumped with a time or recurrence change and sometimes alone); they never make an update by
    /// themselves and never appear in a diff. docs/change-feed.md says which other paths are real changes and why.
    /// </summary>
    public static readonly IReadOnlySet<string> BookkeepingFields = new HashSet<string>(StringComparer.Ordinal) { "etag", "updated", "sequence" };

    // Arrays whose items have a natural key: compared item by item, so one attendee's reply is one short path.
    // Every other array (recurrence, …) is compared whole.
    private static readonly Dictionary<string, string[]> ArrayKeys = new(StringComparer.Ordinal)
    {
        ["attendees"] = ["email"],
        ["reminders.overrides"] = ["method", "minutes"],
        ["attachments"] = ["fileUrl"],
        ["conferenceData.entryPoints"] = ["entryPointType"],
    };

    /// <summary>The differences between two events, bookkeeping fields excluded; empty when they are the same.</summary>
    public static IReadOnlyList<FieldChange> Compare(JsonElement before, JsonElement after)
    {
        var changes = new List<FieldChange>();
        CompareValues(path: "", schemaPath: "", before, after, changes);
        return changes;
    }

    private static void CompareValues(string path, string schemaPath, JsonElement before, JsonElement after, List<FieldChange> changes)
    {
        if (before.ValueKind == JsonValueKind.Object && after.ValueKind == JsonValueKind.Object)
        {
            CompareObjects(path, schemaPath, before, after, changes);
        }
        else if (before.ValueKind == JsonValueKind.Array && after.ValueKind == JsonValueKind.Array
            && ArrayKeys.TryGetValue(schemaPath, out var keys)
            && TryIndex(before, keys, out var beforeItems) && TryIndex(after, keys, out var afterItems))
        {
            foreach (var (key, item) in beforeItems)
            {
                var itemPath = $"{path}[{key}]";
                if (afterItems.TryGetValue(key, out var other))
                {
                    CompareValues(itemPath, schemaPath + "[]", item, other, changes);
                }
                else
                {
                    changes.Add(new FieldChange(itemPath, item, null));
                }
            }

            foreach (var (key, item) in afterItems)
            {
                if (!beforeItems.ContainsKey(key))
                {
                    changes.Add(new FieldChange($"{path}[{key}]", null, item));
                }
            }
        }
        else if (!SameValue(schemaPath, before, after))
        {
            changes.Add(new FieldChange(path, before, after));
        }
    }

    private static void CompareObjects(string path, string schemaPath, JsonElement before, JsonElement after, List<FieldChange> changes)
    {
        var topLevel = path.Length == 0;
        foreach (var property in before.EnumerateObject())
        {
            if (topLevel && BookkeepingFields.Contains(property.Name))
            {
                continue;
            }

            var childPath = Join(path, property.Name);
            if (after.TryGetProperty(property.Name, out var other))
            {
                CompareValues(childPath, Join(schemaPath, property.Name), property.Value, other, changes);
            }
            else
            {
                changes.Add(new FieldChange(childPath, property.Value, null));
            }
        }

        foreach (var property in after.EnumerateObject())
        {
            if (!(topLevel && BookkeepingFields.Contains(property.Name)) && !before.TryGetProperty(property.Name, out _))
            {
                changes.Add(new FieldChange(Join(path, property.Name), null, property.Value));
            }
        }
    }

    private static bool SameValue(string schemaPath, JsonElement before, JsonElement after)
    {
        if (JsonElement.DeepEquals(before, after))
        {
            return true;
        }

        // The same instant written with another offset ("…T13:00:00Z" vs "…T08:00:00-05:00") is not a change.
        return schemaPath.EndsWith("dateTime", StringComparison.Ordinal)
            && before.ValueKind == JsonValueKind.String && after.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(before.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var b)
            && DateTimeOffset.TryParse(after.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var a)
            && a == b;
    }

    /// <summary>Indexes array items by their key; false when an item is not an object, lacks a key part, or a key repeats.</summary>
    private static bool TryIndex(JsonElement array, string[] keys, out Dictionary<string, JsonElement> items)
    {
        items = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var key = new StringBuilder();
            foreach (var part in keys)
            {
                if (!item.TryGetProperty(part, out var value) || value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                {
                    return false;
                }

                key.Append(key.Length == 0 ? "" : ",").Append(part).Append('=')
                    .Append(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
            }

            if (!items.TryAdd(key.ToString(), item))
            {
                return false;
            }
        }

        return true;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;
}
