using Calhook.Emulator.Faults;
using Calhook.Google;
using Calhook.TestKit;
using Calhook.Tests.Channels;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Google;

/// <summary>Google's failures against the emulator: rate limits and 5xx are retried, 401 and 404 are final and clear.</summary>
public sealed class GoogleFailureTests
{
    private const string Alice = "alice@example.com";

    [Fact]
    public async Task Bursts_of_429_and_503_are_retried_with_backoff_and_the_watch_recovers()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var client = host.Services.GetRequiredService<GoogleCalendarClient>();

        await emulator.Control.SetFaultsAsync(new FaultSettings { Seed = 42, Api = new ApiFaults { RateLimitRate = 0.4, ErrorRate = 0.3, ErrorStatus = 503 } });
        for (var i = 0; i < 5; i++)
        {
            var page = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
            Assert.True(page.IsSuccess, page.Error?.ToString());
        }

        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(watchId, "active");
        Assert.Single(await emulator.Control.GetChannelsAsync(Alice));
    }

    [Fact]
    public async Task An_outage_that_outlives_the_retries_is_a_transient_result_then_the_watch_recovers()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data, settings: new Dictionary<string, string?>
        {
            ["Calhook:Google:MaxRetryAttempts"] = "2",
        });
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var client = host.Services.GetRequiredService<GoogleCalendarClient>();
        await emulator.Control.SetFaultsAsync(new FaultSettings { Api = new ApiFaults { ErrorRate = 1.0, ErrorStatus = 503 } });

        var failed = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.Transient, failed.Error?.Kind);
        Assert.Equal(503, failed.Error?.Status);

        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        var failing = await host.WaitForStatusAsync(watchId, "failing");
        Assert.Contains("503", failing["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await emulator.Control.GetChannelsAsync(Alice));

        await emulator.Control.ResetFaultsAsync();
        var active = await host.WaitForStatusAsync(watchId, "active");
        Assert.Null(active["error"]);
        Assert.Single(await emulator.Control.GetChannelsAsync(Alice));
    }

    [Fact]
    public async Task A_revoked_refresh_token_marks_the_watch_as_needing_reauthorisation_at_renewal()
    {
        await using var emulator = await EmulatorClient.StartAsync(maxChannelTtlSeconds: 2);
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var watchId = (await host.WatchAsync(account, Alice))["id"]!.GetValue<string>();
        await host.WaitForStatusAsync(watchId, "active");

        await emulator.Control.RevokeAsync(Alice);

        var watch = await host.WaitForStatusAsync(watchId, "needs_reauth");
        Assert.Contains("re-authorise", watch["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(watch["channelId"]);
        var listed = await host.Services.GetRequiredService<GoogleCalendarClient>().ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.NeedsReauth, listed.Error?.Kind);
        // No loop: the last channel lapses and nothing opens another one.
        await Polling.EventuallyAsync(async () => (await emulator.Control.GetChannelsAsync(Alice)).Count == 0, TimeSpan.FromSeconds(15), "alice's channels are all stopped");
        Assert.Equal("needs_reauth", (await host.GetWatchAsync(watchId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_calendar_that_does_not_exist_stops_the_watch_as_removed_with_a_clear_reason()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);

        var watchId = (await host.WatchAsync(account, "nobody@example.com"))["id"]!.GetValue<string>();

        // A 404 is the calendar's removal (calendar.removed): the watch stops and says why; no channel is left on it.
        var watch = await host.WaitForStatusAsync(watchId, "stopped");
        Assert.Contains("'nobody@example.com' was removed", watch["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await emulator.Control.GetChannelsAsync("nobody@example.com"));
        var result = await host.Services.GetRequiredService<GoogleCalendarClient>().ListEventsPageAsync(account, "nobody@example.com", null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.NotFound, result.Error?.Kind);
    }

    [Fact]
    public async Task A_list_body_cut_mid_way_is_a_transient_result_and_the_next_read_succeeds()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        await using var proxy = await FaultProxy.StartAsync(emulator.BaseAddress);
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(proxy.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, Alice);
        var client = host.Services.GetRequiredService<GoogleCalendarClient>();

        proxy.CutListBody = true;
        var cut = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.Transient, cut.Error?.Kind);

        proxy.CutListBody = false;
        var whole = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.True(whole.IsSuccess, whole.Error?.ToString());
        Assert.NotNull(whole.Value!.NextSyncToken);
    }
}
