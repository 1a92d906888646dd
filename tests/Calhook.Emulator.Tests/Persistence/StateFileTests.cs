using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Persistence;

/// <summary>With a state file, an emulator started again is the same Google: users, tokens, calendars, events, history, sync tokens, channels.</summary>
public sealed class StateFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "calhook-tests", Guid.NewGuid().ToString("N"));

    private string StateFile => Path.Combine(_folder, "emulator-state.json");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_restarted_emulator_resumes_with_the_same_users_calendars_events_tokens_and_channels()
    {
        Directory.CreateDirectory(_folder);
        string refresh, access, syncToken, listToken, eventId, etag, secondaryId;
        await using var receiver = await PushReceiver.StartAsync();
        string channelId;
        await using (var first = await EmulatorHost.StartAsync(o => o.StateFile = StateFile))
        {
            refresh = first.RefreshToken;
            access = first.Http.DefaultRequestHeaders.Authorization!.Parameter!;
            var created = await first.InsertAsync("Kept across restarts", Some.Monday);
            eventId = (string)created["id"]!;
            etag = (string)created["etag"]!;
            (_, syncToken, _) = await first.ListAllAsync("maxResults=50");
            var (status, secondary) = await first.SendAsync(HttpMethod.Post, "calendar/v3/calendars", new JsonObject { ["summary"] = "Team" });
            Assert.Equal(200, status);
            secondaryId = (string)secondary!["id"]!;
            listToken = (string)(await first.GetJsonAsync("calendar/v3/users/me/calendarList"))["nextSyncToken"]!;
            channelId = "kept-channel";
            var (watchStatus, _) = await first.SendAsync(HttpMethod.Post, EmulatorHost.EventsPath() + "/watch",
                new JsonObject { ["id"] = channelId, ["type"] = "web_hook", ["address"] = receiver.Address.ToString(), ["token"] = "t" });
            Assert.Equal(200, watchStatus);
        }

        Assert.True(File.Exists(StateFile), "the state is written at shutdown at the latest");
        Assert.False(File.Exists(StateFile + ".tmp"));

        await using var second = await EmulatorHost.StartAsync(o => o.StateFile = StateFile);
        using var asBefore = second.ClientFor(access);

        // The access token from before still works, and the event is there as it was.
        var (getStatus, again) = await second.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}/{eventId}", client: asBefore);
        Assert.Equal(200, getStatus);
        Assert.Equal(etag, (string)again!["etag"]!);
        Assert.Equal("Kept across restarts", (string)again["summary"]!);

        // The sync token from before is still valid: nothing changed since.
        var incremental = await second.GetJsonAsync($"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(syncToken)}");
        Assert.Empty(incremental["items"]!.AsArray());

        // The refresh token still refreshes; the secondary calendar is still listed.
        using var anonymous = new HttpClient { BaseAddress = second.Server.BaseAddress };
        var token = await anonymous.PostAsync("token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["refresh_token"] = refresh, ["client_id"] = "x", ["client_secret"] = "y",
        }));
        Assert.True(token.IsSuccessStatusCode, await token.Content.ReadAsStringAsync());
        var list = await second.GetJsonAsync("calendar/v3/users/me/calendarList");
        Assert.Contains(list["items"]!.AsArray(), c => (string?)c!["id"] == secondaryId);
        // The calendar list's sync token from before is still valid too: nothing changed on the list since.
        var listChanges = await second.GetJsonAsync($"calendar/v3/users/me/calendarList?syncToken={Uri.EscapeDataString(listToken)}");
        Assert.Empty(listChanges["items"]!.AsArray());

        // The history is whole, and the channel still delivers: a new change pings it.
        Assert.Single(await second.Control.GetHistoryAsync(EmulatorHost.Alice));
        Assert.Contains(await second.Control.GetChannelsAsync(), c => c.Id == channelId);
        await second.InsertAsync("Made after the restart", Some.Monday.AddHours(2));
        var received = await receiver.WaitForAsync(2, TimeSpan.FromSeconds(10));
        Assert.Contains(received, m => m.ChannelId == channelId && m.State == "exists");
    }

    [Fact]
    public async Task Without_a_state_file_nothing_is_written()
    {
        Directory.CreateDirectory(_folder);
        await using (var host = await EmulatorHost.StartAsync())
        {
            await host.InsertAsync("in memory only", Some.Monday);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
    }
}
