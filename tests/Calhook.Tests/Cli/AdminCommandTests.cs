using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>The admin commands, run as the real executable against a running service.</summary>
public sealed class AdminCommandTests : IAsyncLifetime
{
    private const string User = "admin-cli@example.com";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private EmulatorWorld _world = null!;
    private string _accountId = null!;
    private HttpClient _google = null!;

    public async Task InitializeAsync()
    {
        _world = await EmulatorWorld.StartAsync();
        (_google, var refreshToken) = await _world.SignInAsync(User);
        _accountId = await _world.AddAccountAsync(User, refreshToken);
    }

    public async Task DisposeAsync()
    {
        _google?.Dispose();
        await _world.DisposeAsync();
    }

    [Fact]
    public async Task Watch_add_list_and_remove_manage_a_watch()
    {
        var added = JsonNode.Parse(await RunOkAsync("watch", "add", User, "--account", _accountId, "--json"))!;
        var id = (string)added["id"]!;

        await Polling.EventuallyAsync(
            async () => (await RunOkAsync("watch", "list", "--json")).Contains("\"lastSyncAt\"", StringComparison.Ordinal),
            Generous, "watch list shows the baseline of the new watch");
        var listed = JsonNode.Parse(await RunOkAsync("watch", "list", "--json"))!["items"]!.AsArray();
        Assert.Equal(id, (string?)Assert.Single(listed)!["id"]);
        Assert.Contains(id, await RunOkAsync("watch", "list"), StringComparison.Ordinal);

        await RunOkAsync("watch", "remove", id);
        var after = JsonNode.Parse(await RunOkAsync("watch", "list", "--json"))!["items"]!.AsArray();
        Assert.DoesNotContain(after, w => (string?)w!["id"] == id && (string?)w["status"] != "stopped");
    }

    [Fact]
    public async Task Changes_prints_the_feed_and_status_reports_readiness()
    {
        var watch = JsonNode.Parse(await RunOkAsync("watch", "add", User, "--account", _accountId, "--json"))!;
        await Polling.EventuallyAsync(async () => (await _world.WatchStateAsync((string)watch["id"]!))["lastSyncAt"] is not null, Generous, "the baseline finishes");
        (await _google.PostAsJsonAsync("calendar/v3/calendars/primary/events", new
        {
            summary = "Printed by the CLI",
            start = new { dateTime = "2026-12-03T10:00:00Z" },
            end = new { dateTime = "2026-12-03T11:00:00Z" },
        })).EnsureSuccessStatusCode();

        var line = await Polling.EventuallyAsync(() => RunOkAsync("changes"), o => o.Contains("event.created", StringComparison.Ordinal), Generous, "changes prints the new event");
        Assert.Contains("\"Printed by the CLI\"", line, StringComparison.Ordinal);
        var json = JsonNode.Parse((await RunOkAsync("changes", "--json", "--after", "0")).Split('\n')[0])!;
        Assert.Equal("event.created", (string?)json["type"]);

        var status = JsonNode.Parse(await RunOkAsync("status", "--json"))!;
        Assert.True((bool)status["ready"]!);
        Assert.Equal(1, (int)status["counts"]!["active"]!);
    }

    [Fact]
    public async Task Listen_delivers_each_new_change_as_a_signed_webhook_and_retries_a_failing_target()
    {
        await using var target = await VerifyingSubscriber.StartAsync();
        var failures = 1;
        target.Respond = _ => Task.FromResult(Interlocked.Decrement(ref failures) >= 0 ? 500 : 200);
        var watch = JsonNode.Parse(await RunOkAsync("watch", "add", User, "--account", _accountId, "--json"))!;
        await Polling.EventuallyAsync(async () => (await _world.WatchStateAsync((string)watch["id"]!))["lastSyncAt"] is not null, Generous, "the baseline finishes");
        await using var listen = CalhookProcess.Start(["listen", "--forward-to", target.Url.ToString(), .. Connection()]);
        var secret = await Polling.EventuallyAsync(
            () => Task.FromResult(System.Text.RegularExpressions.Regex.Match(listen.Output, @"Signing secret: (whsec_\S+)")),
            m => m.Success, Generous, "listen prints its signing secret");
        target.Trust(secret.Groups[1].Value);

        (await _google.PostAsJsonAsync("calendar/v3/calendars/primary/events", new
        {
            summary = "Forwarded",
            start = new { dateTime = "2026-12-04T10:00:00Z" },
            end = new { dateTime = "2026-12-04T11:00:00Z" },
        })).EnsureSuccessStatusCode();

        var accepted = await Polling.EventuallyAsync(() => Task.FromResult(target.Accepted), a => a.Count == 1, Generous, "the change arrives after one retry");
        var webhook = accepted[0];
        Assert.Equal("calhook.event.created", (string?)webhook.Envelope["type"]);
        Assert.Equal("Forwarded", (string?)webhook.Envelope["data"]!["event"]!["summary"]);
        Assert.Equal((string?)webhook.Envelope["data"]!["id"], webhook.Id);
        Assert.Equal(0, target.Unverified);
        Assert.Equal([500, 200], target.Received.Select(r => r.AnsweredStatus));
        Assert.All(target.Received, r => Assert.Equal(webhook.Id, r.Id));
        await Polling.EventuallyAsync(() => Task.FromResult(listen.Output.Contains("200 #", StringComparison.Ordinal)), Generous, "listen prints the successful attempt");
        Assert.Matches(@"500 #\d+ event.created .*\(attempt 1, \d+ ms\) HTTP 500", listen.Output);
        Assert.Matches(@"200 #\d+ event.created .*\(attempt 2, \d+ ms\)", listen.Output);
    }

    [Fact]
    public async Task Watch_add_all_watches_every_calendar_of_the_account_and_needs_either_a_calendar_or_all()
    {
        var added = JsonNode.Parse(await RunOkAsync("watch", "add", "--all", "--account", _accountId, "--json"))!;
        Assert.True((bool)added["allCalendars"]!);
        Assert.Null(added["calendarId"]);

        var followed = await Polling.EventuallyAsync(
            async () => JsonNode.Parse(await RunOkAsync("watch", "list", "--json"))!["items"]!.AsArray(),
            items => items.Any(w => (string?)w!["parentWatchId"] == (string)added["id"]! && (string?)w["calendarId"] == User),
            Generous, "the all-calendars watch follows the primary calendar");
        Assert.Equal(2, followed.Count);
        Assert.Contains("(all calendars)", await RunOkAsync("watch", "list"), StringComparison.Ordinal);

        await using var both = CalhookProcess.Start(["watch", "add", User, "--all", "--account", _accountId, .. Connection()]);
        Assert.NotEqual(0, await both.WaitForExitAsync(Generous));
        Assert.Contains("either CALENDAR_ID or --all", both.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_api_key_is_reported_as_one_line_with_a_failing_exit_code()
    {
        await using var run = CalhookProcess.Start("watch", "list", "--server", _world.Calhook.BaseAddress.ToString(), "--api-key", "chk_wrong_key_0123456789");
        var exit = await run.WaitForExitAsync(Generous);

        Assert.Equal(1, exit);
        Assert.Contains("401", run.Output, StringComparison.Ordinal);
    }

    private string[] Connection() => ["--server", _world.Calhook.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey];

    private async Task<string> RunOkAsync(params string[] arguments)
    {
        await using var run = CalhookProcess.Start([.. arguments, .. Connection()]);
        var exit = await run.WaitForExitAsync(Generous);
        Assert.True(exit == 0, $"calhook {string.Join(' ', arguments)} exited {exit}:\n{run.Output}");
        return run.Output;
    }
}
