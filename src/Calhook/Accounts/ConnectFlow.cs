using System.Buffers.Text;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Calhook.Dashboard;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Google.Apis.Auth.OAuth2.Requests;
using Google.Apis.Auth.OAuth2.Responses;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Accounts;

/// <summary>
/// Connecting a Google account from a browser: <c>GET /connect/google</c> sends a signed-in browser to Google's consent
/// page (or the emulator's) for read-only calendar access with a refresh token; <c>GET /connect/google/callback</c>
/// verifies the <c>state</c>, exchanges the code (Google.Apis.Auth), stores the account (refresh token encrypted) and
/// moves on to the account's page, where its calendars can be watched.
/// </summary>
/// <remarks>
/// The <c>state</c> is bound to the browser that started: a random nonce goes into a short-lived HttpOnly cookie and,
/// encrypted with a timestamp (Data Protection), into <c>state</c>. The callback accepts only a state it encrypted
/// itself, unexpired, whose nonce equals the cookie's: a forged, replayed or foreign state gets a 400 page.
/// The cookie is SameSite=Lax because Google's redirect back is a cross-site navigation.
/// </remarks>
internal static partial class ConnectFlow
{
    public const string CallbackPath = "/connect/google/callback";
    public const string NonceCookie = "calhook_connect";
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    public static void MapConnect(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/connect/google", StartAsync).ExcludeFromDescription();
        endpoints.MapGet(CallbackPath, CallbackAsync).ExcludeFromDescription();
    }

    /// <summary>The callback address registered with the OAuth client: <c>{PublicUrl}/connect/google/callback</c>.</summary>
    public static string RedirectUri(HttpContext http, CalhookOptions options) =>
        (string.IsNullOrWhiteSpace(options.PublicUrl) ? $"{http.Request.Scheme}://{http.Request.Host}" : options.PublicUrl.TrimEnd('/')) + CallbackPath;

    private static async Task<IResult> StartAsync(
        HttpContext http, CredentialFactory credentials, IOptions<CalhookOptions> options, IOptions<GoogleClientOptions> google,
        IDataProtectionProvider protection, TimeProvider time, string? loginHint)
    {
        if (!await DashboardSession.IsSignedInAsync(http))
        {
            return LoginPages.RedirectToLogin(http);
        }

        if (credentials.ClientSecrets is not { } client)
        {
            return Html.Problem(http, StatusCodes.Status503ServiceUnavailable, "Google is not configured",
                "Connecting a Google account needs an OAuth client: set Calhook:Google:ClientId and Calhook:Google:ClientSecret " +
                "(docs/live-google.md), or run against the emulator with --google-url.", signedIn: true);
        }

        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expires = time.GetUtcNow() + Lifetime;
        http.Response.Cookies.Append(NonceCookie, nonce, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = http.Request.IsHttps,
            Path = "/connect/google",
            MaxAge = Lifetime,
        });
        var state = Protector(protection).Protect(nonce + "|" + expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        var url = new GoogleAuthorizationCodeRequestUrl(new Uri(google.Value.AuthorizationUrl))
        {
            ClientId = client.ClientId,
            RedirectUri = RedirectUri(http, options.Value),
            Scope = CredentialFactory.CalendarScope,
            State = state,
            AccessType = "offline",
            // Consent every time: Google sends a refresh token only on a consent, and re-authorising needs a new one.
            Prompt = "consent",
            LoginHint = string.IsNullOrWhiteSpace(loginHint) ? null : loginHint,
        }.Build();
        return Results.Redirect(url.AbsoluteUri);
    }

    private static async Task<IResult> CallbackAsync(
        HttpContext http, CredentialFactory credentials, IOptions<CalhookOptions> options, IOptions<GoogleClientOptions> google,
        IDataProtectionProvider protection, IHttpClientFactory httpClients, ICalhookStore store, SecretProtector secrets,
        AccountLifecycle lifecycle, TimeProvider time, ILoggerFactory loggers, string? code, string? state, string? error)
    {
        var logger = loggers.CreateLogger(typeof(ConnectFlow));
        var refusal = VerifyState(http, Protector(protection), state, time.GetUtcNow());
        http.Response.Cookies.Delete(NonceCookie, new CookieOptions { Path = "/connect/google" });
        if (refusal is not null)
        {
            LogStateRefused(logger, refusal);
            return Html.Problem(http, StatusCodes.Status400BadRequest, "This sign-in could not be verified",
                $"{refusal} Start again from /connect/google in the same browser.");
        }

        if (!string.IsNullOrEmpty(error) || string.IsNullOrEmpty(code))
        {
            return Html.Problem(http, StatusCodes.Status400BadRequest, "Google did not grant access",
                $"Google answered '{error ?? "no code"}'. Nothing was stored; start again from /connect/google and allow calendar access.");
        }

        if (credentials.CreateFlow() is not { } flow)
        {
            return Html.Problem(http, StatusCodes.Status503ServiceUnavailable, "Google is not configured",
                "Set Calhook:Google:ClientId and Calhook:Google:ClientSecret, then connect again.");
        }

        TokenResponse token;
        try
        {
            token = await flow.ExchangeCodeForTokenAsync("connect", code, RedirectUri(http, options.Value), http.RequestAborted);
        }
        catch (TokenResponseException ex)
        {
            LogExchangeFailed(logger, ex.Error?.Error ?? "unknown");
            return Html.Problem(http, StatusCodes.Status502BadGateway, "Google refused the sign-in",
                $"The code exchange failed ({ex.Error?.Error}). Check the OAuth client id, secret and redirect URI ({RedirectUri(http, options.Value)}), then connect again.");
        }

        if (string.IsNullOrEmpty(token.RefreshToken))
        {
            return Html.Problem(http, StatusCodes.Status400BadRequest, "Google sent no refresh token",
                "Without one Calhook cannot keep watching. Remove Calhook's access in the Google account's security settings, then connect again.");
        }

        var email = await PrimaryCalendarIdAsync(httpClients, google.Value, token.AccessToken, http.RequestAborted);
        if (email is null)
        {
            return Html.Problem(http, StatusCodes.Status502BadGateway, "The account's calendar could not be read",
                "Google granted access but calendars/primary did not answer. Try connecting again; if it persists, see docs/troubleshooting.md.");
        }

        string accountId;
        if (await lifecycle.FindOAuthAccountAsync(email, http.RequestAborted) is { } existing)
        {
            await lifecycle.ReauthorizeAsync(existing.Id, token.RefreshToken, verified: null, http.RequestAborted);
            accountId = existing.Id;
        }
        else
        {
            accountId = "acc_" + Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
            await store.AddAccountAsync(new AccountRecord(accountId, AccountKind.OAuth, email, null,
                secrets.ProtectAccountSecret(token.RefreshToken), AccountStatus.Active, null, time.GetUtcNow()), http.RequestAborted);
        }

        LogConnected(logger, accountId);
        // The browser arrives here from Google (cross-site), so the SameSite=Strict session cookie is not sent with this
        // request. A same-site refresh from this page to the account's page carries it again.
        var target = "/accounts/" + Uri.EscapeDataString(accountId);
        return Html.Page(http, "Account connected",
            $"<p>Connected <strong>{Html.E(email)}</strong>. <a id=\"continue\" href=\"{Html.E(target)}\">Choose the calendars to watch</a>.</p>",
            signedIn: false, head: $"<meta http-equiv=\"refresh\" content=\"0;url={Html.E(target)}\">");
    }

    /// <summary>Null when the state is ours, unexpired and bound to this browser; otherwise why not, in words.</summary>
    internal static string? VerifyState(HttpContext http, IDataProtector protector, string? state, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(state))
        {
            return "The answer carries no 'state'.";
        }

        if (!http.Request.Cookies.TryGetValue(NonceCookie, out var cookie) || string.IsNullOrEmpty(cookie))
        {
            return "This browser did not start a sign-in (no connect cookie), or it expired.";
        }

        string payload;
        try
        {
            payload = protector.Unprotect(state);
        }
        catch (CryptographicException)
        {
            return "The 'state' was not issued by this Calhook.";
        }

        var parts = payload.Split('|');
        if (parts.Length != 2 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return "The 'state' was not issued by this Calhook.";
        }

        if (DateTimeOffset.FromUnixTimeSeconds(expires) < now)
        {
            return "The sign-in took longer than 10 minutes.";
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(parts[0]), Encoding.UTF8.GetBytes(cookie))
            ? null
            : "The 'state' belongs to a sign-in started in another browser.";
    }

    private static IDataProtector Protector(IDataProtectionProvider protection) => protection.CreateProtector("Calhook.Connect.State.v1");

    /// <summary>The primary calendar's id, which is the account's email (calendars.get on <c>primary</c>).</summary>
    private static async Task<string?> PrimaryCalendarIdAsync(IHttpClientFactory httpClients, GoogleClientOptions google, string accessToken, CancellationToken cancellationToken)
    {
        using var http = httpClients.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(google.ApiBaseAddress, "calendar/v3/calendars/primary"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            return json.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = LogEvents.ConnectCallbackRefused, Level = LogLevel.Warning, Message = "Refused an OAuth callback: {Reason}")]
    private static partial void LogStateRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.ConnectCodeExchangeFailed, Level = LogLevel.Warning, Message = "The OAuth code exchange failed ({Error})")]
    private static partial void LogExchangeFailed(ILogger logger, string error);

    [LoggerMessage(EventId = LogEvents.ConnectAccountConnected, Level = LogLevel.Information, Message = "Connected account {AccountId} through the browser")]
    private static partial void LogConnected(ILogger logger, string accountId);
}
