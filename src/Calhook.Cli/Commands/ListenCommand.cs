using System.CommandLine;
using System.Net.Http.Json;

namespace Calhook.Cli.Commands;

/// <summary>
/// <c>calhook listen --forward-to URL</c>: follows the change feed and POSTs each change to a local URL, the way a
/// developer tests a webhook handler without exposing it. Stops forwarding (and exits 1) when the target fails.
/// </summary>
internal static class ListenCommand
{
    public static Command Create()
    {
        var admin = new AdminOptions();
        var forwardTo = new Option<string>("--forward-to") { Description = "Where to POST each change (JSON).", Required = true };
        forwardTo.Validators.Add(result =>
        {
            if (!Uri.TryCreate(result.GetValueOrDefault<string>(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                result.AddError("--forward-to must be an absolute http(s) URL.");
            }
        });
        var after = new Option<long?>("--after") { Description = "Start after this sequence (default: only new changes)." };
        var command = new Command("listen", "Forward changes as they arrive to a local URL.") { forwardTo, after };
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            using var target = new HttpClient();
            var start = parse.GetValue(after);
            if (start is null)
            {
                // Only new changes: begin at the end of the log.
                start = await LastSequenceAsync(client, cancellationToken);
                if (start is null)
                {
                    return 1;
                }
            }

            var url = new Uri(parse.GetValue(forwardTo)!);
            Console.Error.WriteLine($"Forwarding changes after #{start} to {url} (Ctrl+C to stop)");
            try
            {
                await foreach (var change in ChangesCommand.ReadAsync(client, start.Value, follow: true, cancellationToken))
                {
                    using var response = await target.PostAsJsonAsync(url, change, cancellationToken);
                    Console.WriteLine($"{(int)response.StatusCode} {ChangesCommand.Describe(change)}");
                }
            }
            catch (FeedException)
            {
                return 1;
            }
            catch (HttpRequestException error)
            {
                await Console.Error.WriteLineAsync($"calhook: cannot forward to {url}: {error.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }

            return 0;
        });
        return command;
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
