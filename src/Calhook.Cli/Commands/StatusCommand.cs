using System.CommandLine;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary><c>calhook status</c>: is the server ready, and how are its watches.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var admin = new AdminOptions();
        var command = new Command("status", "Show the server's readiness and its watches.");
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var ready = await client.SendAsync(HttpMethod.Get, "/readyz", null, cancellationToken);
            var watches = ready is null ? null : await client.SendAsync(HttpMethod.Get, "/v1/watches", null, cancellationToken);
            var items = watches?["items"]?.AsArray() ?? [];
            var byStatus = items.GroupBy(w => (string?)w?["status"] ?? "unknown").ToDictionary(g => g.Key, g => g.Count());
            if (client.Json)
            {
                var status = new JsonObject
                {
                    ["server"] = client.Http.BaseAddress!.ToString(),
                    ["ready"] = ready is not null,
                    ["watches"] = new JsonObject(byStatus.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                };
                Console.WriteLine(AdminClient.Pretty(status));
            }
            else
            {
                Console.WriteLine($"{client.Http.BaseAddress}: {(ready is null ? "not ready" : "ready")}");
                Console.WriteLine($"watches: {items.Count} ({string.Join(", ", byStatus.Select(p => $"{p.Value} {p.Key}"))})");
            }

            return ready is null || watches is null ? 1 : 0;
        });
        return command;
    }
}
