using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Calhook.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Dashboard;

/// <summary>
/// The browser session of the dashboard: ASP.NET Core's cookie authentication (an encrypted ticket in an HttpOnly,
/// SameSite=Strict cookie), issued after the API key was typed into the login form. The ticket carries a stamp of the
/// key it was issued under, so changing the API key ends every session.
/// </summary>
internal static class DashboardSession
{
    public const string Scheme = "CalhookDashboard";
    public const string CookieName = "calhook_session";
    private const string StampClaim = "calhook:key-stamp";

    public static void AddCookie(AuthenticationBuilder authentication) =>
        authentication.AddCookie(Scheme, options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = TimeSpan.FromHours(12);
            options.SlidingExpiration = true;
            options.LoginPath = "/login";
            // The pages redirect to the login form themselves; API calls get the 401 problem of the API key filter.
            options.Events.OnRedirectToLogin = context =>
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            };
        });

    /// <summary>
    /// True when the request carries a valid session cookie issued under the current API key; sets
    /// <see cref="HttpContext.User"/> so antiforgery tokens bind to the signed-in user.
    /// </summary>
    public static async Task<bool> IsSignedInAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!http.Request.Cookies.ContainsKey(CookieName))
        {
            return false;
        }

        var result = await http.AuthenticateAsync(Scheme);
        var key = http.RequestServices.GetRequiredService<ApiKeyProvider>().Key;
        if (!result.Succeeded || result.Principal.FindFirstValue(StampClaim) != Stamp(key))
        {
            return false;
        }

        http.User = result.Principal;
        return true;
    }

    public static async Task SignInAsync(HttpContext http)
    {
        var key = http.RequestServices.GetRequiredService<ApiKeyProvider>().Key;
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim(StampClaim, Stamp(key))], Scheme);
        var principal = new ClaimsPrincipal(identity);
        await http.SignInAsync(Scheme, principal);
        http.User = principal;
    }

    public static Task SignOutAsync(HttpContext http) => http.SignOutAsync(Scheme);

    /// <summary>A one-way stamp of the API key: the key itself never goes into the cookie, even encrypted.</summary>
    private static string Stamp(string apiKey) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("calhook.dashboard.session:" + apiKey)))[..32];
}
