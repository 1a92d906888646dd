using Calhook.Emulator.Faults;
using Calhook.Google;
using Calhook.Tests.Channels;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Google;

/// <summary>Google's failures against the emulator: rate limits and 5xx are retried, 401 and 404 are final and clear.</summary>
public sealed class GoogleFailureTests
{
    private const string Alice = "alice@example.com";

    [Fact]
    public async Task Bursts_of_429_and_503_are_retried_with_backoff_and_the_watch_recovers()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var account = await world.ConnectAsync(Alice);
        var client = world.Calhook.Services.GetRequiredService<GoogleCalendarClient>();

        await world.Control.SetFaultsAsync(new FaultSettings { Seed = 42, Api = new ApiFaults { RateLimitRate = 0.4, ErrorRate = 0.3, ErrorStatus = 503 } });
        for (var i = 0; i < 5; i++)
        {
            var page = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
            Assert.True(page.IsSuccess, page.Error?.ToString());
        }

        var watchId = (string)(await world.WatchAsync(account, Alice))["id"]!;
        await world.WaitForStatusAsync(watchId, "active");
        Assert.Single(await world.Control.GetChannelsAsync(Alice));
    }

    [Fact]
    public async Task An_outage_that_outlives_the_retries_is_a_transient_result_then_the_watch_recovers()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery().Settings["Calhook:Google:MaxRetryAttempts"] = "2");
        var account = await world.ConnectAsync(Alice);
        var client = world.Calhook.Services.GetRequiredService<GoogleCalendarClient>();
        await world.Control.SetFaultsAsync(new FaultSettings { Api = new ApiFaults { ErrorRate = 1.0, ErrorStatus = 503 } });

        var failed = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.Transient, failed.Error?.Kind);
        Assert.Equal(503, failed.Error?.Status);

        var watchId = (string)(await world.WatchAsync(account, Alice))["id"]!;
        var failing = await world.WaitForStatusAsync(watchId, "failing");
        Assert.Contains("503", failing["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await world.Control.GetChannelsAsync(Alice));

        await world.Control.ResetFaultsAsync();
        var active = await world.WaitForStatusAsync(watchId, "active");
        Assert.Null(active["error"]);
        Assert.Single(await world.Control.GetChannelsAsync(Alice));
    }

    [Fact]
    public async Task With_retries_off_a_call_succeeds_and_a_503_is_a_transient_result_at_once()
    {
        // Polly's retry strategy refuses zero attempts; the setting's documented "0 for none" must still work.
        await using var world = await EmulatorWorld.StartAsync(o => o.Settings["Calhook:Google:MaxRetryAttempts"] = "0");
        var account = await world.ConnectAsync(Alice);
        var client = world.Calhook.Services.GetRequiredService<GoogleCalendarClient>();

        var page = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.True(page.IsSuccess, page.Error?.ToString());

        await world.Control.SetFaultsAsync(new FaultSettings { Api = new ApiFaults { ErrorRate = 1.0, ErrorStatus = 503 } });
        var failed = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.Equal((GoogleErrorKind.Transient, 503), (failed.Error?.Kind, failed.Error?.Status));
    }

    [Fact]
    public async Task A_revoked_refresh_token_marks_the_watch_as_needing_reauthorisation_at_renewal()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        await world.Control.SetConfigAsync(maxChannelTtlSeconds: 2);
        var account = await world.ConnectAsync(Alice);
        var watchId = (string)(await world.WatchAsync(account, Alice))["id"]!;
        await world.WaitForStatusAsync(watchId, "active");

        await world.Control.RevokeAsync(Alice);

        var watch = await world.WaitForStatusAsync(watchId, "needs_reauth");
        Assert.Contains("re-authorise", watch["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(watch["channelId"]);
        var listed = await world.Calhook.Services.GetRequiredService<GoogleCalendarClient>().ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.NeedsReauth, listed.Error?.Kind);
        // No loop: the last channel lapses and nothing opens another one.
        await Polling.EventuallyAsync(async () => (await world.Control.GetChannelsAsync(Alice)).Count == 0, TimeSpan.FromSeconds(15), "alice's channels are all stopped");
        Assert.Equal("needs_reauth", (await world.WatchStateAsync(watchId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_calendar_that_does_not_exist_stops_the_watch_as_removed_with_a_clear_reason()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var account = await world.ConnectAsync(Alice);

        var watchId = (string)(await world.WatchAsync(account, "nobody@example.com"))["id"]!;

        // A 404 is the calendar's removal (calendar.removed): the watch stops and says why; no channel is left on it.
        var watch = await world.WaitForStatusAsync(watchId, "stopped");
        Assert.Contains("'nobody@example.com' was removed", watch["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await world.Control.GetChannelsAsync("nobody@example.com"));
        var result = await world.Calhook.Services.GetRequiredService<GoogleCalendarClient>().ListEventsPageAsync(account, "nobody@example.com", null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.NotFound, result.Error?.Kind);
    }

    [Fact]
    public async Task A_list_body_cut_mid_way_is_a_transient_result_and_the_next_read_succeeds()
    {
        await using var proxy = await FaultProxy.StartAsync();
        await using var world = await EmulatorWorld.StartAsync(o => proxy.Between(o.WithQuickRecovery()));
        var account = await world.ConnectAsync(Alice);
        var client = world.Calhook.Services.GetRequiredService<GoogleCalendarClient>();

        proxy.CutListBody = true;
        var cut = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.Equal(GoogleErrorKind.Transient, cut.Error?.Kind);

        proxy.CutListBody = false;
        var whole = await client.ListEventsPageAsync(account, Alice, null, null, CancellationToken.None);
        Assert.True(whole.IsSuccess, whole.Error?.ToString());
        Assert.NotNull(whole.Value!.NextSyncToken);
    }
}
