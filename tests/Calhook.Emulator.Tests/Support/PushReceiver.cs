using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.Emulator.Tests.Support;

/// <summary>One push message as the receiver saw it.</summary>
internal sealed record Received(string ChannelId, long Number, string State, IHeaderDictionary Headers, long BodyLength, int Answered);

/// <summary>A loopback Kestrel receiver that records every push and answers with a chosen status (to fail on purpose).</summary>
internal sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);

    private PushReceiver(WebApplication app) => _app = app;

    /// <summary>Status to answer for the Nth request (0-based); default 200.</summary>
    public Func<int, int> Answer { get; set; } = _ => 200;

    public Uri Address { get; private set; } = null!;

    public IReadOnlyList<Received> All => [.. _received];

    public static async Task<PushReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new PushReceiver(app);
        var count = 0;
        app.MapPost("/hook", async (HttpContext http) =>
        {
            var index = Interlocked.Increment(ref count) - 1;
            var status = receiver.Answer(index);
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            var headers = new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value));
            receiver._received.Enqueue(new Received(headers["X-Goog-Channel-ID"].ToString(),
                long.Parse(headers["X-Goog-Message-Number"].ToString(), System.Globalization.CultureInfo.InvariantCulture),
                headers["X-Goog-Resource-State"].ToString(), headers, body.Length, status));
            receiver._arrived.Release();
            return Results.StatusCode(status);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Address = new Uri(address.TrimEnd('/') + "/hook");
        return receiver;
    }

    /// <summary>Waits (with a deadline) until at least <paramref name="count"/> requests arrived.</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (_received.Count < count)
        {
            try
            {
                await _arrived.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"expected {count} notifications, got {_received.Count}");
            }
        }

        return All;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
    }
}
