using Calhook.Changes;
using Calhook.Storage;
using Calhook.Tests.Storage;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Changes;

/// <summary>
/// A real Calhook host whose change log is filled through the store, as a sync commits it (commit, then signal). The
/// watch is stopped, so no background sync ever calls Google: the rig of the feed, stream and delivery tests, where
/// what matters is the log, not how Google produced it. (Tests that need Google behind Calhook use
/// <see cref="EmulatorWorld"/> and the rigs built on it.) <c>DeliveryRig</c> adds webhook subscriptions on top of this.
/// </summary>
internal sealed class FeedHost : IAsyncDisposable
{
    public const string WatchId = "wat_feed";

    /// <summary>When every change of this rig was detected.</summary>
    public static readonly DateTimeOffset Detected = new(2026, 11, 28, 10, 0, 0, 123, TimeSpan.Zero);

    private int _next;

    private FeedHost(CalhookTestHost host) => Host = host;

    public CalhookTestHost Host { get; }

    public HttpClient Client => Host.Client;

    public ICalhookStore Store => Host.Services.GetRequiredService<ICalhookStore>();

    /// <summary>Starts the host with extra <paramref name="settings"/>, on <paramref name="time"/> when given (a fake clock).</summary>
    public static Task<FeedHost> StartAsync(IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var options = new CalhookTestHostOptions();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            options.Settings[key] = value;
        }

        if (time is not null)
        {
            options.ConfigureServices = services => services.AddSingleton(time);
        }

        return StartAsync(options);
    }

    public static async Task<FeedHost> StartAsync(CalhookTestHostOptions options)
    {
        var host = await CalhookTestHost.StartAsync(options);
        var feed = new FeedHost(host);
        await feed.SeedAsync();
        return feed;
    }

    /// <summary>The account and the (stopped) watch the changes belong to; idempotent per data directory.</summary>
    private async Task SeedAsync()
    {
        if (await Store.GetWatchAsync(WatchId, CancellationToken.None) is not null)
        {
            return;
        }

        await Store.AddAccountAsync(new AccountRecord("acc_feed", AccountKind.OAuth, "alice@example.com", null, "x", AccountStatus.Active, null, Detected), CancellationToken.None);
        await Store.AddWatchAsync(new WatchRecord(WatchId, "acc_feed", "alice@example.com", WatchStatus.Stopped, null, Detected, null, null), CancellationToken.None);
    }

    public async Task RestartAsync()
    {
        await Host.StopAsync();
        await Host.StartAsync();
    }

    /// <summary>Commits one sync with the given changes on <paramref name="calendarId"/> and signals it, as the syncer does.</summary>
    public async Task<IReadOnlyList<Change>> CommitAsync(string calendarId, params NewChange[] changes)
    {
        var appended = await Store.CommitNextAsync(
            new SyncCommit(WatchId, calendarId, Detected, [], changes, $"tok{Interlocked.Increment(ref _next)}", ExpectedSyncToken: null), CancellationToken.None);
        Host.Services.GetRequiredService<ChangeNotifier>().Notify(appended[^1].Sequence);
        return appended;
    }

    /// <summary>Commits one sync with one change of each given type (each on a new event) and signals it.</summary>
    public Task<IReadOnlyList<Change>> CommitAsync(string calendarId, params string[] types) =>
        CommitAsync(calendarId, [.. types.Select(type =>
        {
            var id = NextEventId();
            var json = $$"""{"id":"{{id}}","status":"confirmed","summary":"Event {{id}}"}""";
            return new NewChange($"chg_{Guid.NewGuid():N}", type, id, null, null,
                type == ChangeTypes.Deleted ? null : json, type == ChangeTypes.Created ? null : json, []);
        })]);

    /// <summary>Commits one sync with one <c>event.updated</c> whose diff has the given paths, and signals it.</summary>
    public async Task<Change> CommitUpdateAsync(string calendarId, params string[] diffPaths)
    {
        var id = NextEventId();
        var json = $$"""{"id":"{{id}}","status":"confirmed","summary":"Event {{id}}"}""";
        var diff = diffPaths.Select(path => new FieldChange(path, null, null)).ToList();
        return (await CommitAsync(calendarId, new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Updated, id, null, null, json, json, diff)))[0];
    }

    /// <summary>Commits one sync of <paramref name="count"/> created events of about <paramref name="bytesEach"/> bytes each, and signals it.</summary>
    public Task CommitLargeAsync(string calendarId, int count, int bytesEach)
    {
        var padding = new string('x', bytesEach);
        return CommitAsync(calendarId, [.. Enumerable.Range(0, count).Select(_ =>
        {
            var id = NextEventId();
            return new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Created, id, null, null,
                $$"""{"id":"{{id}}","status":"confirmed","description":"{{padding}}"}""", null, []);
        })]);
    }

    /// <summary>Commits one sync that creates the event <paramref name="eventJson"/> (its id is <c>ev_raw</c>) and signals it.</summary>
    public Task CommitCreatedAsync(string calendarId, string eventJson) =>
        CommitAsync(calendarId, new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Created, "ev_raw", null, null, eventJson, null, []));

    /// <summary>An <c>event.created</c> of a new event, to commit.</summary>
    public NewChange Created()
    {
        var id = NextEventId();
        return new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Created, id, null, null, $$"""{"id":"{{id}}","summary":"Event {{id}}"}""", null, []);
    }

    private string NextEventId() => $"ev{Interlocked.Increment(ref _next)}";

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
