using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary>A plain-text table with aligned columns, for people; <c>--json</c> is the format for scripts.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string?[] cells) => _rows.Add([.. cells.Select(c => string.IsNullOrEmpty(c) ? "-" : c.ReplaceLineEndings(" "))]);

    public override string ToString()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        Line(text, headers, widths);
        foreach (var row in _rows)
        {
            Line(text, row, widths);
        }

        return text.ToString().TrimEnd('\n');
    }

    /// <summary>An ISO timestamp from the API as a short UTC time with how long ago (or ahead) it is.</summary>
    public static string? When(JsonNode? value, DateTimeOffset now)
    {
        if (value is null || !DateTimeOffset.TryParse((string?)value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return null;
        }

        var delta = at - now;
        var span = delta.Duration();
        var amount = span.TotalSeconds < 90 ? $"{span.TotalSeconds:0}s" : span.TotalMinutes < 90 ? $"{span.TotalMinutes:0}m" : span.TotalHours < 48 ? $"{span.TotalHours:0}h" : $"{span.TotalDays:0}d";
        return string.Create(CultureInfo.InvariantCulture, $"{at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({(delta < TimeSpan.Zero ? amount + " ago" : "in " + amount)})");
    }

    private static void Line(StringBuilder text, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            text.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }

        text.Append('\n');
    }
}
