using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary><c>calhook changes [--follow] [--after SEQ]</c>: reads the change feed.</summary>
internal static class ChangesCommand
{
    public static Command Create()
    {
        var admin = new AdminOptions();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep waiting for new changes (long-polls the feed)." };
        var after = new Option<long>("--after") { Description = "Start after this sequence (default 0: from the start)." };
        var command = new Command("changes", "Print the change feed.") { follow, after };
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            try
            {
                await foreach (var change in ReadAsync(client, parse.GetValue(after), parse.GetValue(follow), cancellationToken))
                {
                    Console.WriteLine(client.Json ? change.ToJsonString() : Describe(change));
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

    /// <summary>One readable line: sequence, type, calendar, event, and the changed paths.</summary>
    public static string Describe(JsonNode change)
    {
        var summary = (string?)(change["event"] ?? change["previous"])?["summary"];
        var paths = change["diff"]?.AsArray().Select(d => (string?)d?["path"]).ToArray() ?? [];
        var detail = paths.Length > 0 ? $" [{string.Join(", ", paths)}]" : "";
        return $"#{change["sequence"]} {change["type"],-14} {change["calendarId"]} {change["eventId"]} \"{summary}\"{detail}";
    }

    /// <summary>The changes after <paramref name="after"/>; with <paramref name="follow"/>, waits for more forever.</summary>
    public static async IAsyncEnumerable<JsonNode> ReadAsync(
        AdminClient client, long after, bool follow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var wait = follow ? "&wait=30" : "";
            var page = await client.SendAsync(HttpMethod.Get, $"/v1/changes?after={after}&limit=500{wait}", null, cancellationToken)
                ?? throw new FeedException();
            foreach (var change in page["changes"]?.AsArray() ?? [])
            {
                yield return change!;
            }

            after = (long?)page["next"] ?? after;
            if (!follow && page["hasMore"]?.GetValue<bool>() != true)
            {
                yield break;
            }
        }
    }
}

/// <summary>The feed answered an error (already printed).</summary>
internal sealed class FeedException : Exception;
