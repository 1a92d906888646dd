using Calhook.Bench;
using Calhook.Emulator;

// The benchmark runner: dotnet run -c Release --project bench/Calhook.Bench [-- --quick | --all] [--out DIR]
// --all: every group that takes a measure bench/README.md names, the fault suite's full form included (one table from one run).
// Every measure compares against a baseline run in the same process or the same run (see docs/operations.md).
// As calhook's own program starts: glibc's arenas capped before the threads allocate (this process and its children host the service).
Calhook.Hosting.NativeHeap.LimitArenas();
if (args.Length == 2 && args[0] == "--child-full-sync")
{
    return await FullSyncBench.ChildAsync(new Uri(args[1]));
}

if (args.Length == 4 && args[0] == "--child-scale")
{
    return await ScaleBench.ChildAsync(new Uri(args[1]), args[2], args[3] == "quick");
}

var quick = args.Contains("--quick");
var onlyIndex = Array.IndexOf(args, "--only");
var only = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1] : null;
var killsIndex = Array.IndexOf(args, "--kills");
int? kills = killsIndex >= 0 && killsIndex + 1 < args.Length ? int.Parse(args[killsIndex + 1], System.Globalization.CultureInfo.InvariantCulture) : null;
var check = args.Contains("--check");
var all = args.Contains("--all") && !quick;
var outIndex = Array.IndexOf(args, "--out");
var output = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : FindResultsDirectory();
var loadAtStart = Results.LoadAverage();
var started = TimeProvider.System.GetTimestamp();

await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
var measures = new List<Measure>();
var groups = new (string Name, Func<Task<IEnumerable<Measure>>> Run)[]
{
    ("receiver", () => ReceiverBench.RunAsync(emulator.BaseAddress, quick)),
    ("list calls", () => ListCallsBench.RunAsync(emulator.BaseAddress)),
    ("full sync", () => FullSyncBench.RunAsync(emulator.BaseAddress, quick)),
    ("e2e latency", () => E2eLatencyBench.RunAsync(emulator.BaseAddress, quick)),
    ("e2e latency postgres", () => E2eLatencyBench.RunPostgresAsync(emulator.BaseAddress, quick)),
    ("probe", () => LatencyProbe.RunAsync(emulator, quick)),
    ("scale", () => ScaleBench.RunAsync(emulator.BaseAddress, quick)),
    ("faults", () => FaultsBench.RunAsync(emulator.BaseAddress, quick, kills)),
    ("middleware", () => ReceiverPartsBench.RunAsync(emulator.BaseAddress, quick)),
};

// Some groups run only when asked for by name: the fault suite kills processes for minutes, the middleware one is an
// experiment. Groups too long for --quick's two minutes run in quick mode only when named. The measures of a group
// left out are listed as not measured, with these reasons.
var onlyWhenNamed = new Dictionary<string, string>
{
    ["faults"] = "not run: the fault suite runs only when named (--only faults; .ci/run runs its quick form)",
    ["middleware"] = "not run: an experiment, run only when named (--only middleware)",
};
var tooLongForQuick = new Dictionary<string, string>
{
    ["scale"] = "not run by --quick: it waits for thousands of watches at a budget's pace (run --only scale)",
    ["probe"] = "not run by --quick: a diagnostic of where one change's time goes (run --only probe)",
};
var ran = new List<string>();
var skipped = new Dictionary<string, string>();
foreach (var (name, run) in groups)
{
    // --only names a group exactly ("e2e latency" is the SQLite run alone) or a part of names ("e2e": both stores).
    var exact = only is not null && groups.Any(g => g.Name.Equals(only, StringComparison.OrdinalIgnoreCase));
    if (only is not null && (exact ? !name.Equals(only, StringComparison.OrdinalIgnoreCase) : !name.Contains(only, StringComparison.OrdinalIgnoreCase)))
    {
        continue;
    }

    // --all runs a group kept for its name too when it takes a catalogued measure (the fault suite, not the experiment).
    if (only is null && onlyWhenNamed.TryGetValue(name, out var unnamed) && !(all && MeasureCatalog.Named.Any(m => m.Group == name)))
    {
        skipped[name] = unnamed;
        continue;
    }

    if (quick && only is null && tooLongForQuick.TryGetValue(name, out var why))
    {
        skipped[name] = why;
        continue;
    }

    Console.Error.WriteLine($"running {name}… (load {Results.LoadAverage()})");
    ran.Add(name);
    var groupStarted = TimeProvider.System.GetTimestamp();
    var groupMeasures = (await run()).ToList();
    Console.Error.WriteLine($"  {name} took {TimeProvider.System.GetElapsedTime(groupStarted).TotalSeconds:0} s");
    foreach (var measure in groupMeasures)
    {
        Console.Error.WriteLine(measure.NotMeasured is { } reason
            ? $"  {measure.Name}: not measured ({reason})"
            : $"  {measure.Name}: {measure.Value:0.###} {measure.Unit} (baseline {measure.Baseline:0.###}, ratio {measure.Ratio:0.###}, target {measure.Target}, met {measure.Met})");
        measures.Add(measure);
    }
}

// Every measure of MeasureCatalog.cs (the ones bench/README.md names) appears in the results: one that no group produced is listed as not measured, with why.
foreach (var (name, group, target) in MeasureCatalog.Named)
{
    if (measures.Any(m => m.Name == name))
    {
        continue;
    }

    var reason = !groups.Any(g => g.Name == group) ? MeasureCatalog.NotBuilt(group)
        : skipped.TryGetValue(group, out var why) ? why
        : !ran.Contains(group) ? $"not run: the group '{group}' was left out by --only {only}"
        : $"the group '{group}' ran but gave no value";
    measures.Add(Measure.Missing(name, target, reason));
}

var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
var report = Results.Report(quick, $"{loadAtStart} at the start, {Results.LoadAverage()} at the end", seconds, measures);
Results.Write(output, report);
Console.WriteLine(File.ReadAllText(Path.Combine(output, "latest.md")));

// --check: the exit code says whether every measure this run took met its target (CI runs the fault suite this way).
return check && measures.Any(m => m.Met == false) ? 1 : 0;

static string FindResultsDirectory()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Calhook.slnx")))
    {
        dir = dir.Parent;
    }

    return Path.Combine(dir?.FullName ?? ".", "bench", "results");
}
