using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Calhook.TestKit;

/// <summary>
/// A real PostgreSQL server for tests and benchmarks: <c>initdb</c> and <c>pg_ctl</c> from the local installation,
/// a cluster in a temporary folder, listening on a free loopback port, stopped and deleted on dispose. When the
/// process runs as root the server runs as the <c>postgres</c> system user (PostgreSQL refuses to run as root).
/// Each test gets its own database from <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly string[] InstallFolders = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"];

    private readonly string _binDirectory;
    private readonly string _root;
    private readonly bool _asPostgresUser;
    private int _databases;

    private PostgresServer(string binDirectory, string root, int port, bool asPostgresUser)
    {
        _binDirectory = binDirectory;
        _root = root;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_root, "data");

    /// <summary>The connection string of the server's maintenance database.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=15";

    /// <summary>
    /// Creates a cluster and starts it. Fails with one clear line when PostgreSQL is not installed. With
    /// <paramref name="trackStatements"/> the server loads <c>pg_stat_statements</c> (see <see cref="TopStatementsAsync"/>).
    /// </summary>
    public static async Task<PostgresServer> StartAsync(bool trackStatements = false, CancellationToken cancellationToken = default)
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed: no initdb/pg_ctl in /usr/lib/postgresql/<version>/bin, `pg_config --bindir` or PATH (install the `postgresql` package).");
        var asPostgresUser = string.Equals(Environment.UserName, "root", StringComparison.Ordinal);
        var root = Path.Combine(Path.GetTempPath(), "calhook-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        if (asPostgresUser && !OperatingSystem.IsWindows())
        {
            // The server's user must be able to create its data folder and socket here.
            File.SetUnixFileMode(root, (UnixFileMode)0x1FF);
        }

        var server = new PostgresServer(bin, root, FreePort(), asPostgresUser);
        try
        {
            await server.RunAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);
            var options = $"-p {server.Port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB"
                + (trackStatements ? " -c shared_preload_libraries=pg_stat_statements" : "");
            await server.RunAsync("pg_ctl", ["-D", server.DataDirectory, "-o", options, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start"], cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The statements that took the server's time, most first (a server started with <c>trackStatements</c>): one
    /// line each with calls, total and mean milliseconds and the statement's start.
    /// </summary>
    public async Task<IReadOnlyList<string>> TopStatementsAsync(string connectionString, int count, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"""
            CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
            SELECT calls, total_exec_time, mean_exec_time, regexp_replace(query, '\s+', ' ', 'g')
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY total_exec_time DESC LIMIT {count};
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var lines = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var query = reader.GetString(3);
            lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{reader.GetInt64(0),8} calls {reader.GetDouble(1),9:0} ms total {reader.GetDouble(2),7:0.000} ms mean  {query[..Math.Min(query.Length, 150)]}"));
        }

        return lines;
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "calhook", CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..6]}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(AdminConnectionString + ";Pooling=false");
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\";", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Already gone: nothing to stop.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task RunAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(_asPostgresUser ? "runuser" : Path.Combine(_binDirectory, tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _root,
        };
        if (_asPostgresUser)
        {
            foreach (var argument in new[] { "-u", "postgres", "--", Path.Combine(_binDirectory, tool) })
            {
                info.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var log = Path.Combine(_root, "server.log");
            var serverLog = File.Exists(log) ? await File.ReadAllTextAsync(log, cancellationToken) : "";
            throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {await output}{await error}{serverLog}");
        }
    }

    private static string? FindBinDirectory()
    {
        foreach (var folder in InstallFolders)
        {
            if (File.Exists(Path.Combine(folder, "initdb")) && File.Exists(Path.Combine(folder, "pg_ctl")))
            {
                return folder;
            }
        }

        try
        {
            using var pgConfig = Process.Start(new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, UseShellExecute = false });
            var folder = pgConfig?.StandardOutput.ReadToEnd().Trim();
            pgConfig?.WaitForExit();
            if (!string.IsNullOrEmpty(folder) && File.Exists(Path.Combine(folder, "initdb")))
            {
                return folder;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No pg_config on PATH.
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .FirstOrDefault(folder => File.Exists(Path.Combine(folder, "initdb")) && File.Exists(Path.Combine(folder, "pg_ctl")));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
