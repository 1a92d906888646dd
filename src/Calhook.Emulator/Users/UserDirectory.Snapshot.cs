namespace Calhook.Emulator.Users;

internal sealed partial class UserDirectory
{
    /// <summary>Refresh token → user, for the state file.</summary>
    public IEnumerable<KeyValuePair<string, string>> RefreshTokens => _refreshTokens;

    /// <summary>Access tokens still live at <paramref name="now"/>, for the state file.</summary>
    public IEnumerable<KeyValuePair<string, AccessToken>> LiveAccessTokens(DateTimeOffset now) => _accessTokens.Where(t => t.Value.ExpiresAt > now);

    public void RestoreRefreshToken(string token, string user) => _refreshTokens[token] = user;

    public void RestoreAccessToken(string token, AccessToken access) => _accessTokens[token] = access;
}
