using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Tests.Channels;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary><c>calhook status</c>, <c>accounts list|remove</c> and <c>connect</c>, run as processes against a live server and emulator.</summary>
public sealed class StatusCommandTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private EmulatorClient _emulator = null!;
    private CalhookTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorClient.StartAsync();
        _host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { GoogleBaseUrl = _emulator.BaseAddress });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Status_shows_a_table_of_watches_and_json_for_scripts_and_says_when_something_needs_attention()
    {
        const string good = "status-good@example.com";
        var refresh = (await _emulator.Control.CreateTokensAsync(good)).RefreshToken;
        var goodWatch = await WatchAsync(await AccountAsync(good, refresh), good);
        await Polling.EventuallyAsync(async () => (await WatchStateAsync(goodWatch))["lastSyncAt"] is not null, Generous, "the baseline is in");

        var (exit, table) = await RunAsync("status");
        Assert.Equal(0, exit);
        Assert.Matches(@"CALENDAR\s+STATUS\s+CHANNEL EXPIRES\s+LAST PING\s+LAST SYNC\s+ERROR", table);
        Assert.Matches($@"{good}\s+active\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in ", table);
        Assert.Contains("Subscriptions:", table, StringComparison.Ordinal);

        var (jsonExit, json) = await RunAsync("status", "--json");
        Assert.Equal(0, jsonExit);
        var status = JsonNode.Parse(json)!;
        Assert.True((bool)status["ready"]!);
        Assert.Equal(1, (int)status["counts"]!["active"]!);
        Assert.Equal(good, (string?)status["watches"]![0]!["calendarId"]);
        Assert.NotNull(status["subscriptions"]);

        // A watch whose account Google refuses: status exits 4 and shows the error in words.
        const string bad = "status-bad@example.com";
        var badWatch = await WatchAsync(await AccountAsync(bad, "1//revoked"), bad);
        await Polling.EventuallyAsync(async () => (string?)(await WatchStateAsync(badWatch))["status"] == "needs_reauth", Generous, "the watch needs re-authorisation");
        var (attentionExit, attention) = await RunAsync("status");
        Assert.Equal(4, attentionExit);
        Assert.Matches($@"{bad}\s+needs_reauth", attention);
        Assert.Contains("re-author", attention, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("docs/troubleshooting.md", attention, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accounts_list_and_remove_and_connect_print_what_a_person_and_a_script_need()
    {
        const string user = "cli-accounts@example.com";
        var refresh = (await _emulator.Control.CreateTokensAsync(user)).RefreshToken;
        var id = await AccountAsync(user, refresh);

        var (listExit, list) = await RunAsync("accounts", "list");
        Assert.Equal(0, listExit);
        Assert.Matches($@"{id}\s+{user}\s+oauth\s+active\s+0", list);
        var (_, listJson) = await RunAsync("accounts", "list", "--json");
        Assert.Equal(user, (string?)JsonNode.Parse(listJson)!["items"]![0]!["email"]);

        var (connectExit, connect) = await RunAsync("connect", "--json");
        Assert.Equal(0, connectExit);
        Assert.Equal(new Uri(_host.BaseAddress, "/connect/google").AbsoluteUri, (string?)JsonNode.Parse(connect)!["url"]);

        var (removeExit, removed) = await RunAsync("accounts", "remove", id);
        Assert.Equal(0, removeExit);
        Assert.Contains("removed", removed, StringComparison.Ordinal);
        var (againExit, again) = await RunAsync("accounts", "remove", id);
        Assert.Equal(1, againExit);
        Assert.Contains("404", again, StringComparison.Ordinal);
        Assert.Contains("calhook accounts list", again, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_exits_3_and_says_what_to_check()
    {
        var port = CalhookProcess.FreePort();
        await using var run = CalhookProcess.Start("status", "--server", $"http://127.0.0.1:{port}", "--api-key", CalhookTestHost.TestApiKey);
        var exit = await run.WaitForExitAsync(Generous);

        Assert.Equal(3, exit);
        Assert.Contains("Is `calhook serve` running", run.Output, StringComparison.Ordinal);
        Assert.Contains("CALHOOK_SERVER", run.Output, StringComparison.Ordinal);
    }

    private async Task<(int Exit, string Output)> RunAsync(params string[] arguments)
    {
        await using var run = CalhookProcess.Start([.. arguments, "--server", _host.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey]);
        var exit = await run.WaitForExitAsync(Generous);
        return (exit, run.Output);
    }

    private async Task<string> AccountAsync(string email, string refreshToken)
    {
        using var response = await _host.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email, refreshToken });
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<string> WatchAsync(string accountId, string calendarId)
    {
        using var response = await _host.Client.PostAsJsonAsync("/v1/watches", new { accountId, calendarId });
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<JsonObject> WatchStateAsync(string id) => (await _host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{id}"))!;
}
