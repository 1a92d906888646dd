using System.Collections.Concurrent;
using Calhook.Coordination;
using Calhook.PostgreSql;
using Calhook.Sync;
using Calhook.TestKit;
using Calhook.Tests.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Calhook.Tests.Coordination;

/// <summary>
/// A ping acknowledged by an instance that dies before the sync it asked for started is not lost: the request is in
/// PostgreSQL (lease <c>ping:{watchId}</c>), and a live instance's sweeper syncs the watch once the request outlived the
/// lease time to live. Each instance has its own id and clock; the syncs are counted, run under the real sync lease.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PendingPingsTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private string _connectionString = "";
    private PostgresStore? _store;

    private CancellationToken Ct => _timeout.Token;

    private PostgresStore Store => _store!;

    public async Task InitializeAsync()
    {
        (_store, _connectionString) = await postgres.CreateStoreAsync("pings", Ct);
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task A_ping_whose_instance_died_before_its_sync_started_is_synced_by_another_instance()
    {
        // The receiving instance writes the request, then dies before its scheduler ran the sync (it never started one).
        var receiving = new Instance(Store);
        await receiving.Pings.StartAsync(Ct);
        receiving.Pings.Record("wat_1");
        await Polling.EventuallyAsync(async () => await PendingAsync("wat_1"), Patience, "the ping's request is in the store");
        await receiving.Pings.StopAsync(Ct);

        await using var survivor = new Instance(Store);
        await survivor.StartAsync(Ct);
        Assert.Equal(0, survivor.Total);

        // Once the request outlived the lease time to live, the survivor's sweeper syncs the watch, and the sync clears it.
        // The survivor's clock moves a second per probe (its sweeper's timer may not be set yet when the test starts it).
        await Polling.EventuallyAsync(() =>
        {
            survivor.Clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(survivor.Total > 0);
        }, Patience, "the survivor syncs the pinged watch");
        Assert.True(survivor.Clock.GetUtcNow() > Start + TimeToLive, "not before the request expired");
        Assert.Equal(1, survivor.Runs["wat_1"]);
        Assert.False(await PendingAsync("wat_1"));
        await survivor.StopAsync();
    }

    [Fact]
    public async Task A_ping_on_a_live_instance_is_synced_there_and_its_request_is_cleared_by_the_sync()
    {
        await using var instance = new Instance(Store);
        await instance.StartAsync(Ct);

        instance.Pings.Record("wat_2");

        await Polling.EventuallyAsync(() => Task.FromResult(instance.Total == 1), Patience, "the ping's sync");
        Assert.False(await PendingAsync("wat_2"));
        Assert.Empty(await Store.ListExpiredLeasesAsync(PendingPings.Prefix, Start + TimeToLive * 10, Ct));
        await instance.StopAsync();
    }

    private async Task<bool> PendingAsync(string watchId)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM leases WHERE name = @name;", connection);
        command.Parameters.AddWithValue("name", PendingPings.Prefix + watchId);
        return (long)(await command.ExecuteScalarAsync(Ct))! == 1;
    }

    /// <summary>One instance: the pending pings, a scheduler whose syncs (under the sync lease) are counted, and the sweeper.</summary>
    private sealed class Instance : IAsyncDisposable
    {
        private readonly LeaseSweeper _sweeper;

        public Instance(PostgresStore store)
        {
            var kind = new StoreKind("postgres", Shared: true);
            var leases = new SyncLeases(store, kind, TimeToLive, Clock, NullLogger<SyncLeases>.Instance);
            SyncScheduler? scheduler = null;
            scheduler = new SyncScheduler(
                leases.Wrap((watchId, _) =>
                {
                    Runs.AddOrUpdate(watchId, 1, (_, runs) => runs + 1);
                    return Task.FromResult(new SyncOutcome(SyncResult.Synced));
                }, id => scheduler!.RequestSync(id)),
                _ => Task.FromResult<IReadOnlyList<WatchLastSync>>([]),
                new SyncOptions { SafetyNetJitter = 0 },
                Clock,
                NullLogger<SyncScheduler>.Instance);
            Scheduler = scheduler;
            Pings = new PendingPings(store, kind, Scheduler, TimeToLive, Clock, NullLogger<PendingPings>.Instance);
            _sweeper = new LeaseSweeper(store, Scheduler, TimeToLive, Clock, NullLogger<LeaseSweeper>.Instance);
        }

        public FakeTimeProvider Clock { get; } = new(Start);

        public SyncScheduler Scheduler { get; }

        public PendingPings Pings { get; }

        public ConcurrentDictionary<string, int> Runs { get; } = new(StringComparer.Ordinal);

        public int Total => Runs.Values.Sum();

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await Scheduler.StartAsync(cancellationToken);
            await Pings.StartAsync(cancellationToken);
            await _sweeper.StartAsync(cancellationToken);
        }

        public async Task StopAsync()
        {
            await _sweeper.StopAsync(CancellationToken.None);
            await Pings.StopAsync(CancellationToken.None);
            await Scheduler.StopAsync(CancellationToken.None);
        }

        public async ValueTask DisposeAsync()
        {
            _sweeper.Dispose();
            Pings.Dispose();
            await Scheduler.DisposeAsync();
        }
    }
}
