using Calhook.Changes;
using Calhook.Coordination;
using Calhook.Google;
using Calhook.PostgreSql;
using Calhook.Storage;
using Calhook.Sync;
using Calhook.Tests.Storage;
using Calhook.Tests.Sync;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Calhook.Tests.Coordination;

/// <summary>
/// Two instances on one PostgreSQL database, each a syncer under its own sync lease (a different instance id, its own
/// clock). The first stalls in the middle of a full resync (its events.list call for the second page does not return:
/// a GC pause, a SIGSTOP) with its first page already compared with the stored snapshots. Its lease expires; the second
/// instance takes it, syncs and commits. When the first resumes, its commit, computed against snapshots that are no
/// longer current, must be refused by the store's fence: without it the change log would hold its changes twice and
/// the watch would go back to the first's sync token.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class StalledSyncFenceTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(15);
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly WatchRecord _watch = new("wat_fence", "acc_fence", "alice@example.com", WatchStatus.Active, null, Start, null, null);
    private string _connectionString = "";
    private PostgresStore? _store;

    private CancellationToken Ct => _timeout.Token;

    private PostgresStore Store => _store!;

    public async Task InitializeAsync()
    {
        (_store, _connectionString) = await postgres.CreateStoreAsync("fence", Ct);
        await Store.AddAccountAsync(new AccountRecord("acc_fence", AccountKind.OAuth, "alice@example.com", null, "x", AccountStatus.Active, null, Start), Ct);
        await Store.AddWatchAsync(_watch, Ct);
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task A_sync_that_stalls_past_its_lease_cannot_commit_over_the_instance_that_took_over()
    {
        // Both instances see the same calendar; their Google answers differ only in the sync token, so the stored one
        // tells whose commit stands.
        var googleFirst = new ScriptedGoogle();
        var googleSecond = new ScriptedGoogle();
        var clockFirst = new FakeTimeProvider(Start);
        var clockSecond = new FakeTimeProvider(Start);
        var first = new Instance(Store, clockFirst, googleFirst);
        var second = new Instance(Store, clockSecond, googleSecond);
        googleSecond.List(null, "t1", [Ev("kept", "K"), Ev("edited", "E"), Ev("deleted", "D")]);
        Assert.Equal(SyncResult.Synced, (await second.Run(_watch.Id, Ct)).Result);

        // Then Google refuses t1: both instances run a full resync, which finds one edit, one addition, one deletion.
        foreach (var (google, token) in new[] { (googleFirst, "t2-first"), (googleSecond, "t2-second") })
        {
            google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);
            google.List(null, token, [Ev("kept", "K"), Ev("edited", "E2", "2")], [Ev("added", "A")]);
        }

        // The first instance starts the resync and stalls when it asks for the second page, its first page staged.
        var stalled = first.StallOnSecondPage();
        var firstRun = first.Run(_watch.Id, Ct);
        await first.FirstPageStaged.WaitAsync(Ct);
        await stalled.Arrived.Task.WaitAsync(Ct);

        // Its lease (taken at Start on its own clock, never renewed: its clock stands still) expires for the second.
        clockSecond.Advance(TimeToLive + TimeSpan.FromSeconds(1));
        var secondOutcome = await second.Run(_watch.Id, Ct);
        Assert.Equal((SyncResult.Synced, 3), (secondOutcome.Result, secondOutcome.ChangesAppended));

        stalled.Resume();
        var firstOutcome = await firstRun;

        Assert.Equal(SyncResult.Skipped, firstOutcome.Result);
        var log = await Store.ReadChangesAsync(new ChangeQuery(0, 100), Ct);
        Assert.Equal(
            [$"{ChangeTypes.Updated}:edited", $"{ChangeTypes.Created}:added", $"{ChangeTypes.Deleted}:deleted"],
            log.Select(c => $"{c.Type}:{c.EventId}"));
        Assert.Equal("t2-second", (await Store.GetSyncStateAsync(_watch.Id, Ct)).SyncToken);
        Assert.Equal(["added", "edited", "kept"], await Store.ListSnapshotIdsAsync(_watch.Id, Ct));
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM snapshot_staging;"));
        Assert.Equal(0, first.Notified);

        // The next sync, from the second's token, goes on from there.
        googleFirst.List("t2-second", "t3", [Ev("added", "A2", "2")]);
        var after = await first.Run(_watch.Id, Ct);
        Assert.Equal((SyncResult.Synced, 1), (after.Result, after.ChangesAppended));
        Assert.Equal(4, (await Store.ReadChangesAsync(new ChangeQuery(0, 100), Ct)).Count);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static string Ev(string id, string summary, string etag = "1") =>
        $$$"""{"id":"{{{id}}}","etag":"{{{etag}}}","status":"confirmed","summary":"{{{summary}}}","start":{"date":"2026-12-01"},"end":{"date":"2026-12-02"}}""";

    /// <summary>One instance: a syncer (its Google, its clock) run under the sync lease with its own instance id.</summary>
    private sealed class Instance
    {
        private readonly ScriptedGoogle _google;
        private readonly TaskCompletionSource _firstPageStaged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SyncRunner _run;
        private Stall? _stall;
        private int _notified;

        public Instance(ICalhookStore store, FakeTimeProvider clock, ScriptedGoogle google)
        {
            _google = google;
            var notifier = new ChangeNotifier();
            var syncer = new Syncer(store, ReadAsync, notifier, new ChangeIds(clock), clock, NullLogger<Syncer>.Instance)
            {
                FullListProgress = (_, _, _) => _firstPageStaged.TrySetResult(),
                ChangeEmitted = _ => Interlocked.Increment(ref _notified),
            };
            var leases = new SyncLeases(store, new StoreKind("postgres", Shared: true), TimeToLive, clock, NullLogger<SyncLeases>.Instance);
            _run = leases.Wrap(syncer.SyncAsync, _ => { });
        }

        public Task FirstPageStaged => _firstPageStaged.Task;

        /// <summary>How many committed changes this instance reported (to feed readers and metrics).</summary>
        public int Notified => Volatile.Read(ref _notified);

        public Task<SyncOutcome> Run(string watchId, CancellationToken cancellationToken) => _run(watchId, cancellationToken);

        public Stall StallOnSecondPage() => _stall = new Stall();

        private async Task<GoogleResponse<EventsPage>> ReadAsync(string accountId, string calendarId, string? syncToken, string? pageToken, CancellationToken cancellationToken)
        {
            if (pageToken is not null && _stall is { } stall)
            {
                _stall = null;
                stall.Arrived.TrySetResult();
                await stall.Resumed.Task.WaitAsync(cancellationToken);
            }

            return await _google.Reader(accountId, calendarId, syncToken, pageToken, cancellationToken);
        }
    }

    /// <summary>Holds one events.list call until resumed.</summary>
    private sealed class Stall
    {
        public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Resumed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Resume() => Resumed.TrySetResult();
    }
}
