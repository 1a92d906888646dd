using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary>
/// <c>calhook status</c>: is the server ready, a table of its watches (calendar, status, channel expiry, last ping,
/// last sync, error, and a running baseline's progress) and of its subscriptions (id, URL, status, types, backlog, latest
/// replay's progress, last success, last error), and Google's
/// request budget (used and limit per minute and per day, and whether the safety net is stretched to fit it). Exit 0
/// when all is well, 4 when something needs attention.
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var admin = new AdminOptions();
        var command = new Command("status", "Show the server's readiness, its watches and its subscriptions.");
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var ready = await client.SendAsync(HttpMethod.Get, "/readyz", null, cancellationToken);
            if (client.FailureExitCode is ExitCodes.Unreachable or ExitCodes.Usage)
            {
                return client.FailureExitCode;
            }

            var watches = await client.SendAsync(HttpMethod.Get, "/v1/watches", null, cancellationToken);
            if (watches is null)
            {
                return client.FailureExitCode;
            }

            // Subscriptions and the quota exist only on newer servers; a 404 there is "none", not an error.
            var subscriptions = (await GetOptionalAsync(client, "/v1/subscriptions", cancellationToken))?["items"]?.AsArray() ?? [];
            var quota = await GetOptionalAsync(client, "/v1/quota", cancellationToken);
            var items = watches["items"]?.AsArray() ?? [];
            var counts = items.GroupBy(w => (string?)w?["status"] ?? "unknown").ToDictionary(g => g.Key, g => g.Count());
            var attention = ready is null || counts.ContainsKey("failing") || counts.ContainsKey("needs_reauth")
                || subscriptions.Any(s => (string?)s?["status"] is "failing" or "disabled");

            if (client.Json)
            {
                Console.WriteLine(AdminClient.Pretty(new JsonObject
                {
                    ["server"] = client.Http.BaseAddress!.ToString(),
                    ["ready"] = ready is not null,
                    ["counts"] = new JsonObject(counts.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                    ["watches"] = items.DeepClone(),
                    ["subscriptions"] = subscriptions.DeepClone(),
                    ["quota"] = quota?.DeepClone(),
                }));
            }
            else
            {
                var now = TimeProvider.System.GetUtcNow();
                Console.WriteLine($"{client.Http.BaseAddress}: {(ready is null ? "NOT READY" : "ready")}");
                Console.WriteLine();
                Console.WriteLine($"Watches: {items.Count}{(counts.Count == 0 ? "" : " (" + string.Join(", ", counts.Select(p => $"{p.Value} {p.Key}")) + ")")}");
                if (items.Count > 0)
                {
                    var table = new Table("CALENDAR", "STATUS", "CHANNEL EXPIRES", "LAST PING", "LAST SYNC", "ERROR");
                    foreach (var watch in items)
                    {
                        var status = (string?)watch?["status"];
                        if (watch?["progress"] is { } progress)
                        {
                            status += $" ({progress["phase"]}: {progress["eventsFetched"]} events)";
                        }

                        table.Add((string?)watch?["calendarId"], status, Table.When(watch?["channelExpiresAt"], now),
                            Table.When(watch?["lastNotificationAt"], now), Table.When(watch?["lastSyncAt"], now), (string?)watch?["error"]);
                    }

                    Console.WriteLine(table);
                }

                Console.WriteLine();
                var subscriptionCounts = subscriptions.GroupBy(s => (string?)s?["status"] ?? "unknown").Select(g => $"{g.Count()} {g.Key}").ToList();
                Console.WriteLine($"Subscriptions: {subscriptions.Count}{(subscriptionCounts.Count == 0 ? "" : " (" + string.Join(", ", subscriptionCounts) + ")")}");
                if (subscriptions.Count > 0)
                {
                    var table = new Table("ID", "URL", "STATUS", "TYPES", "BACKLOG", "REPLAY", "LAST SUCCESS", "ERROR");
                    foreach (var subscription in subscriptions)
                    {
                        var types = subscription?["types"] is JsonArray t && t.Count > 0 ? string.Join(",", t.Select(x => (string?)x)) : "all";
                        table.Add((string?)subscription?["id"], (string?)subscription?["url"], (string?)subscription?["status"], types,
                            subscription?["backlog"]?.ToJsonString(), SubscriptionsCommands.ReplayText(subscription?["replay"]),
                            Table.When(subscription?["lastSuccessAt"], now), (string?)subscription?["lastError"]);
                    }

                    Console.WriteLine(table);
                }

                if (quota is not null)
                {
                    Console.WriteLine();
                    WriteQuota(quota);
                }

                if (attention)
                {
                    Console.WriteLine();
                    Console.WriteLine("Something needs attention: see the ERROR columns; docs/troubleshooting.md says what each error means and what to do.");
                    if (subscriptions.Any(s => (string?)s?["status"] is "failing" or "disabled"))
                    {
                        Console.WriteLine("A failing or disabled subscription resumes with `POST /v1/subscriptions/{id}/enable` once its receiver works; docs/webhooks.md explains both.");
                    }
                }
            }

            return attention ? ExitCodes.NeedsAttention : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// The budget table and the safety net's line: used, limit and share for the project's and the busiest account's
    /// minute and day (a limit of 0 is "none").
    /// </summary>
    private static void WriteQuota(JsonNode quota)
    {
        Console.WriteLine("Google request budget:");
        var table = new Table("WINDOW", "USED", "LIMIT", "SHARE");
        foreach (var (label, key) in new[]
        {
            ("project, minute", "projectMinute"), ("project, day", "projectDay"),
            ("busiest account, minute", "busiestAccountMinute"), ("busiest account, day", "busiestAccountDay"),
        })
        {
            if (quota[key] is not { } window)
            {
                continue;
            }

            var used = (long?)window["used"] ?? 0;
            var limit = (long?)window["limit"] ?? 0;
            table.Add(label, used.ToString(CultureInfo.InvariantCulture), limit > 0 ? limit.ToString(CultureInfo.InvariantCulture) : "none",
                limit > 0 ? string.Create(CultureInfo.InvariantCulture, $"{100.0 * used / limit:0.#} %") : null);
        }

        Console.WriteLine(table);
        if (quota["safetyNet"] is { } net)
        {
            var configured = TimeSpan.FromSeconds((double?)net["configuredSeconds"] ?? 0);
            var current = TimeSpan.FromSeconds((double?)net["currentSeconds"] ?? 0);
            Console.WriteLine((bool?)net["stretched"] == true
                ? $"Safety net: stretched to every {Duration(current)} to fit the budget (configured every {Duration(configured)})."
                : $"Safety net: every {Duration(current)}, as configured (not stretched).");
        }
    }

    private static string Duration(TimeSpan span) => span.TotalSeconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.#}s")
        : span.TotalMinutes < 90 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#}m") : string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#}h");

    /// <summary>The JSON at <paramref name="path"/>, or null when this server does not serve it (an older version).</summary>
    private static async Task<JsonNode?> GetOptionalAsync(AdminClient client, string path, CancellationToken cancellationToken)
    {
        using var response = await client.Http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) : null;
    }
}
