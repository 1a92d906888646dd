using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.TestKit;

namespace Calhook.Tests.Changes;

public sealed class ChangesFeedTests
{
    private static async Task<JsonObject> GetAsync(FeedHost host, string query)
    {
        var response = await host.Client.GetAsync("v1/changes" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static long[] Sequences(JsonObject page) => [.. ((JsonArray)page["changes"]!).Select(c => (long)c!["sequence"]!)];

    [Fact]
    public async Task Pages_follow_the_cursor_with_next_and_hasMore()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitAsync("alice@example.com", ChangeTypes.Created, ChangeTypes.Updated, ChangeTypes.Deleted);

        var first = await GetAsync(host, "?after=0&limit=2");
        Assert.Equal([1L, 2L], Sequences(first));
        Assert.Equal(2, (long)first["next"]!);
        Assert.True((bool)first["hasMore"]!);

        var second = await GetAsync(host, "?after=2&limit=2");
        Assert.Equal([3L], Sequences(second));
        Assert.Equal(3, (long)second["next"]!);
        Assert.False((bool)second["hasMore"]!);

        var empty = await GetAsync(host, "?after=3");
        Assert.Empty(Sequences(empty));
        Assert.Equal(3, (long)empty["next"]!);

        Assert.Equal(new long[] { 1L, 2L, 3L }, Sequences(await GetAsync(host, "")));
    }

    [Fact]
    public async Task A_change_has_exactly_the_documented_shape()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitAsync("alice@example.com", ChangeTypes.Created, ChangeTypes.Deleted);

        var changes = (JsonArray)(await GetAsync(host, "?after=0"))["changes"]!;
        var created = (JsonObject)changes[0]!;
        Assert.Equal(["id", "sequence", "type", "calendarId", "eventId", "detectedAt", "event", "diff"], created.Select(p => p.Key));
        Assert.Equal("event.created", (string)created["type"]!);
        Assert.Equal("2026-11-28T10:00:00.123Z", (string)created["detectedAt"]!);
        var deleted = (JsonObject)changes[1]!;
        Assert.Equal(["id", "sequence", "type", "calendarId", "eventId", "detectedAt", "previous", "diff"], deleted.Select(p => p.Key));
    }

    [Fact]
    public async Task Filters_by_calendar_and_type()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitAsync("alice@example.com", ChangeTypes.Created, ChangeTypes.Deleted);
        await host.CommitAsync("bob@example.com", ChangeTypes.Created, ChangeTypes.Updated);

        Assert.Equal(new long[] { 3L, 4L }, Sequences(await GetAsync(host, "?calendarId=bob@example.com")));
        Assert.Equal(new long[] { 1L, 3L }, Sequences(await GetAsync(host, "?type=event.created")));
        Assert.Equal(new long[] { 2L, 4L }, Sequences(await GetAsync(host, "?type=event.deleted,event.updated")));
        Assert.Equal(new long[] { 3L }, Sequences(await GetAsync(host, "?type=event.created&calendarId=bob%40example.com")));
    }

    [Fact]
    public async Task A_limit_above_the_maximum_is_clamped()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitAsync("alice@example.com", [.. Enumerable.Repeat(ChangeTypes.Created, 1001)]);

        var page = await GetAsync(host, "?limit=5000");
        Assert.Equal(1000, Sequences(page).Length);
        Assert.True((bool)page["hasMore"]!);
        Assert.Equal(100, Sequences(await GetAsync(host, "")).Length);
    }

    [Theory]
    [InlineData("?after=-1", "after")]
    [InlineData("?after=abc", "after")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=ten", "limit")]
    [InlineData("?wait=-5", "wait")]
    [InlineData("?type=event.moved", "type")]
    [InlineData("?calendarId=", "calendarId")]
    public async Task Bad_parameters_are_a_400_problem_naming_the_parameter(string query, string parameter)
    {
        await using var host = await FeedHost.StartAsync();
        var response = await host.Client.GetAsync("v1/changes" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(parameter, (string)problem["parameter"]!);
        Assert.Contains($"'{parameter}'", (string)problem["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_feed_needs_the_api_key()
    {
        await using var host = await FeedHost.StartAsync();
        using var anonymous = host.Host.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("v1/changes")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("v1/changes/stream")).StatusCode);
    }

    [Fact]
    public async Task Wait_long_polls_until_a_change_is_committed()
    {
        // On a clock that stands still, the 30 s deadline never passes: only a commit can answer the poll.
        var time = new TimerSignal(TimeSpan.FromSeconds(30), new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        await using var host = await FeedHost.StartAsync(time: time);
        var poll = host.Client.GetAsync("v1/changes?after=0&wait=30");

        // The poll has read an empty log and is parked on its deadline.
        await time.TimerCreated.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(poll.IsCompleted);
        await host.CommitAsync("alice@example.com", ChangeTypes.Created);

        var response = await poll.WaitAsync(TimeSpan.FromSeconds(10));
        var page = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal([1L], Sequences(page));
    }

    [Fact]
    public async Task Wait_answers_an_empty_page_when_nothing_is_committed_in_time()
    {
        await using var host = await FeedHost.StartAsync();
        var started = TimeProvider.System.GetTimestamp();
        var page = await GetAsync(host, "?after=0&wait=1");
        Assert.Empty(Sequences(page));
        Assert.Equal(0, (long)page["next"]!);
        Assert.True(TimeProvider.System.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(900));
    }

    private const string OffsetEvent = """{"id":"ev_raw","etag":"\"3181\"","summary":"Tom & Jerry <3","start":{"dateTime":"2026-11-28T10:00:00+01:00"}}""";

    [Fact]
    public async Task The_feed_writes_plus_signs_quotes_and_ampersands_as_they_are()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitCreatedAsync("alice@example.com", OffsetEvent);

        var body = await host.Client.GetStringAsync("v1/changes?after=0");

        Assert.Contains("\"dateTime\":\"2026-11-28T10:00:00+01:00\"", body, StringComparison.Ordinal);
        Assert.Contains("\"summary\":\"Tom & Jerry <3\"", body, StringComparison.Ordinal);
        Assert.Contains("\"etag\":\"\\\"3181\\\"\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\\u0022", body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_stream_writes_plus_signs_as_they_are()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitCreatedAsync("alice@example.com", OffsetEvent);
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/changes/stream?after=0");
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        string? data = null;
        while (data is null)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException();
            data = line.StartsWith("data: ", StringComparison.Ordinal) ? line : null;
        }

        Assert.Contains("2026-11-28T10:00:00+01:00", data, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", data, StringComparison.OrdinalIgnoreCase);
    }
}
