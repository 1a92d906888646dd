using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Google;

internal static class GoogleSetup
{
    public static IServiceCollection AddCalhookGoogle(this IServiceCollection services) => services;
}
