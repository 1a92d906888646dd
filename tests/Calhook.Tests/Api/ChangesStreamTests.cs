using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Calhook.Changes;

namespace Calhook.Tests.Api;

public sealed class ChangesStreamTests
{
    /// <summary>Reads server-sent events (id, event, data) until <paramref name="count"/> have arrived.</summary>
    private static async Task<List<(string Id, string Event, JsonObject Data)>> ReadEventsAsync(StreamReader reader, int count)
    {
        var events = new List<(string, string, JsonObject)>();
        string? id = null, type = null, data = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
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
}
