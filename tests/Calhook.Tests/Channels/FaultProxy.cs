using System.Collections.Concurrent;
using Calhook.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.Tests.Channels;

/// <summary>
/// A real HTTP proxy on 127.0.0.1 in front of the emulator that forwards every call unchanged, except the kinds of
/// call told to fail, which it answers with Google's error body. It lets one Google call fail while the others work
/// (events.watch refused while events.list succeeds), which the emulator's random faults cannot single out.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private const string WatchSuffix = "/events/watch";
    private const string CalendarsSegment = "/calendars/";

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly ConcurrentDictionary<string, StatusBox> _calendarWatchStatus = new(StringComparer.Ordinal);
    private volatile StatusBox? _watchStatus;
    private volatile StatusBox? _listStatus;
    private TaskCompletionSource? _holdWatch;
    private int _heldWatchCalls;

    private FaultProxy(WebApplication app, HttpClient upstream, Uri baseAddress)
    {
        _app = app;
        _upstream = upstream;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>The status that <c>events.watch</c> answers, or null to forward it.</summary>
    public int? WatchStatus { get => _watchStatus?.Status; set => _watchStatus = value is { } s ? new StatusBox(s) : null; }

    /// <summary>
    /// When set, every <c>events.watch</c> call goes through it with its answer (the fault, or the call forwarded to
    /// Google), which it runs when it decides: it can hold calls and see how many are in flight at once. The token is
    /// the call's (cancelled when the caller gives up).
    /// </summary>
    public Func<Func<Task>, CancellationToken, Task>? AroundWatch { get; set; }

    /// <summary>The status that <c>events.list</c> answers, or null to forward it.</summary>
    public int? ListStatus { get => _listStatus?.Status; set => _listStatus = value is { } s ? new StatusBox(s) : null; }

    /// <summary>
    /// When set, <c>events.watch</c> calls wait (unanswered) until this is cleared: a Google that hangs. Calls that
    /// arrive meanwhile are counted in <see cref="HeldWatchCalls"/>.
    /// </summary>
    public bool HoldWatch
    {
        get => _holdWatch is not null;
        set
        {
            if (value)
            {
                _holdWatch ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            else
            {
                Interlocked.Exchange(ref _holdWatch, null)?.TrySetResult();
            }
        }
    }

    public int HeldWatchCalls => Volatile.Read(ref _heldWatchCalls);

    /// <summary>
    /// The status that <c>events.watch</c> answers for one calendar (null: forward it again), while the other calendars'
    /// calls go on; <see cref="WatchStatus"/>, when set, wins.
    /// </summary>
    public void SetWatchStatus(string calendarId, int? status)
    {
        if (status is { } s)
        {
            _calendarWatchStatus[calendarId] = new StatusBox(s);
        }
        else
        {
            _calendarWatchStatus.TryRemove(calendarId, out _);
        }
    }

    /// <summary>When set, <c>events.list</c> answers 200 and part of a body, then the connection is cut.</summary>
    public bool CutListBody { get; set; }

    /// <summary>Starts a proxy that forwards nowhere yet: <see cref="Between"/> gives it its Google.</summary>
    public static async Task<FaultProxy> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var upstream = new HttpClient();
        FaultProxy? proxy = null;
        app.Run(context => proxy!.ForwardAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy = new FaultProxy(app, upstream, new Uri(address + "/"));
        return proxy;
    }

    /// <summary>
    /// Puts the proxy between a host and its Google: it forwards to the options' <c>GoogleBaseUrl</c> (the emulator,
    /// set by <see cref="EmulatorWorld"/>), and the host calls the proxy instead. Returns <paramref name="options"/>.
    /// </summary>
    public CalhookTestHostOptions Between(CalhookTestHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _upstream.BaseAddress = options.GoogleBaseUrl ?? throw new ArgumentException("The host has no Google to put the proxy in front of.", nameof(options));
        options.GoogleBaseUrl = BaseAddress;
        return options;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        var isWatch = path.EndsWith(WatchSuffix, StringComparison.Ordinal);
        var fault = isWatch ? _watchStatus ?? _calendarWatchStatus.GetValueOrDefault(WatchedCalendar(path))
            : HttpMethods.IsGet(request.Method) && path.EndsWith("/events", StringComparison.Ordinal) ? _listStatus
            : null;
        if (Volatile.Read(ref _holdWatch) is { } hold && isWatch)
        {
            Interlocked.Increment(ref _heldWatchCalls);
            await hold.Task.WaitAsync(context.RequestAborted);
        }

        if (CutListBody && HttpMethods.IsGet(request.Method) && path.EndsWith("/events", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/json; charset=UTF-8";
            await context.Response.WriteAsync("""{"kind":"calendar#events","items":[{"id":"cut","status":"confirmed","summ""");
            await context.Response.Body.FlushAsync();
            context.Abort();
            return;
        }

        if (isWatch && AroundWatch is { } around)
        {
            await around(() => AnswerAsync(context, fault), context.RequestAborted);
            return;
        }

        await AnswerAsync(context, fault);
    }

    /// <summary>Answers with the fault, or forwards the call to Google and copies its answer back.</summary>
    private async Task AnswerAsync(HttpContext context, StatusBox? fault)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (fault is not null)
        {
            var reason = fault.Status switch { 404 => "notFound", 401 => "authError", _ => "backendError" };
            context.Response.StatusCode = fault.Status;
            context.Response.ContentType = "application/json; charset=UTF-8";
            await context.Response.WriteAsync(
                $$$"""{"error":{"code":{{{fault.Status}}},"message":"Injected by the test proxy","errors":[{"domain":"global","reason":"{{{reason}}}","message":"Injected by the test proxy"}]}}""");
            return;
        }

        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), path.TrimStart('/') + request.QueryString);
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            forward.Content = new StreamContent(request.Body);
            if (request.ContentType is { } contentType)
            {
                forward.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        foreach (var name in new[] { "Authorization", "Accept" })
        {
            if (request.Headers.TryGetValue(name, out var value))
            {
                forward.Headers.TryAddWithoutValidation(name, value.ToArray());
            }
        }

        using var response = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        if (response.Content.Headers.ContentType is { } type)
        {
            context.Response.ContentType = type.ToString();
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    /// <summary>The calendar id of an <c>events.watch</c> path (<c>/calendar/v3/calendars/{id}/events/watch</c>, unescaped).</summary>
    private static string WatchedCalendar(string path)
    {
        var start = path.IndexOf(CalendarsSegment, StringComparison.Ordinal) + CalendarsSegment.Length;
        return path[start..^WatchSuffix.Length];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private sealed record StatusBox(int Status);
}
