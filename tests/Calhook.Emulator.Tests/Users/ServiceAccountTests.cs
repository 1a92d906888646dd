using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Emulator.Tests.Users;

/// <summary>Service accounts with domain-wide delegation: Google's jwt-bearer grant at <c>/token</c>.</summary>
public sealed class ServiceAccountTests
{
    private const string Scope = "https://www.googleapis.com/auth/calendar.readonly";

    [Fact]
    public async Task Key_file_is_in_googles_format_and_points_at_the_emulator()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host, "calhook-sync");
        Assert.Equal("service_account", (string)key["type"]!);
        Assert.Equal("calhook-sync@calendar-emulator.iam.gserviceaccount.com", (string)key["client_email"]!);
        Assert.Equal(new Uri(host.Server.BaseAddress, "token").ToString(), (string)key["token_uri"]!);
        Assert.Matches("^[0-9]{21}$", (string)key["client_id"]!);
        Assert.Matches("^[0-9a-f]{40}$", (string)key["private_key_id"]!);
        using var rsa = RSA.Create();
        rsa.ImportFromPem((string)key["private_key"]!);
        Assert.Equal(2048, rsa.KeySize);

        var second = await CreateKeyAsync(host, "calhook-sync");
        Assert.Equal((string)key["client_id"]!, (string)second["client_id"]!);
        Assert.NotEqual((string)key["private_key_id"]!, (string)second["private_key_id"]!);
        using var anonymous = new HttpClient { BaseAddress = host.Server.BaseAddress };
        var (status, json) = await host.SendAsync(HttpMethod.Post, "emulator/v1/service-accounts", new JsonObject { ["name"] = "Bad Name" }, client: anonymous);
        EmulatorHost.AssertError(400, "invalid", status, json);
    }

    [Fact]
    public async Task Google_service_account_credential_acts_as_its_subject_who_is_created_on_first_use()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(key.ToJsonString()).ToGoogleCredential()
            .CreateScoped(Scope).CreateWithUser("dave@example.com");
        var token = await ((ITokenAccess)credential).GetAccessTokenForRequestAsync();

        Assert.StartsWith("ya29.", token, StringComparison.Ordinal);
        using var asDave = host.ClientFor(token);
        var (status, calendar) = await host.SendAsync(HttpMethod.Get, "calendar/v3/calendars/primary", client: asDave);
        Assert.Equal(200, status);
        Assert.Equal("dave@example.com", (string)calendar!["id"]!);
        var (aliceStatus, _) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(EmulatorHost.Alice), client: asDave);
        Assert.Equal(404, aliceStatus);
    }

    [Fact]
    public async Task Without_a_subject_the_service_account_acts_as_itself()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(key.ToJsonString()).ToGoogleCredential().CreateScoped(Scope);
        var token = await ((ITokenAccess)credential).GetAccessTokenForRequestAsync();

        using var asItself = host.ClientFor(token);
        var (status, calendar) = await host.SendAsync(HttpMethod.Get, "calendar/v3/calendars/primary", client: asItself);
        Assert.Equal(200, status);
        Assert.Equal((string)key["client_email"]!, (string)calendar!["id"]!);
    }

    [Fact]
    public async Task A_token_answer_has_googles_fields_and_no_refresh_token()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        var (status, answer) = await PostAssertionAsync(host, Sign(key, Claims(key, TokenUrl(host), sub: EmulatorHost.Alice)));
        Assert.Equal(200, status);
        Assert.Equal("Bearer", (string)answer["token_type"]!);
        Assert.Equal(3600, (int)answer["expires_in"]!);
        Assert.Null(answer["refresh_token"]);
        using var asAlice = host.ClientFor((string)answer["access_token"]!);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(), client: asAlice)).Status);
    }

    [Fact]
    public async Task Googles_own_token_url_is_accepted_as_audience()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        var (status, _) = await PostAssertionAsync(host, Sign(key, Claims(key, "https://oauth2.googleapis.com/token")));
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_invalid_grant()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        using var impostor = RSA.Create(2048);
        var forged = key.DeepClone().AsObject();
        forged["private_key"] = impostor.ExportPkcs8PrivateKeyPem();
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(forged.ToJsonString()).ToGoogleCredential()
            .CreateScoped(Scope).CreateWithUser(EmulatorHost.Alice);

        var failure = await Assert.ThrowsAsync<TokenResponseException>(() => ((ITokenAccess)credential).GetAccessTokenForRequestAsync());
        Assert.Equal("invalid_grant", failure.Error.Error);
        Assert.Equal("Invalid JWT Signature.", failure.Error.ErrorDescription);

        var tampered = Sign(key, Claims(key, TokenUrl(host), sub: EmulatorHost.Alice)).Split('.');
        tampered[1] = Base64Url(Encoding.UTF8.GetBytes(Claims(key, TokenUrl(host), sub: "mallory@example.com").ToJsonString()));
        var (status, answer) = await PostAssertionAsync(host, string.Join('.', tampered));
        AssertOAuthError(400, "invalid_grant", status, answer);
    }

    [Fact]
    public async Task A_key_the_emulator_never_issued_is_invalid_grant()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var other = await EmulatorHost.StartAsync();
        var foreign = await CreateKeyAsync(other);
        foreign["token_uri"] = TokenUrl(host);
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(foreign.ToJsonString()).ToGoogleCredential().CreateScoped(Scope);

        var failure = await Assert.ThrowsAsync<TokenResponseException>(() => ((ITokenAccess)credential).GetAccessTokenForRequestAsync());
        Assert.Equal("invalid_grant", failure.Error.Error);
        Assert.Equal("Invalid grant: account not found", failure.Error.ErrorDescription);
    }

    [Fact]
    public async Task A_wrong_audience_is_invalid_grant()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        var (status, answer) = await PostAssertionAsync(host, Sign(key, Claims(key, "https://evil.example.com/token")));
        AssertOAuthError(400, "invalid_grant", status, answer);
        Assert.Contains("audience", (string)answer["error_description"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_assertion_expired_on_the_emulators_clock_is_invalid_grant()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        var key = await CreateKeyAsync(host);
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(key.ToJsonString()).ToGoogleCredential().CreateScoped(Scope);
        clock.Advance(TimeSpan.FromHours(2));

        var failure = await Assert.ThrowsAsync<TokenResponseException>(() => ((ITokenAccess)credential).GetAccessTokenForRequestAsync());
        Assert.Equal("invalid_grant", failure.Error.Error);
        Assert.Contains("iat and exp", failure.Error.ErrorDescription, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 7200)] // lives two hours
    [InlineData(3600, 3000)] // exp before iat
    [InlineData(900, 1800)] // iat a quarter of an hour in the future
    public async Task Insane_iat_or_exp_is_invalid_grant(int iatFromNowSeconds, int expFromNowSeconds)
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        var now = TimeProvider.System.GetUtcNow();
        var claims = Claims(key, TokenUrl(host), iat: now.AddSeconds(iatFromNowSeconds), exp: now.AddSeconds(expFromNowSeconds));
        var (status, answer) = await PostAssertionAsync(host, Sign(key, claims));
        AssertOAuthError(400, "invalid_grant", status, answer);
    }

    [Fact]
    public async Task Missing_scope_bad_subject_and_garbage_are_refused()
    {
        await using var host = await EmulatorHost.StartAsync();
        var key = await CreateKeyAsync(host);
        var noScope = Claims(key, TokenUrl(host));
        noScope.Remove("scope");
        var (status, answer) = await PostAssertionAsync(host, Sign(key, noScope));
        AssertOAuthError(400, "invalid_scope", status, answer);

        (status, answer) = await PostAssertionAsync(host, Sign(key, Claims(key, TokenUrl(host), sub: "not an email")));
        AssertOAuthError(400, "invalid_grant", status, answer);

        (status, answer) = await PostAssertionAsync(host, "not.a.jwt");
        AssertOAuthError(400, "invalid_grant", status, answer);

        (status, answer) = await PostAssertionAsync(host, "");
        AssertOAuthError(400, "invalid_request", status, answer);
    }

    private static async Task<JsonObject> CreateKeyAsync(EmulatorHost host, string? name = null) =>
        (JsonObject)JsonNode.Parse(await host.Control.CreateServiceAccountKeyAsync(name))!;

    private static string TokenUrl(EmulatorHost host) => new Uri(host.Server.BaseAddress, "token").ToString();

    private static JsonObject Claims(JsonObject key, string aud, string? sub = null, DateTimeOffset? iat = null, DateTimeOffset? exp = null)
    {
        var now = TimeProvider.System.GetUtcNow();
        var claims = new JsonObject
        {
            ["iss"] = (string)key["client_email"]!,
            ["aud"] = aud,
            ["scope"] = Scope,
            ["iat"] = (iat ?? now).ToUnixTimeSeconds(),
            ["exp"] = (exp ?? now.AddHours(1)).ToUnixTimeSeconds(),
        };
        if (sub is not null)
        {
            claims["sub"] = sub;
        }

        return claims;
    }

    /// <summary>An RS256 JWT signed with the key file's private key, as Google's client libraries build it.</summary>
    private static string Sign(JsonObject key, JsonObject claims)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem((string)key["private_key"]!);
        var header = new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = (string)key["private_key_id"]! };
        var input = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static async Task<(int Status, JsonObject Answer)> PostAssertionAsync(EmulatorHost host, string assertion)
    {
        using var anonymous = new HttpClient { BaseAddress = host.Server.BaseAddress };
        using var response = await anonymous.PostAsync("token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ["assertion"] = assertion,
        }));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return ((int)response.StatusCode, (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static void AssertOAuthError(int expectedStatus, string error, int status, JsonObject answer)
    {
        Assert.Equal(expectedStatus, status);
        Assert.Equal(error, (string)answer["error"]!);
        Assert.False(string.IsNullOrEmpty((string?)answer["error_description"]), "Google always explains the error");
        Assert.Null(answer["access_token"]);
    }
}
