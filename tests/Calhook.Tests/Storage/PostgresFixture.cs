using Calhook.PostgreSql;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

/// <summary>One PostgreSQL server for the whole test run's PostgreSQL classes; each test creates its own database.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public PostgresServer Server => _server ?? throw new InvalidOperationException("The server starts in InitializeAsync.");

    public async Task InitializeAsync() => _server = await PostgresServer.StartAsync();

    /// <summary>A new database named after <paramref name="name"/>, migrated, and a store on it (the caller disposes it).</summary>
    internal async Task<(PostgresStore Store, string ConnectionString)> CreateStoreAsync(string name, CancellationToken cancellationToken)
    {
        var connectionString = await Server.CreateDatabaseAsync(name, cancellationToken);
        var store = new PostgresStore(connectionString);
        await store.MigrateAsync(cancellationToken);
        return (store, connectionString);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The classes that share the one server (xunit runs them one after another).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
