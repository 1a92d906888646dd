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
    public async Task A_service_account_with_a_valid_key_and_subject_is_created()
    {
        using var rsa = RSA.Create(2048);
        var key = new
        {
            type = "service_account",
            client_email = "calhook@project.iam.gserviceaccount.com",
            private_key = rsa.ExportPkcs8PrivateKeyPem(),
            private_key_id = "k1",
            project_id = "project",
        };
        var response = await _world.Api.PostAsJsonAsync("v1/accounts", new { type = "serviceAccount", key, subject = "alice@example.com" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
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
