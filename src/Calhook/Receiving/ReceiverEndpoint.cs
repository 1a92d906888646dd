using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Receiving;

internal static class ReceiverEndpoint
{
    public static IServiceCollection AddCalhookReceiving(this IServiceCollection services) => services;

    public static IEndpointRouteBuilder MapReceiver(this IEndpointRouteBuilder endpoints) => endpoints;
}
