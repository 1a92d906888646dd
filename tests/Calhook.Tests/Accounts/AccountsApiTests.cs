using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Accounts;

public sealed class AccountsApiTests : IAsyncLifetime
{
    private EmulatorWorld _world = null!;

    public async Task InitializeAsync() => _world = await EmulatorWorld.StartAsync(o =>
        o.Settings["Calhook:Receiving:VerificationFiles:google1234abcd.html"] = "google-site-verification: google1234abcd.html");

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Fact]
    public async Task An_oauth_account_is_created_and_its_refresh_token_is_encrypted_at_rest()
    {
        var refresh = (await _world.Control.CreateTokensAsync("bob@example.com")).RefreshToken;
        var response = await _world.Api.PostAsJsonAsync("v1/accounts", new { type = "oauth", email = "bob@example.com", refreshToken = refresh });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.StartsWith("acc_", id, StringComparison.Ordinal);
        Assert.True(Directory.EnumerateFiles(Path.Combine(_world.Calhook.DataDirectory, "keys")).Any(), "Data Protection keys are persisted in the data directory");
        if (!OperatingSystem.IsWindows())
        {
            // The key ring is plain XML on Linux: only the service's user may read its folder.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_world.Calhook.DataDirectory, "keys")));
        }
        foreach (var file in Directory.GetFiles(_world.Calhook.DataDirectory, "calhook.db*"))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            Assert.DoesNotContain(refresh, await reader.ReadToEndAsync());
        }
    }

    [Fact]
    public async Task A_service_account_with_a_key_the_token_server_accepts_is_created()
    {
        var key = JsonNode.Parse(await _world.Control.CreateServiceAccountKeyAsync("calhook-sync"))!;
        var response = await _world.Api.PostAsJsonAsync("v1/accounts", new { type = "serviceAccount", key, subject = "alice@example.com" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task A_refresh_token_Google_refuses_is_answered_when_it_is_added_and_nothing_is_stored()
    {
        var response = await _world.Api.PostAsJsonAsync("v1/accounts", new { type = "oauth", email = "bob@example.com", refreshToken = "1//never-issued" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!;
        Assert.Contains("invalid_grant", detail, StringComparison.Ordinal);
        Assert.Contains("nothing was stored", detail, StringComparison.Ordinal);
        Assert.Empty((await _world.Api.GetFromJsonAsync<JsonObject>("v1/accounts"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task A_new_refresh_token_Google_refuses_leaves_the_account_it_would_reauthorise_as_it_was()
    {
        const string user = "carol@example.com";
        var first = (await _world.Control.CreateTokensAsync(user)).RefreshToken;
        var id = (string)(await _world.CreateAsync("v1/accounts", new { type = "oauth", email = user, refreshToken = first }))["id"]!;

        var again = await _world.Api.PostAsJsonAsync("v1/accounts", new { type = "oauth", email = user, refreshToken = "1//never-issued" });

        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        var watch = await _world.WatchAsync(id, user);
        var state = await Polling.EventuallyAsync(() => _world.WatchStateAsync((string)watch["id"]!), w => w["lastSyncAt"] is not null,
            TimeSpan.FromSeconds(30), "the account still works with the token it had");
        Assert.Equal("active", (string?)state["status"]);
    }

    [Fact]
    public async Task A_service_account_key_the_token_server_never_issued_is_refused_when_it_is_added()
    {
        using var rsa = RSA.Create(2048);
        var key = JsonNode.Parse(await _world.Control.CreateServiceAccountKeyAsync("calhook-sync"))!.AsObject();
        key["private_key"] = rsa.ExportPkcs8PrivateKeyPem();

        var response = await _world.Api.PostAsJsonAsync("v1/accounts", new { type = "serviceAccount", key, subject = "alice@example.com" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!;
        Assert.Contains("refused the service account's credentials for 'alice@example.com'", detail, StringComparison.Ordinal);
        Assert.Empty((await _world.Api.GetFromJsonAsync<JsonObject>("v1/accounts"))!["items"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"type":"oauth","email":"bob@example.com"}""")]
    [InlineData("""{"type":"password","email":"bob@example.com","refreshToken":"x"}""")]
    [InlineData("""{"type":"serviceAccount","key":{"client_email":"a@b.c"},"subject":"alice@example.com"}""")]
    [InlineData("""{"type":"serviceAccount","key":{"client_email":"a@b.c","private_key":"not a key"},"subject":"alice@example.com"}""")]
    [InlineData("""{"type":"serviceAccount","key":{"client_email":"a@b.c","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}""")]
    public async Task An_invalid_account_is_refused_with_a_problem(string body)
    {
        var response = await _world.Api.PostAsync("v1/accounts", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_watch_of_an_unknown_account_is_refused()
    {
        var response = await _world.Api.PostAsJsonAsync("v1/watches", new { accountId = "acc_missing", calendarId = "alice@example.com" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await _world.Api.GetAsync("v1/watches/wch_missing")).StatusCode);
    }

    [Fact]
    public async Task Configured_verification_files_are_served_at_the_site_root()
    {
        var response = await _world.Api.GetAsync("google1234abcd.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("google-site-verification: google1234abcd.html", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }
}
