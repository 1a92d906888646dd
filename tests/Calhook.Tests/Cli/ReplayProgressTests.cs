using System.Text.Json.Nodes;
using Calhook.TestKit;
using Calhook.Tests.Dashboard;
using Calhook.Tests.Delivery;

namespace Calhook.Tests.Cli;

/// <summary>
/// A replay shows how far it has got: in the subscription (<c>replay</c>), in <c>calhook subscriptions replay</c> (which
/// waits until it is done), in <c>calhook status</c> and on the dashboard.
/// </summary>
public sealed class ReplayProgressTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_replay_held_after_its_first_delivery_shows_its_progress_everywhere_and_the_cli_waits_until_it_is_done()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        var changes = await rig.CreateAsync("a@example.com", count: 3);
        await DeliveryRig.AcceptedAsync(subscriber, 3, "the three changes are delivered");

        // The replay's first delivery is answered; the second is held until the test lets it go.
        var hold = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var replayed = 0;
        subscriber.Respond = _ => Interlocked.Increment(ref replayed) == 1 ? Task.FromResult(200) : hold.Task;
        await using var cli = CalhookProcess.Start("subscriptions", "replay", id, "--after", "0",
            "--server", rig.Host.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey);

        var replay = (await Polling.EventuallyAsync(() => rig.GetAsync($"/v1/subscriptions/{id}"),
            s => (long?)s["replay"]?["delivered"] == 1, Generous, "the replay's first delivery is done"))["replay"]!;
        Assert.Equal((0L, changes[^1].Sequence, 3L, 1L, 2L, 0L, false),
            ((long)replay["after"]!, (long)replay["through"]!, (long)replay["total"]!, (long)replay["delivered"]!, (long)replay["remaining"]!,
                (long)replay["failed"]!, (bool)replay["done"]!));
        await Polling.EventuallyAsync(() => Task.FromResult(cli.Output.Contains("replay: 1 of 3 delivered, 2 to go (changes #1-#3)", StringComparison.Ordinal)),
            Generous, "the command shows the replay's progress");
        Assert.False(cli.HasExited);

        var (statusExit, status) = await RunAsync(rig, "status");
        Assert.Equal(0, statusExit);
        Assert.Matches($@"{id}\s+{subscriber.Url}\s+active\s+all\s+2\s+1 of 3 delivered, 2 to go \(changes #1-#3\)", status);
        using var browser = new BrowserSession(rig.Host.BaseAddress);
        await browser.LogInAsync();
        var page = await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Matches(@"<p class=""replay running"" data-remaining=""2"">Replay of changes #1–#3 \([^)]*\): 1 of 3 delivered, 2 to go\.</p>", page);

        hold.SetResult(200);
        Assert.Equal(0, await cli.WaitForExitAsync(Generous));
        Assert.Contains($"replay of {id}: 3 of 3 delivered, done (changes #1-#3)", cli.Output, StringComparison.Ordinal);
        var done = (await rig.GetAsync($"/v1/subscriptions/{id}"))["replay"]!;
        Assert.True((bool)done["done"]!);
        Assert.Equal(3, (long)done["delivered"]!);
        Assert.Contains("<p class=\"replay done\" data-remaining=\"0\">", await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative)), StringComparison.Ordinal);

        // For scripts: the final state as JSON, once the replay is done.
        // Progress lines go to stderr while the replay runs; stdout holds the JSON alone.
        await using var jsonRun = CalhookProcess.Start("subscriptions", "replay", id, "--after", changes[1].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json",
            "--server", rig.Host.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey);
        Assert.Equal(0, await jsonRun.WaitForExitAsync(Generous));
        var result = JsonNode.Parse(jsonRun.StandardOutput)!;
        Assert.Equal(1, (int)result["scheduled"]!);
        Assert.Equal((1L, 1L, 0L, true), ((long)result["replay"]!["total"]!, (long)result["replay"]!["delivered"]!, (long)result["replay"]!["remaining"]!, (bool)result["replay"]!["done"]!));
    }

    [Fact]
    public async Task Replaying_to_an_unknown_or_disabled_subscription_says_what_to_do_next()
    {
        await using var rig = await DeliveryRig.StartAsync();
        var (missingExit, missing) = await RunAsync(rig, "subscriptions", "replay", "sub_nope", "--after", "0");
        Assert.Equal(1, missingExit);
        Assert.Contains("404", missing, StringComparison.Ordinal);
        Assert.Contains("calhook subscriptions list", missing, StringComparison.Ordinal);

        var (usageExit, usage) = await RunAsync(rig, "subscriptions", "replay", "sub_nope");
        Assert.Equal(2, usageExit);
        Assert.Contains("--after SEQUENCE or --since TIME", usage, StringComparison.Ordinal);

        await using var gone = await VerifyingSubscriber.StartAsync();
        gone.Respond = _ => Task.FromResult(410);
        var id = await rig.SubscribeAsync(gone);
        await rig.CreateAsync("a@example.com");
        await Polling.EventuallyAsync(async () => (string?)(await rig.GetAsync($"/v1/subscriptions/{id}"))["status"] == "disabled", Generous, "the 410 disables it");

        var (exit, output) = await RunAsync(rig, "subscriptions", "replay", id, "--after", "0");
        Assert.Equal(4, exit);
        Assert.Contains($"replay of {id}: 0 of 1 delivered, 1 to go", output, StringComparison.Ordinal);
        Assert.Contains($"/v1/subscriptions/{id}/enable", output, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output)> RunAsync(DeliveryRig rig, params string[] arguments)
    {
        await using var run = CalhookProcess.Start([.. arguments, "--server", rig.Host.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey]);
        var exit = await run.WaitForExitAsync(Generous);
        return (exit, run.Output);
    }
}
