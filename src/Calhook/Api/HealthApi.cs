using Microsoft.AspNetCore.Routing;

namespace Calhook.Api;

internal static class HealthApi
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints) => endpoints;
}
