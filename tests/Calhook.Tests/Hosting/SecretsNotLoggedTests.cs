using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Hosting;

/// <summary>Invariant 7 (docs/architecture.md): refresh tokens, access tokens, channel tokens and the API key never reach the log.</summary>
public sealed class SecretsNotLoggedTests
{
    [Fact]
    public async Task A_whole_watch_sync_and_ping_cycle_logs_no_secret_even_at_debug_level()
    {
        const string user = "secrets@example.com";
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
        await using var host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { GoogleBaseUrl = emulator.BaseAddress });
        using var control = new EmulatorControlClient(emulator.BaseAddress);
        var tokens = await control.CreateTokensAsync(user);
        var refreshToken = tokens.RefreshToken;
        var account = (await (await host.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email = user, refreshToken })).Content.ReadFromJsonAsync<JsonObject>())!;
        var watch = (await (await host.Client.PostAsJsonAsync("/v1/watches", new { accountId = (string?)account["id"], calendarId = user })).Content.ReadFromJsonAsync<JsonObject>())!;
        await Polling.EventuallyAsync(
            async () => (await host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{watch["id"]}"))!["lastSyncAt"] is not null,
            TimeSpan.FromSeconds(30), "the baseline finishes");

        // A change, so that a ping, a token refresh and an incremental sync all happen.
        using var google = new HttpClient { BaseAddress = new Uri(emulator.BaseAddress, "calendar/v3/calendars/primary/") };
        google.DefaultRequestHeaders.Authorization = new("Bearer", tokens.AccessToken);
        (await google.PostAsJsonAsync("events", new { summary = "x", start = new { dateTime = "2026-12-01T10:00:00Z" }, end = new { dateTime = "2026-12-01T11:00:00Z" } })).EnsureSuccessStatusCode();
        await Polling.EventuallyAsync(
            async () => (await host.Client.GetFromJsonAsync<JsonObject>("/v1/changes?after=0"))!["changes"]!.AsArray().Count == 1,
            TimeSpan.FromSeconds(30), "the change arrives");
        // The calendar's channel and the account's calendar-list channel.
        var channels = await control.GetChannelsAsync();
        Assert.Equal(2, channels.Count);

        string[] secrets = [refreshToken, CalhookTestHost.TestApiKey, .. channels.Select(c => c.Token!)];
        var logged = string.Join('\n', host.Logs.Entries.Select(e => e.Message + e.Exception));
        Assert.NotEmpty(host.Logs.Entries);
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, logged, StringComparison.Ordinal));
        Assert.DoesNotContain("access_token", logged, StringComparison.Ordinal);
    }
}
