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
/// Two instances' sync schedulers on one PostgreSQL database, each with its own instance id and clock: the start-up
/// catch-up and the safety net run on one of them (the holder of the lease <c>safety-net</c>), not on both; when that
/// one stops renewing its lease (it died), the other takes over and catches up every watch. The syncs themselves are
/// counted, not run: what is under test is who asks for them.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SafetyNetLeadershipTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly string[] Watches = ["w1", "w2", "w3"];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private string _connectionString = "";
    private PostgresStore? _store;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        (_store, _connectionString) = await postgres.CreateStoreAsync("safetynet", Ct);
    }

    public async Task DisposeAsync()
    {
        await _store!.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task One_instance_runs_the_catch_up_and_the_safety_net_and_another_takes_over_when_it_dies()
    {
        await using var first = new Instance(_store!);
        await using var second = new Instance(_store!);
        await first.Scheduler.StartAsync(Ct);
        await second.Scheduler.StartAsync(Ct);

        // Both tried to lead at start; one leads and catches up every watch once, the other asked and waits.
        await Polling.EventuallyAsync(async () => first.Total + second.Total == Watches.Length && await AskedAsync(), Patience,
            "one catch-up pass over every watch, the other instance having asked for the lease");
        var (leader, follower) = first.Total > 0 ? (first, second) : (second, first);
        Assert.Equal(Watches, leader.Runs.Keys.Order());
        Assert.All(leader.Runs.Values, runs => Assert.Equal(1, runs));
        Assert.Equal(0, follower.Total);

        // An interval on, the leader (renewing its lease meanwhile) runs the safety net; the follower still runs nothing.
        // Clocks move a step per probe: a timer may be set only just after the condition it follows became true.
        await Polling.EventuallyAsync(() =>
        {
            leader.Clock.Advance(TimeSpan.FromSeconds(5));
            return Task.FromResult(leader.Total == 2 * Watches.Length);
        }, Patience, "the leader's safety-net pass");
        Assert.True(leader.Clock.GetUtcNow() >= Start + Interval, "not before the interval");
        Assert.Equal(leader.Id, await HolderAsync());
        Assert.Equal(0, follower.Total);

        // The leader dies: its clock stops, so it never renews again. Once its lease expired on the follower's clock,
        // the follower leads and catches up every watch.
        await Polling.EventuallyAsync(() =>
        {
            follower.Clock.Advance(TimeSpan.FromSeconds(30));
            return Task.FromResult(follower.Total == Watches.Length);
        }, Patience, "the new leader's catch-up pass");
        Assert.True(follower.Clock.GetUtcNow() > Start + Interval + TimeToLive, "not before the leader's lease expired");
        Assert.Equal(follower.Id, await HolderAsync());
        Assert.All(follower.Runs.Values, runs => Assert.Equal(1, runs));
        Assert.Equal(2 * Watches.Length, leader.Total);
    }

    private async Task<bool> AskedAsync() => await QueryAsync("SELECT requested FROM leases WHERE name = 'safety-net';") is true;

    private async Task<string?> HolderAsync() => await QueryAsync("SELECT holder FROM leases WHERE name = 'safety-net';") as string;

    private async Task<object?> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Ct);
    }

    /// <summary>One instance: a scheduler whose syncs are counted, leading the safety net under its own instance id and clock.</summary>
    private sealed class Instance : IAsyncDisposable
    {
        private readonly StoreKind _kind = new("postgres", Shared: true);

        public Instance(PostgresStore store)
        {
            var leadership = new SafetyNetLeadership(store, _kind, TimeToLive, Clock, NullLogger<SafetyNetLeadership>.Instance);
            Scheduler = new SyncScheduler(
                (watchId, _) =>
                {
                    Runs.AddOrUpdate(watchId, 1, (_, runs) => runs + 1);
                    return Task.FromResult(new SyncOutcome(SyncResult.Synced));
                },
                _ => Task.FromResult<IReadOnlyList<WatchLastSync>>([.. Watches.Select(id => new WatchLastSync(id, null))]),
                new SyncOptions { SafetyNetInterval = Interval, SafetyNetJitter = 0 },
                Clock,
                NullLogger<SyncScheduler>.Instance)
            {
                LeadSafetyNet = leadership.LeadAsync,
            };
        }

        public FakeTimeProvider Clock { get; } = new(Start);

        public SyncScheduler Scheduler { get; }

        public ConcurrentDictionary<string, int> Runs { get; } = new(StringComparer.Ordinal);

        public int Total => Runs.Values.Sum();

        public string Id => _kind.InstanceId;

        public ValueTask DisposeAsync() => Scheduler.DisposeAsync();
    }
}
