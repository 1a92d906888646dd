using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.Emulator;
using Calhook.Emulator.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Bench;

/// <summary>
/// Where the time of one change goes: sequential mutations of one calendar, each waited for in the feed (a long
/// poll opened before the mutation), with a timestamp at every stage of the path, taken in this process: the
/// emulator's commit, the mutation's answer, the ping's arrival at the receiver, the start and end of events.list,
/// Calhook's commit signal, the long poll's answer. Prints the per-stage p50/p95 and returns the end-to-end figures.
/// </summary>
internal static class LatencyProbe
{
    public static async Task<IEnumerable<Measure>> RunAsync(EmulatorServer emulator, bool quick)
    {
        var stamps = new Stamps();
        var signal = emulator.Services.GetRequiredService<ChangeSignal>();
        signal.Changed += _ => stamps.Add(Stage.EmulatorCommit);
        await using var calhook = await BenchHost.StartAsync(emulator.BaseAddress, services =>
        {
            services.AddSingleton<IStartupFilter>(new ReceiverStamp(stamps));
            services.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(() => new ListStamp(stamps)));
        });
        const string user = "latency-probe@example.com";
        await calhook.WatchAsync(emulator.BaseAddress, user, TimeSpan.FromSeconds(30));
        using var calendar = await Emulator.CalendarAsync(emulator.BaseAddress, user);
        var notifier = calhook.Services.GetRequiredService<ChangeNotifier>();
        using var stop = new CancellationTokenSource();
        var commits = WatchCommitsAsync(notifier, stamps, stop.Token);

        // Warm-up: JIT and connection pools of every hop.
        var after = await MutateAndWaitAsync(calhook, calendar, 0, -1, stamps);
        for (var i = 0; i < 4; i++)
        {
            after = await MutateAndWaitAsync(calhook, calendar, after, -2 - i, stamps);
        }

        var count = quick ? 32 : 64;
        var rows = new List<Row>();
        for (var i = 0; i < count; i++)
        {
            var started = TimeProvider.System.GetTimestamp();
            after = await MutateAndWaitAsync(calhook, calendar, after, i, stamps);
            rows.Add(stamps.Row(started, TimeProvider.System.GetTimestamp()));
        }

        await stop.CancelAsync();
        await commits;
        Print(rows);
        var backToBack = await BackToBackAsync(calhook, calendar, after, quick ? 16 : 32);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  back to back ({backToBack.Count} mutations, each sent when the previous one was answered): mutation to feed p50 {Results.Percentile(backToBack, 50):0.00} p95 {Results.Percentile(backToBack, 95):0.00} max {backToBack.Max():0.00} ms"));
        var total = rows.Select(r => r.Total).ToList();
        return
        [
            new Measure("sequential-latency-p50-ms", Results.Percentile(total, 50), $"ms (mutation to feed, {count} sequential mutations, one calendar)", null, null, "informational", true),
            new Measure("sequential-latency-p95-ms", Results.Percentile(total, 95), $"ms (mutation to feed, {count} sequential mutations, one calendar)", null, null, "informational", true),
            new Measure("back-to-back-latency-p95-ms", Results.Percentile(backToBack, 95), $"ms (mutation to feed, {backToBack.Count} mutations of one calendar sent back to back)", null, null, "informational", true),
        ];
    }

    /// <summary>
    /// Mutations sent one after another without waiting for the feed (each as soon as the previous one was answered),
    /// so most pings arrive while the calendar is syncing: the time of each from its POST to its change in the feed.
    /// </summary>
    private static async Task<List<double>> BackToBackAsync(BenchHost calhook, HttpClient calendar, long after, int count)
    {
        var clock = TimeProvider.System;
        var sent = new long[count];
        var seen = new double[count];
        var reading = Task.Run(async () =>
        {
            var got = 0;
            var cursor = after;
            while (got < count)
            {
                var page = JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri($"/v1/changes?after={cursor}&wait=30", UriKind.Relative)))!;
                var now = clock.GetTimestamp();
                foreach (var change in page["changes"]!.AsArray())
                {
                    if ((string?)change!["event"]?["summary"] is { } summary && summary.StartsWith("b2b ", StringComparison.Ordinal))
                    {
                        var i = int.Parse(summary.AsSpan(4), CultureInfo.InvariantCulture);
                        seen[i] = (now - sent[i]) * 1000.0 / clock.TimestampFrequency;
                        got++;
                    }
                }

                cursor = (long)page["next"]!;
            }
        });
        for (var i = 0; i < count; i++)
        {
            var body = Emulator.Event(i);
            body["summary"] = $"b2b {i}";
            sent[i] = clock.GetTimestamp();
            using var response = await calendar.PostAsJsonAsync("events", body);
            response.EnsureSuccessStatusCode();
        }

        await reading.WaitAsync(TimeSpan.FromSeconds(60), clock);
        return [.. seen];
    }

    /// <summary>Opens a long poll after <paramref name="after"/>, mutates the calendar, returns the new change's sequence.</summary>
    private static async Task<long> MutateAndWaitAsync(BenchHost calhook, HttpClient calendar, long after, int i, Stamps stamps)
    {
        var feed = calhook.Client.GetStringAsync(new Uri($"/v1/changes?after={after}&wait=30", UriKind.Relative));
        stamps.Add(Stage.MutationSent);
        using (var response = await calendar.PostAsJsonAsync("events", Emulator.Event(1000 + i)))
        {
            stamps.Add(Stage.MutationAnswered);
            response.EnsureSuccessStatusCode();
        }

        var page = JsonNode.Parse(await feed)!;
        stamps.Add(Stage.FeedAnswered);
        var changes = page["changes"]!.AsArray();
        if (changes.Count == 0)
        {
            throw new InvalidOperationException("The mutation did not reach the feed within 30 s.");
        }

        return (long)page["next"]!;
    }

    private static async Task WatchCommitsAsync(ChangeNotifier notifier, Stamps stamps, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await notifier.NextCommit.WaitAsync(cancellationToken);
                stamps.Add(Stage.CalhookCommit);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void Print(List<Row> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("  stage (ms from the mutation's start)        p50       p95       max");
        foreach (var (name, pick) in new (string, Func<Row, double>)[]
        {
            ("emulator committed the mutation", r => r.EmulatorCommit),
            ("mutation answered", r => r.MutationAnswered),
            ("ping reached the receiver", r => r.Ping),
            ("events.list sent", r => r.ListSent),
            ("events.list answered", r => r.ListAnswered),
            ("Calhook commit signalled", r => r.Commit),
            ("long poll answered (end to end)", r => r.Total),
        })
        {
            var values = rows.Select(pick).ToList();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"  {name,-42} {Results.Percentile(values, 50),8:0.00}  {Results.Percentile(values, 95),8:0.00}  {values.Max(),8:0.00}");
        }

        text.AppendLine("  per mutation (ms): emulator, ping, list sent, list answered, commit, feed");
        foreach (var r in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"    {r.EmulatorCommit,7:0.0} {r.Ping,7:0.0} {r.ListSent,7:0.0} {r.ListAnswered,7:0.0} {r.Commit,7:0.0} {r.Total,7:0.0}");
        }

        Console.Error.Write(text);
    }

    private enum Stage { MutationSent, EmulatorCommit, MutationAnswered, Ping, ListSent, ListAnswered, CalhookCommit, FeedAnswered }

    private sealed record Row(double EmulatorCommit, double MutationAnswered, double Ping, double ListSent, double ListAnswered, double Commit, double Total);

    /// <summary>Timestamps per stage; a row takes, for each stage, the first stamp of the mutation's time window.</summary>
    private sealed class Stamps
    {
        private readonly ConcurrentDictionary<Stage, ConcurrentQueue<long>> _stamps = new();

        public void Add(Stage stage) => _stamps.GetOrAdd(stage, _ => new()).Enqueue(TimeProvider.System.GetTimestamp());

        public Row Row(long from, long to)
        {
            double First(Stage stage, long after) =>
                _stamps.GetOrAdd(stage, _ => new()).Where(t => t >= after && t <= to).Select(t => Ms(from, t)).DefaultIfEmpty(double.NaN).Min();

            var sent = _stamps[Stage.MutationSent].Where(t => t >= from).Min();
            return new Row(
                First(Stage.EmulatorCommit, sent),
                First(Stage.MutationAnswered, sent),
                First(Stage.Ping, sent),
                First(Stage.ListSent, sent),
                First(Stage.ListAnswered, sent),
                First(Stage.CalhookCommit, sent),
                First(Stage.FeedAnswered, sent));

            static double Ms(long from, long t) => (t - from) * 1000.0 / TimeProvider.System.TimestampFrequency;
        }
    }

    /// <summary>Stamps each ping as it reaches Calhook's first middleware.</summary>
    private sealed class ReceiverStamp(Stamps stamps) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, RequestDelegate then) =>
            {
                if (context.Request.Path == Calhook.Receiving.ReceiverEndpoint.Path)
                {
                    stamps.Add(Stage.Ping);
                }

                return then(context);
            });
            next(app);
        };
    }

    /// <summary>Stamps each events.list request as it leaves Calhook and as its answer's headers arrive.</summary>
    private sealed class ListStamp(Stamps stamps) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var list = request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.EndsWith("/events", StringComparison.Ordinal);
            if (list)
            {
                stamps.Add(Stage.ListSent);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (list)
            {
                stamps.Add(Stage.ListAnswered);
            }

            return response;
        }
    }
}
