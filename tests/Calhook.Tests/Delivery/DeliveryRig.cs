using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.Tests.Storage;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Delivery;

/// <summary>
/// A real Calhook host on loopback whose change log is filled through the store as a sync commits it (commit, then
/// signal), with a short retry schedule (50 ms, 100 ms, 150 ms: four attempts) so retry stories finish in moments.
/// The watch is stopped, so no background sync ever calls Google.
/// </summary>
internal sealed class DeliveryRig : IAsyncDisposable
{
    public const string WatchId = "wat_delivery";
    private static readonly DateTimeOffset Detected = new(2026, 11, 28, 10, 0, 0, 123, TimeSpan.Zero);
    private int _next;

    private DeliveryRig(CalhookTestHost host) => Host = host;

    public CalhookTestHost Host { get; }

    public HttpClient Client => Host.Client;

    public ICalhookStore Store => Host.Services.GetRequiredService<ICalhookStore>();

    public static async Task<DeliveryRig> StartAsync(Action<CalhookTestHostOptions>? configure = null)
    {
        var options = new CalhookTestHostOptions();
        options.Settings["Calhook:Delivery:RetryDelays:0"] = "00:00:00.050";
        options.Settings["Calhook:Delivery:RetryDelays:1"] = "00:00:00.100";
        options.Settings["Calhook:Delivery:RetryDelays:2"] = "00:00:00.150";
        options.Settings["Calhook:Delivery:AttemptTimeout"] = "00:00:05";
        configure?.Invoke(options);
        var host = await CalhookTestHost.StartAsync(options);
        var rig = new DeliveryRig(host);
        await rig.SeedAsync();
        return rig;
    }

    /// <summary>The account and the (stopped) watch the changes belong to; idempotent per data directory.</summary>
    private async Task SeedAsync()
    {
        if (await Store.GetWatchAsync(WatchId, CancellationToken.None) is not null)
        {
            return;
        }

        await Store.AddAccountAsync(new AccountRecord("acc_delivery", AccountKind.OAuth, "alice@example.com", null, "x", AccountStatus.Active, null, Detected), CancellationToken.None);
        await Store.AddWatchAsync(new WatchRecord(WatchId, "acc_delivery", "alice@example.com", WatchStatus.Stopped, null, Detected, null, null), CancellationToken.None);
    }

    public async Task RestartAsync()
    {
        await Host.StopAsync();
        await Host.StartAsync();
    }

    /// <summary>Commits one sync creating <paramref name="count"/> events on <paramref name="calendarId"/>, and signals it.</summary>
    public Task<IReadOnlyList<Change>> CreateAsync(string calendarId, int count = 1) =>
        CommitAsync(calendarId, [.. Enumerable.Range(0, count).Select(_ => Created())]);

    /// <summary>Commits one sync with the given changes and signals it, as the syncer does.</summary>
    public async Task<IReadOnlyList<Change>> CommitAsync(string calendarId, params NewChange[] changes)
    {
        var appended = await Store.CommitNextAsync(
            new SyncCommit(WatchId, calendarId, Detected, [], changes, $"tok{Interlocked.Increment(ref _next)}", ExpectedSyncToken: null), CancellationToken.None);
        Host.Services.GetRequiredService<ChangeNotifier>().Notify(appended[^1].Sequence);
        return appended;
    }

    public NewChange Created()
    {
        var id = $"ev{Interlocked.Increment(ref _next)}";
        return new NewChange($"chg_{Guid.NewGuid():N}", ChangeTypes.Created, id, null, null, $$"""{"id":"{{id}}","summary":"Event {{id}}"}""", null, []);
    }

    /// <summary>An update of <paramref name="eventId"/> whose diff has exactly the given paths.</summary>
    public static NewChange Updated(string eventId, params string[] paths) => new(
        $"chg_{Guid.NewGuid():N}", ChangeTypes.Updated, eventId, null, null, $$"""{"id":"{{eventId}}"}""", $$"""{"id":"{{eventId}}"}""",
        [.. paths.Select(p => new FieldChange(p, JsonSerializer.SerializeToElement("a"), JsonSerializer.SerializeToElement("b")))]);

    /// <summary>Creates a subscription for <paramref name="subscriber"/> (which is told its secret) and returns its id.</summary>
    public async Task<string> SubscribeAsync(VerifyingSubscriber subscriber, JsonObject? extra = null)
    {
        var body = extra ?? [];
        body["url"] = subscriber.Url.ToString();
        using var response = await Client.PostAsJsonAsync("/v1/subscriptions", body);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonNode>())!;
        subscriber.Trust((string)created["secret"]!);
        return (string)created["id"]!;
    }

    public async Task<JsonNode> GetAsync(string path) => JsonNode.Parse(await Client.GetStringAsync(new Uri(path, UriKind.Relative)))!;

    public async Task<JsonNode> PostAsync(string path, JsonObject? body = null)
    {
        using var response = await Client.PostAsJsonAsync(path, body ?? []);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Waits until the subscriber accepted at least <paramref name="count"/> webhooks.</summary>
    public static Task<IReadOnlyList<ReceivedWebhook>> AcceptedAsync(VerifyingSubscriber subscriber, int count, string because) =>
        Polling.EventuallyAsync(() => Task.FromResult(subscriber.Accepted), a => a.Count >= count, TimeSpan.FromSeconds(20), because);

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
