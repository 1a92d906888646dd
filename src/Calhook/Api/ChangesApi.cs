using Microsoft.AspNetCore.Routing;

namespace Calhook.Api;

internal static class ChangesApi
{
    public static IEndpointRouteBuilder MapChanges(this IEndpointRouteBuilder endpoints) => endpoints;
}
