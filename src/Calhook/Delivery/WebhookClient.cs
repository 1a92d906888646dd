using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Calhook.Delivery;

/// <summary>What one attempt got: the status code (null when no answer came), how long it took, and why it failed.</summary>
internal sealed record AttemptResult(int? StatusCode, TimeSpan Latency, string? Error, TimeSpan? RetryAfter)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>
/// Sends webhooks: connects only where <see cref="AddressGuard"/> allows (checked on the resolved address), follows no
/// redirect, uses no proxy, bounds each attempt by a timeout and reads at most a capped part of the answer.
/// One instance (one connection pool) per process. Thread-safe.
/// </summary>
internal sealed class WebhookClient : IDisposable
{
    private const int ErrorTextLength = 200;

    private readonly HttpClient _http;
    private readonly TimeSpan _attemptTimeout;
    private readonly int _maxBodyBytes;
    private readonly TimeProvider _time;

    public WebhookClient(bool allowPrivateNetworks, TimeSpan attemptTimeout, int maxBodyBytes, TimeProvider time)
        : this(address => AddressGuard.MayConnect(address, allowPrivateNetworks), attemptTimeout, maxBodyBytes, time)
    {
    }

    /// <param name="mayConnect">Decides each resolved address; tests pass one that calls loopback private.</param>
    public WebhookClient(Func<IPAddress, bool> mayConnect, TimeSpan attemptTimeout, int maxBodyBytes, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(mayConnect);
        _attemptTimeout = attemptTimeout;
        _maxBodyBytes = maxBodyBytes;
        _time = time;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = (context, cancellationToken) => AddressGuard.ConnectAsync(context, mayConnect, cancellationToken),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Calhook", "1.0"));
    }

    /// <summary>POSTs <paramref name="message"/> to <paramref name="url"/>. Never throws for the target's faults; cancels only with <paramref name="cancellationToken"/>.</summary>
    public async Task<AttemptResult> SendAsync(Uri url, WebhookMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(message);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(message.Body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(WebhookMessage.ContentType);
        request.Headers.TryAddWithoutValidation("webhook-id", message.Id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", message.Timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", message.Signature);

        using var timeout = new CancellationTokenSource(_attemptTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var started = _time.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var body = await ReadCappedAsync(response, linked.Token);
            var status = (int)response.StatusCode;
            var error = status is >= 200 and < 300 ? null : $"HTTP {status}{(body.Length > 0 ? ": " + body : "")}";
            return new AttemptResult(status, _time.GetElapsedTime(started), error, RetryAfter(response));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(null, _time.GetElapsedTime(started), $"timed out after {_attemptTimeout.TotalSeconds:0.###} s", null);
        }
        catch (HttpRequestException error)
        {
            var reason = error.InnerException is AddressRefusedException refused ? refused.Message : error.Message;
            return new AttemptResult(null, _time.GetElapsedTime(started), reason, null);
        }
        catch (IOException error)
        {
            return new AttemptResult(null, _time.GetElapsedTime(started), error.Message, null);
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Reads at most the cap (the rest is never read), and keeps the start as text for the attempt log.</summary>
    private async Task<string> ReadCappedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(_maxBodyBytes);
        try
        {
            var read = 0;
            int n;
            while (read < _maxBodyBytes && (n = await stream.ReadAsync(buffer.AsMemory(read, _maxBodyBytes - read), cancellationToken)) > 0)
            {
                read += n;
            }

            var text = Encoding.UTF8.GetString(buffer, 0, Math.Min(read, ErrorTextLength * 4)).ReplaceLineEndings(" ").Trim();
            return text.Length > ErrorTextLength ? text[..ErrorTextLength] + "…" : text;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - _time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };
}
