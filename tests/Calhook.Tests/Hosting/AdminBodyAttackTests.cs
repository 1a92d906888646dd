using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Hosting;

/// <summary>
/// Admin endpoints check the key before they read a body, and read at most a small body: a client without the key
/// cannot make the service read (or hold) megabytes, and a client with it gets a clear 413 or 400.
/// </summary>
public sealed class AdminBodyAttackTests : IAsyncLifetime
{
    private const int TwentyFiveMegabytes = 25 * 1024 * 1024;
    private CalhookTestHost _host = null!;

    public async Task InitializeAsync() => _host = await CalhookTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("/v1/watches")]
    [InlineData("/v1/accounts")]
    public async Task A_keyless_25_MB_body_gets_401_before_it_is_sent_and_the_connection_is_closed(string path)
    {
        // Only the start of the body is sent: a service that reads the body first would wait for the rest.
        var (head, rest) = await RawPostAsync(path, key: null, TwentyFiveMegabytes, "{\"accountId\":\"");

        Assert.StartsWith("HTTP/1.1 401", head, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", head, StringComparison.Ordinal);
        Assert.Contains("Connection: close", head, StringComparison.OrdinalIgnoreCase);
        Assert.True(rest, "the service closes the connection instead of draining the 25 MB body");
    }

    [Theory]
    [InlineData("/v1/watches")]
    [InlineData("/v1/accounts")]
    public async Task A_keyed_body_over_the_admin_limit_gets_413_before_it_is_sent(string path)
    {
        var (head, _) = await RawPostAsync(path, CalhookTestHost.TestApiKey, TwentyFiveMegabytes, "{\"refreshToken\":\"");

        Assert.StartsWith("HTTP/1.1 413", head, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_keyed_chunked_body_over_the_admin_limit_gets_413()
    {
        var body = new JsonObject { ["type"] = "oauth", ["email"] = "a@example.com", ["refreshToken"] = new string('x', 200_000) }.ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/accounts")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body))),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = true;

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/v1/watches", "not json")]
    [InlineData("/v1/watches", "{\"accountId\": 5}")]
    [InlineData("/v1/watches", "[1,2]")]
    [InlineData("/v1/accounts", "{\"type\": {\"x\": 1}}")]
    public async Task A_keyless_malformed_body_gets_401_not_a_parse_error(string path, string body)
    {
        using var anonymous = _host.CreateAnonymousClient();
        var response = await anonymous.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("JSON", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/watches", "not json")]
    [InlineData("/v1/watches", "{\"accountId\": 5}")]
    [InlineData("/v1/watches", "[1,2]")]
    [InlineData("/v1/accounts", "{\"type\": {\"x\": 1}}")]
    public async Task A_keyed_malformed_body_gets_400_that_names_no_internal_type(string path, string body)
    {
        var response = await _host.Client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>();
        Assert.DoesNotContain("Calhook", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Request", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
        Assert.Contains("JSON", detail, StringComparison.Ordinal);
    }

    /// <summary>
    /// Sends a POST's head announcing <paramref name="contentLength"/> bytes and only <paramref name="bodyStart"/> of
    /// them, then reads the answer's head; also says whether the service then closed the connection.
    /// </summary>
    private async Task<(string Head, bool Closed)> RawPostAsync(string path, string? key, int contentLength, string bodyStart)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _host.BaseAddress.Port);
        var stream = client.GetStream();
        var head = new StringBuilder()
            .Append($"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
            .Append(key is null ? "" : $"Authorization: Bearer {key}\r\n")
            .Append($"Content-Length: {contentLength}\r\n\r\n")
            .Append(bodyStart);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var received = new List<byte>();
        var buffer = new byte[8192];
        var closed = false;
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (IOException)
            {
                closed = true;
                break;
            }

            if (read == 0)
            {
                closed = true;
                break;
            }

            received.AddRange(buffer.AsSpan(0, read).ToArray());
            var text = Encoding.UTF8.GetString(received.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0 && !text.Contains("Connection: close", StringComparison.OrdinalIgnoreCase) && text.Length > end + 4)
            {
                // Head and some body arrived on a kept-alive connection: that is the whole answer for this test.
                break;
            }
        }

        var answer = Encoding.UTF8.GetString(received.ToArray());
        Assert.False(string.IsNullOrEmpty(answer), "the service answered before the body was sent");
        return (answer, closed);
    }
}
