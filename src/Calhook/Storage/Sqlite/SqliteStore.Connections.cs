using System.Collections.Concurrent;
using System.Data;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

/// <summary>
/// The store keeps its connections open between calls, each with the statements it has prepared. Microsoft.Data.Sqlite
/// finalizes a command's statements when the command or its connection closes, so with its own pool every call parsed
/// and planned its SQL again, and set the connection's pragmas again: a profile of 500 changes a second put SQLite's
/// parser and planner at about 6 % of the process's CPU. A connection here is one <see cref="SqliteConnection"/> that
/// a call borrows from <see cref="OpenAsync"/> and gives back when it is disposed; <see cref="Command"/> hands out the
/// connection's prepared command for the same SQL when it is free.
/// </summary>
internal sealed partial class SqliteStore
{
    /// <summary>Idle connections kept; more are opened when more calls run at once, and closed when given back beyond this.</summary>
    private const int IdleConnections = 8;

    /// <summary>Prepared commands kept per connection; SQL beyond these is prepared for each use, as before.</summary>
    private const int CommandsPerConnection = 128;

    private readonly ConcurrentStack<StoreConnection> _idle = new();
    private volatile bool _closing;

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_idle.TryPop(out var idle))
        {
            return idle;
        }

        ObjectDisposedException.ThrowIf(_closing, this);
        var connection = new StoreConnection(_connectionString, this);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, null, $"PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout={(int)BusyTimeout.TotalMilliseconds};", cancellationToken);
            return connection;
        }
        catch
        {
            connection.CloseForGood();
            throw;
        }
    }

    /// <summary>A command for <paramref name="sql"/> on <paramref name="connection"/>, prepared already when it ran there before.</summary>
    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        if (connection is StoreConnection store && store.Prepared(sql) is { } prepared)
        {
            prepared.Transaction = transaction;
            return prepared;
        }

        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>
    /// Sets back the pragmas a call changed on its connection before the connection is given back: the store's
    /// connections stay open, so a setting left behind would hold for every later call on it (a commit left at
    /// synchronous=NORMAL would not be on disk when it returns). A connection that cannot be set back is closed instead.
    /// </summary>
    private static async Task RestoreAsync(SqliteConnection connection, string pragmas)
    {
        try
        {
            await ExecuteAsync(connection, null, pragmas, CancellationToken.None);
        }
        catch
        {
            (connection as StoreConnection)?.Discard();
            throw;
        }
    }

    /// <summary>A pragma's value as a connection the next call would borrow has it (for tests of what calls leave behind).</summary>
    internal async Task<long> ReadPragmaAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"PRAGMA {name};");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Takes back a connection a call is done with; false when it must close instead.</summary>
    private bool Return(StoreConnection connection)
    {
        // A connection still inside a transaction (autocommit off) is not given to another call.
        if (_closing || connection.Discarded || connection.State != ConnectionState.Open || SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0
            || _idle.Count >= IdleConnections)
        {
            return false;
        }

        _idle.Push(connection);
        if (_closing && _idle.TryPop(out var late))
        {
            // The store closed while this one was handed back: it closes with the rest.
            late.CloseForGood();
        }

        return true;
    }

    /// <summary>Closes the idle connections for good; connections still in use close when they are given back.</summary>
    private void CloseConnections()
    {
        _closing = true;
        while (_idle.TryPop(out var connection))
        {
            connection.CloseForGood();
        }
    }

    private sealed class StoreConnection(string connectionString, SqliteStore store) : SqliteConnection(connectionString)
    {
        private readonly Dictionary<string, PreparedCommand> _commands = new(StringComparer.Ordinal);
        private bool _closingForGood;

        /// <summary>True once a call found it unfit to be given to another call: it closes when it is given back.</summary>
        public bool Discarded { get; private set; }

        public void Discard() => Discarded = true;

        /// <summary>The connection's command for <paramref name="sql"/> when it is free; null when in use, or not kept.</summary>
        public PreparedCommand? Prepared(string sql)
        {
            if (sql.Length == 0)
            {
                return null;
            }

            if (_commands.TryGetValue(sql, out var command))
            {
                if (command.InUse)
                {
                    return null;
                }

                // A call may have changed the text of the command it was given; it is this SQL's again.
                command.CommandText = sql;
                command.InUse = true;
                return command;
            }

            if (_commands.Count >= CommandsPerConnection)
            {
                return null;
            }

            command = new PreparedCommand { Connection = this, CommandText = sql, InUse = true };
            _commands.Add(sql, command);
            return command;
        }

        /// <summary>Finalizes the kept commands and closes the connection instead of giving it back.</summary>
        public void CloseForGood()
        {
            _closingForGood = true;
            foreach (var command in _commands.Values)
            {
                command.Release();
            }

            _commands.Clear();
            Dispose();
        }

        protected override void Dispose(bool disposing)
        {
            // Disposing is how a call gives the connection back; one the store will not take back closes for good.
            if (disposing && !_closingForGood)
            {
                if (!store.Return(this))
                {
                    CloseForGood();
                }

                return;
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A command kept on its connection: disposing it makes it free for the next call instead of finalizing its statements.</summary>
    private sealed class PreparedCommand : SqliteCommand
    {
        private bool _released;

        public bool InUse { get; set; }

        public void Release()
        {
            _released = true;
            Dispose();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_released)
            {
                Parameters.Clear();
                Transaction = null;
                InUse = false;
                return;
            }

            base.Dispose(disposing);
        }
    }
}
