using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Dashboard;

/// <summary><c>GET /v1/accounts</c>, <c>GET/DELETE /v1/accounts/{id}</c>, and re-authorising an account that needs it.</summary>
public sealed class AccountsAdminTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private EmulatorWorld _world = null!;

    public async Task InitializeAsync() => _world = await EmulatorWorld.StartAsync();

    public Task DisposeAsync() => _world.DisposeAsync().AsTask();

    [Fact]
    public async Task Accounts_are_listed_and_read_without_their_secret()
    {
        var refresh = (await _world.Control.CreateTokensAsync("list@example.com")).RefreshToken;
        var id = await AddAccountAsync("list@example.com", refresh);

        var list = await _world.Calhook.Client.GetStringAsync(new Uri("/v1/accounts", UriKind.Relative));
        var one = (await _world.Calhook.Client.GetFromJsonAsync<JsonObject>($"/v1/accounts/{id}"))!;

        Assert.Equal(id, (string?)JsonNode.Parse(list)!["items"]![0]!["id"]);
        Assert.DoesNotContain(refresh, list, StringComparison.Ordinal);
        Assert.Equal("list@example.com", (string?)one["email"]);
        Assert.Equal("active", (string?)one["status"]);
        Assert.Equal(0, (int)one["watches"]!);
        using var missing = await _world.Calhook.Client.GetAsync(new Uri("/v1/accounts/acc_nope", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Deleting_an_account_stops_its_watches_and_their_channels()
    {
        const string user = "delete@example.com";
        var refresh = (await _world.Control.CreateTokensAsync(user)).RefreshToken;
        var id = await AddAccountAsync(user, refresh);
        var watch = await WatchAsync(id, user);
        await Polling.EventuallyAsync(async () => (await _world.Control.GetChannelsAsync(user)).Count == 1, Generous, "the watch's channel is open");

        using var deleted = await _world.Calhook.Client.DeleteAsync(new Uri($"/v1/accounts/{id}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Polling.EventuallyAsync(async () => (await _world.Control.GetChannelsAsync(user)).Count == 0, Generous, "the channel is stopped at Google");
        Assert.Empty((await _world.Calhook.Client.GetFromJsonAsync<JsonObject>("/v1/accounts"))!["items"]!.AsArray());
        Assert.DoesNotContain((await _world.Calhook.Client.GetFromJsonAsync<JsonObject>("/v1/watches"))!["items"]!.AsArray(), w => (string?)w!["id"] == watch);
        using var again = await _world.Calhook.Client.DeleteAsync(new Uri($"/v1/accounts/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);

        // The deleted account cannot be watched with again.
        using var rewatch = await _world.Calhook.Client.PostAsJsonAsync("/v1/watches", new { accountId = id, calendarId = user });
        Assert.Equal(HttpStatusCode.BadRequest, rewatch.StatusCode);
        Assert.Contains($"Account '{id}' does not exist", await rewatch.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adding_the_same_email_again_reauthorises_the_account_and_resumes_its_watches()
    {
        const string user = "reauth@example.com";
        // The grant is revoked after the account was connected: the watch's requests fail with invalid_grant.
        var id = await AddAccountAsync(user, (await _world.Control.CreateTokensAsync(user)).RefreshToken);
        Assert.True(await _world.Control.RevokeAsync(user) > 0);
        var watch = await WatchAsync(id, user);
        await Polling.EventuallyAsync(async () => (string?)(await WatchStateAsync(watch))["status"] == "needs_reauth", Generous, "the watch needs re-authorisation");
        Assert.Equal("needs_reauth", (string?)(await _world.Calhook.Client.GetFromJsonAsync<JsonObject>($"/v1/accounts/{id}"))!["status"]);

        var refresh = (await _world.Control.CreateTokensAsync(user)).RefreshToken;
        using var again = await _world.Calhook.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email = user, refreshToken = refresh });

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(id, (string?)(await again.Content.ReadFromJsonAsync<JsonObject>())!["id"]);
        var resumed = await Polling.EventuallyAsync(() => WatchStateAsync(watch),
            w => (string?)w["status"] == "active" && w["lastSyncAt"] is not null && w["channelId"] is not null, Generous, "the watch resumes by itself");
        Assert.Null(resumed["error"]);
        Assert.Equal("active", (string?)(await _world.Calhook.Client.GetFromJsonAsync<JsonObject>($"/v1/accounts/{id}"))!["status"]);
        Assert.Single((await _world.Calhook.Client.GetFromJsonAsync<JsonObject>("/v1/accounts"))!["items"]!.AsArray());
    }

    private async Task<string> AddAccountAsync(string email, string refreshToken)
    {
        using var response = await _world.Calhook.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email, refreshToken });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<string> WatchAsync(string accountId, string calendarId)
    {
        using var response = await _world.Calhook.Client.PostAsJsonAsync("/v1/watches", new { accountId, calendarId });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<JsonObject> WatchStateAsync(string id) => (await _world.Calhook.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{id}"))!;
}
