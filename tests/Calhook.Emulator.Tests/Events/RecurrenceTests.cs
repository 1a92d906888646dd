using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Events;

public sealed class RecurrenceTests
{
    [Fact]
    public async Task Timed_series_keeps_wall_clock_time_across_dst_and_honours_exdate()
    {
        await using var host = await EmulatorHost.StartAsync();
        // New York switches to DST on 2026-03-08: 09:00 local is 14:00Z before and 13:00Z after.
        var master = await host.InsertAsync(Some.Series("Daily", "2026-03-06T09:00:00", "America/New_York",
            "RRULE:FREQ=DAILY;COUNT=5", "EXDATE;TZID=America/New_York:20260307T090000"));
        var id = (string)master["id"]!;
        var (items, _, _) = await host.ListAllAsync("singleEvents=true&orderBy=startTime");
        Assert.Equal(new[] { "2026-03-06T09:00:00-05:00", "2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00" },
            items.Select(i => (string)i["start"]!["dateTime"]!));
        Assert.Equal($"{id}_20260308T130000Z", (string)items[1]["id"]!);
        Assert.All(items, i => Assert.Equal(id, (string)i["recurringEventId"]!));
        Assert.Equal("2026-03-08T09:00:00-04:00", (string)items[1]["originalStartTime"]!["dateTime"]!);
        Assert.All(items, i => Assert.Null(i["recurrence"]));
        var (masters, _, _) = await host.ListAllAsync("");
        Assert.Equal(id, (string)Assert.Single(masters)["id"]!);
    }

    [Fact]
    public async Task All_day_series_use_date_instance_ids_and_rdate()
    {
        await using var host = await EmulatorHost.StartAsync();
        var body = new JsonObject
        {
            ["summary"] = "Birthday",
            ["start"] = new JsonObject { ["date"] = "2026-01-10" },
            ["end"] = new JsonObject { ["date"] = "2026-01-11" },
            ["recurrence"] = new JsonArray("RRULE:FREQ=YEARLY;COUNT=2", "RDATE;VALUE=DATE:20260601"),
        };
        var id = (string)(await host.InsertAsync(body))["id"]!;
        var instances = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}/{id}/instances");
        var items = instances["items"]!.AsArray();
        Assert.Equal(new[] { $"{id}_20260110", $"{id}_20260601", $"{id}_20270110" }, items.Select(i => (string)i!["id"]!));
        Assert.Equal("2026-06-02", (string)items[1]!["end"]!["date"]!);
    }

    [Fact]
    public async Task Editing_and_cancelling_an_instance_make_exceptions_that_sync_and_instances_show()
    {
        await using var host = await EmulatorHost.StartAsync();
        var id = (string)(await host.InsertAsync(Some.Series("Weekly", "2026-03-02T10:00:00", "Europe/Paris", "RRULE:FREQ=WEEKLY;COUNT=4")))["id"]!;
        var (_, token, _) = await host.ListAllAsync("");
        var second = $"{id}_20260309T090000Z";
        var third = $"{id}_20260316T090000Z";
        Assert.Equal("Weekly", (string)(await host.GetJsonAsync($"{EmulatorHost.EventsPath()}/{second}"))["summary"]!);
        var (patched, moved) = await host.SendAsync(HttpMethod.Patch, $"{EmulatorHost.EventsPath()}/{second}", new JsonObject
        {
            ["summary"] = "Weekly (moved)",
            ["start"] = new JsonObject { ["dateTime"] = "2026-03-09T11:00:00+01:00", ["timeZone"] = "Europe/Paris" },
            ["end"] = new JsonObject { ["dateTime"] = "2026-03-09T12:00:00+01:00", ["timeZone"] = "Europe/Paris" },
        });
        Assert.Equal(200, patched);
        Assert.Equal(id, (string)moved!["recurringEventId"]!);
        Assert.Equal("2026-03-09T10:00:00+01:00", (string)moved["originalStartTime"]!["dateTime"]!);
        Assert.Equal(204, (await host.SendAsync(HttpMethod.Delete, $"{EmulatorHost.EventsPath()}/{third}")).Status);

        var (delta, _, _) = await host.ListAllAsync($"syncToken={Uri.EscapeDataString(token)}");
        Assert.Equal(new[] { second, third }, delta.Select(i => (string)i["id"]!));
        Assert.Equal("cancelled", (string)delta[1]["status"]!);
        Assert.Equal(id, (string)delta[1]["recurringEventId"]!);

        var instances = (await host.GetJsonAsync($"{EmulatorHost.EventsPath()}/{id}/instances"))["items"]!.AsArray();
        Assert.Equal(new[] { "Weekly", "Weekly (moved)", "Weekly" }, instances.Select(i => (string)i!["summary"]!));
        var (singles, _, _) = await host.ListAllAsync("singleEvents=true&orderBy=startTime");
        Assert.Equal(3, singles.Count);
        Assert.DoesNotContain(singles, i => (string)i["id"]! == third);
        // Without expansion, the cancelled instance of a live series still shows (Google's rule).
        var (plain, _, _) = await host.ListAllAsync("");
        Assert.Contains(plain, i => (string)i["id"]! == third && (string)i["status"]! == "cancelled");

        Assert.Equal(204, (await host.SendAsync(HttpMethod.Delete, $"{EmulatorHost.EventsPath()}/{id}")).Status);
        var (gone, _, _) = await host.ListAllAsync("singleEvents=true");
        Assert.Empty(gone);
    }

    [Fact]
    public async Task Infinite_series_are_expanded_within_the_time_range()
    {
        await using var host = await EmulatorHost.StartAsync();
        await host.InsertAsync(Some.Series("Forever", "2026-01-01T08:00:00", "UTC", "RRULE:FREQ=DAILY"));
        var (items, _, _) = await host.ListAllAsync("singleEvents=true&timeMin=2026-02-01T00:00:00Z&timeMax=2026-02-08T00:00:00Z&maxResults=3");
        Assert.Equal(7, items.Count);
        Assert.Equal("2026-02-01T08:00:00Z", (string)items[0]["start"]!["dateTime"]!);
    }
}
