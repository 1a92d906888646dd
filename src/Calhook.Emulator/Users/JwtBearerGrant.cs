using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Users;

/// <summary>
/// Google's service-account grant at <c>/token</c> (<c>grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer</c>):
/// an RS256 JWT signed with a key this emulator issued, whose <c>iss</c> is the service account and <c>sub</c> the
/// user it acts as (domain-wide delegation). Failures are Google's OAuth error bodies, as values.
/// </summary>
internal static class JwtBearerGrant
{
    public const string GrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    /// <summary>Google's token URLs; a JWT may name any of them (the emulator's own <c>/token</c> is also accepted).</summary>
    private static readonly string[] GoogleAudiences =
        ["https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token", "https://accounts.google.com/o/oauth2/token"];

    /// <summary>Longest life of an assertion (Google's rule: "a short-lived token (60 minutes)").</summary>
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(1);

    /// <summary>How far in the future <c>iat</c> may be: clocks of the signer and the server differ a little.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private const string BadTimes = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
        + "Check your iat and exp values in the JWT claim.";

    /// <summary>The user the access token is for, or why there is none.</summary>
    public readonly record struct Outcome(string? User, OAuthError? Error);

    /// <summary>Checks <paramref name="assertion"/>; <paramref name="ownTokenUrl"/> is this emulator's <c>{origin}/token</c>.</summary>
    public static Outcome Verify(string assertion, string ownTokenUrl, ServiceAccounts accounts, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(assertion))
        {
            return Fail("invalid_request", "Missing required parameter: assertion");
        }

        var parts = assertion.Split('.');
        if (parts.Length != 3)
        {
            return Fail("invalid_grant", "Invalid JWT: the assertion is not three dot-separated parts.");
        }

        JsonElement header, claims;
        byte[] signature;
        try
        {
            header = JsonElement.Parse(Base64Url.DecodeFromChars(parts[0]));
            claims = JsonElement.Parse(Base64Url.DecodeFromChars(parts[1]));
            signature = Base64Url.DecodeFromChars(parts[2]);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return Fail("invalid_grant", "Invalid JWT: the assertion is not base64url-encoded JSON.");
        }

        if (header.ValueKind != JsonValueKind.Object || claims.ValueKind != JsonValueKind.Object)
        {
            return Fail("invalid_grant", "Invalid JWT format.");
        }

        if (Text(header, "alg") != "RS256")
        {
            return Fail("invalid_grant", "Invalid JWT: the signing algorithm must be RS256.");
        }

        if (Text(claims, "iss") is not { } issuer || accounts.Find(issuer) is not { } account)
        {
            return Fail("invalid_grant", "Invalid grant: account not found");
        }

        // With a kid only that key may verify; without one, any of the account's keys (as Google does).
        var candidates = Text(header, "kid") is { } kid
            ? account.PublicKeys.TryGetValue(kid, out var one) ? [one] : []
            : account.PublicKeys.Values.ToArray();
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (!candidates.Any(key => IsSignedBy(key, signed, signature)))
        {
            return Fail("invalid_grant", "Invalid JWT Signature.");
        }

        var audience = Text(claims, "aud");
        if (audience is null || (!GoogleAudiences.Contains(audience, StringComparer.Ordinal) && audience != ownTokenUrl))
        {
            return Fail("invalid_grant", $"Invalid JWT: Failed audience check. The expected value was {ownTokenUrl}. The value in the JWT was {audience}.");
        }

        if (Seconds(claims, "iat") is not { } issuedAt || Seconds(claims, "exp") is not { } expiresAt
            || expiresAt <= issuedAt || expiresAt - issuedAt > MaxLifetime || issuedAt > now + ClockSkew || expiresAt <= now)
        {
            return Fail("invalid_grant", BadTimes);
        }

        if (string.IsNullOrWhiteSpace(Text(claims, "scope")))
        {
            return Fail("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
        }

        var subject = Text(claims, "sub");
        if (subject is not null && !UserDirectory.IsValidEmail(subject))
        {
            return Fail("invalid_grant", "Invalid email or User ID");
        }

        return new Outcome(subject ?? account.Email, null);
    }

    private static bool IsSignedBy(byte[] publicKey, byte[] signed, byte[] signature)
    {
        // A fresh RSA per check: instances are not safe to share across threads, and importing a public key is cheap.
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(publicKey, out _);
        return rsa.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Seconds(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds)
            && seconds is > 0 and < 253_402_300_799 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    private static Outcome Fail(string error, string description) => new(null, new OAuthError(error, description));
}
