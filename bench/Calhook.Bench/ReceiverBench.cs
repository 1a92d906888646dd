using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Calhook.Bench;

/// <summary>
/// <c>receiver-throughput</c> and <c>receiver-ack-p99-ms</c>: valid pings per second that Calhook's receiver
/// acknowledges, against a bare Kestrel endpoint that returns 200, under the same closed-loop load in the same run.
/// </summary>
internal static class ReceiverBench
{
    private const int Workers = 32;

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick)
    {
        var duration = TimeSpan.FromSeconds(quick ? 3 : 10);
        var bare = await MeasureBareAsync(duration);

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
        var (rate, latencies) = await LoadAsync(new Uri(calhook.BaseAddress, "google/notifications"), headers, duration);

        var ratio = rate / bare;
        var p99 = Results.Percentile(latencies, 99);
        return
        [
            new Measure("receiver-throughput", rate, "pings/s", bare, ratio, ">= 0.8 of bare", ratio >= 0.8),
            new Measure("receiver-ack-p99-ms", p99, "ms", null, null, "< 2 ms", p99 < 2),
        ];
    }

    private static async Task<double> MeasureBareAsync(TimeSpan duration)
    {
        var port = BenchHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        app.MapPost("/google/notifications", () => Microsoft.AspNetCore.Http.Results.Ok());
        await app.StartAsync();
        var (rate, _) = await LoadAsync(new Uri($"http://127.0.0.1:{port}/google/notifications"), new Dictionary<string, string>(), duration);
        await app.StopAsync();
        return rate;
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
