using System.Net;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Flows;
using Google.Apis.Auth.OAuth2.Responses;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Emulator.Tests.Users;

public sealed class AuthTests
{
    [Fact]
    public async Task Missing_and_unknown_tokens_get_googles_401()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = host.Server.BaseAddress };
        var (status, json) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(), client: anonymous);
        EmulatorHost.AssertError(401, "required", status, json);
        Assert.Equal("UNAUTHENTICATED", (string)json!["error"]!["status"]!);
        using var wrong = host.ClientFor("ya29.nope");
        var (status2, json2) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(), client: wrong);
        EmulatorHost.AssertError(401, "authError", status2, json2);
    }

    [Fact]
    public async Task Another_users_calendar_is_404()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var asBob = await host.SignInAsync("bob@example.com");
        var (status, json) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(EmulatorHost.Alice), client: asBob);
        EmulatorHost.AssertError(404, "notFound", status, json);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath("primary"), client: asBob)).Status);
    }

    [Fact]
    public async Task Access_tokens_expire_after_an_hour()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath())).Status);
        clock.Advance(TimeSpan.FromSeconds(3601));
        var (status, json) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath());
        EmulatorHost.AssertError(401, "authError", status, json);
    }

    [Fact]
    public async Task Consent_page_redirects_with_a_code_that_the_token_endpoint_exchanges()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Server.BaseAddress };
        var page = await browser.GetStringAsync("o/oauth2/v2/auth?client_id=x&redirect_uri=http://localhost/cb&response_type=code&scope=calendar&state=s1&login_hint=carol@example.com");
        Assert.Contains("carol@example.com", page, StringComparison.Ordinal);
        var approve = await browser.PostAsync("o/oauth2/v2/auth", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["user"] = "carol@example.com", ["redirect_uri"] = "http://localhost/cb", ["state"] = "s1", ["scope"] = "calendar",
        }));
        Assert.Equal(HttpStatusCode.Redirect, approve.StatusCode);
        var location = approve.Headers.Location!.ToString();
        Assert.StartsWith("http://localhost/cb?code=", location, StringComparison.Ordinal);
        Assert.Contains("state=s1", location, StringComparison.Ordinal);
        var code = Uri.UnescapeDataString(location.Split("code=")[1].Split('&')[0]);

        var flow = Flow(host);
        var token = await flow.ExchangeCodeForTokenAsync("carol", code, "http://localhost/cb", CancellationToken.None);
        Assert.StartsWith("ya29.", token.AccessToken, StringComparison.Ordinal);
        Assert.NotNull(token.RefreshToken);
        using var asCarol = host.ClientFor(token.AccessToken);
        Assert.Equal("carol@example.com", (string)(await host.SendAsync(HttpMethod.Get, "calendar/v3/calendars/primary", client: asCarol)).Json!["id"]!);
        await Assert.ThrowsAsync<TokenResponseException>(() => flow.ExchangeCodeForTokenAsync("carol", code, "http://localhost/cb", CancellationToken.None));
    }

    [Fact]
    public async Task Google_auth_library_refreshes_against_the_emulator_and_revocation_needs_reauthorisation()
    {
        await using var host = await EmulatorHost.StartAsync();
        var flow = Flow(host);
        var credential = new UserCredential(flow, "alice", new TokenResponse { RefreshToken = host.RefreshToken, ExpiresInSeconds = 0, IssuedUtc = DateTime.UnixEpoch });
        var access = await credential.GetAccessTokenForRequestAsync();
        using var client = host.ClientFor(access);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(), client: client)).Status);

        await host.Control.RevokeAsync(EmulatorHost.Alice);
        var failure = await Assert.ThrowsAsync<TokenResponseException>(() => flow.RefreshTokenAsync("alice", host.RefreshToken, CancellationToken.None));
        Assert.Equal("invalid_grant", failure.Error.Error);
        var (status, json) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(), client: client);
        EmulatorHost.AssertError(401, "authError", status, json);
    }

    // GoogleAuthorizationCodeFlow pins Google's token URL (its URL-taking initializer is not public); its base class
    // AuthorizationCodeFlow runs the same code-exchange and refresh logic against any token server.
    private static AuthorizationCodeFlow Flow(EmulatorHost host) => new(new AuthorizationCodeFlow.Initializer(
        new Uri(host.Server.BaseAddress, "o/oauth2/v2/auth").ToString(), new Uri(host.Server.BaseAddress, "token").ToString())
    {
        ClientSecrets = new ClientSecrets { ClientId = "any-client", ClientSecret = "any-secret" },
        Scopes = ["https://www.googleapis.com/auth/calendar"],
    });
}
