using System.Text.RegularExpressions;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>
/// Every <c>calhook …</c> command the README and <c>docs/</c> show (also spelled <c>dotnet run --project
/// src/Calhook.Cli -- …</c>) exists with every option it is shown with, checked against the real executable's own
/// help; the emulator command is run as shown. <c>serve</c>, <c>demo</c> and the admin commands run for real in
/// <see cref="CommandLineTests"/> and <see cref="AdminCommandTests"/>.
/// </summary>
public sealed partial class DocCommandsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Every_documented_command_and_option_exists()
    {
        var shown = DocumentedCommands();
        Assert.Contains(shown, c => c.Path == "serve");
        Assert.Contains(shown, c => c.Path == "emulator");

        var problems = new List<string>();
        foreach (var group in shown.GroupBy(c => c.Path))
        {
            await using var help = CalhookProcess.Start([.. group.Key.Split(' '), "--help"]);
            var exit = await help.WaitForExitAsync(Generous);
            // An unknown command prints the parent's help, so the usage line must name the command itself.
            if (exit != 0 || !help.Output.Contains($"Usage:\n  calhook {group.Key} ", StringComparison.Ordinal))
            {
                problems.Add($"`calhook {group.Key}` does not exist ({group.First().Source}): {help.Output}");
                continue;
            }

            problems.AddRange(group.SelectMany(c => c.Options.Select(o => (c.Source, Option: o)))
                .Where(o => !Regex.IsMatch(help.Output, $@"(^|[\s,]){Regex.Escape(o.Option)}\b", RegexOptions.Multiline))
                .Select(o => $"`calhook {group.Key}` has no option {o.Option} ({o.Source})"));
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct()));
    }

    [Fact]
    public async Task The_emulator_runs_as_documented_and_hands_out_tokens()
    {
        var shown = DocumentedCommands().First(c => c.Path == "emulator");
        var port = CalhookProcess.FreePort();
        var line = shown.Line.Replace("127.0.0.1:8085", $"127.0.0.1:{port}", StringComparison.Ordinal);
        await using var emulator = CalhookProcess.Start(Arguments(line));
        var origin = new Uri($"http://127.0.0.1:{port}/");
        using var control = new EmulatorControlClient(origin);

        var tokens = await Polling.EventuallyAsync(() => control.CreateTokensAsync("alice@example.com"), t => t.AccessToken.Length > 0, Generous,
            $"`{line}` serves its controls at {origin}");

        Assert.False(string.IsNullOrEmpty(tokens.RefreshToken));
        Assert.Equal(3600, (await control.GetConfigAsync()).MaxChannelTtlSeconds);
    }

    private sealed record Shown(string Path, IReadOnlyList<string> Options, string Line, string Source);

    /// <summary>Every command in a code span or code block of README.md and docs/*.md.</summary>
    private static List<Shown> DocumentedCommands()
    {
        var root = RepositoryRoot();
        var files = Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Append(Path.Combine(root, "README.md"));
        var shown = new List<Shown>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            var inBlock = false;
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    inBlock = !inBlock;
                    continue;
                }

                // Code only: a whole line of a code block, or the code spans of a prose line.
                IEnumerable<string> code = inBlock ? [lines[i]] : CodeSpan().Matches(lines[i]).Select(m => m.Groups[1].Value);
                foreach (var match in code.SelectMany(c => Command().Matches(c)))
                {
                    var line = match.Groups["args"].Value.Split('#')[0].Trim();
                    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    var path = string.Join(' ', words.TakeWhile(w => Word().IsMatch(w)));
                    if (path.Length == 0)
                    {
                        continue;
                    }

                    var options = OptionName().Matches(line).Select(m => m.Value).Distinct().ToList();
                    shown.Add(new Shown(path, options, line, $"{Path.GetFileName(file)}:{i + 1}"));
                }
            }
        }

        return shown;
    }

    private static string[] Arguments(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Calhook.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Calhook.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary><c>calhook ARGS</c> or <c>dotnet run --project src/Calhook.Cli -- ARGS</c>, up to the end of a code span.</summary>
    [GeneratedRegex(@"(?:(?<![\w/-])calhook|dotnet run --project src/Calhook\.Cli --) (?<args>[^`|]+)")]
    private static partial Regex Command();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"^[a-z][a-z-]*$")]
    private static partial Regex Word();

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z-]*")]
    private static partial Regex OptionName();
}
