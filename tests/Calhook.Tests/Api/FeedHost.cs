using Calhook.Changes;
using Calhook.Storage;
using Calhook.Tests.Storage;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Api;

/// <summary>
/// A real Calhook host whose change log is filled through the store, as a sync commits it (commit, then signal).
/// The watch is stopped, so no background sync ever calls Google.
/// </summary>
internal sealed class FeedHost : IAsyncDisposable
{
    private int _next;

    private FeedHost(CalhookTestHost host) => Host = host;

    public CalhookTestHost Host { get; }

    public HttpClient Client => Host.Client;

    public const string WatchId = "wat_feed";

    /// <summary>Starts the host with extra <paramref name="settings"/>, on <paramref name="time"/> when given (a fake clock).</summary>
    public static async Task<FeedHost> StartAsync(IDictionary<string, string?>? settings = null, TimeProvider? time = null)
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

        var host = await CalhookTestHost.StartAsync(options);
        var store = host.Services.GetRequiredService<ICalhookStore>();
        var now = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        await store.AddAccountAsync(new AccountRecord("acc_feed", AccountKind.OAuth, "alice@example.com", null, "x", AccountStatus.Active, null, now), CancellationToken.None);
        await store.AddWatchAsync(new WatchRecord(WatchId, "acc_feed", "alice@example.com", WatchStatus.Stopped, null, now, null, null), CancellationToken.None);
        return new FeedHost(host);
    }

    /// <summary>Commits one sync with the given changes (type per entry) on <paramref name="calendarId"/> and signals it.</summary>
    public async Task<IReadOnlyList<Change>> CommitAsync(string calendarId, params string[] types)
    {
        var changes = types.Select(type =>
        {
            var id = $"ev{Interlocked.Increment(ref _next)}";
            var json = $$"""{"id":"{{id}}","status":"confirmed","summary":"Event {{id}}"}""";
            return new NewChange($"chg_{Guid.NewGuid():N}", type, id, null, null,
                type == ChangeTypes.Deleted ? null : json, type == ChangeTypes.Created ? null : json, []);
        }).ToList();
        var store = Host.Services.GetRequiredService<ICalhookStore>();
        var appended = await store.CommitNextAsync(
            new SyncCommit(WatchId, calendarId, new DateTimeOffset(2026, 11, 28, 10, 0, 0, 123, TimeSpan.Zero), [], changes, $"tok{_next}", ExpectedSyncToken: null),
            CancellationToken.None);
        Host.Services.GetRequiredService<ChangeNotifier>().Notify(appended[^1].Sequence);
        return appended;
    }

    /// <summary>Commits one sync with one <c>event.updated</c> whose diff has the given paths, and signals it.</summary>
    public async Task<Change> CommitUpdateAsync(string calendarId, params string[] diffPaths)
    {
        var id = $"ev{Interlocked.Increment(ref _next)}";
        var json = $$"""{"id":"{{id}}","status":"confirmed","summary":"Event {{id}}"}""";
        var diff = diffPaths.Select(path => new FieldChange(path, null, null)).ToList();
        var change = new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Updated, id, null, null, json, json, diff);
        var store = Host.Services.GetRequiredService<ICalhookStore>();
        var appended = await store.CommitNextAsync(
            new SyncCommit(WatchId, calendarId, new DateTimeOffset(2026, 11, 28, 10, 0, 0, 123, TimeSpan.Zero), [], [change], $"tok{_next}", ExpectedSyncToken: null),
            CancellationToken.None);
        Host.Services.GetRequiredService<ChangeNotifier>().Notify(appended[^1].Sequence);
        return appended[0];
    }

    /// <summary>Commits one sync of <paramref name="count"/> created events of about <paramref name="bytesEach"/> bytes each, and signals it.</summary>
    public async Task CommitLargeAsync(string calendarId, int count, int bytesEach)
    {
        var padding = new string('x', bytesEach);
        var changes = Enumerable.Range(0, count).Select(_ =>
        {
            var id = $"ev{Interlocked.Increment(ref _next)}";
            return new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Created, id, null, null,
                $$"""{"id":"{{id}}","status":"confirmed","description":"{{padding}}"}""", null, []);
        }).ToList();
        var store = Host.Services.GetRequiredService<ICalhookStore>();
        var appended = await store.CommitNextAsync(
            new SyncCommit(WatchId, calendarId, new DateTimeOffset(2026, 11, 28, 10, 0, 0, 123, TimeSpan.Zero), [], changes, $"tok{_next}", ExpectedSyncToken: null),
            CancellationToken.None);
        Host.Services.GetRequiredService<ChangeNotifier>().Notify(appended[^1].Sequence);
    }

    /// <summary>Commits one sync that creates the event <paramref name="eventJson"/> (its id is <c>ev_raw</c>) and signals it.</summary>
    public async Task CommitCreatedAsync(string calendarId, string eventJson)
    {
        var change = new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Created, "ev_raw", null, null, eventJson, null, []);
        var store = Host.Services.GetRequiredService<ICalhookStore>();
        var appended = await store.CommitNextAsync(
            new SyncCommit(WatchId, calendarId, new DateTimeOffset(2026, 11, 28, 10, 0, 0, 123, TimeSpan.Zero), [], [change], $"tok_raw{Interlocked.Increment(ref _next)}", ExpectedSyncToken: null),
            CancellationToken.None);
        Host.Services.GetRequiredService<ChangeNotifier>().Notify(appended[^1].Sequence);
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
