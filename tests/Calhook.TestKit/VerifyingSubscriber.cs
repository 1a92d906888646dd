using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.TestKit;

/// <summary>One webhook a <see cref="VerifyingSubscriber"/> received, with the secrets its signature verified with.</summary>
public sealed record ReceivedWebhook(
    string Id, string Timestamp, string Signature, string Body, JsonNode Envelope, IReadOnlyList<string> VerifiedWith, int AnsweredStatus)
{
    /// <summary>When its body had been read (<see cref="TimeProvider.GetTimestamp"/> of the system clock), for latency measures.</summary>
    public long Arrived { get; init; }

    public string CalendarId => (string)Envelope["data"]!["calendarId"]!;

    public long Sequence => long.Parse((string)Envelope["sequence"]!, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A webhook receiver on <c>127.0.0.1</c> that verifies every signature with <see cref="WebhookVerifier"/> against the
/// secrets it was given, answers 401 (and records nothing as accepted) when none verifies, and otherwise answers what
/// <see cref="Respond"/> says (default 200). Every request is recorded in arrival order. The benchmark runner
/// (bench/Calhook.Bench) compiles this file in too, so that tests and measures judge webhooks one way.
/// </summary>
public sealed class VerifyingSubscriber : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly List<ReceivedWebhook> _received = [];
    private readonly List<string> _secrets = [];
    private WebApplication? _app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Decides each answer (after the signature verified); may await to simulate a slow receiver.</summary>
    public Func<ReceivedWebhook, Task<int>> Respond { get; set; } = _ => Task.FromResult(200);

    /// <summary>Requests whose signature verified with none of the secrets.</summary>
    public int Unverified { get; private set; }

    public IReadOnlyList<ReceivedWebhook> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>The webhooks answered 2xx, in arrival order.</summary>
    public IReadOnlyList<ReceivedWebhook> Accepted => [.. Received.Where(r => r.AnsweredStatus is >= 200 and < 300)];

    public IReadOnlyList<string> TrustedSecrets
    {
        get
        {
            lock (_gate)
            {
                return [.. _secrets];
            }
        }
    }

    public void Trust(string secret)
    {
        lock (_gate)
        {
            _secrets.Add(secret);
        }
    }

    public static async Task<VerifyingSubscriber> StartAsync(int port = 0)
    {
        var subscriber = new VerifyingSubscriber();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.Run(subscriber.HandleAsync);
        await app.StartAsync();
        subscriber._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        subscriber.Url = new Uri(address.TrimEnd('/') + "/hooks");
        return subscriber;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var arrived = TimeProvider.System.GetTimestamp();
        var headers = context.Request.Headers;
        string id = headers["webhook-id"].ToString(), timestamp = headers["webhook-timestamp"].ToString(), signature = headers["webhook-signature"].ToString();
        List<string> verified;
        lock (_gate)
        {
            verified = [.. _secrets.Where(secret => WebhookVerifier.Verify(secret, id, timestamp, body, signature))];
        }

        if (verified.Count == 0 || context.Request.ContentType?.StartsWith("application/cloudevents+json", StringComparison.Ordinal) != true)
        {
            lock (_gate)
            {
                Unverified++;
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var webhook = new ReceivedWebhook(id, timestamp, signature, body, JsonNode.Parse(body)!, verified, 0) { Arrived = arrived };
        var status = await Respond(webhook);
        lock (_gate)
        {
            _received.Add(webhook with { AnsweredStatus = status });
        }

        context.Response.StatusCode = status;
    }
}
