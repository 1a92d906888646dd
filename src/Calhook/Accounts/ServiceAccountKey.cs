using System.Text.Json;
using System.Text.Json.Serialization;

namespace Calhook.Accounts;

/// <summary>The fields of a Google service-account key file that Calhook uses.</summary>
internal sealed record ServiceAccountKey(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("client_email")] string ClientEmail,
    [property: JsonPropertyName("private_key")] string PrivateKey,
    [property: JsonPropertyName("private_key_id")] string? PrivateKeyId,
    [property: JsonPropertyName("project_id")] string? ProjectId)
{
    /// <summary>Parses a key file's JSON; null when it is not one (missing <c>client_email</c> or <c>private_key</c>).</summary>
    public static ServiceAccountKey? Parse(string json)
    {
        try
        {
            var key = JsonSerializer.Deserialize(json, AccountsJsonContext.Default.ServiceAccountKey);
            return key is { ClientEmail.Length: > 0, PrivateKey.Length: > 0 } ? key : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
