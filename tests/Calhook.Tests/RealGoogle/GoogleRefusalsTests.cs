using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Calhook.Google;
using Calhook.Storage;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.RealGoogle;

/// <summary>
/// Quota and credential refusals, as Google sends them (recorded error bodies, documented token-server answers), from
/// a fake Google to the real host.
/// </summary>
public sealed class GoogleRefusalsTests : IAsyncLifetime
{
    private const string Calendar = "test.user@gmail.com";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private FakeGoogle _google = null!;
    private CalhookTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _google = await FakeGoogle.StartAsync();
        var options = new CalhookTestHostOptions { GoogleBaseUrl = _google.BaseAddress };
        options.Settings["Calhook:Google:MaxRetryAttempts"] = "2";
        options.Settings["Calhook:Google:RetryBaseDelay"] = "00:00:00.010";
        _host = await CalhookTestHost.StartAsync(options);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _google.DisposeAsync();
    }

    [Fact]
    public async Task A_spent_daily_quota_is_asked_once_then_nothing_is_asked_before_it_resets()
    {
        _google.FullListStatus = 403;
        _google.FullList = Recorded.Body("error-403-dailyLimitExceeded");
        var account = await AddOAuthAccountAsync();
        var watchId = await WatchAsync(account);

        var watch = await Polling.EventuallyAsync(() => WatchStateAsync(watchId), w => (string?)w["status"] == "failing", Timeout, "the watch says the quota is spent");
        Assert.Contains("resets at", (string)watch["error"]!, StringComparison.Ordinal);
        Assert.Single(_google.ListQueries);

        // Every later call (another sync, a channel renewal) is refused here without asking Google.
        var client = _host.Services.GetRequiredService<GoogleCalendarClient>();
        var again = await client.ListEventsPageAsync(account, Calendar, null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.QuotaExhausted, again.Error?.Kind);
        Assert.Equal(GoogleQuota.NextReset(TimeProvider.System.GetUtcNow()), again.Error?.RetryAt);
        Assert.Single(_google.ListQueries);
    }

    [Fact]
    public async Task A_rate_limit_is_retried_on_the_short_schedule()
    {
        _google.FullListStatus = 403;
        _google.FullList = Recorded.Body("error-403-rateLimitExceeded");
        var account = await AddOAuthAccountAsync();

        var client = _host.Services.GetRequiredService<GoogleCalendarClient>();
        var listed = await client.ListEventsPageAsync(account, Calendar, null, null, CancellationToken.None);

        Assert.Equal(GoogleErrorKind.RateLimited, listed.Error?.Kind);
        Assert.Equal(3, _google.ListQueries.Count);
        Assert.Null(listed.Error?.RetryAt);
    }

    [Fact]
    public async Task A_service_account_assertion_refused_for_its_times_is_a_clear_failure_not_a_reauthorisation()
    {
        _google.Token = new FakeGoogle.Step(400, """
            {"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}
            """);
        using var rsa = RSA.Create(2048);
        var key = new JsonObject
        {
            ["type"] = "service_account", ["client_email"] = "calhook@project.iam.gserviceaccount.com", ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["private_key_id"] = "k1", ["project_id"] = "project",
        };
        var response = await _host.Client.PostAsJsonAsync("v1/accounts", new { type = "serviceAccount", key, subject = Calendar });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var account = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var watchId = await WatchAsync(account);

        var watch = await Polling.EventuallyAsync(() => WatchStateAsync(watchId), w => (string?)w["status"] == "failing" && w["error"] is not null,
            Timeout, "the watch fails with the token server's reason");
        Assert.Contains("clock", (string)watch["error"]!, StringComparison.Ordinal);
        Assert.Contains("short-lived", (string)watch["error"]!, StringComparison.Ordinal);
        var stored = await _host.Services.GetRequiredService<ICalhookStore>().GetAccountAsync(account, CancellationToken.None);
        Assert.Equal(AccountStatus.Active, stored!.Status);
    }

    [Fact]
    public async Task A_refresh_token_revoked_after_it_was_added_needs_reauthorisation()
    {
        // Google.Apis.Auth refreshes a token that expires within minutes: the watch's first request asks again.
        _google.Token = new FakeGoogle.Step(200, """{"access_token":"fake-access-token","expires_in":60,"token_type":"Bearer"}""");
        var account = await AddOAuthAccountAsync();
        _google.Token = new FakeGoogle.Step(400, """{"error":"invalid_grant","error_description":"Token has been expired or revoked."}""");
        var watchId = await WatchAsync(account);

        var watch = await Polling.EventuallyAsync(() => WatchStateAsync(watchId), w => (string?)w["status"] == "needs_reauth", Timeout, "the watch needs re-authorisation");
        Assert.Contains("re-authorise", (string)watch["error"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refresh_token_Google_refuses_when_it_is_added_is_answered_with_Googles_reason()
    {
        _google.Token = new FakeGoogle.Step(400, """{"error":"invalid_grant","error_description":"Token has been expired or revoked."}""");

        using var response = await _host.Client.PostAsJsonAsync("v1/accounts", new { type = "oauth", email = Calendar, refreshToken = "1//recorded-refresh" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_grant: Token has been expired or revoked.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await _host.Services.GetRequiredService<ICalhookStore>().ListAccountsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task An_account_added_while_the_token_server_fails_is_stored_and_its_watch_works_once_it_answers()
    {
        _google.Token = new FakeGoogle.Step(500, """{"error":"internal_failure"}""");
        var account = await AddOAuthAccountAsync();

        _google.Token = new FakeGoogle.Step(200, """{"access_token":"fake-access-token","expires_in":3600,"token_type":"Bearer"}""");
        var watchId = await WatchAsync(account);

        await Polling.EventuallyAsync(() => WatchStateAsync(watchId), w => w["lastSyncAt"] is not null, Timeout, "the watch's baseline is committed");
    }

    [Fact]
    public async Task The_access_token_the_check_was_given_serves_the_first_watch()
    {
        var account = await AddOAuthAccountAsync();
        // The token server fails from now on: only the token the account's check was given can open the channel and list.
        _google.Token = new FakeGoogle.Step(500, """{"error":"internal_failure"}""");
        var watchId = await WatchAsync(account);

        await Polling.EventuallyAsync(() => WatchStateAsync(watchId), w => w["lastSyncAt"] is not null && w["channelId"] is not null, Timeout,
            "the watch opened its channel and committed its baseline");
    }

    private async Task<string> AddOAuthAccountAsync()
    {
        var response = await _host.Client.PostAsJsonAsync("v1/accounts", new { type = "oauth", email = Calendar, refreshToken = "1//recorded-refresh" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<string> WatchAsync(string accountId)
    {
        var response = await _host.Client.PostAsJsonAsync("v1/watches", new { accountId, calendarId = Calendar });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<JsonObject> WatchStateAsync(string watchId) => (await _host.Client.GetFromJsonAsync<JsonObject>($"v1/watches/{watchId}"))!;
}
