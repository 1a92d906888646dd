using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Storage;

internal static class StorageSetup
{
    public static IServiceCollection AddCalhookStorage(this IServiceCollection services) => services;
}
