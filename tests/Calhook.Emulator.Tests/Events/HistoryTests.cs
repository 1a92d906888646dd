using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Events;

public sealed class HistoryTests
{
    private static string HistoryPath(long after = 0) => $"emulator/v1/calendars/{Uri.EscapeDataString(EmulatorHost.Alice)}/history?after={after}";

    [Fact]
    public async Task History_lists_every_committed_mutation_in_order_with_the_event_after_it()
    {
        await using var host = await EmulatorHost.StartAsync();
        var created = await host.InsertAsync("Planning", Some.Monday);
        var id = (string)created["id"]!;
        var (patched, _) = await host.SendAsync(HttpMethod.Patch, $"{EmulatorHost.EventsPath()}/{id}", new JsonObject { ["summary"] = "Planning v2" });
        var (deleted, _) = await host.SendAsync(HttpMethod.Delete, $"{EmulatorHost.EventsPath()}/{id}");
        Assert.Equal((200, 204), (patched, deleted));

        var items = (await host.GetJsonAsync(HistoryPath()))["items"]!.AsArray();

        Assert.Equal(["created", "updated", "deleted"], items.Select(i => (string)i!["kind"]!));
        Assert.All(items, i => Assert.Equal(id, (string?)i!["eventId"]));
        var seqs = items.Select(i => (long)i!["seq"]!).ToList();
        Assert.Equal(seqs.Order(), seqs);
        Assert.Equal("Planning v2", (string?)items[1]!["event"]!["summary"]);
        Assert.Equal("cancelled", (string?)items[2]!["event"]!["status"]);

        var later = (await host.GetJsonAsync(HistoryPath(seqs[0])))["items"]!.AsArray();
        Assert.Equal(seqs.Skip(1), later.Select(i => (long)i!["seq"]!));
    }

    [Fact]
    public async Task The_first_edit_of_an_occurrence_is_an_update_of_that_instance_keeping_the_series_creation_time()
    {
        await using var host = await EmulatorHost.StartAsync();
        var series = await host.InsertAsync(Some.Series("Stand-up", "2026-03-02T09:00:00", "Europe/Paris", "RRULE:FREQ=DAILY;COUNT=3"));
        var instances = await host.GetJsonAsync($"{EmulatorHost.EventsPath()}/{series["id"]}/instances");
        var second = (string)instances["items"]![1]!["id"]!;

        var (status, edited) = await host.SendAsync(HttpMethod.Patch, $"{EmulatorHost.EventsPath()}/{second}", new JsonObject { ["summary"] = "Stand-up (moved)" });

        Assert.Equal(200, status);
        Assert.Equal((string?)series["created"], (string?)edited!["created"]);
        var last = (await host.GetJsonAsync(HistoryPath()))["items"]!.AsArray()[^1]!;
        Assert.Equal("updated", (string?)last["kind"]);
        Assert.Equal(second, (string?)last["eventId"]);
    }

    [Fact]
    public async Task Json_is_escaped_only_where_json_requires_as_google_writes_it()
    {
        await using var host = await EmulatorHost.StartAsync();
        var created = await host.InsertAsync(Some.Series("A+B", "2026-03-02T09:00:00", "Europe/Paris", "RRULE:FREQ=DAILY;COUNT=2"));

        var raw = await host.Http.GetStringAsync(new Uri($"{EmulatorHost.EventsPath()}/{created["id"]}", UriKind.Relative));

        Assert.Contains("\"etag\":\"\\\"", raw, StringComparison.Ordinal);
        Assert.Contains("\"summary\":\"A+B\"", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", raw, StringComparison.Ordinal);
    }
}
