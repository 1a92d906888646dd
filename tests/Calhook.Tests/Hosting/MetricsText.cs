using System.Globalization;
using System.Text.RegularExpressions;
using Calhook.TestKit;

namespace Calhook.Tests.Hosting;

/// <summary>Calhook's <c>/metrics</c> (Prometheus text), read over HTTP.</summary>
internal static class MetricsText
{
    public static Task<string> ReadAsync(EmulatorWorld world) => world.Api.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    /// <summary>The value of <paramref name="series"/> (its name and labels as printed), or null when it is not printed.</summary>
    public static double? Find(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }
}
