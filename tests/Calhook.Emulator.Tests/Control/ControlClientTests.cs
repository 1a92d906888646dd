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

    [Fact]
    public async Task Calendar_scenarios_share_rename_unshare_and_delete_and_a_primary_calendar_stays()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var control = new EmulatorControlClient(host.Server.BaseAddress);
        var (_, calendar) = await host.SendAsync(HttpMethod.Post, "calendar/v3/calendars", new JsonObject { ["summary"] = "Team" });
        var team = (string)calendar!["id"]!;
        using var bob = host.ClientFor((await control.CreateTokensAsync("bob@example.com")).AccessToken);
        async Task<string?> BobSeesAsync() =>
            (string?)(await host.SendAsync(HttpMethod.Get, $"calendar/v3/users/me/calendarList/{Uri.EscapeDataString(team)}", client: bob)).Json?["summary"];

        await control.ShareCalendarAsync(team, "bob@example.com", "writer");
        Assert.Equal("Team", await BobSeesAsync());
        await control.RenameCalendarAsync(team, "Team (renamed)");
        Assert.Equal("Team (renamed)", await BobSeesAsync());
        await control.UnshareCalendarAsync(team, "bob@example.com");
        Assert.Null(await BobSeesAsync());
        var notShared = await Assert.ThrowsAsync<HttpRequestException>(() => control.UnshareCalendarAsync(team, "bob@example.com"));
        Assert.Equal(HttpStatusCode.NotFound, notShared.StatusCode);

        await control.DeleteCalendarAsync(team);
        Assert.Equal(404, (await host.SendAsync(HttpMethod.Get, $"calendar/v3/calendars/{Uri.EscapeDataString(team)}")).Status);
        var primary = await Assert.ThrowsAsync<HttpRequestException>(() => control.DeleteCalendarAsync(EmulatorHost.Alice));
        Assert.Contains("cannotDeletePrimaryCalendar", primary.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Event_scenarios_answer_an_invitation_fill_meet_data_and_split_a_series()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var control = new EmulatorControlClient(host.Server.BaseAddress);
        var invitation = Some.Event("Review", Some.Monday);
        invitation["attendees"] = new JsonArray(new JsonObject { ["email"] = "carol@example.com", ["responseStatus"] = "needsAction" });
        var review = (string)(await host.InsertAsync(invitation))["id"]!;

        var answered = await control.RespondAsync(EmulatorHost.Alice, review, "carol@example.com", "tentative", comment: "if I can");
        Assert.Equal(("tentative", "if I can"), ((string?)answered["attendees"]![0]!["responseStatus"], (string?)answered["attendees"]![0]!["comment"]));
        var meet = await control.AddConferenceAsync(EmulatorHost.Alice, review);
        Assert.StartsWith("https://meet.google.com/", (string)meet["hangoutLink"]!, StringComparison.Ordinal);
        var stranger = await Assert.ThrowsAsync<HttpRequestException>(() => control.RespondAsync(EmulatorHost.Alice, review, "dave@example.com", "accepted"));
        Assert.Equal(HttpStatusCode.BadRequest, stranger.StatusCode);

        var master = (string)(await host.InsertAsync(Some.Series("Dishes", "2025-03-24T07:30:00", "America/Chicago", "RRULE:FREQ=DAILY")))["id"]!;
        var instances = (await host.GetJsonAsync($"{EmulatorHost.EventsPath()}/{master}/instances?maxResults=6"))["items"]!.AsArray();
        var split = await control.EditThisAndFollowingAsync(EmulatorHost.Alice, (string)instances[3]!["id"]!, new JsonObject { ["summary"] = "Dishes (new rota)" });
        Assert.Equal(("Dishes (new rota)", $"{master}_R20250327T123000"), ((string?)split["summary"], (string?)split["id"]));
        var fresh = await control.EditThisAndFollowingAsync(EmulatorHost.Alice, (string)instances[2]!["id"]!, new JsonObject { ["summary"] = "Dishes (again)" }, newId: true);
        Assert.DoesNotContain(master, (string)fresh["id"]!, StringComparison.Ordinal);
        await control.DeleteThisAndFollowingAsync(EmulatorHost.Alice, (string)instances[1]!["id"]!);
        var history = await control.GetHistoryAsync(EmulatorHost.Alice);
        Assert.Equal(history.Skip(1).Take(2).Select(h => h.Seq), (await control.GetHistoryAsync(EmulatorHost.Alice, after: history[0].Seq, limit: 2)).Select(h => h.Seq));
        var truncated = history.Last(h => h.EventId == master).Event;
        Assert.Contains("UNTIL=", (string)truncated["recurrence"]![0]!, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HttpRequestException>(() => control.DeleteThisAndFollowingAsync(EmulatorHost.Alice, (string)instances[0]!["id"]!));
    }
}
