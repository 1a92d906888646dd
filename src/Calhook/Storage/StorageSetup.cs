using Calhook.Hosting;
using Calhook.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Storage;

internal static class StorageSetup
{
    /// <summary>The database file inside <see cref="CalhookOptions.DataDirectory"/>.</summary>
    public const string SqliteFileName = "calhook.db";

    /// <summary>
    /// <see cref="ICalhookStore"/> as SQLite in <c>{DataDirectory}/calhook.db</c>, unless a store was registered
    /// before; the schema is migrated while the host starts, before the other services run.
    /// </summary>
    public static IServiceCollection AddCalhookStorage(this IServiceCollection services)
    {
        services.TryAddSingleton(provider => new SqliteStore(
            Path.Combine(provider.GetRequiredService<IOptions<CalhookOptions>>().Value.DataDirectory, SqliteFileName),
            provider.GetRequiredService<ILogger<SqliteStore>>(),
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ICalhookStore>(provider => provider.GetRequiredService<SqliteStore>());
        services.AddHostedService<StoreStartup>();
        return services;
    }
}
