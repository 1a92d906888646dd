using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.Emulator.Faults;
using Calhook.Google;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Bench;

/// <summary>
/// <c>steady-memory-10k-watches-mb</c>, <c>startup-10k-watches-s</c>, <c>restart-10k-watches-s</c>,
/// <c>quota-peak-vs-budget</c> and <c>scale-changes-lost</c>. The emulator (in this process) holds N calendars over
/// N/50 users, with channels that live <see cref="Size.ChannelTtlSeconds"/> so that a renewal wave comes during the
/// run. A child process runs Calhook with a request budget far below what a naive schedule of N calendars needs
/// (opening and baselining them at once, renewing them, a safety net every 2 minutes), and counts every request it
/// sends to Google:
/// <list type="number">
/// <item>start-up: watch every calendar and wait for every baseline;</item>
/// <item>steady: the emulator drops 30 % of pings while events are inserted; wait until every channel has been renewed
/// once (the renewal wave), collect, read the resident memory;</item>
/// <item>restart on the same data while more events are inserted: restore every channel and catch up every calendar;</item>
/// <item>wait until the change log holds every inserted event (dropped pings are caught by the catch-up and the safety net).</item>
/// </list>
/// The busiest sliding minute of the requests, divided by the budget, must stay at or under 1; no event may be lost.
/// </summary>
internal static class ScaleBench
{
    private const int CalendarsPerUser = 50;

    /// <summary>The size of a run: watches, the project budget per minute, the channels' lifetime, mutations per phase.</summary>
    internal sealed record Size(int Watches, int Budget, int ChannelTtlSeconds, int Mutations)
    {
        public static Size For(bool quick) => quick ? new Size(1_000, 1_200, 300, 100) : new Size(10_000, 6_000, 480, 500);
    }

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick)
    {
        var size = Size.For(quick);
        var calendars = await SeedAsync(emulator, size);
        var file = Path.Combine(Path.GetTempPath(), $"calhook-scale-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, calendars.ToJsonString());

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { typeof(ScaleBench).Assembly.Location, "--child-scale", emulator.ToString(), file, quick ? "quick" : "full" })
        {
            info.ArgumentList.Add(arg);
        }

        using var child = Process.Start(info)!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        File.Delete(file);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (child.ExitCode != 0 || lines.Length == 0)
        {
            throw new InvalidOperationException($"The scale run's child process failed (exit code {child.ExitCode}); its error is above.");
        }

        var result = JsonNode.Parse(lines[^1])!;
        Console.Error.WriteLine($"  scale: {result.ToJsonString()}");
        var budget = size.Budget;
        var steady = (double)result["steadyMb"]!;
        var peak = (double)result["busiestMinute"]!;
        var lost = (int)result["lost"]!;
        var suffix = quick ? $" ({size.Watches:N0} watches, quick)" : $" ({size.Watches:N0} watches)";
        var phases = $"busiest minute {peak:N0} of {budget:N0} requests; start-up {result["busiestMinuteStartup"]}, renewal wave {result["busiestMinuteSteady"]}, restart and catch-up {result["busiestMinuteRestart"]}; busiest second {result["busiestSecond"]}";
        return
        [
            new Measure("steady-memory-10k-watches-mb", steady, "MB resident after the renewal wave and a full collection" + suffix, null, null, "<= 300 MB", steady <= 300),
            new Measure("startup-10k-watches-s", (double)result["startupSeconds"]!, "s to watch and baseline all" + suffix,
                (double)result["startupFloorSeconds"]!, (double)result["startupSeconds"]! / (double)result["startupFloorSeconds"]!,
                "close to the budget's floor (requests / budget)", true),
            new Measure("restart-10k-watches-s", (double)result["restartSeconds"]!, "s from restart to every channel restored and every calendar caught up" + suffix, null, null, "reported", true),
            new Measure("quota-peak-vs-budget", peak / budget, phases + suffix, budget, peak / budget, "<= 1.0", peak <= budget),
            new Measure("scale-changes-lost", lost, $"of {result["inserted"]} inserted events missing from the change log, 30 % of pings dropped ({result["duplicated"]} duplicated)" + suffix,
                null, null, "0", lost == 0 && (int)result["duplicated"]! == 0),
        ];
    }

    /// <summary>Users with <see cref="CalendarsPerUser"/> calendars each (the primary and secondaries): [{user, calendars:[…]}].</summary>
    private static async Task<JsonArray> SeedAsync(Uri emulator, Size size)
    {
        var watches = size.Watches;
        var users = Enumerable.Range(0, (watches + CalendarsPerUser - 1) / CalendarsPerUser).Select(i => $"scale{i:D4}@example.com").ToList();
        var result = new ConcurrentDictionary<string, List<string>>();
        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (user, _) =>
        {
            var tokens = await Emulator.TokensAsync(emulator, user);
            using var http = new HttpClient { BaseAddress = new Uri(emulator, "calendar/v3/") };
            http.DefaultRequestHeaders.Authorization = new("Bearer", tokens.AccessToken);
            var ids = new List<string> { user };
            for (var i = 1; i < CalendarsPerUser; i++)
            {
                using var response = await http.PostAsJsonAsync("calendars", new { summary = $"Scale {i}" });
                response.EnsureSuccessStatusCode();
                ids.Add((string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!);
            }

            result[user] = ids;
        });

        var all = new JsonArray();
        var left = watches;
        foreach (var user in users)
        {
            var ids = result[user].Take(Math.Min(left, CalendarsPerUser)).ToList();
            left -= ids.Count;
            all.Add(new JsonObject { ["user"] = user, ["calendars"] = new JsonArray([.. ids.Select(id => (JsonNode)id)]) });
        }

        using var control = new EmulatorControlClient(emulator);
        await control.SetConfigAsync(maxChannelTtlSeconds: size.ChannelTtlSeconds);
        return all;
    }

    /// <summary>The child: the four phases, then one JSON line on stdout.</summary>
    public static async Task<int> ChildAsync(Uri emulator, string file, bool quick)
    {
        var size = Size.For(quick);
        var clock = TimeProvider.System;
        var users = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
        var watchCount = users.Sum(u => u!["calendars"]!.AsArray().Count);
        var sent = new ConcurrentQueue<long>();
        var settings = new Dictionary<string, string?>
        {
            ["Calhook:Google:RequestsPerMinute"] = size.Budget.ToString(CultureInfo.InvariantCulture),
            ["Calhook:Google:RequestsPerMinutePerUser"] = "500",
            ["Calhook:Sync:SafetyNetInterval"] = "00:02:00",
            ["Calhook:Sync:MaxConcurrentSyncs"] = "16",
        };

        // Counted innermost, after the budget: every attempt that reaches the wire.
        void Count(IServiceCollection services) =>
            services.AddHttpClient(GoogleCalendarClient.HttpClientName).AddHttpMessageHandler(() => new TimestampHandler(sent, clock));

        var runStarted = clock.GetTimestamp();
        var started = clock.GetTimestamp();
        // The data directory is the run's, not the first host's: the restart opens the same store.
        var data = Directory.CreateTempSubdirectory("calhook-scale-");
        var calhook = await BenchHost.StartAsync(emulator, Count, settings, data);
        var accounts = new List<(string Account, string Calendar)>();
        foreach (var user in users)
        {
            var account = await calhook.AddAccountAsync(emulator, (string)user!["user"]!);
            accounts.AddRange(user["calendars"]!.AsArray().Select(c => (account, (string)c!)));
        }

        await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (w, _) =>
            await BenchHost.PostAsync(calhook.Client, "/v1/watches", new JsonObject { ["accountId"] = w.Account, ["calendarId"] = w.Calendar }));
        var firstChannels = await AllActiveAsync(calhook, watchCount, requireBaseline: true);
        var startup = clock.GetElapsedTime(started).TotalSeconds;
        var steadyFrom = clock.GetTimestamp();
        Progress($"start-up: {watchCount} watches active with their baselines in {startup:0} s, {sent.Count} requests");

        // Steady: 30 % of pings dropped while events are inserted, until every channel has been renewed once.
        var inserter = new Inserter(emulator, users);
        using var control = new EmulatorControlClient(emulator);
        await control.SetFaultsAsync(new FaultSettings { Seed = 42, Notifications = new NotificationFaults { DropRate = 0.3 } });
        var inserting = inserter.InsertAsync(size.Mutations, TimeSpan.FromSeconds(size.ChannelTtlSeconds / 2.0));
        await AllRenewedAsync(calhook, firstChannels, TimeSpan.FromSeconds(size.ChannelTtlSeconds * 3));
        await inserting;
        Progress($"steady: every channel renewed {clock.GetElapsedTime(steadyFrom).TotalSeconds:0} s after start-up, {sent.Count} requests");
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var steadyMb = ResidentMb();
        Progress($"steady: {steadyMb:0} MB resident after a full collection ({MemoryParts()})");
        // CALHOOK_BENCH_SMAPS=<file>: the child's memory map at the steady point, every mapping with its resident size.
        if (Environment.GetEnvironmentVariable("CALHOOK_BENCH_SMAPS") is { Length: > 0 } smaps)
        {
            File.WriteAllText(smaps, File.ReadAllText("/proc/self/smaps"));
        }

        // CALHOOK_BENCH_STEADY_HOLD=<seconds>: the child waits at the steady point, for a heap dump from outside
        // (dotnet-gcdump collect -p <pid>).
        if (int.TryParse(Environment.GetEnvironmentVariable("CALHOOK_BENCH_STEADY_HOLD"), out var hold) && hold > 0)
        {
            Progress($"steady: holding {hold} s for a heap dump (pid {Environment.ProcessId})");
            await Task.Delay(TimeSpan.FromSeconds(hold), clock);
            Progress($"steady: {ResidentMb():0} MB resident after the hold ({MemoryParts()})");
        }

        await calhook.DisposeAsync();

        // Restart on the same data, with events inserted while it was down: restore every channel and catch up.
        var restartFrom = clock.GetTimestamp();
        await inserter.InsertAsync(size.Mutations / 5, TimeSpan.Zero);
        started = clock.GetTimestamp();
        calhook = await BenchHost.StartAsync(emulator, Count, settings, data);
        await AllActiveAsync(calhook, watchCount, requireBaseline: false);

        // Every inserted event in the change log: what the dropped pings missed comes with the catch-up or the safety net.
        var (lost, duplicated) = await AllChangesAsync(calhook, inserter.Inserted, TimeSpan.FromMinutes(quick ? 5 : 10));
        var restart = clock.GetElapsedTime(started).TotalSeconds;
        Progress($"restart: caught up in {restart:0} s, {lost} lost, {duplicated} duplicated, {sent.Count} requests");

        // The catch-up's last requests may still be going out after the last change arrived: count 30 s more (the
        // service never goes quiet: its short-lived channels keep renewing).
        await Task.Delay(TimeSpan.FromSeconds(30), clock);

        await calhook.DisposeAsync();
        await control.ResetFaultsAsync();
        data.Delete(recursive: true);

        var times = sent.Order().ToArray();
        long[] Between(long from, long to) => [.. times.Where(t => t >= from && t < to)];
        Console.WriteLine(new JsonObject
        {
            ["watches"] = watchCount,
            ["requests"] = times.Length,
            ["runSeconds"] = clock.GetElapsedTime(runStarted).TotalSeconds,
            ["startupSeconds"] = startup,
            // Two requests a watch at least (open the channel, list the baseline), at the budget's pace.
            ["startupFloorSeconds"] = 2.0 * watchCount / size.Budget * 60,
            ["restartSeconds"] = restart,
            ["steadyMb"] = steadyMb,
            ["inserted"] = inserter.Inserted.Count,
            ["lost"] = lost,
            ["duplicated"] = duplicated,
            ["busiestMinute"] = BusiestWindow(times, TimeSpan.FromMinutes(1)),
            ["busiestMinuteStartup"] = BusiestWindow(Between(0, steadyFrom), TimeSpan.FromMinutes(1)),
            ["busiestMinuteSteady"] = BusiestWindow(Between(steadyFrom, restartFrom), TimeSpan.FromMinutes(1)),
            ["busiestMinuteRestart"] = BusiestWindow(Between(restartFrom, long.MaxValue), TimeSpan.FromMinutes(1)),
            ["busiestSecond"] = BusiestWindow(times, TimeSpan.FromSeconds(1)),
        }.ToJsonString());
        return 0;
    }

    private static void Progress(string line) =>
        Console.Error.WriteLine($"  {TimeProvider.System.GetUtcNow():HH:mm:ss} scale {line} (load {Results.LoadAverage()})");

    /// <summary>Waits until every watch is active with a channel; returns each watch's channel id.</summary>
    private static async Task<Dictionary<string, string>> AllActiveAsync(BenchHost calhook, int count, bool requireBaseline)
    {
        while (true)
        {
            var items = JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri("/v1/watches", UriKind.Relative)))!["items"]!.AsArray();
            var ready = items.Where(w => (string?)w!["status"] == "active" && w["channelId"] is not null && (!requireBaseline || w["lastSyncAt"] is not null)).ToList();
            if (ready.Count >= count)
            {
                return ready.ToDictionary(w => (string)w!["id"]!, w => (string)w!["channelId"]!);
            }

            await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
        }
    }

    /// <summary>Waits until every watch is active on another channel than <paramref name="first"/> gave it.</summary>
    private static async Task AllRenewedAsync(BenchHost calhook, Dictionary<string, string> first, TimeSpan timeout)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (true)
        {
            var items = JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri("/v1/watches", UriKind.Relative)))!["items"]!.AsArray();
            var renewed = items.Count(w => (string?)w!["status"] == "active" && (string?)w["channelId"] is { } channel
                && first.TryGetValue((string)w["id"]!, out var old) && channel != old);
            if (renewed >= first.Count)
            {
                return;
            }

            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"Only {renewed} of {first.Count} channels were renewed within {timeout}.");
            }

            await Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System);
        }
    }

    /// <summary>Reads the whole change log until every inserted event is in it (or the time is up): (lost, duplicated).</summary>
    private static async Task<(int Lost, int Duplicated)> AllChangesAsync(BenchHost calhook, IReadOnlyCollection<string> inserted, TimeSpan timeout)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        long after = 0;
        while (true)
        {
            var page = JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri($"/v1/changes?after={after}&limit=1000", UriKind.Relative)))!;
            foreach (var change in page["changes"]!.AsArray())
            {
                if ((string?)change!["type"] == "event.created")
                {
                    var id = (string)change["eventId"]!;
                    seen[id] = seen.GetValueOrDefault(id) + 1;
                }
            }

            after = (long)page["next"]!;
            if ((bool)page["hasMore"]!)
            {
                continue;
            }

            var lost = inserted.Count(id => !seen.ContainsKey(id));
            if (lost == 0 || TimeProvider.System.GetTimestamp() > deadline)
            {
                return (lost, seen.Values.Count(n => n > 1));
            }

            await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
        }
    }

    /// <summary>The most timestamps (ticks, sorted) that fall in any window of <paramref name="window"/>.</summary>
    private static int BusiestWindow(long[] times, TimeSpan window)
    {
        var length = (long)(window.TotalSeconds * TimeProvider.System.TimestampFrequency);
        var busiest = 0;
        for (int start = 0, end = 0; end < times.Length; end++)
        {
            while (times[end] - times[start] >= length)
            {
                start++;
            }

            busiest = Math.Max(busiest, end - start + 1);
        }

        return busiest;
    }

    /// <summary>Where the resident memory is: the GC's heap and what it keeps committed, the rest of the process's anonymous memory, mapped files, threads.</summary>
    private static string MemoryParts()
    {
        var gc = GC.GetGCMemoryInfo();
        var status = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("Rss", StringComparison.Ordinal)).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return FormattableString.Invariant(
            $"GC heap {gc.HeapSizeBytes / 1048576.0:0} MB, committed {gc.TotalCommittedBytes / 1048576.0:0} MB, fragmented {gc.FragmentedBytes / 1048576.0:0} MB; {string.Join(", ", status)}; {Environment.ProcessorCount} cores, {process.Threads.Count} threads");
    }

    private static double ResidentMb()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return double.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>Inserts events as the users would, into calendars picked at random (seeded), and remembers their ids.</summary>
    private sealed class Inserter(Uri emulator, JsonArray users)
    {
        private readonly Random _random = new(7);
        private readonly ConcurrentBag<string> _inserted = [];
        private readonly Dictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);

        public IReadOnlyCollection<string> Inserted => _inserted;

        /// <summary>Inserts <paramref name="count"/> events spread evenly over <paramref name="over"/>.</summary>
        public async Task InsertAsync(int count, TimeSpan over)
        {
            var started = TimeProvider.System.GetTimestamp();
            for (var i = 0; i < count; i++)
            {
                var due = over * i / count - TimeProvider.System.GetElapsedTime(started);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, TimeProvider.System);
                }

                var user = users[_random.Next(users.Count)]!;
                var calendars = user["calendars"]!.AsArray();
                var calendar = (string)calendars[_random.Next(calendars.Count)]!;
                var http = await ClientAsync((string)user["user"]!);
                using var response = await http.PostAsJsonAsync($"calendars/{Uri.EscapeDataString(calendar)}/events", Emulator.Event(i));
                response.EnsureSuccessStatusCode();
                _inserted.Add((string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!);
            }
        }

        private async Task<HttpClient> ClientAsync(string user)
        {
            if (!_clients.TryGetValue(user, out var http))
            {
                var tokens = await Emulator.TokensAsync(emulator, user);
                http = new HttpClient { BaseAddress = new Uri(emulator, "calendar/v3/") };
                http.DefaultRequestHeaders.Authorization = new("Bearer", tokens.AccessToken);
                _clients[user] = http;
            }

            return http;
        }
    }

    private sealed class TimestampHandler(ConcurrentQueue<long> sent, TimeProvider clock) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            sent.Enqueue(clock.GetTimestamp());
            return base.SendAsync(request, cancellationToken);
        }
    }
}
