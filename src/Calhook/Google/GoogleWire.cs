using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Calhook.Google;

/// <summary>The <c>Events</c> list envelope; items stay Google's raw JSON so no field is ever lost.</summary>
internal sealed record EventsListWire(
    [property: JsonPropertyName("items")] List<JsonElement>? Items,
    [property: JsonPropertyName("nextPageToken")] string? NextPageToken,
    [property: JsonPropertyName("nextSyncToken")] string? NextSyncToken);

/// <summary>The <c>CalendarList</c> envelope.</summary>
internal sealed record CalendarListWire(
    [property: JsonPropertyName("items")] List<JsonElement>? Items,
    [property: JsonPropertyName("nextPageToken")] string? NextPageToken,
    [property: JsonPropertyName("nextSyncToken")] string? NextSyncToken);

/// <summary>A <c>Channel</c> as sent to events.watch and channels.stop, and as Google answers it.</summary>
internal sealed record ChannelWire
{
    [JsonPropertyName("kind")] public string? Kind { get; init; }
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("resourceId")] public string? ResourceId { get; init; }
    [JsonPropertyName("resourceUri")] public string? ResourceUri { get; init; }
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("address")] public string? Address { get; init; }

    /// <summary>Unix milliseconds. Discovery says int64-as-string; some responses carry a bare number: both are read.</summary>
    [JsonPropertyName("expiration")]
    [JsonConverter(typeof(Int64StringOrNumberConverter))]
    public long? Expiration { get; init; }

    [JsonPropertyName("params")] public Dictionary<string, string>? Params { get; init; }
}

/// <summary>Google's error body: <c>{"error":{"code","message","status"?,"errors"?:[{domain,reason,message}]}}</c>.</summary>
internal sealed record ErrorEnvelopeWire([property: JsonPropertyName("error")] ErrorWire? Error);

internal sealed record ErrorWire(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("errors")] List<ErrorItemWire>? Errors);

internal sealed record ErrorItemWire(
    [property: JsonPropertyName("domain")] string? Domain,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("message")] string? Message);

/// <summary>Reads an int64 written either as a JSON string (Google's convention) or as a number; writes a string.</summary>
internal sealed class Int64StringOrNumberConverter : JsonConverter<long?>
{
    public override long? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.Number => reader.GetInt64(),
            JsonTokenType.String => long.Parse(reader.GetString()!, NumberStyles.None, CultureInfo.InvariantCulture),
            _ => throw new JsonException($"Expected an int64 as a string or number, got {reader.TokenType}."),
        };

    public override void Write(Utf8JsonWriter writer, long? value, JsonSerializerOptions options)
    {
        if (value is { } v)
        {
            writer.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventsListWire))]
[JsonSerializable(typeof(CalendarListWire))]
[JsonSerializable(typeof(ChannelWire))]
[JsonSerializable(typeof(ErrorEnvelopeWire))]
internal sealed partial class GoogleJsonContext : JsonSerializerContext;
