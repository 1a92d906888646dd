using System.Net;
using Calhook.Emulator;
using Calhook.Storage;
using Calhook.TestKit;
using Calhook.Tests.Calendars;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Dashboard;

/// <summary>The dashboard's Watch, Watch all calendars and Stop buttons make and stop watches as the watches API does.</summary>
public sealed class DashboardWatchesTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Watch_all_calendars_makes_the_all_calendars_watch_that_follows_new_calendars_and_stop_releases_everything()
    {
        await using var world = await CalendarWorld.StartAsync();
        using var browser = new BrowserSession(world.Calhook.BaseAddress);
        await browser.LogInAsync();

        var account = await browser.Http.GetStringAsync(new Uri($"/accounts/{world.AccountId}", UriKind.Relative));
        using (var watched = await browser.SubmitAsync(account, "/dashboard/watches", "name=\"all\""))
        {
            Assert.Equal(HttpStatusCode.Redirect, watched.StatusCode);
        }

        // One watch of every calendar, as POST /v1/watches {"allCalendars": true} makes it, with the calendar list watched.
        var all = Assert.Single(await world.WatchesAsync(), w => (bool?)w["allCalendars"] == true);
        var allId = (string)all["id"]!;
        Assert.Null(all["calendarId"]);
        Assert.NotNull(await ListWatchAsync(world));
        await world.WaitFollowedAsync(allId, CalendarWorld.Bob);

        // It follows the list: a calendar created afterwards is watched too.
        var side = await world.CreateCalendarAsync(world.BobGoogle, "Side project");
        await world.WaitFollowedAsync(allId, side);
        Assert.Contains("id=\"all-watched\"", await browser.Http.GetStringAsync(new Uri($"/accounts/{world.AccountId}", UriKind.Relative)), StringComparison.Ordinal);
        using (var again = await browser.SubmitAsync(account, "/dashboard/watches", "name=\"all\""))
        {
            Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
        }

        Assert.Single(await world.WatchesAsync(), w => (bool?)w["allCalendars"] == true);
        var dashboard = await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains($"<tr data-watch-id=\"{allId}\"><td><em class=\"all-calendars\">all calendars</em></td>", dashboard, StringComparison.Ordinal);

        // Stop: the all-calendars watch, the watches it made, the calendar-list watch and every channel at Google.
        using (var stopped = await browser.SubmitAsync(dashboard, $"/dashboard/watches/{allId}/remove"))
        {
            Assert.Equal(HttpStatusCode.Redirect, stopped.StatusCode);
        }

        Assert.Empty(await world.WatchesAsync());
        Assert.Null(await ListWatchAsync(world));
        await Polling.EventuallyAsync(async () => (await ChannelsAsync(world)).Count == 0, Generous, "every channel is stopped at Google");
    }

    [Fact]
    public async Task Stopping_the_last_calendar_watch_from_the_dashboard_stops_the_calendar_list_watch_too()
    {
        await using var world = await CalendarWorld.StartAsync();
        using var browser = new BrowserSession(world.Calhook.BaseAddress);
        await browser.LogInAsync();
        var account = await browser.Http.GetStringAsync(new Uri($"/accounts/{world.AccountId}", UriKind.Relative));
        using (var watched = await browser.SubmitAsync(account, "/dashboard/watches", $"value=\"{CalendarWorld.Bob}\""))
        {
            Assert.Equal(HttpStatusCode.Redirect, watched.StatusCode);
        }

        var watch = (string)Assert.Single(await world.WatchesAsync())["id"]!;
        Assert.NotNull(await ListWatchAsync(world));
        await world.WaitSyncedAsync(watch, "the calendar's baseline is in");
        await Polling.EventuallyAsync(async () => (await ChannelsAsync(world)).Count == 2, Generous,
            "the calendar's and the calendar list's channels are open");

        var dashboard = await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative));
        using (var stopped = await browser.SubmitAsync(dashboard, $"/dashboard/watches/{watch}/remove"))
        {
            Assert.Equal(HttpStatusCode.Redirect, stopped.StatusCode);
        }

        Assert.Empty(await world.WatchesAsync());
        Assert.Null(await ListWatchAsync(world));
        await Polling.EventuallyAsync(async () => (await ChannelsAsync(world)).Count == 0, Generous, "both channels are stopped at Google");
    }

    private static async Task<IReadOnlyList<EmulatorChannel>> ChannelsAsync(CalendarWorld world)
    {
        using var control = new EmulatorControlClient(world.Emulator.BaseAddress);
        return await control.GetChannelsAsync();
    }

    /// <summary>The account's live calendar-list watch (Calhook's own bookkeeping, which the API does not list), or null.</summary>
    private static async Task<WatchRecord?> ListWatchAsync(CalendarWorld world) =>
        (await world.Calhook.Services.GetRequiredService<ICalhookStore>().ListWatchesAsync(CancellationToken.None))
            .SingleOrDefault(w => w.AccountId == world.AccountId && w.Kind == WatchKind.CalendarList);
}
