using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Events;

public sealed class SyncTests
{
    [Fact]
    public async Task Full_sync_pages_and_gives_next_sync_token_only_on_the_last_page()
    {
        await using var host = await EmulatorHost.StartAsync();
        for (var i = 0; i < 7; i++)
        {
            await host.InsertAsync($"E{i}", Some.Monday.AddHours(i));
        }

        var (items, syncToken, pages) = await host.ListAllAsync("maxResults=3");
        Assert.Equal(3, pages);
        Assert.Equal(7, items.Select(i => (string)i["id"]!).Distinct().Count());
        Assert.False(string.IsNullOrEmpty(syncToken));
    }

    [Fact]
    public async Task Incremental_sync_returns_exactly_the_changes_with_tombstones_for_deletions()
    {
        await using var host = await EmulatorHost.StartAsync();
        var keep = await host.InsertAsync("keep", Some.Monday);
        var change = await host.InsertAsync("change", Some.Monday);
        var remove = await host.InsertAsync("remove", Some.Monday);
        var (_, token, _) = await host.ListAllAsync("");
        var empty = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(token)}");
        Assert.Empty(empty["items"]!.AsArray());
        Assert.NotNull(empty["nextSyncToken"]);

        await host.SendAsync(HttpMethod.Patch, $"{EmulatorHost.EventsPath()}/{change["id"]}", new JsonObject { ["summary"] = "changed" });
        await host.SendAsync(HttpMethod.Delete, $"{EmulatorHost.EventsPath()}/{remove["id"]}");
        var added = await host.InsertAsync("added", Some.Monday);
        var (items, next, _) = await host.ListAllAsync($"syncToken={Uri.EscapeDataString(token)}");
        Assert.Equal(new[] { (string)change["id"]!, (string)remove["id"]!, (string)added["id"]! }, items.Select(i => (string)i["id"]!));
        Assert.Equal("changed", (string)items[0]["summary"]!);
        Assert.Equal("cancelled", (string)items[1]["status"]!);
        Assert.DoesNotContain(items, i => (string)i["id"]! == (string)keep["id"]!);
        var (after, _, _) = await host.ListAllAsync($"syncToken={Uri.EscapeDataString(next)}");
        Assert.Empty(after);
        var (full, _, _) = await host.ListAllAsync("");
        Assert.DoesNotContain(full, i => (string)i["id"]! == (string)remove["id"]!);
        var (withDeleted, _, _) = await host.ListAllAsync("showDeleted=true");
        Assert.Contains(withDeleted, i => (string)i["id"]! == (string)remove["id"]!);
    }

    [Theory]
    [InlineData("timeMin=2026-01-01T00:00:00Z")]
    [InlineData("timeMax=2026-01-01T00:00:00Z")]
    [InlineData("updatedMin=2026-01-01T00:00:00Z")]
    [InlineData("q=x")]
    [InlineData("orderBy=updated")]
    [InlineData("iCalUID=x")]
    [InlineData("privateExtendedProperty=a%3Db")]
    public async Task Parameters_google_forbids_with_a_sync_token_give_400(string parameter)
    {
        await using var host = await EmulatorHost.StartAsync();
        var (_, token, _) = await host.ListAllAsync("");
        var (status, json) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(token)}&{parameter}");
        EmulatorHost.AssertError(400, "invalid", status, json);
    }

    [Fact]
    public async Task Expired_sync_tokens_give_410_full_sync_required_and_new_ones_work()
    {
        await using var host = await EmulatorHost.StartAsync();
        await host.InsertAsync("a", Some.Monday);
        var (_, token, _) = await host.ListAllAsync("");
        await host.Control.ExpireSyncTokensAsync(EmulatorHost.Alice);
        var (status, json) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(token)}");
        EmulatorHost.AssertError(410, "fullSyncRequired", status, json);
        Assert.Equal("syncToken", (string)json!["error"]!["errors"]![0]!["location"]!);
        var (_, fresh, _) = await host.ListAllAsync("");
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(fresh)}")).Status);
        var (garbage, garbageJson) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken=not-a-token");
        EmulatorHost.AssertError(400, "invalid", garbage, garbageJson);
    }

    [Fact]
    public async Task Sync_tokens_expire_after_their_lifetime()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await using var host = await EmulatorHost.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.SyncTokenLifetimeSeconds = 3600;
            o.AccessTokenLifetimeSeconds = 86_400;
        });
        var (_, token, _) = await host.ListAllAsync("");
        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(token)}")).Status);
        clock.Advance(TimeSpan.FromMinutes(2));
        var (status, json) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(token)}");
        EmulatorHost.AssertError(410, "fullSyncRequired", status, json);
    }

    [Fact]
    public async Task Pagination_across_concurrent_changes_loses_nothing()
    {
        await using var host = await EmulatorHost.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add((string)(await host.InsertAsync($"E{i}", Some.Monday.AddHours(i)))["id"]!);
        }

        var seen = new Dictionary<string, JsonObject>();
        var first = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}?maxResults=5");
        foreach (var item in first["items"]!.AsArray())
        {
            seen[(string)item!["id"]!] = (JsonObject)item;
        }
        // While paging: update an event already returned, update one not yet returned, delete one, add one.
        await host.SendAsync(HttpMethod.Patch, $"{EmulatorHost.EventsPath()}/{ids[0]}", new JsonObject { ["summary"] = "moved" });
        await host.SendAsync(HttpMethod.Patch, $"{EmulatorHost.EventsPath()}/{ids[15]}", new JsonObject { ["summary"] = "late" });
        await host.SendAsync(HttpMethod.Delete, $"{EmulatorHost.EventsPath()}/{ids[1]}");
        var added = (string)(await host.InsertAsync("new", Some.Monday))["id"]!;
        string? pageToken = (string)first["nextPageToken"]!;
        string? syncToken = null;
        while (pageToken is not null)
        {
            var page = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}?maxResults=5&pageToken={Uri.EscapeDataString(pageToken)}");
            foreach (var item in page["items"]!.AsArray())
            {
                seen[(string)item!["id"]!] = (JsonObject)item;
            }

            pageToken = (string?)page["nextPageToken"];
            syncToken = (string?)page["nextSyncToken"];
        }

        Assert.All(ids.Skip(2), id => Assert.Contains(id, seen.Keys));
        Assert.Equal("late", (string)seen[ids[15]]["summary"]!);
        // What the pages could not show (the deletion, the change to a returned event) comes with the next sync.
        var (delta, _, _) = await host.ListAllAsync($"syncToken={Uri.EscapeDataString(syncToken!)}");
        var deltaIds = delta.Select(i => (string)i["id"]!).ToList();
        Assert.Contains(ids[0], deltaIds);
        Assert.Contains(ids[1], deltaIds);
        Assert.Contains(added, seen.Keys.Concat(deltaIds));
        Assert.Equal("cancelled", (string)delta.Single(i => (string)i["id"]! == ids[1])["status"]!);
    }

    [Fact]
    public async Task Page_tokens_are_bound_to_their_query_and_max_results_is_capped_at_2500()
    {
        await using var host = await EmulatorHost.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            await host.InsertAsync($"E{i}", Some.Monday);
        }

        var first = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}?maxResults=1");
        var token = Uri.EscapeDataString((string)first["nextPageToken"]!);
        var (status, json) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?maxResults=2&pageToken={token}");
        EmulatorHost.AssertError(400, "invalid", status, json);
        var big = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}?maxResults=99999");
        Assert.Equal(3, big["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Time_range_query_updated_min_and_order_by_start_time_filter_as_google()
    {
        await using var host = await EmulatorHost.StartAsync();
        var late = await host.InsertAsync("Dentist late", Some.Monday.AddDays(2));
        var early = await host.InsertAsync("dentist early", Some.Monday);
        await host.InsertAsync("Lunch", Some.Monday.AddDays(1));
        var (range, _, _) = await host.ListAllAsync("timeMin=2026-03-02T09:30:00Z&timeMax=2026-03-04T09:00:00Z");
        Assert.Equal(new[] { "Lunch" }.Concat(["dentist early"]).Order(), range.Select(i => (string)i["summary"]!).Order());
        var (search, _, _) = await host.ListAllAsync("q=DENTIST&singleEvents=true&orderBy=startTime");
        Assert.Equal(new[] { (string)early["id"]!, (string)late["id"]! }, search.Select(i => (string)i["id"]!));
        var (updated, _, _) = await host.ListAllAsync($"updatedMin={Uri.EscapeDataString((string)early["updated"]!)}");
        Assert.DoesNotContain(updated, i => (string)i["id"]! == (string)late["id"]!);
        var (emptyRange, emptyJson) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?timeMin=2026-03-04T00:00:00Z&timeMax=2026-03-01T00:00:00Z");
        EmulatorHost.AssertError(400, "timeRangeEmpty", emptyRange, emptyJson);
    }
}
