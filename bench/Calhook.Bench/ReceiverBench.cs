using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Calhook.Bench;

/// <summary>
/// <c>receiver-throughput</c>: valid pings per second that Calhook's receiver acknowledges, against a bare Kestrel
/// endpoint that returns 200, under the same closed-loop load in the same run. <c>receiver-ack-p99-ms</c>: the ack
/// latency of single pings sent at a fixed moderate rate (open loop, <see cref="OpenLoopRate"/> per second), next to
/// the bare endpoint's p99 under the same schedule.
/// </summary>
internal static class ReceiverBench
{
    private const int Workers = 32;

    /// <summary>Pings per second of the open-loop latency run.</summary>
    private const int OpenLoopRate = 500;

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick)
    {
        var duration = TimeSpan.FromSeconds(quick ? 3 : 10);
        var (bare, bareP99) = await MeasureBareAsync(duration);

        await using var calhook = await BenchHost.StartAsync(emulator);
        await calhook.WatchAsync(emulator, "receiver-bench@example.com", TimeSpan.FromSeconds(30));
        using var control = new HttpClient { BaseAddress = emulator };
        var channel = JsonNode.Parse(await control.GetStringAsync(new Uri("/emulator/v1/channels", UriKind.Relative)))!["items"]!.AsArray()
            .First(c => (string?)c!["user"] == "receiver-bench@example.com")!;
        var headers = new Dictionary<string, string>
        {
            ["X-Goog-Channel-ID"] = (string)channel["id"]!,
            ["X-Goog-Channel-Token"] = (string)channel["token"]!,
            ["X-Goog-Resource-ID"] = (string)channel["resourceId"]!,
            ["X-Goog-Resource-State"] = "exists",
            ["X-Goog-Resource-URI"] = "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
        };
        var target = new Uri(calhook.BaseAddress, "google/notifications");
        var (rate, _) = await LoadAsync(target, headers, duration);
        var p99 = Results.Percentile(await OpenLoopAsync(target, headers, duration), 99);

        var ratio = rate / bare;
        return
        [
            new Measure("receiver-throughput", rate, "pings/s", bare, ratio, ">= 0.8 of bare", ratio >= 0.8),
            new Measure("receiver-ack-p99-ms", p99, $"ms ({OpenLoopRate} pings/s open loop)", bareP99, p99 / bareP99, "< 2 ms", p99 < 2),
        ];
    }

    private static async Task<(double Rate, double P99)> MeasureBareAsync(TimeSpan duration)
    {
        var port = BenchHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        app.MapPost("/google/notifications", () => Microsoft.AspNetCore.Http.Results.Ok());
        await app.StartAsync();
        var target = new Uri($"http://127.0.0.1:{port}/google/notifications");
        var (rate, _) = await LoadAsync(target, new Dictionary<string, string>(), duration);
        var p99 = Results.Percentile(await OpenLoopAsync(target, new Dictionary<string, string>(), duration), 99);
        await app.StopAsync();
        return (rate, p99);
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
    private static async Task<(double Rate, List<double> LatenciesMs)> LoadAsync(Uri target, Dictionary<string, string> headers, TimeSpan duration)
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
