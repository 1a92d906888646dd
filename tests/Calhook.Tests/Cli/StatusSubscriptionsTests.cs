using System.Text.Json.Nodes;
using Calhook.Tests.Delivery;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary><c>calhook status</c> on subscriptions, run as a process against a live server delivering webhooks.</summary>
public sealed class StatusSubscriptionsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Status_lists_subscriptions_with_backlog_last_success_and_error_and_exits_4_for_a_disabled_one()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var healthy = await VerifyingSubscriber.StartAsync();
        await using var gone = await VerifyingSubscriber.StartAsync();
        gone.Respond = _ => Task.FromResult(410);
        var healthyId = await rig.SubscribeAsync(healthy);
        var goneId = await rig.SubscribeAsync(gone);
        await rig.CreateAsync("a@example.com");
        await DeliveryRig.AcceptedAsync(healthy, 1, "the healthy subscriber gets the change");
        await Polling.EventuallyAsync(async () => (string?)(await rig.GetAsync($"/v1/subscriptions/{goneId}"))["status"] == "disabled",
            TimeSpan.FromSeconds(20), "the 410 disables the other subscription");

        var (exit, table) = await RunAsync(rig, "status");

        Assert.Equal(4, exit);
        Assert.Contains("Subscriptions: 2 (1 active, 1 disabled)", table, StringComparison.Ordinal);
        Assert.Matches(@"ID\s+URL\s+STATUS\s+TYPES\s+BACKLOG\s+REPLAY\s+LAST SUCCESS\s+ERROR", table);
        Assert.Matches($@"{healthyId}\s+{healthy.Url}\s+active\s+all\s+0\s+-\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+s ago\)\s+-", table);
        Assert.Matches($@"{goneId}\s+{gone.Url}\s+disabled\s+all\s+1\s+-\s+-\s+HTTP 410", table);
        Assert.Contains("/enable", table, StringComparison.Ordinal);

        var (jsonExit, json) = await RunAsync(rig, "status", "--json");
        Assert.Equal(4, jsonExit);
        var subscriptions = JsonNode.Parse(json)!["subscriptions"]!.AsArray();
        Assert.Equal([healthyId, goneId], subscriptions.Select(s => (string)s!["id"]!));
        Assert.Equal(["active", "disabled"], subscriptions.Select(s => (string)s!["status"]!));
        Assert.Equal(1, (long)subscriptions[1]!["backlog"]!);
        Assert.StartsWith("HTTP 410", (string)subscriptions[1]!["lastError"]!, StringComparison.Ordinal);
        Assert.NotNull(subscriptions[0]!["lastSuccessAt"]);
    }

    private static async Task<(int Exit, string Output)> RunAsync(DeliveryRig rig, params string[] arguments)
    {
        await using var run = CalhookProcess.Start([.. arguments, "--server", rig.Host.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey]);
        var exit = await run.WaitForExitAsync(Generous);
        return (exit, run.Output);
    }
}
