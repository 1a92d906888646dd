using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Calhook.Emulator.Users;

/// <summary>Users and their OAuth tokens. Thread-safe.</summary>
internal sealed partial class UserDirectory(EmulatorRuntime runtime)
{
    private readonly ConcurrentDictionary<string, AccessToken> _accessTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _refreshTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AuthorizationCode> _codes = new(StringComparer.Ordinal);

    public sealed record AccessToken(string User, DateTimeOffset ExpiresAt);

    public sealed record AuthorizationCode(string User, string? RedirectUri, string Scope, DateTimeOffset ExpiresAt);

    public sealed record IssuedTokens(string AccessToken, string RefreshToken, int ExpiresIn);

    public static bool IsValidEmail(string? user) =>
        !string.IsNullOrWhiteSpace(user) && user.Length <= 254 && user.IndexOf('@', StringComparison.Ordinal) > 0
        && !user.Contains(' ', StringComparison.Ordinal) && !user.Contains('/', StringComparison.Ordinal);

    public IssuedTokens Issue(string user)
    {
        var refresh = "1//" + NewSecret();
        _refreshTokens[refresh] = user;
        runtime.MarkChanged();
        var (access, expiresIn) = IssueAccessToken(user);
        return new IssuedTokens(access, refresh, expiresIn);
    }

    public (string Token, int ExpiresIn) IssueAccessToken(string user)
    {
        var lifetime = runtime.Options.AccessTokenLifetimeSeconds;
        var token = "ya29." + NewSecret();
        _accessTokens[token] = new AccessToken(user, runtime.Clock.GetUtcNow().AddSeconds(lifetime));
        runtime.MarkChanged();
        return (token, lifetime);
    }

    /// <summary>The user of a live access token, or null when it is unknown, revoked or expired.</summary>
    public string? Authenticate(string accessToken) =>
        _accessTokens.TryGetValue(accessToken, out var token) && token.ExpiresAt > runtime.Clock.GetUtcNow() ? token.User : null;

    public string? UserOfRefreshToken(string refreshToken) => _refreshTokens.GetValueOrDefault(refreshToken);

    public string IssueCode(string user, string? redirectUri, string scope)
    {
        var code = "4/" + NewSecret();
        _codes[code] = new AuthorizationCode(user, redirectUri, scope, runtime.Clock.GetUtcNow().AddMinutes(10));
        return code;
    }

    /// <summary>Redeems a code once; null when unknown, used or expired.</summary>
    public AuthorizationCode? Redeem(string code) =>
        _codes.TryRemove(code, out var grant) && grant.ExpiresAt > runtime.Clock.GetUtcNow() ? grant : null;

    /// <summary>Revokes every access and refresh token of a user; returns how many were revoked.</summary>
    public int Revoke(string user)
    {
        var count = 0;
        foreach (var (token, access) in _accessTokens)
        {
            if (access.User == user && _accessTokens.TryRemove(token, out _))
            {
                count++;
            }
        }

        foreach (var (token, owner) in _refreshTokens)
        {
            if (owner == user && _refreshTokens.TryRemove(token, out _))
            {
                count++;
            }
        }

        runtime.MarkChanged();

        return count;
    }

    private static string NewSecret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))
        .Replace('+', '-').Replace('/', '_').TrimEnd('=');
}
