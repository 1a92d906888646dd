using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.Delivery;

namespace Calhook.Cli.Commands;

/// <summary>
/// <c>calhook listen --forward-to URL</c>: follows the change feed and delivers each change to a local URL exactly as a
/// subscription does (the same CloudEvents body and Standard Webhooks signature, built by the same code), signed
/// with a <c>whsec_</c> secret printed at start. One line per attempt; a failing target is retried (same
/// <c>webhook-id</c>, later changes wait in order) until it answers 2xx or Ctrl+C.
/// </summary>
internal static class ListenCommand
{
    /// <summary>Waits before the retries of one change: 1 s, 2 s, 5 s, 10 s, then every 30 s.</summary>
    private static readonly TimeSpan[] RetryDelays =
        [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    public static Command Create()
    {
        var admin = new AdminOptions();
        var forwardTo = new Option<string>("--forward-to") { Description = "Where to POST each change as a signed webhook.", Required = true };
        forwardTo.Validators.Add(result =>
        {
            if (!Uri.TryCreate(result.GetValueOrDefault<string>(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                result.AddError("--forward-to must be an absolute http(s) URL.");
            }
        });
        var after = new Option<long?>("--after") { Description = "Start after this sequence (default: only new changes)." };
        var command = new Command("listen", "Deliver changes as they arrive to a local URL, signed like a webhook subscription.") { forwardTo, after };
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var start = parse.GetValue(after) ?? await LastSequenceAsync(client, cancellationToken);
            if (start is null)
            {
                return client.FailureExitCode;
            }

            var url = new Uri(parse.GetValue(forwardTo)!);
            var secret = WebhookSecrets.Generate();
            // The target runs on the developer's machine, so loopback and private addresses are the point here.
            using var sender = new WebhookClient(allowPrivateNetworks: true, TimeSpan.FromSeconds(15), 64 * 1024, TimeProvider.System);
            Console.WriteLine($"Forwarding changes after #{start} to {url} (Ctrl+C to stop)");
            Console.WriteLine($"Signing secret: {secret}");
            try
            {
                await foreach (var node in ChangesCommand.ReadAsync(client, start.Value, follow: true, cancellationToken))
                {
                    await DeliverAsync(sender, url, secret, node, cancellationToken);
                }
            }
            catch (FeedException)
            {
                return client.FailureExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }

            return 0;
        });
        return command;
    }

    /// <summary>Sends one change until the target answers 2xx, printing a line per attempt.</summary>
    private static async Task DeliverAsync(WebhookClient sender, Uri url, string secret, JsonNode node, CancellationToken cancellationToken)
    {
        var change = JsonSerializer.Deserialize(node.ToJsonString(), ChangeJsonContext.Wire.ChangeWire)!;
        for (var attempt = 1; ; attempt++)
        {
            var message = WebhookMessage.Create(change, [secret], TimeProvider.System.GetUtcNow());
            var result = await sender.SendAsync(url, message, cancellationToken);
            var answer = result.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "ERR";
            var error = result.Succeeded ? "" : $" {result.Error}";
            Console.WriteLine($"{answer} {ChangesCommand.Describe(node)} (attempt {attempt}, {result.Latency.TotalMilliseconds:0} ms){error}");
            if (result.Succeeded)
            {
                return;
            }

            var wait = RetryDelays[Math.Min(attempt, RetryDelays.Length) - 1];
            if (result.RetryAfter is { } retryAfter && retryAfter > wait)
            {
                wait = retryAfter < RetryPolicy.MaxRetryAfter ? retryAfter : RetryPolicy.MaxRetryAfter;
            }

            await Task.Delay(wait, TimeProvider.System, cancellationToken);
        }
    }

    /// <summary>The end of the log, or null when the feed answered an error (already printed).</summary>
    private static async Task<long?> LastSequenceAsync(AdminClient client, CancellationToken cancellationToken)
    {
        long after = 0;
        while (true)
        {
            var page = await client.SendAsync(HttpMethod.Get, $"/v1/changes?after={after}&limit=1000", null, cancellationToken);
            if (page is null)
            {
                return null;
            }

            after = (long?)page["next"] ?? after;
            if (page["hasMore"]?.GetValue<bool>() != true)
            {
                return after;
            }
        }
    }
}
