using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Channels;

public sealed class PushTests
{
    private static JsonObject Watch(string id, Uri address, string? token = "tok-1") => new()
    {
        ["id"] = id, ["type"] = "web_hook", ["address"] = address.ToString(), ["token"] = token,
    };

    private static string WatchPath => $"{EmulatorHost.EventsPath()}/watch";

    [Fact]
    public async Task Watch_answers_googles_channel_and_sends_sync_then_exists_with_every_header()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var (status, channel) = await host.SendAsync(HttpMethod.Post, WatchPath, Watch("chan-1", receiver.Address));
        Assert.Equal(200, status);
        Assert.Equal("api#channel", (string)channel!["kind"]!);
        Assert.Equal("chan-1", (string)channel["id"]!);
        Assert.Equal("tok-1", (string)channel["token"]!);
        Assert.Equal(System.Text.Json.JsonValueKind.String, channel["expiration"]!.GetValueKind());
        var expiration = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((string)channel["expiration"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(expiration - DateTimeOffset.UtcNow, TimeSpan.FromDays(6.9), TimeSpan.FromDays(7.1));

        var sync = (await receiver.WaitForAsync(1))[0];
        Assert.Equal(("sync", 1L), (sync.State, sync.Number));
        Assert.Equal("chan-1", sync.ChannelId);
        Assert.Equal("tok-1", sync.Headers["X-Goog-Channel-Token"].ToString());
        Assert.Equal((string)channel["resourceId"]!, sync.Headers["X-Goog-Resource-ID"].ToString());
        Assert.Equal((string)channel["resourceUri"]!, sync.Headers["X-Goog-Resource-URI"].ToString());
        Assert.EndsWith("GMT", sync.Headers["X-Goog-Channel-Expiration"].ToString(), StringComparison.Ordinal);
        Assert.StartsWith("APIs-Google", sync.Headers.UserAgent.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, sync.BodyLength);

        for (var i = 0; i < 3; i++)
        {
            await host.InsertAsync($"E{i}", Some.Monday);
        }

        var all = await receiver.WaitForAsync(4);
        Assert.All(all.Skip(1), r => Assert.Equal("exists", r.State));
        var numbers = all.Select(r => r.Number).ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
    }

    [Fact]
    public async Task Duplicate_ids_bad_channels_and_https_only_are_refused()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Post, WatchPath, Watch("dup", receiver.Address))).Status);
        var (s1, j1) = await host.SendAsync(HttpMethod.Post, WatchPath, Watch("dup", receiver.Address));
        EmulatorHost.AssertError(400, "channelIdNotUnique", s1, j1);
        var (s2, j2) = await host.SendAsync(HttpMethod.Post, WatchPath, Watch("bad id!", receiver.Address));
        EmulatorHost.AssertError(400, "invalid", s2, j2);
        var noType = Watch("c2", receiver.Address);
        noType["type"] = "carrier-pigeon";
        Assert.Equal(400, (await host.SendAsync(HttpMethod.Post, WatchPath, noType)).Status);

        await host.Control.SetConfigAsync(requireHttpsAddress: true);
        var (s3, j3) = await host.SendAsync(HttpMethod.Post, WatchPath, Watch("c3", receiver.Address));
        EmulatorHost.AssertError(400, "webhookUrlNotHttps", s3, j3);
        Assert.True((await host.Control.GetConfigAsync()).RequireHttpsAddress);
    }

    [Fact]
    public async Task Ttl_is_capped_by_the_configured_maximum_and_expiration_can_shorten_it()
    {
        await using var host = await EmulatorHost.StartAsync(o => o.MaxChannelTtlSeconds = 600);
        await using var receiver = await PushReceiver.StartAsync();
        var body = Watch("ttl-1", receiver.Address);
        body["params"] = new JsonObject { ["ttl"] = "999999" };
        var (_, channel) = await host.SendAsync(HttpMethod.Post, WatchPath, body);
        var ttl = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((string)channel!["expiration"]!, System.Globalization.CultureInfo.InvariantCulture)) - DateTimeOffset.UtcNow;
        Assert.InRange(ttl, TimeSpan.FromSeconds(590), TimeSpan.FromSeconds(601));
        var soon = DateTimeOffset.UtcNow.AddSeconds(120).ToUnixTimeMilliseconds();
        var numeric = Watch("ttl-2", receiver.Address);
        numeric["expiration"] = soon;
        var (_, second) = await host.SendAsync(HttpMethod.Post, WatchPath, numeric);
        Assert.Equal(soon, long.Parse((string)second!["expiration"]!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Stop_ends_deliveries_unknown_or_foreign_channels_are_404_and_the_control_list_shows_active_channels()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var (_, channel) = await host.SendAsync(HttpMethod.Post, WatchPath, Watch("stop-me", receiver.Address));
        await receiver.WaitForAsync(1);
        // The emulator counts a delivery once the receiver has answered, a moment after the receiver saw the request.
        var item = await Polling.EventuallyAsync(
            async () => Assert.Single(await host.Control.GetChannelsAsync()),
            listed => listed.Delivered == 1,
            TimeSpan.FromSeconds(10),
            "the control list never counted the sync message as delivered");
        Assert.Equal(("stop-me", EmulatorHost.Alice, EmulatorHost.Alice, 1L), (item.Id, item.CalendarId, item.User, item.Delivered));

        using var asBob = await host.SignInAsync("bob@example.com");
        var stop = new JsonObject { ["id"] = "stop-me", ["resourceId"] = (string)channel!["resourceId"]! };
        var (foreign, foreignJson) = await host.SendAsync(HttpMethod.Post, "calendar/v3/channels/stop", stop, client: asBob);
        EmulatorHost.AssertError(404, "notFound", foreign, foreignJson);
        Assert.Equal(204, (await host.SendAsync(HttpMethod.Post, "calendar/v3/channels/stop", stop)).Status);
        var (again, againJson) = await host.SendAsync(HttpMethod.Post, "calendar/v3/channels/stop", stop);
        EmulatorHost.AssertError(404, "notFound", again, againJson);
        Assert.Empty(await host.Control.GetChannelsAsync());

        // A second channel proves later mutations are delivered elsewhere but not to the stopped one.
        await using var other = await PushReceiver.StartAsync();
        await host.SendAsync(HttpMethod.Post, WatchPath, Watch("witness", other.Address));
        await host.InsertAsync("after stop", Some.Monday);
        await other.WaitForAsync(2);
        Assert.Single(receiver.All);
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_and_other_failures_are_not()
    {
        await using var host = await EmulatorHost.StartAsync(o => o.NotificationRetryDelay = TimeSpan.FromMilliseconds(30));
        await using var receiver = await PushReceiver.StartAsync();
        receiver.Answer = n => n switch { 1 or 2 => 503, 4 => 404, _ => 204 };
        await host.SendAsync(HttpMethod.Post, WatchPath, Watch("retry", receiver.Address));
        await receiver.WaitForAsync(1);
        await host.InsertAsync("first", Some.Monday);
        var all = await receiver.WaitForAsync(4);
        Assert.Equal(all[1].Number, all[2].Number);
        Assert.Equal(all[1].Number, all[3].Number);
        await host.InsertAsync("second", Some.Monday);
        await host.InsertAsync("third", Some.Monday);
        all = await receiver.WaitForAsync(6);
        Assert.Equal(404, all[4].Answered);
        Assert.True(all[5].Number > all[4].Number, "the 404 was not retried; the next message followed");
        var item = await Polling.EventuallyAsync(
            async () => (await host.Control.GetChannelsAsync())[0],
            listed => listed.Delivered == 3 && listed.Failed == 1,
            TimeSpan.FromSeconds(10),
            "the control list never counted three deliveries and one failure");
        Assert.Equal((3L, 1L), (item.Delivered, item.Failed));
    }

    [Fact]
    public async Task Calendar_list_watch_notifies_when_a_calendar_is_added()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var (status, _) = await host.SendAsync(HttpMethod.Post, "calendar/v3/users/me/calendarList/watch", Watch("list-1", receiver.Address));
        Assert.Equal(200, status);
        await receiver.WaitForAsync(1);
        await host.SendAsync(HttpMethod.Post, "calendar/v3/calendars", new JsonObject { ["summary"] = "New" });
        var all = await receiver.WaitForAsync(2);
        Assert.Equal("exists", all[1].State);
    }
}
