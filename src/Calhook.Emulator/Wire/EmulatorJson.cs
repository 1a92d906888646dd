using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Calhook.Emulator.Faults;

namespace Calhook.Emulator.Wire;

/// <summary>OAuth token answer, as Google's <c>/token</c> gives it.</summary>
internal sealed record TokenAnswer(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("scope")] string? Scope,
    [property: JsonPropertyName("token_type")] string? TokenType);

/// <summary>OAuth error answer: <c>{"error":"invalid_grant","error_description":…}</c>.</summary>
internal sealed record OAuthError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string Description);

/// <summary>The body of the controls that name a user: tokens, unshare.</summary>
internal sealed record UserRequest(string? User);

internal sealed record ServiceAccountRequest(string? Name);

/// <summary>A service account's JSON key, field for field as Google's IAM hands it out.</summary>
internal sealed record ServiceAccountKeyFile(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("project_id")] string ProjectId,
    [property: JsonPropertyName("private_key_id")] string PrivateKeyId,
    [property: JsonPropertyName("private_key")] string PrivateKey,
    [property: JsonPropertyName("client_email")] string ClientEmail,
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("auth_uri")] string AuthUri,
    [property: JsonPropertyName("token_uri")] string TokenUri,
    [property: JsonPropertyName("universe_domain")] string UniverseDomain);

/// <summary>The Channel resource of <c>events.watch</c> (request and answer); <c>expiration</c> is int64 as a string.</summary>
internal sealed record ChannelResource
{
    public string? Kind { get; init; }
    public string? Id { get; init; }
    public string? ResourceId { get; init; }
    public string? ResourceUri { get; init; }
    public string? Token { get; init; }
    public string? Expiration { get; init; }
}

internal sealed record ChannelItem(string Id, string ResourceId, string? CalendarId, string Address, string? Token,
    string Expiration, string User, long Delivered, long Failed);

internal sealed record ItemList<T>(IReadOnlyList<T> Items);

internal sealed record HistoryItem(long Seq, string Kind, string EventId, string At, JsonNode Event);

internal sealed record ConfigBody(int? MaxChannelTtlSeconds, int? SyncTokenLifetimeSeconds, bool? RequireHttpsAddress,
    bool? InstanceTombstonesOnSeriesDelete = null);

internal sealed record RevokeAnswer(string User, int Revoked);

internal sealed record SplitRequest(JsonObject Edit, bool NewId);

internal sealed record RespondRequest(string Email, string ResponseStatus, string? Comment);

internal sealed record ShareRequest(string User, string Role);

internal sealed record RenameRequest(string Summary);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(TokenAnswer))]
[JsonSerializable(typeof(OAuthError))]
[JsonSerializable(typeof(UserRequest))]
[JsonSerializable(typeof(ServiceAccountRequest))]
[JsonSerializable(typeof(ServiceAccountKeyFile))]
[JsonSerializable(typeof(ChannelResource))]
[JsonSerializable(typeof(ItemList<ChannelItem>))]
[JsonSerializable(typeof(ItemList<HistoryItem>))]
[JsonSerializable(typeof(FaultSettings))]
[JsonSerializable(typeof(ConfigBody))]
[JsonSerializable(typeof(RuntimeConfig))]
[JsonSerializable(typeof(RevokeAnswer))]
[JsonSerializable(typeof(SplitRequest))]
[JsonSerializable(typeof(RespondRequest))]
[JsonSerializable(typeof(ShareRequest))]
[JsonSerializable(typeof(RenameRequest))]
internal sealed partial class EmulatorJson : JsonSerializerContext
{
    /// <summary>
    /// What goes on the wire: Google escapes only what JSON requires (an etag reads <c>"\"3181…\""</c>, an offset
    /// <c>+01:00</c>), while the default encoder writes <c>\u0022</c> and <c>\u002B</c>.
    /// </summary>
    public static EmulatorJson Wire { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.Strict,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
