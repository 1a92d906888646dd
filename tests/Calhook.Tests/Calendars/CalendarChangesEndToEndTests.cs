using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Calhook.Tests.Calendars;

/// <summary>Calendar-level changes end to end: the emulator as Google, a real Calhook service, the feed over HTTP.</summary>
public sealed class CalendarChangesEndToEndTests
{
    private static bool Is(JsonObject change, string type, string calendarId) =>
        (string)change["type"]! == type && (string)change["calendarId"]! == calendarId;

    [Fact]
    public async Task A_calendar_shared_renamed_unshared_and_deleted_is_added_updated_and_removed_and_its_events_stop()
    {
        await using var world = await CalendarWorld.StartAsync(fullListEveryTime: true);
        var all = await world.WatchAsync(calendarId: null);
        await world.WaitSyncedAsync(all, "the calendar list's baseline is committed");
        await world.WaitFollowedAsync(all, CalendarWorld.Bob);
        var team = await world.CreateCalendarAsync(world.AliceGoogle, "Team");

        // Shared: calendar.added with the list entry, no event id; the all-calendars watch now follows it.
        await world.Control.ShareCalendarAsync(team, CalendarWorld.Bob, "writer");
        var feed = await world.FeedWithAsync(c => Is(c, "calendar.added", team), "the shared calendar is added");
        var added = feed.Single(c => Is(c, "calendar.added", team));
        Assert.Null(added["eventId"]);
        Assert.Null(added["previous"]);
        Assert.Equal(("Team", "writer"), ((string)added["calendar"]!["summary"]!, (string)added["calendar"]!["accessRole"]!));
        var teamWatch = await world.WaitFollowedAsync(all, team);
        var planning = await world.InsertEventAsync(world.AliceGoogle, team, "Planning");
        await world.FeedWithAsync(c => (string?)c["eventId"] == planning, "an event of the shared calendar is reported");

        // Renamed: calendar.updated with the summary's diff (a rename only shows in a whole list: Google's rule).
        await world.Control.RenameCalendarAsync(team, "Team (renamed)");
        await world.SyncAsync(all);
        feed = await world.FeedWithAsync(c => Is(c, "calendar.updated", team), "the rename is reported");
        var updated = feed.Single(c => Is(c, "calendar.updated", team));
        var diff = updated["diff"]!.AsArray().Single()!;
        Assert.Equal(("summary", "Team", "Team (renamed)"), ((string)diff["path"]!, (string)diff["before"]!, (string)diff["after"]!));
        Assert.Equal("Team", (string)updated["previous"]!["summary"]!);
        Assert.Equal("Team (renamed)", (string)updated["calendar"]!["summary"]!);

        // Unshared: calendar.removed, the calendar's watch stops with a clear reason, and no event change follows.
        await world.Control.UnshareCalendarAsync(team, CalendarWorld.Bob);
        feed = await world.FeedWithAsync(c => Is(c, "calendar.removed", team), "the unshared calendar is removed");
        var removed = feed.Single(c => Is(c, "calendar.removed", team));
        Assert.Null(removed["calendar"]);
        Assert.Equal("Team (renamed)", (string)removed["previous"]!["summary"]!);
        var stopped = await world.WatchStateAsync(teamWatch);
        Assert.Equal("stopped", (string)stopped["status"]!);
        Assert.Contains("removed from the account", (string)stopped["error"]!, StringComparison.Ordinal);
        await world.InsertEventAsync(world.AliceGoogle, team, "After unshare");
        var marker = await world.InsertEventAsync(world.BobGoogle, CalendarWorld.Bob, "Marker");
        feed = await world.FeedWithAsync(c => (string?)c["eventId"] == marker, "a later event elsewhere is reported");
        var removedAt = (long)removed["sequence"]!;
        Assert.DoesNotContain(feed, c => (string)c["calendarId"]! == team && (long)c["sequence"]! > removedAt);

        // Shared again, then deleted by its owner: added again, removed again.
        await world.Control.ShareCalendarAsync(team, CalendarWorld.Bob, "reader");
        await world.FeedWithAsync(c => Is(c, "calendar.added", team) && (long)c["sequence"]! > removedAt, "the calendar shared again is added");
        await world.WaitFollowedAsync(all, team);
        await world.Control.DeleteCalendarAsync(team);
        feed = await world.FeedWithAsync(c => Is(c, "calendar.removed", team) && (long)c["sequence"]! > removedAt, "the deleted calendar is removed");
        Assert.Equal(["calendar.added", "calendar.updated", "calendar.removed", "calendar.added", "calendar.removed"],
            feed.Where(c => (string)c["calendarId"]! == team && ((string)c["type"]!).StartsWith("calendar.", StringComparison.Ordinal)).Select(c => (string)c["type"]!));
        Assert.All(await world.WatchesAsync(), w => Assert.False((string?)w["calendarId"] == team && (string)w["status"]! != "stopped"));
        var filtered = await world.Api.GetFromJsonAsync<JsonObject>($"v1/changes?type=calendar.added,calendar.removed&calendarId={Uri.EscapeDataString(team)}");
        Assert.Equal(["calendar.added", "calendar.removed", "calendar.added", "calendar.removed"], filtered!["changes"]!.AsArray().Select(c => (string)c!["type"]!));
    }

    [Fact]
    public async Task An_all_calendars_watch_follows_a_new_calendar_and_drops_it_when_it_is_deleted()
    {
        await using var world = await CalendarWorld.StartAsync();
        var all = await world.WatchAsync(calendarId: null);
        var state = await world.WatchStateAsync(all);
        Assert.True((bool)state["allCalendars"]!);
        Assert.Null(state["calendarId"]);
        await world.WaitSyncedAsync(all, "the calendar list's baseline is committed");
        await world.WaitFollowedAsync(all, CalendarWorld.Bob);

        // Bob creates a calendar: it is added (from the list's incremental sync), followed, and its events reported.
        var side = await world.CreateCalendarAsync(world.BobGoogle, "Side project");
        await world.FeedWithAsync(c => Is(c, "calendar.added", side), "the new calendar is added");
        var sideWatch = await world.WaitFollowedAsync(all, side);
        var kickoff = await world.InsertEventAsync(world.BobGoogle, side, "Kick-off");
        var feed = await world.FeedWithAsync(c => (string?)c["eventId"] == kickoff, "the new calendar's event is reported");
        Assert.Equal(("event.created", side), ((string)feed.Single(c => (string?)c["eventId"] == kickoff)["type"]!, (string)feed.Single(c => (string?)c["eventId"] == kickoff)["calendarId"]!));

        // Bob deletes it: removed, and its watch is stopped; the all-calendars watch goes on.
        (await world.BobGoogle.DeleteAsync($"calendar/v3/calendars/{Uri.EscapeDataString(side)}")).EnsureSuccessStatusCode();
        await world.FeedWithAsync(c => Is(c, "calendar.removed", side), "the deleted calendar is removed");
        Assert.Equal("stopped", (string)(await world.WatchStateAsync(sideWatch))["status"]!);
        Assert.NotEqual("stopped", (string)(await world.WatchStateAsync(all))["status"]!);

        // Removing the all-calendars watch stops the watches it made.
        (await world.Api.DeleteAsync($"v1/watches/{all}")).EnsureSuccessStatusCode();
        Assert.All((await world.WatchesAsync()).Where(w => (string?)w["parentWatchId"] == all), w => Assert.Equal("stopped", (string)w["status"]!));
    }

    [Fact]
    public async Task An_event_watch_answered_404_reports_its_calendar_removed_once_and_stops()
    {
        await using var world = await CalendarWorld.StartAsync();
        var missing = "nosuchcalendar@group.calendar.google.com";
        var watch = await world.WatchAsync(missing);

        var feed = await world.FeedWithAsync(c => Is(c, "calendar.removed", missing), "the unreadable calendar is removed");

        Assert.Single(feed, c => (string)c["calendarId"]! == missing);
        await Calhook.TestKit.Polling.EventuallyAsync(async () => (string)(await world.WatchStateAsync(watch))["status"]! == "stopped",
            TimeSpan.FromSeconds(20), "the watch is stopped");
        Assert.Contains(missing, (string)(await world.WatchStateAsync(watch))["error"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_watch_needs_either_a_calendar_or_all_calendars()
    {
        await using var world = await CalendarWorld.StartAsync();
        foreach (var body in new object[] { new { accountId = world.AccountId }, new { accountId = world.AccountId, calendarId = "x@example.com", allCalendars = true } })
        {
            var response = await world.Api.PostAsJsonAsync("v1/watches", body);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("allCalendars", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }
}
