using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Calhook.Tests.RealGoogle;

/// <summary>
/// A fake Google over loopback that replays recorded responses, with no emulator logic: a full list answers the
/// scripted list; an incremental list presenting the last served sync token answers the next armed step verbatim (a
/// recorded page, or a recorded error), or an empty page when none is armed. It also answers the token endpoint (as
/// scripted), events.watch (recording the channel, so the test can push) and channels.stop. Thread-safe.
/// </summary>
internal sealed class FakeGoogle : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly Queue<Step> _armed = new();
    private readonly List<string> _listQueries = [];
    private readonly HttpClient _push = new();
    private string? _lastToken;
    private int _served;
    private int _messageNumber;

    private FakeGoogle(WebApplication app) => _app = app;

    /// <summary>A scripted answer: a body with a status (200 for a page).</summary>
    public sealed record Step(int Status, string Body);

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The full list's body (the baseline, and any full list after a refused token unless <see cref="Resync"/> is set).</summary>
    public string FullList { get; set; } = """{"kind":"calendar#events","items":[],"nextSyncToken":"baseline"}""";

    /// <summary>The full list's status: 200, or an error whose body is <see cref="FullList"/>.</summary>
    public int FullListStatus { get; set; } = 200;

    /// <summary>The token endpoint's answer: status and body.</summary>
    public Step Token { get; set; } = new(200, """{"access_token":"fake-access-token","expires_in":3600,"token_type":"Bearer"}""");

    /// <summary>The last channel Calhook opened: id, token and address.</summary>
    public (string Id, string? Token, string Address)? Channel { get; private set; }

    /// <summary>Armed steps served so far.</summary>
    public int Served { get { lock (_lock) { return _served; } } }

    /// <summary>The query strings of every events.list request, in order.</summary>
    public IReadOnlyList<string> ListQueries { get { lock (_lock) { return [.. _listQueries]; } } }

    public static async Task<FakeGoogle> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeGoogle(app);
        app.MapPost("/token", fake.TokenAsync);
        app.MapGet("/calendar/v3/calendars/{calendarId}/events", fake.ListAsync);
        app.MapPost("/calendar/v3/calendars/{calendarId}/events/watch", fake.WatchAsync);
        app.MapPost("/calendar/v3/channels/stop", () => Results.NoContent());
        app.MapGet("/calendar/v3/users/me/calendarList", () => Results.Text("""{"kind":"calendar#calendarList","items":[]}""", "application/json"));
        app.MapFallback(() => Results.Text("""{"error":{"code":404,"message":"Not Found","errors":[{"domain":"global","reason":"notFound","message":"Not Found"}]}}""",
            "application/json", statusCode: 404));
        await app.StartAsync();
        fake.BaseAddress = new Uri(app.Urls.First() + "/");
        return fake;
    }

    /// <summary>Arms the answer to the next incremental list.</summary>
    public void Arm(Step step)
    {
        lock (_lock)
        {
            _armed.Enqueue(step);
        }
    }

    /// <summary>Arms a recorded events page (200).</summary>
    public void Arm(string body) => Arm(new Step(200, body));

    /// <summary>Sends Google's push message ("something changed") to the last channel Calhook opened.</summary>
    public async Task PushAsync()
    {
        var channel = Channel ?? throw new InvalidOperationException("Calhook opened no channel.");
        using var request = new HttpRequestMessage(HttpMethod.Post, channel.Address);
        request.Headers.Add("X-Goog-Channel-ID", channel.Id);
        if (channel.Token is { } token)
        {
            request.Headers.Add("X-Goog-Channel-Token", token);
        }

        request.Headers.Add("X-Goog-Resource-ID", "fake-resource");
        request.Headers.Add("X-Goog-Resource-URI", "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json");
        request.Headers.Add("X-Goog-Resource-State", "exists");
        request.Headers.Add("X-Goog-Message-Number", Interlocked.Increment(ref _messageNumber).ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Content = new ByteArrayContent([]);
        using var response = await _push.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"The push was answered {(int)response.StatusCode}.");
    }

    private IResult TokenAsync() => Results.Text(Token.Body, "application/json", statusCode: Token.Status);

    private IResult ListAsync(HttpRequest request)
    {
        lock (_lock)
        {
            _listQueries.Add(request.QueryString.Value ?? "");
            var syncToken = request.Query["syncToken"].ToString();
            if (syncToken.Length == 0)
            {
                return Page(new Step(FullListStatus, FullList));
            }

            if (syncToken != _lastToken)
            {
                // Calhook presented a token it was not last given: Google would not know it either.
                return Results.Text(Recorded.Body("error-410-fullSyncRequired"), "application/json", statusCode: 410);
            }

            if (!_armed.TryDequeue(out var step))
            {
                return Results.Text($$"""{"kind":"calendar#events","items":[],"nextSyncToken":"{{syncToken}}"}""", "application/json");
            }

            _served++;
            return Page(step);
        }
    }

    private IResult Page(Step step)
    {
        if (step.Status == 200 && JsonNode.Parse(step.Body)?["nextSyncToken"]?.GetValue<string>() is { } next)
        {
            _lastToken = next;
        }

        return Results.Text(step.Body, "application/json", Encoding.UTF8, step.Status);
    }

    private async Task<IResult> WatchAsync(HttpRequest request)
    {
        var body = (await JsonNode.ParseAsync(request.Body))!;
        var id = (string)body["id"]!;
        Channel = (id, (string?)body["token"], (string)body["address"]!);
        var expiration = TimeProvider.System.GetUtcNow().AddDays(7).ToUnixTimeMilliseconds();
        return Results.Text($$"""
            {"kind":"api#channel","id":"{{id}}","resourceId":"fake-resource","resourceUri":"https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json","expiration":"{{expiration}}"}
            """, "application/json");
    }

    public async ValueTask DisposeAsync()
    {
        _push.Dispose();
        await _app.DisposeAsync();
    }
}
