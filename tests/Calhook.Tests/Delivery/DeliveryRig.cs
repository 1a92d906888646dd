using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.TestKit;
using Calhook.Tests.Changes;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Delivery;

/// <summary>
/// The <see cref="FeedHost"/> (a change log filled through the store, no Google) with a short retry schedule (50 ms,
/// 100 ms, 150 ms: four attempts) so retry stories finish in moments, and the subscription helpers of the delivery tests.
/// </summary>
internal sealed class DeliveryRig : IAsyncDisposable
{
    private DeliveryRig(FeedHost feed) => Feed = feed;

    public FeedHost Feed { get; }

    public CalhookTestHost Host => Feed.Host;

    public HttpClient Client => Feed.Client;

    public ICalhookStore Store => Feed.Store;

    public static async Task<DeliveryRig> StartAsync(Action<CalhookTestHostOptions>? configure = null)
    {
        var options = new CalhookTestHostOptions();
        options.Settings["Calhook:Delivery:RetryDelays:0"] = "00:00:00.050";
        options.Settings["Calhook:Delivery:RetryDelays:1"] = "00:00:00.100";
        options.Settings["Calhook:Delivery:RetryDelays:2"] = "00:00:00.150";
        options.Settings["Calhook:Delivery:AttemptTimeout"] = "00:00:05";
        configure?.Invoke(options);
        return new DeliveryRig(await FeedHost.StartAsync(options));
    }

    public Task RestartAsync() => Feed.RestartAsync();

    /// <summary>Commits one sync creating <paramref name="count"/> events on <paramref name="calendarId"/>, and signals it.</summary>
    public Task<IReadOnlyList<Change>> CreateAsync(string calendarId, int count = 1) =>
        Feed.CommitAsync(calendarId, [.. Enumerable.Range(0, count).Select(_ => Feed.Created())]);

    /// <summary>Commits one sync with the given changes and signals it, as the syncer does.</summary>
    public Task<IReadOnlyList<Change>> CommitAsync(string calendarId, params NewChange[] changes) => Feed.CommitAsync(calendarId, changes);

    public NewChange Created() => Feed.Created();

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

    public ValueTask DisposeAsync() => Feed.DisposeAsync();
}
