using Calhook.Emulator.Faults;
using Calhook.Google;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Sync;

/// <summary>Incremental results that span several pages, end to end against the emulator.</summary>
public sealed class EndToEndPagingTests
{
    [Fact]
    public async Task An_incremental_sync_over_three_pages_reads_every_page_and_reports_every_change_in_order()
    {
        var lists = new ListCounter();
        await using var world = await SyncWorld.StartAsync(configureServices: services =>
        {
            // Two events per page, so five changes come back in three pages.
            services.Configure<GoogleClientOptions>(o => o.EventsPageSize = 2);
            services.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(() => new CountingHandler(lists)));
        });
        await world.Control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { DropRate = 1.0 } });

        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await world.InsertAsync(new
            {
                summary = $"Paged {i}",
                start = new { dateTime = $"2026-12-0{i + 1}T10:00:00Z" },
                end = new { dateTime = $"2026-12-0{i + 1}T11:00:00Z" },
            }));
        }

        var before = lists.Count;
        await world.ForceSyncAsync();
        var feed = await world.FeedWithAsync(5, "the five creations arrive through one paged incremental sync");

        Assert.Equal(ids, feed.Select(c => (string)c["eventId"]!));
        Assert.All(feed, c => Assert.Equal("event.created", (string?)c["type"]));
        Assert.True(lists.Count - before >= 3, $"{lists.Count - before} events.list calls");
        // One commit: the five changes share the sync's detection time.
        Assert.Single(feed.Select(c => (string)c["detectedAt"]!).Distinct());
    }

    private sealed class ListCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Add() => Interlocked.Increment(ref _count);
    }

    private sealed class CountingHandler(ListCounter counter) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.EndsWith("/events", StringComparison.Ordinal))
            {
                counter.Add();
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
