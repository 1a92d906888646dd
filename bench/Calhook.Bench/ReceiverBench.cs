using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.Bench;

/// <summary>
/// <c>receiver-throughput</c>: valid pings per second that Calhook's receiver acknowledges, against a bare Kestrel
/// endpoint that returns 200, under the same closed-loop load. <c>receiver-ack-p99-ms</c>: the receiver's own ack
/// time (inside the server, see <see cref="AckTimer"/>) of pings sent at a fixed moderate rate (open loop,
/// <see cref="OpenLoopRate"/> per second) while every accepted ping asks for a sync and the sync machinery works,
/// next to the bare endpoint's under the same schedule. <c>receiver-ack-p99-client-ms</c> is the same run seen from
/// the client, and <c>receiver-ack-p99-client-no-sync-ms</c> sends <c>sync</c> pings (verified and acknowledged the
/// same way, but asking for no sync): the difference between the two is the emulator's and Calhook's syncs competing
/// for the 2 cores with the load. Both endpoints are warmed up by an unmeasured load first, then measured alike.
/// </summary>
internal static class ReceiverBench
{
    private const int Workers = 32;

    /// <summary>Pings per second of the open-loop latency run.</summary>
    private const int OpenLoopRate = 500;

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick)
    {
        var duration = TimeSpan.FromSeconds(quick ? 2 : 10);
        var warmUp = TimeSpan.FromSeconds(quick ? 1 : 2);
        var rounds = quick ? 3 : 5;
        var round = TimeSpan.FromSeconds(quick ? 2 : 4);
        var bareTimer = new AckTimer();
        await using var bare = await StartBareAsync(bareTimer);
        var bareTarget = new Uri(bare.Urls.First() + Calhook.Receiving.ReceiverEndpoint.Path);

        var timer = new AckTimer();
        await using var calhook = await BenchHost.StartAsync(emulator, services => services.AddSingleton<IStartupFilter>(timer));
        await calhook.WatchAsync(emulator, "receiver-bench@example.com", TimeSpan.FromSeconds(30));
        using var control = new EmulatorControlClient(emulator);
        var channel = (await control.GetChannelsAsync()).First(c => c.User == "receiver-bench@example.com");
        var headers = PingHeaders(channel, "exists");
        var syncPing = new Dictionary<string, string>(headers) { ["X-Goog-Resource-State"] = "sync" };
        var target = new Uri(calhook.BaseAddress, Calhook.Receiving.ReceiverEndpoint.Path);
        var none = new Dictionary<string, string>();

        // Warm-up, unmeasured: JIT, connection pools and thread pool of both sides.
        foreach (var (uri, h) in new[] { (bareTarget, none), (target, headers) })
        {
            await LoadAsync(uri, h, warmUp);
            await OpenLoopAsync(uri, h, warmUp);
        }

        // Throughput swings from run to run on a shared machine: several rounds, bare and Calhook back to back in each
        // (alternating which goes first), and the worst round's ratio is the one reported.
        var results = new List<(double Rate, double Bare)>();
        for (var i = 0; i < rounds; i++)
        {
            double bareRound, calhookRound;
            if (i % 2 == 0)
            {
                bareRound = (await LoadAsync(bareTarget, none, round)).Rate;
                calhookRound = (await LoadAsync(target, headers, round)).Rate;
            }
            else
            {
                calhookRound = (await LoadAsync(target, headers, round)).Rate;
                bareRound = (await LoadAsync(bareTarget, none, round)).Rate;
            }

            results.Add((calhookRound, bareRound));
        }

        var (rate, bareRate) = results.MinBy(r => r.Rate / r.Bare);
        var all = string.Join(", ", results.Select(r => (r.Rate / r.Bare).ToString("0.00", CultureInfo.InvariantCulture)));

        var (bareClient, bareServer) = await TimedOpenLoopAsync(bareTarget, none, duration, bareTimer);
        var (client, server) = await TimedOpenLoopAsync(target, headers, duration, timer);
        var (noSyncClient, _) = await TimedOpenLoopAsync(target, syncPing, duration, timer);

        var ratio = rate / bareRate;
        return
        [
            new Measure("receiver-throughput", rate, $"pings/s (worst of {rounds} rounds of {round.TotalSeconds:0} s; ratios {all})", bareRate, ratio, ">= 0.8 of bare", ratio >= 0.8),
            new Measure("receiver-ack-p99-ms", server, $"ms (server side, {OpenLoopRate} pings/s open loop)", bareServer, server / bareServer, "< 2 ms", server < 2),
            new Measure("receiver-ack-p99-client-ms", client, $"ms (client side, {OpenLoopRate} pings/s open loop)", bareClient, client / bareClient, "close to bare", client <= 2 * bareClient),
            new Measure("receiver-ack-p99-client-no-sync-ms", noSyncClient, "ms (client side, sync pings: no sync asked)", bareClient, noSyncClient / bareClient, "close to bare", noSyncClient <= 2 * bareClient),
        ];
    }

    /// <summary>The headers of a valid ping on <paramref name="channel"/> (an item of the emulator's channel list).</summary>
    public static Dictionary<string, string> PingHeaders(EmulatorChannel channel, string state) => new()
    {
        ["X-Goog-Channel-ID"] = channel.Id,
        ["X-Goog-Channel-Token"] = channel.Token!,
        ["X-Goog-Resource-ID"] = channel.ResourceId,
        ["X-Goog-Resource-State"] = state,
        ["X-Goog-Resource-URI"] = "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
    };

    /// <summary>The bare endpoint: Kestrel and one route that answers 200, on the slim builder (or the full one).</summary>
    public static async Task<WebApplication> StartBareAsync(AckTimer? timer, bool fullBuilder = false, Action<IServiceCollection>? configure = null)
    {
        var port = BenchHost.FreePort();
        var builder = fullBuilder ? WebApplication.CreateBuilder() : WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        timer?.Use(app);
        app.MapPost(Calhook.Receiving.ReceiverEndpoint.Path, () => Microsoft.AspNetCore.Http.Results.Ok());
        await app.StartAsync();
        return app;
    }

    /// <summary>An open-loop run: the p99 seen by the client and the p99 of the server's own ack time.</summary>
    private static async Task<(double Client, double Server)> TimedOpenLoopAsync(Uri target, Dictionary<string, string> headers, TimeSpan duration, AckTimer timer)
    {
        timer.Start();
        var client = await OpenLoopAsync(target, headers, duration);
        var server = timer.Stop();
        return (Results.Percentile(client, 99), Results.Percentile(server, 99));
    }

    /// <summary>
    /// Sends one ping every 1/<see cref="OpenLoopRate"/> s for <paramref name="duration"/>, whatever the answers do
    /// (open loop), and returns each ping's ack latency in milliseconds.
    /// </summary>
    private static async Task<List<double>> OpenLoopAsync(Uri target, Dictionary<string, string> headers, TimeSpan duration)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Workers });
        var clock = TimeProvider.System;
        var count = (int)(duration.TotalSeconds * OpenLoopRate);
        var latencies = new double[count];
        var sends = new List<Task>(count);
        var started = clock.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / OpenLoopRate) - clock.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, clock);
            }

            var index = i;
            sends.Add(Task.Run(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, target);
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                request.Headers.TryAddWithoutValidation("X-Goog-Message-Number", (1_000_000 + index).ToString(CultureInfo.InvariantCulture));
                var sent = clock.GetTimestamp();
                using var response = await http.SendAsync(request);
                latencies[index] = clock.GetElapsedTime(sent).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"The receiver answered {(int)response.StatusCode}.");
                }
            }));
        }

        await Task.WhenAll(sends);
        return [.. latencies];
    }

    /// <summary>A closed loop of <see cref="Workers"/> concurrent senders for <paramref name="duration"/>.</summary>
    public static async Task<(double Rate, List<double> LatenciesMs)> LoadAsync(Uri target, Dictionary<string, string> headers, TimeSpan duration)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Workers });
        var clock = TimeProvider.System;
        var number = 1L;
        var all = new List<double>();
        var stopAt = clock.GetTimestamp() + (long)(duration.TotalSeconds * clock.TimestampFrequency);
        var started = clock.GetTimestamp();
        var workers = Enumerable.Range(0, Workers).Select(async _ =>
        {
            var mine = new List<double>();
            while (clock.GetTimestamp() < stopAt)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, target);
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                request.Headers.TryAddWithoutValidation("X-Goog-Message-Number", Interlocked.Increment(ref number).ToString(CultureInfo.InvariantCulture));
                var sent = clock.GetTimestamp();
                using var response = await http.SendAsync(request);
                mine.Add(clock.GetElapsedTime(sent).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"The receiver answered {(int)response.StatusCode}.");
                }
            }

            return mine;
        });
        foreach (var mine in await Task.WhenAll(workers))
        {
            all.AddRange(mine);
        }

        var elapsed = clock.GetElapsedTime(started).TotalSeconds;
        Debug.Assert(elapsed > 0);
        return (all.Count / elapsed, all);
    }
}
