using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.PostgreSql;
using Calhook.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Bench;

/// <summary>
/// <c>e2e-latency-p50-ms</c> and <c>e2e-latency-p99-ms</c>: from an emulator mutation (the moment its POST is sent) to
/// the change at a loopback consumer, with <see cref="Rate"/> mutations per second (open loop) spread at random over
/// 1,000 watched calendars (100 with <c>--quick</c>) of <see cref="Users"/> users, so that no account exceeds
/// Calhook's per-user Google budget. The consumer is a loopback subscriber that verifies each webhook's signature
/// (the SSE stream's figure of the same run is reported beside it). The baseline is the bare loopback round trips the
/// path consists of, measured in the same run under the same open-loop rate: the mutation's POST, the ping's POST and
/// the webhook's POST (each as a bare Kestrel POST that answers 200) and an incremental events.list of one changed
/// event against the emulator.
/// </summary>
internal static class E2eLatencyBench
{
    /// <summary>
    /// Mutations a second: 500, the rate the targets are stated for. <c>CALHOOK_BENCH_E2E_RATE</c> overrides it for a
    /// look at another load (the measures keep their names; their unit states the rate they ran at).
    /// </summary>
    private static readonly int Rate =
        int.TryParse(Environment.GetEnvironmentVariable("CALHOOK_BENCH_E2E_RATE"), out var rate) && rate > 0 ? rate : 500;

    /// <summary>Users the calendars belong to: at 500 changes/s, 5 syncs/s per user stay within each user's Google budget.</summary>
    private const int Users = 100;

    /// <summary>
    /// The project's requests per minute the run is given. Each change can cost one events.list, so 500 changes/s can
    /// ask for up to 30,000 a minute: three times Google's default project quota (10,000) and Calhook's default budget
    /// (9,000). With the default budget the run's first 9,000 syncs go at once and the rest wait for the sliding minute
    /// (a tail of ~40 s that measures the budget, not the path); the run states the quota of a project sized for this
    /// rate, as Google grants on request.
    /// </summary>
    private const int ProjectRequestsPerMinute = 60_000;

    /// <summary>
    /// The same measures with the service on PostgreSQL (names ending in <c>-postgres</c>): a server started for the run
    /// from the local installation, on loopback; the same load, consumers and baselines.
    /// </summary>
    public static async Task<IEnumerable<Measure>> RunPostgresAsync(Uri emulator, bool quick)
    {
        // CALHOOK_BENCH_PG_STATEMENTS=1: the server's top statements by time are printed after the run (pg_stat_statements).
        var statements = Environment.GetEnvironmentVariable("CALHOOK_BENCH_PG_STATEMENTS") is { Length: > 0 };
        await using var server = await Calhook.TestKit.PostgresServer.StartAsync(statements);
        var connectionString = await server.CreateDatabaseAsync("bench");
        var measures = await RunAsync(emulator, quick, connectionString);
        if (statements)
        {
            foreach (var line in await server.TopStatementsAsync(connectionString, 20))
            {
                Console.Error.WriteLine("  pg: " + line);
            }
        }

        return measures;
    }

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick, string? postgres = null)
    {
        // Quick: fewer calendars (watching 1,000 takes a minute or more on a loaded 2-core machine), a shorter run.
        var calendarCount = quick ? 100 : 1000;
        var duration = TimeSpan.FromSeconds(quick ? 3 : 20);
        // A warm-up long enough for the JIT's tiers to settle at full load (3 s was not: the first seconds of the
        // measured window still carried its backlog); its own p99 is reported beside the measured window's.
        var warmUp = TimeSpan.FromSeconds(quick ? 1 : 10);
        var store = postgres is null ? "sqlite" : "postgres";
        var settings = new Dictionary<string, string?>
        {
            ["Calhook:Delivery:AllowPrivateNetworks"] = "true",
            ["Calhook:Google:RequestsPerMinute"] = ProjectRequestsPerMinute.ToString(CultureInfo.InvariantCulture),
        };
        if (postgres is not null)
        {
            settings["Calhook:Postgres:ConnectionString"] = postgres;
        }

        await using var calhook = await BenchHost.StartAsync(emulator, postgres is null ? null : services => services.AddCalhookPostgreSql(), settings);
        var setup = TimeProvider.System.GetTimestamp();
        var calendars = await WatchCalendarsAsync(calhook, emulator, calendarCount, store);
        Console.Error.WriteLine($"  {calendars.Count} calendars watched in {TimeProvider.System.GetElapsedTime(setup).TotalSeconds:0.0} s");

        var (postP50, postP99) = await BareRoundTripsAsync(duration);
        var (listP50, listP99) = await BareListAsync(calendars[0], duration);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  bare POST p50 {postP50:0.00} p99 {postP99:0.00} ms; bare events.list p50 {listP50:0.00} p99 {listP99:0.00} ms"));

        var last = await LastSequenceAsync(calhook);
        using var stop = new CancellationTokenSource();
        var consumer = new StreamConsumer();
        var reading = consumer.RunAsync(calhook, last, stop.Token);

        // The measure bench/README.md names ends at a verified webhook; the SSE reader's figure is shown beside it.
        // CALHOOK_BENCH_E2E_TRACE=file: each measured webhook's send time and latency (ms) are written there, one per line.
        var tracePath = Environment.GetEnvironmentVariable("CALHOOK_BENCH_E2E_TRACE");
        var hooks = new StreamConsumer { Trace = tracePath is { Length: > 0 } ? [] : null };
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        subscriber.Respond = webhook =>
        {
            hooks.Arrived(webhook.Envelope["data"], webhook.Arrived);
            return Task.FromResult(200);
        };
        var subscription = await BenchHost.PostAsync(calhook.Client, "/v1/subscriptions", new JsonObject { ["url"] = subscriber.Url.ToString() });
        subscriber.Trust((string)subscription["secret"]!);

        StreamConsumer[] consumers = [hooks, consumer];
        await DriveAsync(calendars, warmUp, consumers, firstIndex: 0);
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var started = TimeProvider.System.GetTimestamp();
        var measured = await DriveAsync(calendars, duration, consumers, firstIndex: 1_000_000);
        var streamed = await consumer.WaitForAsync(measured, TimeSpan.FromSeconds(60));
        var latencies = await hooks.WaitForAsync(measured, TimeSpan.FromSeconds(120));
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu;
        if (hooks.Trace is { } trace)
        {
            var frequency = (double)TimeProvider.System.TimestampFrequency;
            await File.WriteAllLinesAsync(tracePath!, trace.OrderBy(t => t.Sent).Select(t => string.Create(CultureInfo.InvariantCulture,
                $"{(t.Sent - started) * 1000 / frequency:0.0} {(t.Arrived - t.Sent) * 1000 / frequency:0.0}")));
        }

        // Whether the machine could keep up at all: the CPU this process (emulator, Calhook and load) spent per change.
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {measured} changes in {elapsed.TotalSeconds:0.0} s; process CPU {cpu.TotalMilliseconds / measured:0.00} ms per change ({Environment.ProcessorCount} cores)"));
        await stop.CancelAsync();
        await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        // Baselines: the bare round trips the path consists of (the mutation's POST, the ping's POST, the webhook's
        // POST, one incremental list); the stream's path has no webhook.
        var p50 = Results.Percentile(latencies, 50);
        var p99 = Results.Percentile(latencies, 99);
        var base50 = 3 * postP50 + listP50;
        var base99 = 3 * postP99 + listP99;
        var unit = $"ms (mutation to verified webhook, {Rate}/s over {calendars.Count} calendars, {latencies.Count} changes, {store}, budget {ProjectRequestsPerMinute}/min)";
        var suffix = postgres is null ? "" : "-postgres";
        var sse50 = Results.Percentile(streamed, 50);
        var sse99 = Results.Percentile(streamed, 99);
        var sseUnit = $"ms (mutation to SSE reader, same run, {streamed.Count} changes)";
        var warm = hooks.WarmUp;
        var warm99 = Results.Percentile(warm, 99);
        var warmUnit = $"ms (mutation to verified webhook in the {warmUp.TotalSeconds:0} s warm-up right after the watches were ready, {warm.Count} changes)";
        return
        [
            new Measure($"e2e-latency-p50-ms{suffix}", p50, unit, base50, p50 / base50, "<= 20 ms", p50 <= 20),
            new Measure($"e2e-latency-p99-ms{suffix}", p99, unit, base99, p99 / base99, "<= 100 ms", p99 <= 100),
            new Measure($"e2e-latency-sse-p50-ms{suffix}", sse50, sseUnit, base50 - postP50, sse50 / (base50 - postP50), "informational", true),
            new Measure($"e2e-latency-sse-p99-ms{suffix}", sse99, sseUnit, base99 - postP99, sse99 / (base99 - postP99), "informational", true),
            new Measure($"e2e-latency-warmup-p99-ms{suffix}", warm99, warmUnit, base99, warm99 / base99, "informational", true),
        ];
    }

    private static async Task<long> LastSequenceAsync(BenchHost calhook)
    {
        long after = 0;
        while (true)
        {
            var page = JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri($"/v1/changes?after={after}&limit=1000", UriKind.Relative)))!;
            after = (long)page["next"]!;
            if (!(bool)page["hasMore"]!)
            {
                return after;
            }
        }
    }

    /// <summary>One client per calendar, each inserting events into its own calendar.</summary>
    private sealed record Calendar(string Id, HttpClient Events);

    private static async Task<List<Calendar>> WatchCalendarsAsync(BenchHost calhook, Uri emulator, int count, string store)
    {
        var calendars = new List<Calendar>();
        var watches = new List<string>();
        var perUser = count / Users;
        var gate = new SemaphoreSlim(8);
        var users = Enumerable.Range(0, Users).Select(async u =>
        {
            await gate.WaitAsync();
            try
            {
                var user = $"e2e-{store}-{u}@example.com";
                var tokens = await Emulator.TokensAsync(emulator, user);
                var api = new HttpClient { BaseAddress = new Uri(emulator, "calendar/v3/") };
                api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
                var account = (string)(await BenchHost.PostAsync(calhook.Client, "/v1/accounts",
                    new JsonObject { ["type"] = "oauth", ["email"] = user, ["refreshToken"] = tokens.RefreshToken }))["id"]!;
                var mine = new List<Calendar>();
                var ids = new List<string>();
                for (var c = 0; c < perUser; c++)
                {
                    var id = (string)(await BenchHost.PostAsync(api, "calendars", new JsonObject { ["summary"] = $"e2e {u}.{c}" }))["id"]!;
                    var events = new HttpClient { BaseAddress = new Uri(emulator, $"calendar/v3/calendars/{Uri.EscapeDataString(id)}/") };
                    events.DefaultRequestHeaders.Authorization = api.DefaultRequestHeaders.Authorization;
                    mine.Add(new Calendar(id, events));
                    ids.Add((string)(await BenchHost.PostAsync(calhook.Client, "/v1/watches", new JsonObject { ["accountId"] = account, ["calendarId"] = id }))["id"]!);
                }

                lock (calendars)
                {
                    calendars.AddRange(mine);
                    watches.AddRange(ids);
                }
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(users);

        // Every baseline committed before the clock starts.
        var deadline = TimeProvider.System.GetTimestamp() + 120 * TimeProvider.System.TimestampFrequency;
        while (JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri("/v1/watches", UriKind.Relative)))!["items"]!.AsArray()
            .Any(w => w!["lastSyncAt"] is null))
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException("The baselines of the watched calendars did not finish within 120 s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
        }

        return calendars;
    }

    /// <summary>
    /// Inserts one event every 1/<see cref="Rate"/> s into a random calendar for <paramref name="duration"/>, open loop;
    /// each event's summary carries its index so the consumer can match the change. Returns the number sent.
    /// </summary>
    private static async Task<int> DriveAsync(List<Calendar> calendars, TimeSpan duration, StreamConsumer[] consumers, int firstIndex)
    {
        var clock = TimeProvider.System;
        var random = new Random(firstIndex);
        var count = (int)(duration.TotalSeconds * Rate);
        var sends = new List<Task>(count);
        foreach (var consumer in consumers)
        {
            consumer.Expect(firstIndex, count);
        }

        var started = clock.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / Rate) - clock.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, clock);
            }

            var index = firstIndex + i;
            var calendar = calendars[random.Next(calendars.Count)];
            sends.Add(Task.Run(async () =>
            {
                var body = Emulator.Event(index);
                body["summary"] = $"e2e {index}";
                var sent = clock.GetTimestamp();
                foreach (var consumer in consumers)
                {
                    consumer.Sent(index, sent);
                }

                using var response = await calendar.Events.PostAsJsonAsync("events", body);
                response.EnsureSuccessStatusCode();
            }));
        }

        await Task.WhenAll(sends);
        return count;
    }

    /// <summary>Reads the SSE stream and records, per mutation index, the time from its POST to its change.</summary>
    private sealed class StreamConsumer
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<int, long> _sent = [];
        private readonly List<double> _latencies = [];
        private readonly List<double> _warmUp = [];
        private int _measuredFrom = int.MaxValue;
        private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>When set, every measured change's send and arrival timestamps (to study where a tail comes from).</summary>
        public List<(long Sent, long Arrived)>? Trace { get; init; }

        public void Expect(int firstIndex, int count)
        {
            lock (_gate)
            {
                if (firstIndex > 0)
                {
                    _measuredFrom = firstIndex;
                }
            }
        }

        /// <summary>The latencies of the warm-up's changes that arrived.</summary>
        public List<double> WarmUp
        {
            get
            {
                lock (_gate)
                {
                    return [.. _warmUp];
                }
            }
        }

        public void Sent(int index, long timestamp)
        {
            lock (_gate)
            {
                _sent[index] = timestamp;
            }
        }

        public async Task<List<double>> WaitForAsync(int count, TimeSpan timeout)
        {
            var deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
            while (true)
            {
                Task arrived;
                lock (_gate)
                {
                    if (_latencies.Count >= count)
                    {
                        return [.. _latencies];
                    }

                    arrived = _arrived.Task;
                }

                var left = deadline - TimeProvider.System.GetTimestamp();
                if (left <= 0)
                {
                    lock (_gate)
                    {
                        throw new TimeoutException($"Only {_latencies.Count} of {count} changes reached the stream within {timeout}.");
                    }
                }

                await arrived.WaitAsync(TimeSpan.FromSeconds(left / (double)TimeProvider.System.TimestampFrequency), TimeProvider.System)
                    .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        public async Task RunAsync(BenchHost calhook, long after, CancellationToken cancellationToken)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/v1/changes/stream?after={after}", UriKind.Relative));
            using var response = await calhook.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                var now = TimeProvider.System.GetTimestamp();
                Arrived(JsonNode.Parse(line.AsSpan(6).ToString()), now);
            }
        }

        /// <summary>A change reached this consumer at <paramref name="now"/>: if it is one of the measured mutations, its latency counts.</summary>
        public void Arrived(JsonNode? change, long now)
        {
            if (change?["event"]?["summary"]?.GetValue<string>() is not { } text || !text.StartsWith("e2e ", StringComparison.Ordinal)
                || !int.TryParse(text.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                return;
            }

            lock (_gate)
            {
                if (index < _measuredFrom)
                {
                    if (_sent.Remove(index, out var early))
                    {
                        _warmUp.Add((now - early) * 1000.0 / TimeProvider.System.TimestampFrequency);
                    }
                }
                else if (_sent.Remove(index, out var sent))
                {
                    _latencies.Add((now - sent) * 1000.0 / TimeProvider.System.TimestampFrequency);
                    Trace?.Add((sent, now));
                    _arrived.TrySetResult();
                    _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }
    }

    /// <summary>Bare POST round trips against a Kestrel endpoint that answers 200, open loop at <see cref="Rate"/>/s.</summary>
    private static async Task<(double P50, double P99)> BareRoundTripsAsync(TimeSpan duration)
    {
        var port = BenchHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        app.MapPost("/bare", () => Microsoft.AspNetCore.Http.Results.Ok());
        await app.StartAsync();
        using var http = new HttpClient();
        var target = new Uri($"http://127.0.0.1:{port}/bare");
        var samples = await OpenLoopAsync(duration, async () =>
        {
            using var response = await http.PostAsync(target, new ByteArrayContent([]));
            response.EnsureSuccessStatusCode();
        });
        await app.StopAsync();
        return (Results.Percentile(samples, 50), Results.Percentile(samples, 99));
    }

    /// <summary>Bare incremental events.list round trips (one changed event since the token) against the emulator.</summary>
    private static async Task<(double P50, double P99)> BareListAsync(Calendar calendar, TimeSpan duration)
    {
        var first = JsonNode.Parse(await calendar.Events.GetStringAsync(new Uri("events", UriKind.Relative)))!;
        var token = (string)first["nextSyncToken"]!;
        using (var created = await calendar.Events.PostAsJsonAsync("events", Emulator.Event(1)))
        {
            created.EnsureSuccessStatusCode();
        }

        var uri = new Uri($"events?syncToken={Uri.EscapeDataString(token)}", UriKind.Relative);
        var samples = await OpenLoopAsync(duration, async () =>
        {
            using var response = await calendar.Events.GetAsync(uri);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
        });
        return (Results.Percentile(samples, 50), Results.Percentile(samples, 99));
    }

    private static async Task<List<double>> OpenLoopAsync(TimeSpan duration, Func<Task> send)
    {
        var clock = TimeProvider.System;
        var count = (int)(duration.TotalSeconds * Rate);
        var latencies = new double[count];
        var sends = new List<Task>(count);
        var started = clock.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / Rate) - clock.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, clock);
            }

            var index = i;
            sends.Add(Task.Run(async () =>
            {
                var sent = clock.GetTimestamp();
                await send();
                latencies[index] = clock.GetElapsedTime(sent).TotalMilliseconds;
            }));
        }

        await Task.WhenAll(sends);
        return [.. latencies];
    }
}
