using System.Net;
using System.Text.Json.Nodes;
using Calhook.Emulator.Faults;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Control;

/// <summary>The shipped <see cref="EmulatorControlClient"/> drives every control endpoint and reads its answers.</summary>
public sealed class ControlClientTests
{
    [Fact]
    public async Task Tokens_history_and_expired_sync_tokens()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var control = new EmulatorControlClient(host.Server.BaseAddress);

        var tokens = await control.CreateTokensAsync("bob@example.com");
        Assert.False(string.IsNullOrEmpty(tokens.AccessToken));
        Assert.False(string.IsNullOrEmpty(tokens.RefreshToken));
        Assert.True(tokens.ExpiresIn > 0);

        var created = await host.InsertAsync("Standup", Some.Monday);
        var (_, syncToken, _) = await host.ListAllAsync("maxResults=10");
        var history = await control.GetHistoryAsync(EmulatorHost.Alice);
        var mutation = Assert.Single(history);
        Assert.Equal(("created", (string)created["id"]!, "Standup"), (mutation.Kind, mutation.EventId, (string?)mutation.Event["summary"]));
        Assert.Empty(await control.GetHistoryAsync(EmulatorHost.Alice, after: mutation.Seq));

        await control.ExpireSyncTokensAsync(EmulatorHost.Alice);
        var (status, error) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(syncToken)}");
        EmulatorHost.AssertError(410, "fullSyncRequired", status, error);
    }

    [Fact]
    public async Task Faults_and_config_round_trip_and_a_bad_value_throws_with_the_emulators_reason()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var control = new EmulatorControlClient(host.Server.BaseAddress);

        var faults = new FaultSettings { Seed = 3, Notifications = new NotificationFaults { DropRate = 0.5, DelayMs = [0, 10] }, Api = new ApiFaults { ErrorRate = 0.1 } };
        await control.SetFaultsAsync(faults);
        var read = await control.GetFaultsAsync();
        Assert.Equal((3, 0.5, 0.1), (read.Seed, read.Notifications!.DropRate, read.Api!.ErrorRate));
        await control.ResetFaultsAsync();
        Assert.Null((await control.GetFaultsAsync()).Notifications);

        var config = await control.SetConfigAsync(maxChannelTtlSeconds: 60);
        Assert.Equal(60, config.MaxChannelTtlSeconds);
        Assert.Equal(config, await control.GetConfigAsync());

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            control.SetFaultsAsync(new FaultSettings { Api = new ApiFaults { ErrorRate = 2 } }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("api.errorRate", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Channels_revocation_and_service_account_keys()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        using var control = new EmulatorControlClient(host.Server.BaseAddress);
        var (status, _) = await host.SendAsync(HttpMethod.Post, $"{EmulatorHost.EventsPath()}/watch",
            new JsonObject { ["id"] = "ch-1", ["type"] = "web_hook", ["address"] = receiver.Address.ToString(), ["token"] = "t0k" });
        Assert.Equal(200, status);

        var channel = Assert.Single(await control.GetChannelsAsync(EmulatorHost.Alice));
        Assert.Equal(("ch-1", "t0k", EmulatorHost.Alice, receiver.Address), (channel.Id, channel.Token, channel.User, channel.Address));
        Assert.True(channel.Expiration > TimeProvider.System.GetUtcNow());
        Assert.Empty(await control.GetChannelsAsync("someone-else@example.com"));

        Assert.True(await control.RevokeAsync(EmulatorHost.Alice) >= 1);
        var key = JsonNode.Parse(await control.CreateServiceAccountKeyAsync("calhook-sync"))!;
        Assert.Equal("calhook-sync@calendar-emulator.iam.gserviceaccount.com", (string?)key["client_email"]);
    }
}
