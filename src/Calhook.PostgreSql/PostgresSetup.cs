using Calhook.Changes;
using Calhook.Coordination;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.PostgreSql;

/// <summary>Runs Calhook on PostgreSQL: several instances may share the database.</summary>
public static class PostgresSetup
{
    /// <summary>
    /// Replaces the SQLite store with PostgreSQL at <c>Calhook:Postgres:ConnectionString</c> (read when the store is
    /// first used; start-up fails naming the setting when it is empty or the server cannot be reached). Also keeps the
    /// Data Protection key ring in the database and wakes this instance's change readers on other instances' commits.
    /// Call it before or after <c>AddCalhook</c>.
    /// </summary>
    public static IServiceCollection AddCalhookPostgreSql(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton(new StoreKind("postgresql", Shared: true)));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ChangeNotifier>();
        services.TryAddSingleton(provider => new PostgresStore(
            provider.GetRequiredService<IOptions<CalhookOptions>>().Value.Postgres.ConnectionString!,
            provider.GetRequiredService<ILogger<PostgresStore>>(),
            provider.GetRequiredService<TimeProvider>()));
        services.Replace(ServiceDescriptor.Singleton<ICalhookStore>(provider => provider.GetRequiredService<PostgresStore>()));

        // PostConfigure: wins over the file system key ring whichever registration runs first.
        services.AddOptions<KeyManagementOptions>()
            .PostConfigure<PostgresStore>((options, store) => options.XmlRepository = new PostgresXmlRepository(store.DataSource));
        services.AddHostedService<ChangeListener>();
        return services;
    }
}
