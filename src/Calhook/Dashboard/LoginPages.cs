using Calhook.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Dashboard;

/// <summary><c>GET/POST /login</c> (the API key in, a session cookie out) and <c>POST /logout</c>.</summary>
internal static class LoginPages
{
    public static void MapLogin(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/login", ShowAsync).ExcludeFromDescription();
        endpoints.MapPost("/login", LogInAsync).ExcludeFromDescription().DisableAntiforgery();
        endpoints.MapPost("/logout", LogOutAsync).ExcludeFromDescription().DisableAntiforgery();
    }

    /// <summary>Where a signed-out page sends the browser: the login form, coming back to the same path afterwards.</summary>
    public static IResult RedirectToLogin(HttpContext http) =>
        Results.Redirect("/login?returnUrl=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));

    private static async Task<IResult> ShowAsync(HttpContext http, IAntiforgery antiforgery, string? returnUrl)
    {
        if (await DashboardSession.IsSignedInAsync(http))
        {
            return Results.Redirect(SafeReturn(returnUrl));
        }

        return Form(http, antiforgery, returnUrl, null);
    }

    private static async Task<IResult> LogInAsync(HttpContext http, IAntiforgery antiforgery, ApiKeyProvider apiKey)
    {
        // Validated by hand (not by the middleware) so it works in any host that maps Calhook.
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return Html.Problem(http, StatusCodes.Status400BadRequest, "The form expired",
                "The login form was not accepted (its antiforgery token is missing or stale). Reload /login and try again.");
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var returnUrl = form["returnUrl"].ToString();
        if (!apiKey.Matches(form["apiKey"].ToString().Trim()))
        {
            return Form(http, antiforgery, returnUrl, "That is not the API key. It is printed by `calhook serve` and stored in the data directory's api-key file.",
                StatusCodes.Status401Unauthorized);
        }

        await DashboardSession.SignInAsync(http);
        return Results.Redirect(SafeReturn(returnUrl));
    }

    private static async Task<IResult> LogOutAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (await DashboardSession.IsSignedInAsync(http) && await antiforgery.IsRequestValidAsync(http))
        {
            await DashboardSession.SignOutAsync(http);
        }

        return Results.Redirect("/login");
    }

    private static IResult Form(HttpContext http, IAntiforgery antiforgery, string? returnUrl, string? error, int status = StatusCodes.Status200OK)
    {
        var message = error is null ? "" : $"<p class=\"problem\" role=\"alert\">{Html.E(error)}</p>";
        var body = $"""
            {message}
            <form method="post" action="/login" class="login">
              {Html.Antiforgery(http, antiforgery)}
              <input type="hidden" name="returnUrl" value="{Html.E(SafeReturn(returnUrl))}">
              <label>API key <input type="password" name="apiKey" autocomplete="current-password" required autofocus></label>
              <button type="submit">Log in</button>
            </form>
            """;
        return Html.Page(http, "Log in", body, signedIn: false, status);
    }

    /// <summary>Only a local path: an absolute or protocol-relative URL would make the login an open redirect.</summary>
    private static string SafeReturn(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) ? url : "/";
}
