using System.Diagnostics;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>
/// SLOW (packs and installs; tens of seconds): the CLI ships as a .NET tool. Packs the already-built Calhook.Cli
/// (<c>dotnet pack --no-build</c>) into a temp folder, installs it from there alone with <c>dotnet tool install
/// --tool-path</c> (its own package cache and a nuget.config with only that folder, so nothing is fetched), and runs
/// <c>calhook --help</c> from the installed tool.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ToolPackageTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task The_packed_tool_installs_and_calhook_help_runs_from_it()
    {
        using var temp = new TestDirectory();
        var packages = Path.Combine(temp.Path, "packages");
        var tools = Path.Combine(temp.Path, "tools");
        var config = Path.Combine(temp.Path, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>
            """);
        // The test's own build configuration (bin/<configuration>/<tfm>/): the Cli project was built alike as its reference.
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var project = Path.Combine(RepositoryRoot(), "src", "Calhook.Cli", "Calhook.Cli.csproj");

        var pack = await RunAsync("dotnet", ["pack", project, "--no-build", "-c", configuration, "-o", packages, "-v", "q"], temp.Path);
        Assert.True(pack.Exit == 0, $"dotnet pack failed:\n{pack.Output}");
        Assert.Single(Directory.GetFiles(packages, "calhook.*.nupkg"));

        var install = await RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", packages, "--configfile", config, "calhook"], temp.Path,
            ("NUGET_PACKAGES", Path.Combine(temp.Path, "nuget-cache")));
        Assert.True(install.Exit == 0, $"dotnet tool install failed:\n{install.Output}");

        var help = await RunAsync(Path.Combine(tools, OperatingSystem.IsWindows() ? "calhook.exe" : "calhook"), ["--help"], temp.Path);
        Assert.Equal(0, help.Exit);
        Assert.Contains("serve", help.Output, StringComparison.Ordinal);
        Assert.Contains("status", help.Output, StringComparison.Ordinal);
        Assert.Contains("connect", help.Output, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Calhook.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Calhook.slnx) is not above the test's folder.");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string[] arguments, string workingDirectory, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Generous);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
