using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Calhook.Bench;

/// <summary>
/// One measured value, compared with its baseline from the same run and with its target; or, with
/// <see cref="NotMeasured"/> set, a measure this run did not take (then <see cref="Value"/> and <see cref="Met"/> are null).
/// </summary>
internal sealed record Measure(
    string Name, double? Value, string Unit, double? Baseline, double? Ratio, string Target, bool? Met)
{
    /// <summary>Why this run has no value for the measure (its capability is not built, or its group did not run).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? NotMeasured { get; init; }

    public static Measure Missing(string name, string target, string reason) =>
        new(name, null, "", null, null, target, null) { NotMeasured = reason };
}

/// <param name="Load">The machine's load average (1, 5, 15 minutes) when the run started and ended: the bench machine is shared.</param>
internal sealed record BenchReport(string Machine, string Date, bool Quick, string Load, double Seconds, IReadOnlyList<Measure> Measures);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(BenchReport))]
internal sealed partial class BenchJson : JsonSerializerContext;

internal static class Results
{
    public static BenchReport Report(bool quick, string load, double seconds, IReadOnlyList<Measure> measures) => new(
        $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}",
        TimeProvider.System.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
        quick,
        load,
        seconds,
        measures);

    /// <summary>The load average from <c>/proc/loadavg</c> ("1.02 0.87 0.65"), or "unknown".</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>Writes <c>latest.json</c> and the same as a Markdown table in <c>latest.md</c>.</summary>
    public static void Write(string directory, BenchReport report)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "latest.json"), JsonSerializer.Serialize(report, BenchJson.Default.BenchReport));

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Benchmarks ({report.Date}{(report.Quick ? ", quick" : "")})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {report.Machine}; load average {report.Load}; the run took {report.Seconds:0} s.");
        md.AppendLine();
        md.AppendLine("| Measure | Value | Unit | Baseline | Ratio | Target | Met |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var m in report.Measures)
        {
            if (m.NotMeasured is { } reason)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Name} | not measured | {reason} |  |  | {m.Target} | - |");
                continue;
            }

            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {m.Name} | {m.Value:0.###} | {m.Unit} | {(m.Baseline is { } b ? b.ToString("0.###", CultureInfo.InvariantCulture) : "")} | {(m.Ratio is { } r ? r.ToString("0.###", CultureInfo.InvariantCulture) : "")} | {m.Target} | {(m.Met == true ? "yes" : "no")} |");
        }

        File.WriteAllText(Path.Combine(directory, "latest.md"), md.ToString());
    }

    public static double Percentile(List<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        samples.Sort();
        var index = (int)Math.Ceiling(p / 100 * samples.Count) - 1;
        return samples[Math.Clamp(index, 0, samples.Count - 1)];
    }
}
