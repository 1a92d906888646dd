using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Changes;

public sealed class ChangesStreamTests
{
    /// <summary>Reads server-sent events (id, event, data) until <paramref name="count"/> have arrived, within 10 s unless told otherwise.</summary>
    private static async Task<List<(string Id, string Event, JsonObject Data)>> ReadEventsAsync(StreamReader reader, int count, TimeSpan? within = null)
    {
        var events = new List<(string, string, JsonObject)>();
        string? id = null, type = null, data = null;
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(10));
        while (events.Count < count)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException();
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    events.Add((id!, type!, (JsonObject)JsonNode.Parse(data)!));
                }

                (id, type, data) = (null, null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return events;
    }

    private static async Task<StreamReader> OpenAsync(FeedHost host, string query, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "v1/changes/stream" + query);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new StreamReader(await response.Content.ReadAsStreamAsync());
    }

    [Fact]
    public async Task The_stream_sends_the_backlog_then_live_changes()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitAsync("alice@example.com", ChangeTypes.Created);
        using var reader = await OpenAsync(host, "?after=0");

        var backlog = await ReadEventsAsync(reader, 1);
        await host.CommitAsync("alice@example.com", ChangeTypes.Updated, ChangeTypes.Deleted);
        var live = await ReadEventsAsync(reader, 2);

        Assert.Equal(["1:event.created", "2:event.updated", "3:event.deleted"], backlog.Concat(live).Select(e => $"{e.Id}:{e.Event}"));
        Assert.Equal(3, (long)live[1].Data["sequence"]!);
        Assert.Equal("event.deleted", (string)live[1].Data["type"]!);
    }

    [Fact]
    public async Task The_stream_resumes_after_Last_Event_ID()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitAsync("alice@example.com", ChangeTypes.Created, ChangeTypes.Updated, ChangeTypes.Deleted);
        using var reader = await OpenAsync(host, "?after=0", lastEventId: "2");

        var events = await ReadEventsAsync(reader, 1);
        Assert.Equal("3", events[0].Id);
    }

    [Fact]
    public async Task A_Last_Event_ID_that_is_not_a_sequence_is_a_400_problem()
    {
        await using var host = await FeedHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/changes/stream");
        request.Headers.Add("Last-Event-ID", "chg_nope");

        var response = await host.Client.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
    [Fact]
    public async Task Resuming_with_Last_Event_ID_after_a_disconnect_gives_exactly_the_missed_changes()
    {
        await using var host = await FeedHost.StartAsync();
        var hub = host.Host.Services.GetRequiredService<ChangeStreamHub>();
        await host.CommitAsync("alice@example.com", ChangeTypes.Created, ChangeTypes.Updated);
        string lastSeen;
        using (var first = await OpenAsync(host, "?after=0"))
        {
            var seen = await ReadEventsAsync(first, 2);
            lastSeen = seen[^1].Id;
        }

        await Polling.EventuallyAsync(() => Task.FromResult(hub.Connected == 0), TimeSpan.FromSeconds(10), "the first reader is gone");
        await host.CommitAsync("alice@example.com", ChangeTypes.Updated, ChangeTypes.Deleted);
        await host.CommitAsync("bob@example.com", ChangeTypes.Created);

        using var resumed = await OpenAsync(host, "", lastEventId: lastSeen);
        var missed = await ReadEventsAsync(resumed, 3);
        await host.CommitAsync("bob@example.com", ChangeTypes.Updated);
        var live = await ReadEventsAsync(resumed, 1);

        // Nothing before the resume point, nothing twice, nothing skipped.
        Assert.Equal("2", lastSeen);
        Assert.Equal(["3", "4", "5", "6"], missed.Concat(live).Select(e => e.Id));
    }

    [Fact]
    public async Task The_stream_sends_only_the_changes_its_types_calendarIds_and_ignorePaths_let_through()
    {
        await using var host = await FeedHost.StartAsync();
        await host.CommitAsync("alice@example.com", ChangeTypes.Created);                       // 1: type filtered out
        await host.CommitUpdateAsync("bob@example.com", "summary");                             // 2: calendar filtered out
        await host.CommitUpdateAsync("alice@example.com", "attendees[email=a.b@example.com].responseStatus"); // 3: ignored
        await host.CommitUpdateAsync("alice@example.com", "summary", "attendees[email=x@example.com].responseStatus"); // 4
        var query = "?types=event.updated,event.deleted&calendarIds=alice@example.com,carol@example.com"
            + "&ignorePaths=attendees[*].responseStatus&ignorePaths=extendedProperties.private.*";
        using var reader = await OpenAsync(host, query);
        var backlog = await ReadEventsAsync(reader, 1);

        await host.CommitUpdateAsync("alice@example.com", "extendedProperties.private.syncId"); // 5: ignored
        await host.CommitAsync("carol@example.com", ChangeTypes.Created, ChangeTypes.Deleted);   // 6: type out, 7
        await host.CommitUpdateAsync("bob@example.com", "summary");                             // 8: calendar out
        await host.CommitUpdateAsync("carol@example.com", "extendedProperties.shared.x");       // 9
        var live = await ReadEventsAsync(reader, 2);

        Assert.Equal(["4", "7", "9"], backlog.Concat(live).Select(e => e.Id));
    }

    [Theory]
    [InlineData("?types=event.moved", "types")]
    [InlineData("?calendarIds=", "calendarIds")]
    [InlineData("?ignorePaths=attendees[", "ignorePaths")]
    [InlineData("?ignorePaths=summary*", "ignorePaths")]
    [InlineData("?after=-1", "after")]
    public async Task A_bad_stream_filter_is_a_400_problem_naming_the_parameter(string query, string parameter)
    {
        await using var host = await FeedHost.StartAsync();

        using var response = await host.Client.GetAsync("v1/changes/stream" + query);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(parameter, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["parameter"]);
    }

    [Fact]
    public async Task A_reader_that_stops_reading_is_dropped_holding_a_bounded_amount_while_a_slow_reader_misses_nothing()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Calhook:Stream:ReaderBufferBytes"] = $"{32 * 1024}",
            ["Calhook:Stream:StalledReaderTimeout"] = "00:00:01",
        };
        await using var host = await FeedHost.StartAsync(settings);
        var hub = host.Host.Services.GetRequiredService<ChangeStreamHub>();
        using var reading = await OpenAsync(host, "?after=0");
        using var stalled = new TcpClient { ReceiveBufferSize = 16 * 1024 };
        await stalled.ConnectAsync(IPAddress.Loopback, host.Host.BaseAddress.Port);
        var socket = stalled.GetStream();
        await socket.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /v1/changes/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {CalhookTestHost.TestApiKey}\r\n\r\n"));
        await Polling.EventuallyAsync(() => Task.FromResult(hub.Connected == 2), TimeSpan.FromSeconds(10), "both readers are connected");

        // 8 MB of changes, each commit far more than a live buffer holds: both readers fall behind the live tail. The
        // reading reader reads all along, beside the commits: one that paused while a commit ran (over a second on a
        // busy machine) would itself be a reader that stopped reading.
        var readingAll = ReadEventsAsync(reading, 1000, within: TimeSpan.FromSeconds(60));
        for (var batch = 0; batch < 10; batch++)
        {
            await host.CommitLargeAsync("alice@example.com", count: 100, bytesEach: 8 * 1024);
        }

        var ids = (await readingAll).Select(e => e.Id).ToList();

        Assert.True(hub.Detached > 0, "no reader fell behind the live buffer");
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => $"{i}"), ids);
        await Polling.EventuallyAsync(() => Task.FromResult(hub.Dropped == 1 && hub.Connected == 1), TimeSpan.FromSeconds(10),
            "the reader that stopped reading is disconnected");

        // What reached the stalled reader is bounded by the buffers on the way, not by the 8 MB committed.
        var received = 0L;
        var chunk = new byte[64 * 1024];
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int n;
            while ((n = await socket.ReadAsync(chunk, timeout.Token)) > 0)
            {
                received += n;
            }
        }
        catch (IOException)
        {
            // The connection was aborted (reset).
        }

        Assert.True(received < 1024 * 1024, $"the stalled reader received {received} bytes");

        // The reader that kept reading is still live.
        await host.CommitAsync("alice@example.com", ChangeTypes.Deleted);
        Assert.Equal("1001", (await ReadEventsAsync(reading, 1))[0].Id);
    }

    [Fact]
    public async Task Readers_above_the_cap_get_a_503_problem_with_Retry_After_until_one_leaves()
    {
        await using var host = await FeedHost.StartAsync(new Dictionary<string, string?> { ["Calhook:Stream:MaxReaders"] = "2" });
        var hub = host.Host.Services.GetRequiredService<ChangeStreamHub>();
        var first = await OpenAsync(host, "");
        using var second = await OpenAsync(host, "");

        using (var refused = await host.Client.GetAsync("v1/changes/stream", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        }

        first.Dispose();
        await Polling.EventuallyAsync(() => Task.FromResult(hub.Connected == 1), TimeSpan.FromSeconds(10), "the first reader is gone");
        using var third = await OpenAsync(host, "?after=0");
        await host.CommitAsync("alice@example.com", ChangeTypes.Created);
        Assert.Single(await ReadEventsAsync(third, 1));
    }
}
