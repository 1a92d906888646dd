using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary><c>calhook status</c>, <c>accounts list|remove</c> and <c>connect</c>, run as processes against a live server and emulator.</summary>
public sealed class StatusCommandTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private EmulatorWorld _world = null!;

    public async Task InitializeAsync() => _world = await EmulatorWorld.StartAsync();

    public Task DisposeAsync() => _world.DisposeAsync().AsTask();

    [Fact]
    public async Task Status_shows_a_table_of_watches_and_json_for_scripts_and_says_when_something_needs_attention()
    {
        const string good = "status-good@example.com";
        var refresh = (await _world.Control.CreateTokensAsync(good)).RefreshToken;
        var goodWatch = await WatchAsync(await AccountAsync(good, refresh), good);
        await Polling.EventuallyAsync(async () => (await WatchStateAsync(goodWatch))["lastSyncAt"] is not null, Generous, "the baseline is in");

        var (exit, table) = await RunAsync("status");
        Assert.Equal(0, exit);
        Assert.Matches(@"CALENDAR\s+STATUS\s+CHANNEL EXPIRES\s+LAST PING\s+LAST SYNC\s+ERROR", table);
        Assert.Matches($@"{good}\s+active\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in ", table);
        Assert.Contains("Subscriptions:", table, StringComparison.Ordinal);
        Assert.Contains("Google request budget:", table, StringComparison.Ordinal);
        Assert.Matches(@"WINDOW\s+USED\s+LIMIT\s+SHARE", table);
        Assert.Matches(@"project, minute\s+[1-9]\d*\s+9000\s+\d", table);
        Assert.Matches(@"project, day\s+[1-9]\d*\s+950000\s+\d", table);
        Assert.Matches(@"busiest account, minute\s+[1-9]\d*\s+500\s+\d", table);
        Assert.Matches(@"busiest account, day\s+[1-9]\d*\s+none\s+-", table);
        Assert.Contains("Safety net: every 5m, as configured (not stretched).", table, StringComparison.Ordinal);

        var (jsonExit, json) = await RunAsync("status", "--json");
        Assert.Equal(0, jsonExit);
        var status = JsonNode.Parse(json)!;
        Assert.True((bool)status["ready"]!);
        Assert.Equal(1, (int)status["counts"]!["active"]!);
        Assert.Equal(good, (string?)status["watches"]![0]!["calendarId"]);
        Assert.NotNull(status["subscriptions"]);
        var quota = status["quota"]!;
        Assert.InRange((long)quota["projectMinute"]!["used"]!, 2, 9000);
        Assert.Equal(9000, (long)quota["projectMinute"]!["limit"]!);
        Assert.InRange((long)quota["projectDay"]!["used"]!, 2, 950_000);
        Assert.Equal(950_000, (long)quota["projectDay"]!["limit"]!);
        Assert.Equal(500, (long)quota["busiestAccountMinute"]!["limit"]!);
        Assert.Equal(0, (long)quota["busiestAccountDay"]!["limit"]!);
        Assert.False((bool)quota["safetyNet"]!["stretched"]!);
        Assert.Equal(300, (double)quota["safetyNet"]!["configuredSeconds"]!);

        // A watch whose account Google refuses (its grant revoked after it was connected): status exits 4 and shows the
        // error in words.
        const string bad = "status-bad@example.com";
        var badAccount = await AccountAsync(bad, (await _world.Control.CreateTokensAsync(bad)).RefreshToken);
        Assert.True(await _world.Control.RevokeAsync(bad) > 0);
        var badWatch = await WatchAsync(badAccount, bad);
        await Polling.EventuallyAsync(async () => (string?)(await WatchStateAsync(badWatch))["status"] == "needs_reauth", Generous, "the watch needs re-authorisation");
        var (attentionExit, attention) = await RunAsync("status");
        Assert.Equal(4, attentionExit);
        Assert.Matches($@"{bad}\s+needs_reauth", attention);
        Assert.Contains("re-author", attention, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("docs/troubleshooting.md", attention, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_says_when_the_request_budget_stretches_the_safety_net()
    {
        // One sync a second per watch is 60 requests a minute; the safety net may spend 7 of these 10.
        var options = new CalhookTestHostOptions { GoogleBaseUrl = _world.Emulator.BaseAddress };
        options.Settings["Calhook:Google:RequestsPerMinute"] = "10";
        options.Settings["Calhook:Google:RequestsPerDay"] = "100000";
        options.Settings["Calhook:Sync:SafetyNetInterval"] = "00:00:01";
        await using var tight = await CalhookTestHost.StartAsync(options);
        const string user = "status-budget@example.com";
        var refresh = (await _world.Control.CreateTokensAsync(user)).RefreshToken;
        using var account = await tight.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email = user, refreshToken = refresh });
        var accountId = (string)(await account.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        using var watch = await tight.Client.PostAsJsonAsync("/v1/watches", new { accountId, calendarId = user });
        watch.EnsureSuccessStatusCode();
        await Polling.EventuallyAsync(async () => (bool)(await tight.Client.GetFromJsonAsync<JsonObject>("/v1/quota"))!["safetyNet"]!["stretched"]!,
            Generous, "the safety net is stretched");

        var (exit, table) = await RunAsync(tight, "status");
        Assert.Equal(0, exit);
        Assert.Matches(@"project, minute\s+[1-9]\d*\s+10\s+\d+(\.\d)? %", table);
        Assert.Matches(@"project, day\s+[1-9]\d*\s+100000\s+", table);
        Assert.Matches(@"Safety net: stretched to every \d+(\.\d)?s to fit the budget \(configured every 1s\)\.", table);

        var (_, json) = await RunAsync(tight, "status", "--json");
        var quota = JsonNode.Parse(json)!["quota"]!;
        Assert.Equal(10, (long)quota["projectMinute"]!["limit"]!);
        Assert.InRange((long)quota["projectMinute"]!["used"]!, 2, 10);
        Assert.True((bool)quota["safetyNet"]!["stretched"]!);
        Assert.Equal(1, (double)quota["safetyNet"]!["configuredSeconds"]!);
        // One request per watch (the calendar's, and its account's calendar list) per pass, 7 a minute: 60/7 s each.
        var perWatch = (double)quota["safetyNet"]!["currentSeconds"]! / (60.0 / 7);
        Assert.True(perWatch >= 0.999 && Math.Abs(perWatch - Math.Round(perWatch)) < 0.001, $"{perWatch} watches' worth of 60/7 s");
    }

    [Fact]
    public async Task Accounts_list_and_remove_and_connect_print_what_a_person_and_a_script_need()
    {
        const string user = "cli-accounts@example.com";
        var refresh = (await _world.Control.CreateTokensAsync(user)).RefreshToken;
        var id = await AccountAsync(user, refresh);

        var (listExit, list) = await RunAsync("accounts", "list");
        Assert.Equal(0, listExit);
        Assert.Matches($@"{id}\s+{user}\s+oauth\s+active\s+0", list);
        var (_, listJson) = await RunAsync("accounts", "list", "--json");
        Assert.Equal(user, (string?)JsonNode.Parse(listJson)!["items"]![0]!["email"]);

        var (connectExit, connect) = await RunAsync("connect", "--json");
        Assert.Equal(0, connectExit);
        Assert.Equal(new Uri(_world.Calhook.BaseAddress, "/connect/google").AbsoluteUri, (string?)JsonNode.Parse(connect)!["url"]);

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

    private Task<(int Exit, string Output)> RunAsync(params string[] arguments) => RunAsync(_world.Calhook, arguments);

    private static async Task<(int Exit, string Output)> RunAsync(CalhookTestHost host, params string[] arguments)
    {
        await using var run = CalhookProcess.Start([.. arguments, "--server", host.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey]);
        var exit = await run.WaitForExitAsync(Generous);
        return (exit, run.Output);
    }

    private async Task<string> AccountAsync(string email, string refreshToken)
    {
        using var response = await _world.Calhook.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email, refreshToken });
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<string> WatchAsync(string accountId, string calendarId)
    {
        using var response = await _world.Calhook.Client.PostAsJsonAsync("/v1/watches", new { accountId, calendarId });
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    private async Task<JsonObject> WatchStateAsync(string id) => (await _world.Calhook.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{id}"))!;
}
