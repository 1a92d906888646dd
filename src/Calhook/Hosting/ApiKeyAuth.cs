using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Calhook.Hosting;

/// <summary>
/// The admin API key as an ASP.NET Core authentication scheme and policy. Authorization runs in the middleware, after
/// routing and before the endpoint binds its parameters: a request without the key is answered 401 before a byte of
/// its body is read, and its connection is closed rather than drained.
/// </summary>
internal static class ApiKeyAuth
{
    public const string SchemeName = "CalhookApiKey";
    public const string PolicyName = "CalhookApiKey";

    /// <summary>The largest admin request body, in bytes: far above any account, watch or subscription (a service-account key is ~2.5 KB).</summary>
    public const long MaxBodyBytes = 64 * 1024;

    private const string Scheme = "Bearer ";

    public static IServiceCollection AddCalhookApiKeyAuth(this IServiceCollection services)
    {
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, Handler>(SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(PolicyName, policy => policy.AddAuthenticationSchemes(SchemeName).RequireAuthenticatedUser());
        return services;
    }

    /// <summary>
    /// Requires <c>Authorization: Bearer &lt;api key&gt;</c> (a missing or wrong key gets a 401 problem+json, before the
    /// body is read) and caps the request body at <see cref="MaxBodyBytes"/> (413 problem+json). A GET may instead carry
    /// the dashboard's session cookie.
    /// </summary>
    public static TBuilder RequireCalhookApiKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyName).WithMetadata(new BodyLimit(MaxBodyBytes));

    private static string? PresentedKey(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        return header is not null && header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? header[Scheme.Length..].Trim() : null;
    }

    /// <summary>Read by the routing middleware, which sets the request's body limit before anything reads it.</summary>
    private sealed record BodyLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;

    private sealed class Handler(
        IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
        ApiKeyProvider apiKey, IProblemDetailsService problemDetails)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var presented = PresentedKey(Request);
            if (apiKey.Matches(presented))
            {
                return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-key")], SchemeName)), SchemeName));
            }

            // A GET without the header may carry the dashboard's session cookie instead (SameSite=Strict: only Calhook's
            // own pages send it): that is how the dashboard's EventSource reads the change stream. Writes need the key.
            if (presented is null && HttpMethods.IsGet(Request.Method) && await Dashboard.DashboardSession.IsSignedInAsync(Context))
            {
                return AuthenticateResult.Success(new AuthenticationTicket(Context.User, SchemeName));
            }

            return AuthenticateResult.NoResult();
        }

        protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
            if (Request.ContentLength > 0 || Request.Headers.TransferEncoding.Count > 0)
            {
                // The body is never read: closing the connection spares draining it too.
                Response.Headers.Connection = "close";
            }

            await problemDetails.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = Context,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status401Unauthorized,
                    Title = "Unauthorized",
                    Detail = PresentedKey(Request) is null ? "Send the API key as 'Authorization: Bearer <key>'." : "The API key is not valid.",
                },
            });
        }

        protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => HandleChallengeAsync(properties);
    }
}
