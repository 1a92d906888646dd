using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Accounts;

/// <summary>
/// A service account with domain-wide delegation, end to end over loopback: a key issued by the emulator, the account
/// in Calhook, a watch of the subject's primary calendar, a change made as that user, the change in the feed.
/// </summary>
public sealed class ServiceAccountEndToEndTests : IAsyncLifetime
{
    private const string Subject = "erin@example.com";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private EmulatorWorld _world = null!;

    public async Task InitializeAsync() => _world = await EmulatorWorld.StartAsync(o => o.Settings["Calhook:Receiving:FlushInterval"] = "00:00:00.100");

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Fact]
    public async Task A_change_made_by_the_delegated_subject_reaches_the_feed()
    {
        var key = await CreateKeyAsync();
        // A key downloaded from Google names Google's token server: Calhook must still ask the configured one.
        key["token_uri"] = "https://oauth2.googleapis.com/token";
        var accountId = await AddServiceAccountAsync(key, Subject);
        var watchId = await WatchAsync(accountId, Subject);

        var channels = await Polling.EventuallyAsync(() => _world.Control.GetChannelsAsync(Subject), c => c.Count == 1, Timeout,
            "Calhook opened a channel on the subject's calendar");
        Assert.Equal(Subject, channels[0].User);
        await Polling.EventuallyAsync(() => _world.WatchStateAsync(watchId), w => w["lastSyncAt"] is not null, Timeout,
            "the baseline sync of the subject's calendar is committed");

        var (subject, _) = await _world.SignInAsync(Subject);
        using var google = subject;
        await EmulatorWorld.InsertEventAsync(google, Subject, "Quarterly planning");

        var changes = await Polling.EventuallyAsync(ChangesAsync, c => c.Count > 0, Timeout, "the creation is in the feed");
        var change = Assert.Single(changes);
        Assert.Equal("event.created", (string)change["type"]!);
        Assert.Equal(Subject, (string)change["calendarId"]!);
        Assert.Equal("Quarterly planning", (string)change["event"]!["summary"]!);
        Assert.Equal("active", (string)(await _world.WatchStateAsync(watchId))["status"]!);
    }

    [Fact]
    public async Task A_key_the_token_server_never_issued_is_refused_before_any_watch_or_channel()
    {
        using var rsa = RSA.Create(2048);
        var key = await CreateKeyAsync();
        key["private_key"] = rsa.ExportPkcs8PrivateKeyPem();

        using var response = await _world.Api.PostAsJsonAsync("v1/accounts", new { type = "serviceAccount", key, subject = Subject });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_grant", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await _world.Api.GetFromJsonAsync<JsonObject>("v1/accounts"))!["items"]!.AsArray());
        Assert.Empty(await _world.Control.GetChannelsAsync(Subject));
    }

    private async Task<JsonObject> CreateKeyAsync()
    {
        return JsonNode.Parse(await _world.Control.CreateServiceAccountKeyAsync("calhook-sync"))!.AsObject();
    }

    private async Task<string> AddServiceAccountAsync(JsonObject key, string subject) =>
        (string)(await _world.CreateAsync("v1/accounts", new { type = "serviceAccount", key, subject }))["id"]!;

    private async Task<string> WatchAsync(string accountId, string calendarId) => (string)(await _world.WatchAsync(accountId, calendarId))["id"]!;

    private async Task<List<JsonObject>> ChangesAsync()
    {
        var page = (await _world.Api.GetFromJsonAsync<JsonObject>($"v1/changes?after=0&calendarId={Uri.EscapeDataString(Subject)}"))!;
        return page["changes"]!.AsArray().Select(c => c!.AsObject()).ToList();
    }
}
