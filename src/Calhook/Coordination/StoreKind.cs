namespace Calhook.Coordination;

/// <summary>
/// Which store this host runs on, and whether other instances share it. Registered by the store's registration:
/// SQLite by default (one process), PostgreSQL by <c>AddCalhookPostgreSql</c> (shared).
/// </summary>
internal sealed record StoreKind(string Name, bool Shared)
{
    public static readonly StoreKind Sqlite = new("sqlite", Shared: false);

    /// <summary>This process's name in lease rows: host, process id and a random part (a restarted process is a new holder).</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
}
