using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary><c>calhook subscriptions list|replay</c>: webhook subscriptions, and replaying what one missed with its progress.</summary>
internal static class SubscriptionsCommands
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    public static Command Create()
    {
        var subscriptions = new Command("subscriptions", "Webhook subscriptions: list them, replay changes to one.");
        subscriptions.Subcommands.Add(List());
        subscriptions.Subcommands.Add(Replay());
        return subscriptions;
    }

    private static Command List() => AdminOptions.ListCommand(
        "list", "List webhook subscriptions: status, backlog, latest replay, last success and error.", "/v1/subscriptions",
        "No subscription. Create one with POST /v1/subscriptions (docs/webhooks.md).",
        new Table("ID", "URL", "STATUS", "BACKLOG", "REPLAY", "LAST SUCCESS", "ERROR"),
        (table, subscription, now) => table.Add((string?)subscription?["id"], (string?)subscription?["url"], (string?)subscription?["status"],
            subscription?["backlog"]?.ToJsonString(), ReplayText(subscription?["replay"]), Table.When(subscription?["lastSuccessAt"], now),
            (string?)subscription?["lastError"]));

    private static Command Replay()
    {
        var admin = new AdminOptions();
        var id = new Argument<string>("SUBSCRIPTION_ID") { Description = "The subscription to send the changes to again." };
        var after = new Option<long?>("--after") { Description = "Replay the changes after this sequence (0 replays from the start)." };
        var since = new Option<string?>("--since") { Description = "Replay the changes detected at or after this UTC time (2026-11-28T00:00:00Z)." };
        var noWait = new Option<bool>("--no-wait") { Description = "Queue the replay and return, without waiting for its deliveries." };
        var command = new Command("replay", "Send a subscription's changes again (original webhook-id, log order), showing progress until all are delivered.")
        {
            id, after, since, noWait,
        };
        admin.AddTo(command);
        command.Validators.Add(result =>
        {
            if ((result.GetValue(after) is null) == (result.GetValue(since) is null))
            {
                result.AddError("Give either --after SEQUENCE or --since TIME (not both).");
            }
            else if (result.GetValue(after) < 0)
            {
                result.AddError("--after must be a sequence, 0 or more.");
            }
            else if (result.GetValue(since) is { } time && !DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
            {
                result.AddError($"--since '{time}' is not a time; give one such as 2026-11-28T00:00:00Z.");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var subscriptionId = parse.GetValue(id)!;
            var path = $"/v1/subscriptions/{Uri.EscapeDataString(subscriptionId)}";
            var body = parse.GetValue(after) is { } sequence
                ? new JsonObject { ["after"] = sequence }
                : new JsonObject { ["since"] = DateTimeOffset.Parse(parse.GetValue(since)!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToString("O", CultureInfo.InvariantCulture) };
            var scheduled = await client.SendAsync(HttpMethod.Post, path + "/replay", body, cancellationToken);
            if (scheduled is null)
            {
                return client.FailureExitCode;
            }

            var subscription = parse.GetValue(noWait)
                ? await client.SendAsync(HttpMethod.Get, path, null, cancellationToken)
                : await WaitForReplayAsync(client, path, cancellationToken);
            if (subscription is null)
            {
                return client.FailureExitCode;
            }

            var replay = subscription["replay"];
            var status = (string?)subscription["status"];
            var stuck = (long?)replay?["remaining"] > 0 && status is "failing" or "disabled";
            if (client.Json)
            {
                Console.WriteLine(AdminClient.Pretty(new JsonObject
                {
                    ["id"] = subscriptionId,
                    ["status"] = status,
                    ["scheduled"] = scheduled["scheduled"]?.DeepClone(),
                    ["replay"] = replay?.DeepClone(),
                }));
            }
            else
            {
                Console.WriteLine($"replay of {subscriptionId}: {ReplayText(replay)}");
                if (stuck)
                {
                    Console.WriteLine(status == "disabled"
                        ? $"The subscription is disabled (its receiver answered 410), so nothing is sent. Fix the receiver, then `POST /v1/subscriptions/{subscriptionId}/enable`: the replay resumes in order."
                        : $"The subscription is failing ({(string?)subscription["lastError"] ?? "see its attempt log"}). The replay goes on as its retries succeed; fix the receiver, `POST /v1/subscriptions/{subscriptionId}/enable` to retry at once, and follow it with `calhook subscriptions list`.");
                }
                else if ((long?)replay?["failed"] > 0)
                {
                    Console.WriteLine($"Some changes were given up after their last attempt: `GET /v1/subscriptions/{subscriptionId}/deliveries` shows why (docs/webhooks.md).");
                }
            }

            return stuck || (long?)replay?["failed"] > 0 ? ExitCodes.NeedsAttention : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Polls the subscription until its replay has nothing left, or cannot move (the subscription is failing or
    /// disabled), printing the count delivered to stderr as it moves, so stdout stays the result alone.
    /// </summary>
    private static async Task<JsonNode?> WaitForReplayAsync(AdminClient client, string path, CancellationToken cancellationToken)
    {
        string? lastShown = null;
        while (true)
        {
            var subscription = await client.SendAsync(HttpMethod.Get, path, null, cancellationToken);
            var replay = subscription?["replay"];
            var done = subscription is null || replay is null || (long?)replay["remaining"] == 0
                || (string?)subscription["status"] is "failing" or "disabled";
            var shown = replay is null ? null : ReplayText(replay);
            if (shown is not null && shown != lastShown && !done)
            {
                // A terminal sees one line counting up; a log gets one line per step.
                await Console.Error.WriteAsync(Console.IsErrorRedirected ? $"replay: {shown}\n" : $"\rreplay: {shown}");
                lastShown = shown;
            }

            if (done)
            {
                if (lastShown is not null && !Console.IsErrorRedirected)
                {
                    await Console.Error.WriteLineAsync();
                }

                return subscription;
            }

            await Task.Delay(PollInterval, TimeProvider.System, cancellationToken);
        }
    }

    /// <summary>A replay's progress in words: "3 of 10 delivered, 7 to go (changes #5-#14)"; null without a replay.</summary>
    public static string? ReplayText(JsonNode? replay)
    {
        if (replay is null)
        {
            return null;
        }

        var total = (long?)replay["total"] ?? 0;
        var remaining = (long?)replay["remaining"] ?? 0;
        var failed = (long?)replay["failed"] ?? 0;
        var range = total == 0 ? $"nothing after #{replay["after"]}" : $"changes #{(long?)replay["after"] + 1}-#{replay["through"]}";
        return $"{replay["delivered"]} of {total} delivered{(failed > 0 ? $", {failed} given up" : "")}, "
            + (remaining == 0 ? "done" : $"{remaining} to go") + $" ({range})";
    }
}
