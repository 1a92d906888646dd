using System.Text;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Control;

/// <summary>
/// The scenario controls' refusals on the wire, over raw HTTP because Google's error body is what is checked: an
/// unknown or deleted calendar is 404 before the body is read, a missing or malformed body is Google's 400, and each
/// control names what its body lacks.
/// </summary>
public sealed class ScenarioRefusalTests
{
    private static string Path(string calendarId, string action) => $"emulator/v1/calendars/{Uri.EscapeDataString(calendarId)}{action}";

    [Theory]
    [InlineData("POST", "/share")]
    [InlineData("POST", "/unshare")]
    [InlineData("POST", "/rename")]
    [InlineData("POST", "/events/x/this-and-following")]
    [InlineData("POST", "/events/x/delete-this-and-following")]
    [InlineData("POST", "/events/x/respond")]
    [InlineData("POST", "/events/x/conference")]
    [InlineData("DELETE", "")]
    public async Task An_unknown_calendar_is_404_whatever_the_body(string method, string action)
    {
        await using var host = await EmulatorHost.StartAsync();
        var (status, json) = await host.SendAsync(new HttpMethod(method), Path("nobody@example.com", action), configure: r =>
            r.Content = new StringContent("{not json", Encoding.UTF8, "application/json"));
        EmulatorHost.AssertError(404, "notFound", status, json);
    }

    [Fact]
    public async Task A_missing_or_malformed_body_is_googles_400()
    {
        await using var host = await EmulatorHost.StartAsync();
        foreach (var action in new[] { "/share", "/unshare", "/rename", "/events/x/this-and-following", "/events/x/respond" })
        {
            var (missing, missingJson) = await host.SendAsync(HttpMethod.Post, Path(EmulatorHost.Alice, action));
            EmulatorHost.AssertError(400, "required", missing, missingJson);
            var (malformed, malformedJson) = await host.SendAsync(HttpMethod.Post, Path(EmulatorHost.Alice, action), configure: r =>
                r.Content = new StringContent("[1, 2]", Encoding.UTF8, "application/json"));
            EmulatorHost.AssertError(400, "parseError", malformed, malformedJson);
        }
    }

    [Fact]
    public async Task Each_control_names_what_its_body_lacks()
    {
        await using var host = await EmulatorHost.StartAsync();
        var (_, calendar) = await host.SendAsync(HttpMethod.Post, "calendar/v3/calendars", new JsonObject { ["summary"] = "Team" });
        var team = (string)calendar!["id"]!;
        var review = (string)(await host.InsertAsync("Review", Some.Monday))["id"]!;

        async Task RefusedAsync(string path, JsonObject body, string reason, string named)
        {
            var (status, json) = await host.SendAsync(HttpMethod.Post, path, body);
            EmulatorHost.AssertError(400, reason, status, json);
            Assert.Contains(named, (string)json!["error"]!["message"]!, StringComparison.Ordinal);
        }

        await RefusedAsync(Path(team, "/share"), new JsonObject { ["user"] = "bob@example.com", ["role"] = "admin" }, "invalid", "\"role\"");
        await RefusedAsync(Path(team, "/share"), new JsonObject { ["user"] = "not an email" }, "invalid", "\"user\"");
        await RefusedAsync(Path(team, "/share"), new JsonObject { ["user"] = EmulatorHost.Alice }, "invalid", "owner");
        await RefusedAsync(Path(team, "/rename"), new JsonObject { ["summary"] = "" }, "required", "title");
        await RefusedAsync(Path(EmulatorHost.Alice, $"/events/{review}/this-and-following"), new JsonObject { ["newId"] = true }, "required", "\"edit\"");
        await RefusedAsync(Path(EmulatorHost.Alice, $"/events/{review}/respond"), new JsonObject { ["email"] = "carol@example.com", ["responseStatus"] = "maybe" },
            "invalid", "\"responseStatus\"");
        var (unshared, unsharedJson) = await host.SendAsync(HttpMethod.Post, Path(team, "/unshare"), new JsonObject { ["user"] = "bob@example.com" });
        EmulatorHost.AssertError(404, "notFound", unshared, unsharedJson);
        var (primary, primaryJson) = await host.SendAsync(HttpMethod.Delete, Path(EmulatorHost.Alice, ""));
        EmulatorHost.AssertError(400, "cannotDeletePrimaryCalendar", primary, primaryJson);

        // A deleted calendar is as unknown as one that never existed.
        Assert.Equal(204, (await host.SendAsync(HttpMethod.Delete, Path(team, ""))).Status);
        var (gone, goneJson) = await host.SendAsync(HttpMethod.Post, Path(team, "/rename"), new JsonObject { ["summary"] = "Again" });
        EmulatorHost.AssertError(404, "notFound", gone, goneJson);
    }
}
