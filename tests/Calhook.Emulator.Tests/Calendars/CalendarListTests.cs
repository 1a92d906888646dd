using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Calendars;

/// <summary>calendarList with sync tokens, deleted entries and pushes, driven by the share/rename/unshare/delete controls.</summary>
public sealed class CalendarListTests
{
    private const string Bob = "bob@example.com";
    private const string ListPath = "calendar/v3/users/me/calendarList";

    private static async Task<(EmulatorHost Host, HttpClient Bob, string CalendarId)> StartWithSecondaryAsync()
    {
        var host = await EmulatorHost.StartAsync();
        var (_, calendar) = await host.SendAsync(HttpMethod.Post, "calendar/v3/calendars", new JsonObject { ["summary"] = "Team", ["timeZone"] = "Europe/Paris" });
        return (host, await host.SignInAsync(Bob), (string)calendar!["id"]!);
    }

    [Fact]
    public async Task A_sync_token_returns_shared_calendars_as_entries_and_unshared_or_deleted_ones_as_deleted_entries()
    {
        var (host, bob, team) = await StartWithSecondaryAsync();
        await using var _ = host;
        using var __ = bob;
        var (_, first) = await host.SendAsync(HttpMethod.Get, ListPath, client: bob);
        Assert.Equal("calendar#calendarList", (string)first!["kind"]!);
        Assert.Equal([Bob], first["items"]!.AsArray().Select(i => (string)i!["id"]!));
        Assert.True((bool)first["items"]![0]!["primary"]!);
        var token = (string)first["nextSyncToken"]!;

        await host.Control.ShareCalendarAsync(team, Bob, "writer");
        var (_, shared) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?syncToken={Uri.EscapeDataString(token)}", client: bob);
        var entry = shared!["items"]!.AsArray().Single()!;
        Assert.Equal(("calendar#calendarListEntry", team, "Team", "writer"), ((string)entry["kind"]!, (string)entry["id"]!, (string)entry["summary"]!, (string)entry["accessRole"]!));
        Assert.Null(entry["primary"]);
        Assert.Null(entry["deleted"]);
        token = (string)shared["nextSyncToken"]!;

        // A rename is a calendar property: not returned with a sync token (Google's documented rule), seen by a full list.
        await host.Control.RenameCalendarAsync(team, "Team (renamed)");
        var (_, afterRename) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?syncToken={Uri.EscapeDataString(token)}", client: bob);
        Assert.Empty(afterRename!["items"]!.AsArray());
        var (_, full) = await host.SendAsync(HttpMethod.Get, ListPath, client: bob);
        Assert.Equal("Team (renamed)", (string)full!["items"]!.AsArray().Single(i => (string)i!["id"]! == team)!["summary"]!);
        Assert.Equal((string)entry["etag"]!, (string)full["items"]!.AsArray().Single(i => (string)i!["id"]! == team)!["etag"]!);

        await host.Control.UnshareCalendarAsync(team, Bob);
        var (_, unshared) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?syncToken={Uri.EscapeDataString(token)}", client: bob);
        var tombstone = unshared!["items"]!.AsArray().Single()!.AsObject();
        Assert.Equal(["kind", "etag", "id", "deleted"], tombstone.Select(p => p.Key));
        Assert.True((bool)tombstone["deleted"]!);
        Assert.Equal(404, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(team), client: bob)).Status);
        var (_, withoutDeleted) = await host.SendAsync(HttpMethod.Get, ListPath, client: bob);
        Assert.DoesNotContain(withoutDeleted!["items"]!.AsArray(), i => (string)i!["id"]! == team);
        var (_, withDeleted) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?showDeleted=true", client: bob);
        Assert.Contains(withDeleted!["items"]!.AsArray(), i => (string)i!["id"]! == team && (bool?)i["deleted"] == true);

        // The owner deletes it: the owner's list gets the deleted entry too.
        var (_, aliceList) = await host.SendAsync(HttpMethod.Get, ListPath);
        await host.Control.DeleteCalendarAsync(team);
        var (_, aliceAfter) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?syncToken={Uri.EscapeDataString((string)aliceList!["nextSyncToken"]!)}");
        Assert.Equal([(team, true)], aliceAfter!["items"]!.AsArray().Select(i => ((string)i!["id"]!, (bool)i["deleted"]!)));
    }

    [Fact]
    public async Task Parameters_google_forbids_with_a_sync_token_are_400_and_a_foreign_token_is_410()
    {
        var (host, bob, _) = await StartWithSecondaryAsync();
        await using var _ = host;
        using var __ = bob;
        var (_, list) = await host.SendAsync(HttpMethod.Get, ListPath);
        var token = Uri.EscapeDataString((string)list!["nextSyncToken"]!);
        foreach (var bad in new[] { "minAccessRole=reader", "showDeleted=false", "showHidden=false" })
        {
            var (status, json) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?syncToken={token}&{bad}");
            EmulatorHost.AssertError(400, "invalid", status, json);
        }

        var (garbled, garbledJson) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?syncToken=not-a-token");
        EmulatorHost.AssertError(400, "invalid", garbled, garbledJson);
        var (foreign, foreignJson) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?syncToken={token}", client: bob);
        EmulatorHost.AssertError(410, "fullSyncRequired", foreign, foreignJson);
    }

    [Fact]
    public async Task The_list_pages_with_max_results_and_filters_by_min_access_role()
    {
        var (host, bob, team) = await StartWithSecondaryAsync();
        await using var _ = host;
        using var __ = bob;
        await host.Control.ShareCalendarAsync(team, Bob, "reader");
        var (_, page1) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?maxResults=1", client: bob);
        Assert.Single(page1!["items"]!.AsArray());
        Assert.Null(page1["nextSyncToken"]);
        var (_, page2) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?maxResults=1&pageToken={Uri.EscapeDataString((string)page1["nextPageToken"]!)}", client: bob);
        Assert.Equal(team, (string)page2!["items"]![0]!["id"]!);
        Assert.NotNull(page2["nextSyncToken"]);
        var (_, owned) = await host.SendAsync(HttpMethod.Get, $"{ListPath}?minAccessRole=owner", client: bob);
        Assert.Equal([Bob], owned!["items"]!.AsArray().Select(i => (string)i!["id"]!));

        // A reader may read the events but not change them.
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath(team), client: bob)).Status);
        var (denied, deniedJson) = await host.SendAsync(HttpMethod.Post, EmulatorHost.EventsPath(team), Some.Event("x", Some.Monday), client: bob);
        EmulatorHost.AssertError(403, "requiredAccessLevel", denied, deniedJson);
    }

    [Fact]
    public async Task A_calendar_list_channel_is_pushed_when_a_calendar_is_shared_or_unshared()
    {
        var (host, bob, team) = await StartWithSecondaryAsync();
        await using var _ = host;
        using var __ = bob;
        await using var receiver = await PushReceiver.StartAsync();
        var watch = new JsonObject { ["id"] = "list-1", ["type"] = "web_hook", ["address"] = receiver.Address.ToString() };
        var (status, channel) = await host.SendAsync(HttpMethod.Post, $"{ListPath}/watch", watch, client: bob);
        Assert.Equal(200, status);
        Assert.EndsWith("/calendar/v3/users/me/calendarList?alt=json", (string)channel!["resourceUri"]!, StringComparison.Ordinal);
        await receiver.WaitForAsync(1);

        await host.Control.ShareCalendarAsync(team, Bob);
        await host.Control.UnshareCalendarAsync(team, Bob);
        var pushes = await receiver.WaitForAsync(3);
        Assert.Equal(["sync", "exists", "exists"], pushes.Select(p => p.State));
        Assert.All(pushes, p => Assert.Equal((string)channel["resourceId"]!, p.Headers["X-Goog-Resource-ID"].ToString()));
    }
}
