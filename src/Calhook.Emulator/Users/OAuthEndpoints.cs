using System.Net;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Emulator.Users;

/// <summary>
/// Google's OAuth at <c>/o/oauth2/v2/auth</c> (a consent page that approves for a chosen user) and <c>/token</c>
/// (authorization_code, refresh_token and the service accounts' jwt-bearer grants). Any client id and secret is accepted.
/// </summary>
internal static class OAuthEndpoints
{
    public static void MapOAuth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/o/oauth2/v2/auth", (HttpRequest request) =>
        {
            var q = request.Query;
            if (string.IsNullOrEmpty(q["redirect_uri"]))
            {
                return OAuthFail("invalid_request", "Missing required parameter: redirect_uri");
            }

            var hidden = string.Concat(new[] { "client_id", "redirect_uri", "scope", "state", "response_type", "access_type" }
                .Select(n => $"<input type=\"hidden\" name=\"{n}\" value=\"{WebUtility.HtmlEncode(q[n].ToString())}\">"));
            var hint = WebUtility.HtmlEncode(q["login_hint"].ToString() is { Length: > 0 } h ? h : "alice@example.com");
            var html = $"""
                <!doctype html><html><head><title>Sign in - Calendar emulator</title></head><body>
                <h1>Calendar emulator</h1><p>Approve access to the calendar of:</p>
                <form method="post" action="/o/oauth2/v2/auth">{hidden}
                <input name="user" value="{hint}"> <button type="submit">Allow</button></form></body></html>
                """;
            return Results.Content(html, "text/html; charset=utf-8");
        });
        endpoints.MapPost("/o/oauth2/v2/auth", async (HttpRequest request, UserDirectory users, CalendarStore store) =>
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            var user = form["user"].ToString();
            var redirect = form["redirect_uri"].ToString();
            if (!UserDirectory.IsValidEmail(user))
            {
                return OAuthFail("invalid_request", "A user email is required.");
            }

            if (!Uri.TryCreate(redirect, UriKind.Absolute, out _))
            {
                return OAuthFail("invalid_request", "Invalid redirect_uri.");
            }

            store.EnsureUser(user);
            var code = users.IssueCode(user, redirect, form["scope"].ToString());
            var separator = redirect.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            var location = $"{redirect}{separator}code={Uri.EscapeDataString(code)}&scope={Uri.EscapeDataString(form["scope"].ToString())}";
            if (form["state"].ToString() is { Length: > 0 } state)
            {
                location += $"&state={Uri.EscapeDataString(state)}";
            }

            return Results.Redirect(location);
        });
        endpoints.MapPost("/token", async (HttpRequest request, UserDirectory users, ServiceAccounts serviceAccounts, CalendarStore store,
            EmulatorRuntime runtime) =>
        {
            if (!request.HasFormContentType)
            {
                return OAuthFail("invalid_request", "Expected application/x-www-form-urlencoded.");
            }

            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            switch (form["grant_type"].ToString())
            {
                case "authorization_code":
                    if (users.Redeem(form["code"].ToString()) is not { } grant)
                    {
                        return OAuthFail("invalid_grant", "Malformed auth code.");
                    }

                    if (grant.RedirectUri is not null && form["redirect_uri"].ToString() is { Length: > 0 } r && r != grant.RedirectUri)
                    {
                        return OAuthFail("redirect_uri_mismatch", "Bad Request");
                    }

                    var issued = users.Issue(grant.User);
                    return Answer(new TokenAnswer(issued.AccessToken, issued.ExpiresIn, issued.RefreshToken, grant.Scope, "Bearer"));
                case "refresh_token":
                    if (users.UserOfRefreshToken(form["refresh_token"].ToString()) is not { } user)
                    {
                        return OAuthFail("invalid_grant", "Token has been expired or revoked.");
                    }

                    var (access, expiresIn) = users.IssueAccessToken(user);
                    return Answer(new TokenAnswer(access, expiresIn, null, "https://www.googleapis.com/auth/calendar", "Bearer"));
                case JwtBearerGrant.GrantType:
                    var ownTokenUrl = $"{request.Scheme}://{request.Host}/token";
                    var outcome = JwtBearerGrant.Verify(form["assertion"].ToString(), ownTokenUrl, serviceAccounts, runtime.Clock.GetUtcNow());
                    if (outcome.Error is { } refused)
                    {
                        return Results.Json(refused, EmulatorJson.Wire.OAuthError, statusCode: 400);
                    }

                    // A Workspace user acted as already exists at Google, so an unknown subject is created here.
                    store.EnsureUser(outcome.User!);
                    var (serviceToken, lifetime) = users.IssueAccessToken(outcome.User!);
                    return Answer(new TokenAnswer(serviceToken, lifetime, null, null, "Bearer"));
                default:
                    return OAuthFail("unsupported_grant_type", "Invalid grant_type: " + form["grant_type"]);
            }
        });
    }

    private static IResult Answer(TokenAnswer answer) => Results.Json(answer, EmulatorJson.Wire.TokenAnswer);

    private static IResult OAuthFail(string error, string description) =>
        Results.Json(new OAuthError(error, description), EmulatorJson.Wire.OAuthError, statusCode: 400);
}
