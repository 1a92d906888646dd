using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Calhook.Hosting;

internal static class ApiKeyAuth
{
    private const string Scheme = "Bearer ";

    /// <summary>
    /// Requires <c>Authorization: Bearer &lt;api key&gt;</c>; a missing or wrong key gets a 401 problem+json. A GET
    /// without the header may instead carry the dashboard's session cookie (SameSite=Strict, so only Calhook's own pages
    /// send it): that is how the dashboard's EventSource reads the change stream. Writes always need the key.
    /// </summary>
    public static TBuilder RequireCalhookApiKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            string? header = http.Request.Headers.Authorization;
            var presented = header is not null && header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
                ? header[Scheme.Length..].Trim()
                : null;

            if (!http.RequestServices.GetRequiredService<ApiKeyProvider>().Matches(presented)
                && !(presented is null && HttpMethods.IsGet(http.Request.Method) && await Dashboard.DashboardSession.IsSignedInAsync(http)))
            {
                http.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Unauthorized",
                    detail: presented is null
                        ? "Send the API key as 'Authorization: Bearer <key>'."
                        : "The API key is not valid.");
            }

            return await next(context);
        });
}
