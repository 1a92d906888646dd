using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Group commit: sync commits that wait for the write lock at the same time share one transaction, so one fsync.
internal sealed partial class SqliteStore
{
    /// <summary>Most commits one shared transaction carries; the rest wait for the next one.</summary>
    private const int MaxGroupedWrites = 64;

    private readonly ConcurrentQueue<GroupedWrite> _groupedWrites = new();

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction, sharing it with the other grouped writes that queued while
    /// the write lock was busy. Each write runs inside its own savepoint: one that throws is rolled back alone and its
    /// caller gets the exception, while the others commit. The shared transaction commits once (with
    /// <c>synchronous=FULL</c>, one fsync for all of them), and only then does any caller's task complete, so a caller
    /// never sees its write before it is durable, and a crash loses the whole group or nothing (each write is whole).
    /// </summary>
    /// <remarks>
    /// Why: every commit costs one fsync (several milliseconds on ordinary disks) under one write lock, so with
    /// hundreds of syncs a second committed one by one the lock, not the syncs, sets the pace. Here whoever takes the
    /// lock commits everyone waiting; no background loop, and a lone commit costs what it cost before.
    /// A caller cancelled while still queued is withdrawn (nothing of it is written); once its write was taken into a
    /// transaction, it waits for that transaction's outcome.
    /// </remarks>
    private async Task<T> WriteGroupedAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var mine = new GroupedWrite<T>(work);
        _groupedWrites.Enqueue(mine);
        try
        {
            await _writeGate.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (mine.TryWithdraw())
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            // Too late to withdraw: the write is in a transaction; its outcome is the caller's.
            return await mine.Result;
        }

        try
        {
            // An earlier holder of the lock may have committed this write already.
            while (!mine.IsTaken)
            {
                await CommitGroupAsync();
            }
        }
        finally
        {
            _writeGate.Release();
        }

        return await mine.Result;
    }

    /// <summary>Takes up to <see cref="MaxGroupedWrites"/> queued writes and commits them in one transaction. Holds the write gate.</summary>
    private async Task CommitGroupAsync()
    {
        var group = new List<GroupedWrite>();
        while (group.Count < MaxGroupedWrites && _groupedWrites.TryDequeue(out var next))
        {
            if (next.TryTake())
            {
                group.Add(next);
            }
        }

        if (group.Count == 0)
        {
            return;
        }

        var done = new List<GroupedWrite>(group.Count);
        try
        {
            await using var connection = await OpenAsync(CancellationToken.None);
            await using var transaction = connection.BeginTransaction(deferred: false);
            foreach (var write in group)
            {
                await transaction.SaveAsync("grouped_write");
                try
                {
                    await write.RunAsync(connection, transaction);
                    await transaction.ReleaseAsync("grouped_write");
                    done.Add(write);
                }
                catch (Exception exception)
                {
                    await transaction.RollbackAsync("grouped_write");
                    await transaction.ReleaseAsync("grouped_write");
                    write.Fail(exception);
                }
            }

            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (Exception exception)
        {
            // Opening, beginning or committing failed: nothing of the group is written.
            foreach (var write in done)
            {
                write.Fail(exception);
            }

            return;
        }

        foreach (var write in done)
        {
            write.Complete();
        }
    }

    private abstract class GroupedWrite
    {
        private const int Queued = 0, Taken = 1, Withdrawn = 2;
        private int _state;

        public bool IsTaken => Volatile.Read(ref _state) == Taken;

        /// <summary>The committer claims the write; false when its caller withdrew it.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        /// <summary>The caller withdraws the write; false when a committer already took it.</summary>
        public bool TryWithdraw() => Interlocked.CompareExchange(ref _state, Withdrawn, Queued) == Queued;

        public abstract Task RunAsync(SqliteConnection connection, SqliteTransaction transaction);

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class GroupedWrite<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work) : GroupedWrite
    {
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _value;

        public Task<T> Result => _result.Task;

        public override async Task RunAsync(SqliteConnection connection, SqliteTransaction transaction) =>
            _value = await work(connection, transaction);

        public override void Complete() => _result.TrySetResult(_value!);

        public override void Fail(Exception exception) => _result.TrySetException(exception);
    }
}
