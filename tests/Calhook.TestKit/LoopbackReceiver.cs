using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.TestKit;

/// <summary>One request a <see cref="LoopbackReceiver"/> got. Header names are case-insensitive; repeated headers are joined with ", ".</summary>
public sealed record ReceivedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body, int AnsweredStatus);

/// <summary>
/// A tiny HTTP endpoint on <c>127.0.0.1:{port}</c> that records every request (any method, any path) and answers
/// 200, or a scripted status for the next requests. Stands in for a webhook subscriber or Google's caller.
/// </summary>
public sealed class LoopbackReceiver : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly List<ReceivedRequest> _requests = [];
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private readonly Queue<(int Status, IReadOnlyDictionary<string, string>? Headers)> _script = new();
    private WebApplication? _app;

    private LoopbackReceiver()
    {
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A snapshot of the requests so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<LoopbackReceiver> StartAsync(CancellationToken cancellationToken = default)
    {
        var receiver = new LoopbackReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(receiver.HandleAsync);
        await app.StartAsync(cancellationToken);
        receiver._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        receiver.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return receiver;
    }

    /// <summary>Answers the next <paramref name="count"/> requests with <paramref name="status"/> (and headers), then 200 again.</summary>
    public void RespondWith(int status, int count = 1, IReadOnlyDictionary<string, string>? headers = null)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                _script.Enqueue((status, headers));
            }
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> requests arrived; fails after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForRequestsAsync(int count, TimeSpan timeout)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_requests.Count >= count)
            {
                return [.. _requests];
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout, TimeProvider.System);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Expected {count} request(s) within {timeout.TotalSeconds:0.###} s, got {Requests.Count}.");
        }

        return Requests;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);

        int status;
        IReadOnlyDictionary<string, string>? extraHeaders;
        lock (_gate)
        {
            (status, extraHeaders) = _script.TryDequeue(out var next) ? next : (StatusCodes.Status200OK, null);
            _requests.Add(new ReceivedRequest(context.Request.Method, $"{context.Request.Path}{context.Request.QueryString}", headers, body, status));
            foreach (var waiter in _waiters.Where(w => _requests.Count >= w.Count).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Done.TrySetResult();
            }
        }

        context.Response.StatusCode = status;
        foreach (var (name, value) in extraHeaders ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }
    }
}
