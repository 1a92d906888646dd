using System.Net;
using Calhook.TestKit;

namespace Calhook.Tests.Hosting;

/// <summary>The shared test helpers do what integration tests rely on.</summary>
public sealed class TestKitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Loopback_receiver_records_method_path_headers_and_body()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        using var client = new HttpClient { BaseAddress = receiver.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "hooks/a?x=1") { Content = new StringContent("{\"n\":1}") };
        request.Headers.Add("webhook-id", "chg_1");

        using var response = await client.SendAsync(request);
        var received = Assert.Single(await receiver.WaitForRequestsAsync(1, Timeout));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("POST", "/hooks/a?x=1", "{\"n\":1}", 200), (received.Method, received.PathAndQuery, received.Body, received.AnsweredStatus));
        Assert.Equal("chg_1", received.Headers["Webhook-Id"]);
        Assert.Equal("127.0.0.1", receiver.BaseAddress.Host);
    }

    [Fact]
    public async Task Loopback_receiver_answers_the_scripted_status_for_the_next_requests_then_200()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        using var client = new HttpClient { BaseAddress = receiver.BaseAddress };
        receiver.RespondWith(503, count: 2, new Dictionary<string, string> { ["Retry-After"] = "7" });

        var statuses = new List<HttpStatusCode>();
        string? retryAfter = null;
        for (var i = 0; i < 3; i++)
        {
            using var response = await client.PostAsync(new Uri("hook", UriKind.Relative), new StringContent(i.ToString()));
            statuses.Add(response.StatusCode);
            retryAfter ??= response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString();
        }

        Assert.Equal([HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK], statuses);
        Assert.Equal("7", retryAfter);
        Assert.Equal(["0", "1", "2"], receiver.Requests.Select(r => r.Body));
    }

    [Fact]
    public async Task Waiting_for_more_requests_than_arrive_fails_with_the_count()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => receiver.WaitForRequestsAsync(1, TimeSpan.FromMilliseconds(100)));

        Assert.Contains("Expected 1 request(s)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_resumes_when_a_request_arrives_later()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        using var client = new HttpClient { BaseAddress = receiver.BaseAddress };

        var waiting = receiver.WaitForRequestsAsync(2, Timeout);
        Assert.False(waiting.IsCompleted);
        (await client.GetAsync(new Uri("one", UriKind.Relative))).Dispose();
        (await client.GetAsync(new Uri("two", UriKind.Relative))).Dispose();

        Assert.Equal(["/one", "/two"], (await waiting).Select(r => r.PathAndQuery));
    }

    [Fact]
    public async Task Eventually_returns_once_the_condition_holds()
    {
        var calls = 0;

        await Polling.EventuallyAsync(() => Task.FromResult(++calls >= 3), Timeout, "the third call says yes");

        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Eventually_fails_at_the_deadline_with_the_reason_and_last_error()
    {
        var error = await Assert.ThrowsAsync<TimeoutException>(() => Polling.EventuallyAsync(
            () => Task.FromException<bool>(new InvalidOperationException("not yet")), TimeSpan.FromMilliseconds(100), "the server answers"));

        Assert.Contains("the server answers", error.Message, StringComparison.Ordinal);
        Assert.Contains("not yet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_directory_is_deleted_on_dispose()
    {
        string path;
        using (var directory = new TestDirectory())
        {
            path = directory.Path;
            File.WriteAllText(directory.File("a.txt"), "a");
            Assert.True(Directory.Exists(path));
        }

        Assert.False(Directory.Exists(path));
    }
}
