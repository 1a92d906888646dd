using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Sync;

internal static class SyncSetup
{
    public static IServiceCollection AddCalhookSync(this IServiceCollection services) => services;
}
