using Calhook.Google;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Flows;
using Google.Apis.Auth.OAuth2.Responses;
using Microsoft.Extensions.Options;

namespace Calhook.Accounts;

/// <summary>
/// Builds Google.Apis.Auth credentials pointed at the right token server: Google's, or <c>{Google:BaseUrl}/token</c>
/// when a base URL (the emulator) is configured.
/// </summary>
internal sealed class CredentialFactory
{
    /// <summary>Read-only access to calendars and events: all that events.list, events.watch and calendarList need.</summary>
    public const string CalendarScope = "https://www.googleapis.com/auth/calendar.readonly";

    /// <summary>Used with a base URL and no configured client: the emulator accepts any client id and secret.</summary>
    public const string PlaceholderClientId = "calhook-local-client";

    public const string PlaceholderClientSecret = "calhook-local-secret";

    private readonly GoogleClientOptions _google;

    public CredentialFactory(IOptions<GoogleClientOptions> google) => _google = google.Value;

    /// <summary>The OAuth client: the configured one, or the placeholder when only a base URL is set; null when neither.</summary>
    public ClientSecrets? ClientSecrets
    {
        get
        {
            var id = _google.ClientId;
            var secret = _google.ClientSecret;
            if (!string.IsNullOrWhiteSpace(id) && !string.IsNullOrWhiteSpace(secret))
            {
                return new ClientSecrets { ClientId = id, ClientSecret = secret };
            }

            return string.IsNullOrWhiteSpace(_google.BaseUrl)
                ? null
                : new ClientSecrets { ClientId = PlaceholderClientId, ClientSecret = PlaceholderClientSecret };
        }
    }

    public ICredential? CreateUserCredential(string accountId, string refreshToken) =>
        CreateFlow() is { } flow ? new UserCredential(flow, accountId, new TokenResponse { RefreshToken = refreshToken }) : null;

    /// <summary>The OAuth authorization-code flow of the configured client (null without one): code exchange and refresh.</summary>
    public AuthorizationCodeFlow? CreateFlow() =>
        ClientSecrets is { } secrets
            ? new AuthorizationCodeFlow(new AuthorizationCodeFlow.Initializer(AuthorizationUrl, TokenUrl) { ClientSecrets = secrets, Scopes = [CalendarScope] })
            : null;

    public ICredential CreateServiceAccountCredential(ServiceAccountKey key, string? subject)
    {
        ArgumentNullException.ThrowIfNull(key);
        // The configured token server, never the key's token_uri: a key from Google then works against the emulator,
        // and a submitted key cannot make Calhook send signed assertions to an address of its choosing.
        var initializer = new ServiceAccountCredential.Initializer(key.ClientEmail, TokenUrl)
        {
            User = subject,
            Scopes = [CalendarScope],
            KeyId = key.PrivateKeyId,
            ProjectId = key.ProjectId,
        }.FromPrivateKey(key.PrivateKey);
        return new ServiceAccountCredential(initializer);
    }

    private string TokenUrl => _google.TokenUrl;

    private string AuthorizationUrl => _google.AuthorizationUrl;
}
