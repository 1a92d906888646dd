using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Google;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Bench;

/// <summary>
/// <c>steady-memory-10k-watches-mb</c>, <c>startup-10k-watches-s</c>, <c>restart-10k-watches-s</c> and
/// <c>quota-peak-vs-budget</c>. The emulator (in this process) holds N calendars over N/50 users, with channels that
/// live two minutes so renewal waves happen during the run. A child process runs Calhook with a request budget well
/// below what opening, baselining, renewing and safety-netting N calendars at once would take, watches every calendar,
/// stays up through renewals, restarts on the same data (restore + catch-up), and counts every request it sends to
/// Google. The busiest sliding minute of those requests, divided by the budget, must stay at or under 1.
/// </summary>
internal static class ScaleBench
{
    private const int CalendarsPerUser = 50;

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick)
    {
        var watches = quick ? 1_000 : 10_000;
        var budget = quick ? 1_200 : 6_000;
        var steadySeconds = quick ? 20 : 150;
        var calendars = await SeedAsync(emulator, watches);
        var file = Path.Combine(Path.GetTempPath(), $"calhook-scale-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, calendars.ToJsonString());

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { typeof(ScaleBench).Assembly.Location, "--child-scale", emulator.ToString(), file, budget.ToString(CultureInfo.InvariantCulture), steadySeconds.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        using var child = Process.Start(info)!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        File.Delete(file);
        var result = JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!;
        var steady = (double)result["steadyMb"]!;
        var peak = (double)result["busiestMinute"]!;
        var suffix = quick ? $" ({watches:N0} watches, quick)" : $" ({watches:N0} watches)";
        Console.Error.WriteLine($"  scale: {result.ToJsonString()}");
        return
        [
            new Measure("steady-memory-10k-watches-mb", steady, "MB" + suffix, null, null, "<= 300 MB", steady <= 300),
            new Measure("startup-10k-watches-s", (double)result["startupSeconds"]!, "s to watch and baseline all" + suffix,
                (double)result["startupFloorSeconds"]!, (double)result["startupSeconds"]! / (double)result["startupFloorSeconds"]!,
                "close to the budget's floor (requests / budget)", true),
            new Measure("restart-10k-watches-s", (double)result["restartSeconds"]!, "s to restore and catch up all" + suffix, null, null, "reported", true),
            new Measure("quota-peak-vs-budget", peak / budget, $"busiest minute {peak:N0} of {budget:N0} requests" + suffix, budget, peak / budget, "<= 1.0", peak <= budget),
        ];
    }

    /// <summary>Users with <see cref="CalendarsPerUser"/> calendars each (the primary and secondaries): [{user, calendars:[…]}].</summary>
    private static async Task<JsonArray> SeedAsync(Uri emulator, int watches)
    {
        var users = Enumerable.Range(0, (watches + CalendarsPerUser - 1) / CalendarsPerUser).Select(i => $"scale{i:D4}@example.com").ToList();
        var result = new ConcurrentDictionary<string, List<string>>();
        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (user, _) =>
        {
            var tokens = await Emulator.TokensAsync(emulator, user);
            using var http = new HttpClient { BaseAddress = new Uri(emulator, "calendar/v3/") };
            http.DefaultRequestHeaders.Authorization = new("Bearer", (string?)tokens["access_token"]);
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

        using var control = new HttpClient { BaseAddress = emulator };
        using var config = await control.PutAsJsonAsync("/emulator/v1/config", new { maxChannelTtlSeconds = 120 });
        config.EnsureSuccessStatusCode();
        return all;
    }

    /// <summary>The child: watch everything, stay up through renewals, restart, and print one JSON line.</summary>
    public static async Task<int> ChildAsync(Uri emulator, string file, int budget, int steadySeconds)
    {
        var clock = TimeProvider.System;
        var users = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
        var watchCount = users.Sum(u => u!["calendars"]!.AsArray().Count);
        var sent = new ConcurrentQueue<long>();
        var settings = new Dictionary<string, string?>
        {
            ["Calhook:Google:RequestsPerMinute"] = budget.ToString(CultureInfo.InvariantCulture),
            ["Calhook:Google:RequestsPerMinutePerUser"] = "500",
            ["Calhook:Sync:SafetyNetInterval"] = "00:05:00",
            ["Calhook:Sync:MaxConcurrentSyncs"] = "16",
        };

        // Counted innermost, after the budget: every attempt that reaches the wire.
        void Count(IServiceCollection services) =>
            services.AddHttpClient(GoogleCalendarClient.HttpClientName).AddHttpMessageHandler(() => new TimestampHandler(sent, clock));

        var started = clock.GetTimestamp();
        var calhook = await BenchHost.StartAsync(emulator, Count, settings);
        var data = calhook.Data;
        var accounts = new List<(string Account, string Calendar)>();
        foreach (var user in users)
        {
            var account = await calhook.AddAccountAsync(emulator, (string)user!["user"]!);
            accounts.AddRange(user["calendars"]!.AsArray().Select(c => (account, (string)c!)));
        }

        await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (w, _) =>
            await BenchHost.PostAsync(calhook.Client, "/v1/watches", new JsonObject { ["accountId"] = w.Account, ["calendarId"] = w.Calendar }));
        await AllActiveAsync(calhook, watchCount, requireBaseline: true);
        var startup = clock.GetElapsedTime(started).TotalSeconds;

        // Steady state: renewals come and go (two-minute channels); then memory after a full collection.
        await Task.Delay(TimeSpan.FromSeconds(steadySeconds), clock);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var steadyMb = ResidentMb();
        await calhook.DisposeAsync();

        // Restart on the same data: restore every channel and catch up every calendar.
        started = clock.GetTimestamp();
        var restartedFrom = sent.Count;
        calhook = await BenchHost.StartAsync(emulator, Count, settings, data);
        await AllActiveAsync(calhook, watchCount, requireBaseline: false);
        var restart = clock.GetElapsedTime(started).TotalSeconds;

        // The catch-up is asked for at start; wait until its requests have been sent (quiet for 5 s).
        var seen = -1;
        while (seen != sent.Count)
        {
            seen = sent.Count;
            await Task.Delay(TimeSpan.FromSeconds(5), clock);
        }

        await calhook.DisposeAsync();
        data.Delete(recursive: true);

        var times = sent.Order().ToArray();
        Console.WriteLine(new JsonObject
        {
            ["watches"] = watchCount,
            ["requests"] = times.Length,
            ["restartRequests"] = times.Length - restartedFrom,
            ["startupSeconds"] = startup,
            // Two requests a watch at least (open the channel, list the baseline), at the budget's pace.
            ["startupFloorSeconds"] = 2.0 * watchCount / budget * 60,
            ["restartSeconds"] = restart,
            ["steadyMb"] = steadyMb,
            ["busiestMinute"] = BusiestWindow(times, TimeSpan.FromMinutes(1)),
            ["busiestSecond"] = BusiestWindow(times, TimeSpan.FromSeconds(1)),
        }.ToJsonString());
        return 0;
    }

    private static async Task AllActiveAsync(BenchHost calhook, int count, bool requireBaseline)
    {
        while (true)
        {
            var items = JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri("/v1/watches", UriKind.Relative)))!["items"]!.AsArray();
            var ready = items.Count(w => (string?)w!["status"] == "active" && w["channelId"] is not null && (!requireBaseline || w["lastSyncAt"] is not null));
            if (ready >= count)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
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

    private static double ResidentMb()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return double.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
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
