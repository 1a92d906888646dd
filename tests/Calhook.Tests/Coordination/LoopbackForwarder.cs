using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.Tests.Coordination;

/// <summary>One request a <see cref="LoopbackForwarder"/> passed on: when it started and ended (process-wide stopwatch ticks).</summary>
internal sealed record ForwardedRequest(string Method, string Path, long StartedAt, long EndedAt, int Status);

/// <summary>
/// A real HTTP forwarder on 127.0.0.1. With several upstreams it is a round-robin load balancer that passes a request
/// to the next upstream when one refuses the connection (a dead instance), as a load balancer with health checks would;
/// with one it is a recording proxy. Every request is recorded with its start and end, so a test can tell which
/// requests were in flight at once.
/// </summary>
internal sealed class LoopbackForwarder : IAsyncDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive", "Upgrade",
    };

    private readonly WebApplication _app;
    private readonly IReadOnlyList<Uri> _upstreams;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly List<ForwardedRequest> _requests = [];
    private int _next;

    private LoopbackForwarder(WebApplication app, IReadOnlyList<Uri> upstreams, Uri baseAddress)
    {
        _app = app;
        _upstreams = upstreams;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IReadOnlyList<ForwardedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<LoopbackForwarder> StartAsync(params Uri[] upstreams)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        LoopbackForwarder? forwarder = null;
        app.Run(context => forwarder!.ForwardAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        forwarder = new LoopbackForwarder(app, upstreams, new Uri(address + "/"));
        return forwarder;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        var first = Interlocked.Increment(ref _next);
        for (var i = 0; i < _upstreams.Count; i++)
        {
            var upstream = _upstreams[(int)((uint)(first + i) % (uint)_upstreams.Count)];
            using var forward = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(upstream, request.Path.Value!.TrimStart('/') + request.QueryString));
            if (body.Length > 0)
            {
                forward.Content = new ByteArrayContent(body.ToArray());
            }

            foreach (var (name, values) in request.Headers)
            {
                if (!HopHeaders.Contains(name) && !forward.Headers.TryAddWithoutValidation(name, values.ToArray()))
                {
                    forward.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
                }
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            }
            catch (HttpRequestException) when (i < _upstreams.Count - 1)
            {
                continue; // refused: that upstream is down, try the next one
            }

            using (response)
            {
                context.Response.StatusCode = (int)response.StatusCode;
                if (response.Content.Headers.ContentType is { } type)
                {
                    context.Response.ContentType = type.ToString();
                }

                await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
            }

            lock (_requests)
            {
                _requests.Add(new ForwardedRequest(request.Method, request.Path.Value!, started, Stopwatch.GetTimestamp(), context.Response.StatusCode));
            }

            return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
