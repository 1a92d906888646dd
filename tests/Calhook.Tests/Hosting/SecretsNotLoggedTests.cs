using Calhook.TestKit;

namespace Calhook.Tests.Hosting;

/// <summary>Invariant 7 (docs/architecture.md): refresh tokens, access tokens, channel tokens and the API key never reach the log.</summary>
public sealed class SecretsNotLoggedTests
{
    [Fact]
    public async Task A_whole_watch_sync_and_ping_cycle_logs_no_secret_even_at_debug_level()
    {
        const string user = "secrets@example.com";
        await using var world = await EmulatorWorld.StartAsync();
        var (signedIn, refreshToken) = await world.SignInAsync(user);
        using var google = signedIn;
        var watchId = (string)(await world.WatchAsync(await world.AddAccountAsync(user, refreshToken), user))["id"]!;
        await Polling.EventuallyAsync(async () => (await world.WatchStateAsync(watchId))["lastSyncAt"] is not null, TimeSpan.FromSeconds(30), "the baseline finishes");

        // A change, so that a ping, a token refresh and an incremental sync all happen.
        await EmulatorWorld.InsertEventAsync(google, user, "x");
        await Polling.EventuallyAsync(async () => (await world.FeedAsync()).Count == 1, TimeSpan.FromSeconds(30), "the change arrives");
        // The calendar's channel and the account's calendar-list channel.
        var channels = await world.Control.GetChannelsAsync();
        Assert.Equal(2, channels.Count);

        string[] secrets = [refreshToken, CalhookTestHost.TestApiKey, .. channels.Select(c => c.Token!)];
        var logged = string.Join('\n', world.Calhook.Logs.Entries.Select(e => e.Message + e.Exception));
        Assert.NotEmpty(world.Calhook.Logs.Entries);
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, logged, StringComparison.Ordinal));
        Assert.DoesNotContain("access_token", logged, StringComparison.Ordinal);
    }
}
