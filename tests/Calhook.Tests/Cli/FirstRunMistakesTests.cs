using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>
/// The mistakes a new user makes first (no or a wrong API key, a server that is not running or not a URL, an id that
/// does not exist), each run as the real executable: one line that says what went wrong and what to do next, and the
/// documented exit code.
/// </summary>
public sealed class FirstRunMistakesTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private CalhookTestHost _host = null!;

    public async Task InitializeAsync() => _host = await CalhookTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Each_first_run_mistake_says_what_to_do_next_with_its_exit_code()
    {
        using var empty = new TestDirectory();
        var server = _host.BaseAddress.ToString();
        var nowhere = $"http://127.0.0.1:{CalhookProcess.FreePort()}";
        var key = CalhookTestHost.TestApiKey;
        (string[] Arguments, int Exit, string[] Says)[] mistakes =
        [
            (["watch", "list", "--server", server], 1, ["401", "--api-key", "CALHOOK_API_KEY", "api-key file"]),
            (["status", "--server", server, "--api-key", "chk_not_the_key_0123456789"], 1, ["401", "--api-key"]),
            (["watch", "remove", "wch_nope", "--server", server, "--api-key", key], 1, ["404", "There is no watch 'wch_nope'", "`calhook watch list`"]),
            (["accounts", "remove", "acc_nope", "--server", server, "--api-key", key], 1, ["404", "`calhook accounts list`"]),
            (["watch", "add", "primary", "--account", "acc_nope", "--server", server, "--api-key", key], 1,
                ["400", "Account 'acc_nope' does not exist", "`calhook accounts list`", "`calhook connect`"]),
            (["watch", "list", "--server", nowhere, "--api-key", key], 3, ["cannot reach", "Is `calhook serve` running there?", "CALHOOK_SERVER"]),
            (["changes", "--server", nowhere, "--api-key", key], 3, ["cannot reach", "Is `calhook serve` running there?"]),
            (["connect", "--server", nowhere], 3, ["cannot reach", "Is `calhook serve` running there?"]),
            (["status", "--server", "localhost:5080", "--api-key", key], 2, ["'localhost:5080' is not an absolute http(s) URL", "--server http://HOST:PORT"]),
            (["watch", "add", "--account", "acc_x", "--server", server, "--api-key", key], 2, ["Give either CALENDAR_ID or --all"]),
        ];

        var runs = await Task.WhenAll(mistakes.Select(async mistake =>
        {
            // In an empty folder: no ./calhook-data/api-key to fall back on.
            await using var run = CalhookProcess.StartIn(empty.Path, mistake.Arguments);
            return (mistake, Exit: await run.WaitForExitAsync(Generous), run.Output);
        }));

        var problems = runs
            .Where(r => r.Exit != r.mistake.Exit || r.mistake.Says.Any(s => !r.Output.Contains(s, StringComparison.Ordinal))
                || r.Output.Contains("Unhandled exception", StringComparison.Ordinal))
            .Select(r => $"calhook {string.Join(' ', r.mistake.Arguments)} exited {r.Exit} (expected {r.mistake.Exit}, saying {string.Join(" / ", r.mistake.Says)}):\n{r.Output}")
            .ToList();
        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }
}
