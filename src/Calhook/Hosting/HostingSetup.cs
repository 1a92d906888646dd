using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Hosting;

internal static class HostingSetup
{
    /// <summary>Options binding and validation, TimeProvider, problem details, API key.</summary>
    public static IServiceCollection AddCalhookHosting(this IServiceCollection services, IConfiguration configuration) => services;
}
