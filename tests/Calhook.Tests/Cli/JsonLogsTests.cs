using System.Text.Json;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>JSON console logs, as docs/observability.md says to turn them on: one JSON object per log line.</summary>
public sealed class JsonLogsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Serve_writes_its_logs_as_json_lines_when_the_console_formatter_is_json()
    {
        await using var google = await EmulatorServer.StartAsync(new EmulatorOptions());
        using var data = new TestDirectory();
        var baseAddress = new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/");
        await using var serve = CalhookProcess.Start(
            new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json" },
            "serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data.Path,
            "--google-url", google.BaseAddress.ToString().TrimEnd('/'), "--api-key", CalhookTestHost.TestApiKey);
        await serve.WaitUntilHealthyAsync(baseAddress, Generous);

        var logs = await Polling.EventuallyAsync(
            () => Task.FromResult(serve.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{')).Select(Parse).OfType<JsonElement>().ToList()),
            lines => lines.Any(l => l.GetProperty("Category").GetString() == "Microsoft.Hosting.Lifetime"),
            Generous, "the host's start is logged as JSON");

        Assert.All(logs, l => Assert.True(l.TryGetProperty("LogLevel", out _) && l.TryGetProperty("EventId", out _) && l.TryGetProperty("Message", out _)));
        Assert.DoesNotContain("info: ", serve.Output, StringComparison.Ordinal);
    }

    private static JsonElement? Parse(string line)
    {
        try
        {
            return JsonElement.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
