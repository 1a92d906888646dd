using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Channels;

internal static class WatchesApi
{
    public static IServiceCollection AddCalhookChannels(this IServiceCollection services) => services;

    public static IEndpointRouteBuilder MapWatches(this IEndpointRouteBuilder endpoints) => endpoints;
}
