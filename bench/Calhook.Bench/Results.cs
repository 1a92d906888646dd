using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Calhook.Bench;

/// <summary>One measured value, compared with its baseline from the same run and with its target.</summary>
internal sealed record Measure(
    string Name, double Value, string Unit, double? Baseline, double? Ratio, string Target, bool Met);

internal sealed record BenchReport(string Machine, string Date, bool Quick, IReadOnlyList<Measure> Measures);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(BenchReport))]
internal sealed partial class BenchJson : JsonSerializerContext;

internal static class Results
{
    public static BenchReport Report(bool quick, IReadOnlyList<Measure> measures) => new(
        $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}",
        TimeProvider.System.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
        quick,
        measures);

    /// <summary>Writes <c>latest.json</c> and the same as a Markdown table in <c>latest.md</c>.</summary>
    public static void Write(string directory, BenchReport report)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "latest.json"), JsonSerializer.Serialize(report, BenchJson.Default.BenchReport));

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Benchmarks ({report.Date}{(report.Quick ? ", quick" : "")})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {report.Machine}");
        md.AppendLine();
        md.AppendLine("| Measure | Value | Unit | Baseline | Ratio | Target | Met |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var m in report.Measures)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {m.Name} | {m.Value:0.###} | {m.Unit} | {(m.Baseline is { } b ? b.ToString("0.###", CultureInfo.InvariantCulture) : "")} | {(m.Ratio is { } r ? r.ToString("0.###", CultureInfo.InvariantCulture) : "")} | {m.Target} | {(m.Met ? "yes" : "no")} |");
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
