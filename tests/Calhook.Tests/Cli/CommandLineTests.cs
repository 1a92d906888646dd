using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

public sealed class CommandLineTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Demo_tells_the_whole_story_and_exits_zero()
    {
        await using var demo = CalhookProcess.Start("demo");
        var exit = await demo.WaitForExitAsync(TimeSpan.FromSeconds(150));

        Assert.True(exit == 0, demo.Output);
        Assert.Contains("event.created", demo.Output, StringComparison.Ordinal);
        Assert.Contains("event.updated", demo.Output, StringComparison.Ordinal);
        Assert.Contains("event.deleted", demo.Output, StringComparison.Ordinal);
        Assert.Contains("start.dateTime", demo.Output, StringComparison.Ordinal);
        Assert.Contains("attendees[email=bob@example.com]", demo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_a_bad_public_url_stops_and_names_the_setting()
    {
        using var data = new TestDirectory();
        await using var serve = CalhookProcess.Start(
            "serve", "--urls", $"http://127.0.0.1:{CalhookProcess.FreePort()}", "--data", data.Path,
            "--google-url", "http://127.0.0.1:9", "--public-url", "not a url");

        var exit = await serve.WaitForExitAsync(Generous);

        Assert.Equal(2, exit);
        Assert.Contains("calhook: cannot start: Calhook:PublicUrl must be an absolute http(s) URL", serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", serve.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_embedded_defaults_watches_the_demo_calendar_and_prints_the_api_key()
    {
        using var data = new TestDirectory();
        var port = CalhookProcess.FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        await using var serve = CalhookProcess.Start("serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data.Path);
        await serve.WaitUntilHealthyAsync(baseAddress, Generous);

        var key = (await File.ReadAllTextAsync(Path.Combine(data.Path, "api-key"))).Trim();
        using var http = new HttpClient { BaseAddress = baseAddress };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var watch = await Polling.EventuallyAsync(
            async () => System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(new Uri("/v1/watches", UriKind.Relative)))!["items"]!.AsArray(),
            items => items.Count == 1 && items[0]!["lastSyncAt"] is not null,
            Generous,
            "serve creates one demo watch and finishes its baseline");

        Assert.Equal("demo@example.com", (string?)watch[0]!["calendarId"]);
        Assert.Contains(key, serve.Output, StringComparison.Ordinal);
        Assert.Contains("/google/notifications", serve.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_reads_appsettings_json_from_the_working_directory()
    {
        // Google's place taken by an emulator named only in ./appsettings.json: serve must use it, not its embedded one.
        await using var google = await EmulatorServer.StartAsync(new EmulatorOptions());
        using var folder = new TestDirectory();
        await File.WriteAllTextAsync(folder.File("appsettings.json"), $$"""
            { "Calhook": { "Google": { "BaseUrl": "{{google.BaseAddress.ToString().TrimEnd('/')}}" } } }
            """);
        var baseAddress = new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/");
        await using var serve = CalhookProcess.StartIn(folder.Path, "serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", folder.File("data"),
            "--api-key", CalhookTestHost.TestApiKey);
        await serve.WaitUntilHealthyAsync(baseAddress, Generous);

        Assert.DoesNotContain("Emulator:", serve.Output, StringComparison.Ordinal);
        using var control = new EmulatorControlClient(google.BaseAddress);
        var tokens = await control.CreateTokensAsync("alice@example.com");
        using var http = new HttpClient { BaseAddress = baseAddress };
        http.DefaultRequestHeaders.Authorization = new("Bearer", CalhookTestHost.TestApiKey);
        var account = await (await http.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email = "alice@example.com", refreshToken = tokens.RefreshToken }))
            .Content.ReadFromJsonAsync<JsonObject>();
        var watch = await (await http.PostAsJsonAsync("/v1/watches", new { accountId = (string?)account!["id"], calendarId = "alice@example.com" }))
            .Content.ReadFromJsonAsync<JsonObject>();
        await Polling.EventuallyAsync(
            async () => (await http.GetFromJsonAsync<JsonObject>($"/v1/watches/{watch!["id"]}"))!["lastSyncAt"] is not null,
            Generous,
            "the watch syncs against the emulator named in ./appsettings.json");
    }
}
