using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Accounts;

/// <summary>Credential material and calendar ids that cannot work are refused at the door with a 400 naming the field.</summary>
public sealed class BadInputAttackTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private EmulatorWorld _world = null!;

    public async Task InitializeAsync() => _world = await EmulatorWorld.StartAsync();

    public async Task DisposeAsync() => await _world.DisposeAsync();

    public static TheoryData<string> BadPrivateKeys()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new TheoryData<string>
        {
            "not a key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\n!!!! not base64 !!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n",
            ec.ExportECPrivateKeyPem(),
            ec.ExportPkcs8PrivateKeyPem(),
        };
    }

    [Theory]
    [MemberData(nameof(BadPrivateKeys))]
    public async Task A_service_account_key_with_a_bad_pem_gets_400_naming_private_key(string pem)
    {
        var key = new JsonObject
        {
            ["type"] = "service_account",
            ["client_email"] = "calhook@project.iam.gserviceaccount.com",
            ["private_key"] = pem,
        };
        var response = await _world.Api.PostAsJsonAsync("v1/accounts", new JsonObject { ["type"] = "serviceAccount", ["key"] = key, ["subject"] = Alice });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("private_key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public static TheoryData<string> BadCalendarIds() => new()
    {
        "alice\0@example.com",
        "alice@example.com\r\nX-Injected: 1",
        "alice@example.com\n",
        "../../users/me/calendarList",
        "a..b@example.com/..",
        new string('a', 60_000) + "@example.com",
        new string('a', 1025),
    };

    [Theory]
    [MemberData(nameof(BadCalendarIds))]
    public async Task A_calendar_id_that_cannot_be_a_google_id_gets_400_naming_calendarId(string calendarId)
    {
        var account = await _world.ConnectAsync(Alice);

        var response = await _world.Api.PostAsJsonAsync("v1/watches", new JsonObject { ["accountId"] = account, ["calendarId"] = calendarId });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("calendarId", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty((await _world.Api.GetFromJsonAsync<JsonObject>("v1/watches"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task A_100_KB_calendar_id_is_refused_with_413_as_a_body_over_the_admin_limit()
    {
        var account = await _world.ConnectAsync(Alice);

        var response = await _world.Api.PostAsJsonAsync("v1/watches", new JsonObject { ["accountId"] = account, ["calendarId"] = new string('a', 100 * 1024) });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty((await _world.Api.GetFromJsonAsync<JsonObject>("v1/watches"))!["items"]!.AsArray());
    }

    [Theory]
    [InlineData("alice@example.com")]
    [InlineData("c_0123456789abcdef@group.calendar.google.com")]
    [InlineData("en.usa#holiday@group.v.calendar.google.com")]
    public async Task Calendar_ids_of_the_shapes_google_uses_are_accepted(string calendarId)
    {
        var account = await _world.ConnectAsync(Alice);

        var response = await _world.Api.PostAsJsonAsync("v1/watches", new JsonObject { ["accountId"] = account, ["calendarId"] = calendarId });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
