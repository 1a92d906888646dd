using System.Globalization;
using System.Text.Json.Nodes;

namespace Calhook.Emulator.Tests.Support;

/// <summary>Test data builders.</summary>
internal static class Some
{
    public static JsonObject Event(string summary, DateTimeOffset start, TimeSpan? length = null) => new()
    {
        ["summary"] = summary,
        ["start"] = new JsonObject { ["dateTime"] = start.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) },
        ["end"] = new JsonObject { ["dateTime"] = (start + (length ?? TimeSpan.FromHours(1))).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) },
    };

    public static JsonObject Series(string summary, string localStart, string zone, params string[] recurrence) => new()
    {
        ["summary"] = summary,
        ["start"] = new JsonObject { ["dateTime"] = localStart, ["timeZone"] = zone },
        ["end"] = new JsonObject { ["dateTime"] = DateTime.Parse(localStart, CultureInfo.InvariantCulture).AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture), ["timeZone"] = zone },
        ["recurrence"] = new JsonArray(recurrence.Select(r => (JsonNode)r!).ToArray()),
    };

    public static readonly DateTimeOffset Monday = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
}
