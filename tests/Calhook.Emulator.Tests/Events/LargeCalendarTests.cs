using System.Diagnostics;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Events;
using Calhook.Emulator.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Events;

public sealed class LargeCalendarTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_calendar_of_100000_events_pages_fully_and_syncs_incrementally()
    {
        await using var host = await EmulatorHost.StartAsync();
        var store = host.Server.Services.GetRequiredService<CalendarStore>();
        var writer = host.Server.Services.GetRequiredService<EventWriter>();
        var calendar = store.Find(EmulatorHost.Alice)!;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 100_000; i++)
        {
            Assert.NotNull(writer.Insert(calendar, Some.Event($"E{i}", Some.Monday.AddMinutes(i)), import: false).Event);
        }

        var insert = clock.Elapsed;

        clock.Restart();
        var (items, token, pages) = await host.ListAllAsync("maxResults=2500");
        var paging = clock.Elapsed;
        Assert.Equal(40, pages);
        Assert.Equal(100_000, items.Select(i => (string)i["id"]!).Distinct().Count());

        for (var i = 0; i < 10; i++)
        {
            await host.InsertAsync($"late{i}", Some.Monday);
        }

        clock.Restart();
        var (delta, _, _) = await host.ListAllAsync($"syncToken={Uri.EscapeDataString(token)}");
        var incremental = clock.Elapsed;
        Assert.Equal(10, delta.Count);
        output.WriteLine($"insert 100k: {insert.TotalMilliseconds:F0} ms; full list in {pages} pages over HTTP: {paging.TotalMilliseconds:F0} ms; incremental sync of 10 changes: {incremental.TotalMilliseconds:F1} ms");
    }
}
