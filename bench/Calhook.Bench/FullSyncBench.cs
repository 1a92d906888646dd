using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Calhook.Bench;

/// <summary>
/// <c>full-sync-100k-vs-paging</c> and <c>full-sync-100k-peak-mb</c>. The emulator (in this process) holds a calendar
/// of N events. A child process first only pages through the full list (the baseline: the same requests Calhook
/// makes, each page parsed and dropped), then connects the account and times Calhook's watch and baseline sync of the same calendar into SQLite; it
/// reports both times and its own peak resident memory, so the emulator's memory is not counted.
/// </summary>
internal static class FullSyncBench
{
    private const string User = "full-sync-bench@example.com";

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick)
    {
        var count = quick ? 5_000 : 100_000;
        using (var calendar = await Emulator.CalendarAsync(emulator, User))
        {
            await Emulator.SeedAsync(calendar, count);
        }

        // CALHOOK_BENCH_TRACE=<file>: the child runs under dotnet-trace's CPU sampling (a speedscope file), for a profile.
        var trace = Environment.GetEnvironmentVariable("CALHOOK_BENCH_TRACE");
        var info = new ProcessStartInfo(trace is { Length: > 0 } ? "dotnet-trace" : "dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        if (trace is { Length: > 0 })
        {
            foreach (var argument in new[] { "collect", "--show-child-io", "--profile", "dotnet-sampled-thread-time", "--format", "speedscope", "-o", trace, "--", "dotnet" })
            {
                info.ArgumentList.Add(argument);
            }
        }

        info.ArgumentList.Add(typeof(FullSyncBench).Assembly.Location);
        info.ArgumentList.Add("--child-full-sync");
        info.ArgumentList.Add(emulator.ToString());
        using var child = Process.Start(info)!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        var result = JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{')))!;
        var paging = (double)result["pagingSeconds"]!;
        var sync = (double)result["syncSeconds"]!;
        var peak = (double)result["peakMb"]!;
        var ratio = sync / paging;
        var suffix = quick ? $" ({count:N0} events, quick)" : "";
        return
        [
            new Measure("full-sync-100k-vs-paging", sync, "s" + suffix, paging, ratio, "<= 1.5x paging", ratio <= 1.5),
            new Measure("full-sync-100k-peak-mb", peak, "MB" + suffix, null, null, "<= 200 MB", peak <= 200),
        ];
    }

    /// <summary>The child: page, then sync, then print one JSON line.</summary>
    public static async Task<int> ChildAsync(Uri emulator)
    {
        var clock = TimeProvider.System;
        var tokens = await Emulator.TokensAsync(emulator, User);
        using var google = new HttpClient { BaseAddress = new Uri(emulator, "calendar/v3/calendars/primary/") };
        google.DefaultRequestHeaders.Authorization = new("Bearer", tokens.AccessToken);

        var started = clock.GetTimestamp();
        var items = 0;
        string? pageToken = null;
        do
        {
            var uri = "events?maxResults=2500&showDeleted=true" + (pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken));
            await using var stream = await google.GetStreamAsync(new Uri(uri, UriKind.Relative));
            using var page = await JsonDocument.ParseAsync(stream);
            items += page.RootElement.GetProperty("items").GetArrayLength();
            pageToken = page.RootElement.TryGetProperty("nextPageToken", out var next) ? next.GetString() : null;
        }
        while (pageToken is not null);
        var paging = clock.GetElapsedTime(started).TotalSeconds;

        // Timed from the watch: connecting the account (the service's first request, its JIT and key ring) is not the sync.
        await using var calhook = await BenchHost.StartAsync(emulator);
        var account = await calhook.AddAccountAsync(emulator, User);
        started = clock.GetTimestamp();
        await calhook.WatchAsync(account, User, TimeSpan.FromMinutes(10));
        var sync = clock.GetElapsedTime(started).TotalSeconds;

        Console.WriteLine(new JsonObject
        {
            ["items"] = items,
            ["pagingSeconds"] = paging,
            ["syncSeconds"] = sync,
            ["peakMb"] = PeakResidentMb(),
        }.ToJsonString());
        return 0;
    }

    /// <summary>VmHWM: the peak resident set of this process.</summary>
    private static double PeakResidentMb()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var kb = double.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return kb / 1024;
    }
}
