using System.Diagnostics;
using System.Text.Json.Nodes;
using Calhook.Emulator.Tests.Support;

namespace Calhook.Emulator.Tests.OfficialClient;

/// <summary>
/// Google's own Calendar client for Node.js (<c>@googleapis/calendar</c>, pinned in <c>package-lock.json</c>), run
/// unmodified against the emulator with only its root URL changed: paging, sync tokens, tombstones, errors,
/// recurrence and push channels must all read the way the client expects Google to answer.
/// </summary>
public sealed class OfficialNodeClientTests
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    [Fact]
    public async Task Googles_node_client_works_unmodified_against_the_emulator()
    {
        var folder = ClientFolder();
        await EnsureInstalledAsync(folder);
        await using var host = await EmulatorHost.StartAsync();
        var token = (await host.Control.CreateTokensAsync(EmulatorHost.Alice)).AccessToken;

        var (exit, output) = await RunAsync(folder, "node", "conformance.mjs", host.Server.BaseAddress.ToString(), token, EmulatorHost.Alice);

        Assert.True(exit == 0, output);
        var result = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        Assert.Equal(200, (int)result["insert"]!["status"]!);
        Assert.Equal("calendar#event", (string?)result["insert"]!["kind"]);
        Assert.Equal(2, (int)result["paging"]!["pages"]!);
        Assert.Equal(3, (int)result["paging"]!["items"]!);
        Assert.True((bool)result["paging"]!["syncTokenOnlyOnLastPage"]!);
        Assert.Equal([(string?)result["insert"]!["id"]], result["incremental"]!["ids"]!.AsArray().Select(i => (string?)i));
        Assert.Equal(["cancelled"], result["incremental"]!["statuses"]!.AsArray().Select(i => (string?)i));
        Assert.True((bool)result["incremental"]!["etagChanged"]!);
        Assert.Equal(400, (int)result["forbidden"]!["status"]!);
        Assert.Equal(404, (int)result["notFound"]!["status"]!);
        Assert.Equal(3, (int)result["instances"]!["count"]!);
        Assert.True((bool)result["instances"]!["recurringEventId"]!);
        Assert.Equal("api#channel", (string?)result["watch"]!["kind"]);
        Assert.Equal("string", (string?)result["watch"]!["expirationType"]);
        Assert.Equal(400, (int)result["duplicateWatch"]!["status"]!);
        Assert.Equal("channelIdNotUnique", (string?)result["duplicateWatch"]!["reason"]);
        Assert.Equal(204, (int)result["stop"]!["status"]!);
        Assert.Equal(410, (int)result["expired"]!["status"]!);
        Assert.Equal("fullSyncRequired", (string?)result["expired"]!["reason"]);
    }

    /// <summary>Installs the pinned client from the lock file once per test run (node_modules is not committed).</summary>
    private static async Task EnsureInstalledAsync(string folder)
    {
        await InstallGate.WaitAsync();
        try
        {
            if (Directory.Exists(Path.Combine(folder, "node_modules", "@googleapis", "calendar")))
            {
                return;
            }

            var (exit, output) = await RunAsync(folder, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error");
            Assert.True(exit == 0, $"npm ci failed:\n{output}");
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string folder, string command, params string[] arguments)
    {
        var info = new ProcessStartInfo(command) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string ClientFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Calhook.slnx")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("Calhook.slnx not found"), "tests", "Calhook.Emulator.Tests", "OfficialClient");
    }
}
