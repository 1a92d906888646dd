using Calhook.Bench;
using Calhook.Emulator;

// The benchmark runner: dotnet run -c Release --project bench/Calhook.Bench [-- --quick] [--out DIR]
// Every measure compares against a baseline run in the same process or the same run (see docs/operations.md).
if (args.Length == 2 && args[0] == "--child-full-sync")
{
    return await FullSyncBench.ChildAsync(new Uri(args[1]));
}

if (args.Length == 5 && args[0] == "--child-scale")
{
    return await ScaleBench.ChildAsync(new Uri(args[1]), args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
}

var quick = args.Contains("--quick");
var onlyIndex = Array.IndexOf(args, "--only");
var only = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1] : null;
var killsIndex = Array.IndexOf(args, "--kills");
int? kills = killsIndex >= 0 && killsIndex + 1 < args.Length ? int.Parse(args[killsIndex + 1], System.Globalization.CultureInfo.InvariantCulture) : null;
var check = args.Contains("--check");
var outIndex = Array.IndexOf(args, "--out");
var output = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : FindResultsDirectory();

await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
var measures = new List<Measure>();
foreach (var (name, run) in new (string, Func<Task<IEnumerable<Measure>>>)[]
{
    ("receiver", () => ReceiverBench.RunAsync(emulator.BaseAddress, quick)),
    ("list calls", () => ListCallsBench.RunAsync(emulator.BaseAddress)),
    ("full sync", () => FullSyncBench.RunAsync(emulator.BaseAddress, quick)),
    ("e2e latency", () => E2eLatencyBench.RunAsync(emulator.BaseAddress, quick)),
    ("e2e latency postgres", () => E2eLatencyBench.RunPostgresAsync(emulator.BaseAddress, quick)),
    ("probe", () => LatencyProbe.RunAsync(emulator, quick)),
    ("scale", () => ScaleBench.RunAsync(emulator.BaseAddress, quick)),
    ("faults", () => FaultsBench.RunAsync(emulator.BaseAddress, quick, kills)),
})
{
    if (only is not null && !name.Contains(only, StringComparison.OrdinalIgnoreCase))
    {
        continue;
    }

    // The fault suite kills processes for minutes: it runs only when asked for by name.
    if (name == "faults" && only is null)
    {
        continue;
    }

    Console.Error.WriteLine($"running {name}…");
    foreach (var measure in await run())
    {
        Console.Error.WriteLine($"  {measure.Name}: {measure.Value:0.###} {measure.Unit} (baseline {measure.Baseline:0.###}, ratio {measure.Ratio:0.###}, target {measure.Target}, met {measure.Met})");
        measures.Add(measure);
    }
}

var report = Results.Report(quick, measures);
Results.Write(output, report);
Console.WriteLine(File.ReadAllText(Path.Combine(output, "latest.md")));

// --check: the exit code says whether every measure of this run met its target (CI runs the fault suite this way).
return check && measures.Any(m => !m.Met) ? 1 : 0;

static string FindResultsDirectory()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Calhook.slnx")))
    {
        dir = dir.Parent;
    }

    return Path.Combine(dir?.FullName ?? ".", "bench", "results");
}
