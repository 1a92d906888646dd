using System.Text.Json;
using System.Text.Json.Nodes;

namespace Calhook.Emulator.Events;

/// <summary>
/// Checks a request body against the Event schema of Google's discovery document: every known field must have
/// the declared JSON type. Unknown fields are kept, as Google ignores them.
/// </summary>
internal static class EventSchema
{
    private static readonly Lazy<JsonObject> Schemas = new(LoadSchemas);

    /// <summary>Null when valid, else the dotted path of the first field with a wrong type.</summary>
    public static string? FindTypeError(JsonObject body) => Check(body, (JsonObject)Schemas.Value["Event"]!) is { } bad ? bad.TrimStart('.') : null;

    // Returns the failing path relative to `value` ("" for the value itself), so a valid body allocates no path strings:
    // the path is built only on the way back from a failure.
    private static string? Check(JsonNode? value, JsonObject schema)
    {
        if (value is null)
        {
            return null;
        }

        if (schema["$ref"] is JsonValue reference)
        {
            schema = (JsonObject)Schemas.Value[reference.GetValue<string>()]!;
        }

        var type = schema["type"]?.GetValue<string>();
        switch (type)
        {
            case "string":
                return value is JsonValue s && s.GetValueKind() == JsonValueKind.String ? null : "";
            case "integer":
                return value is JsonValue i && (i.GetValueKind() == JsonValueKind.Number && long.TryParse(i.ToJsonString(), out _)
                    || i.GetValueKind() == JsonValueKind.String && long.TryParse(i.GetValue<string>(), out _)) ? null : "";
            case "number":
                return value is JsonValue n && n.GetValueKind() == JsonValueKind.Number ? null : "";
            case "boolean":
                return value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? null : "";
            case "array":
                if (value is not JsonArray array)
                {
                    return "";
                }

                var items = (JsonObject)schema["items"]!;
                for (var k = 0; k < array.Count; k++)
                {
                    if (Check(array[k], items) is { } bad)
                    {
                        return $"[{k}]{bad}";
                    }
                }

                return null;
            case "object":
                if (value is not JsonObject obj)
                {
                    return "";
                }

                var properties = schema["properties"] as JsonObject;
                var additional = schema["additionalProperties"] as JsonObject;
                foreach (var (name, child) in obj)
                {
                    var childSchema = properties?[name] as JsonObject ?? additional;
                    if (childSchema is null)
                    {
                        continue;
                    }

                    if (Check(child, childSchema) is { } bad)
                    {
                        return $".{name}{bad}";
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static JsonObject LoadSchemas()
    {
        using var stream = typeof(EventSchema).Assembly.GetManifestResourceStream("calendar-v3.discovery.json")
            ?? throw new InvalidOperationException("The discovery document is not embedded.");
        var schemas = (JsonObject)JsonNode.Parse(stream)!["schemas"]!;
        Materialize(schemas);
        return schemas;
    }

    // JsonNode builds its children lazily and is not thread-safe while doing so: build them all once, here.
    private static void Materialize(JsonNode? node)
    {
        if (node is JsonObject obj)
        {
            foreach (var (_, child) in obj)
            {
                Materialize(child);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (var child in array)
            {
                Materialize(child);
            }
        }
    }
}
