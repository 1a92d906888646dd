using System.CommandLine;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary><c>calhook watch add|list|remove</c>.</summary>
internal static class WatchCommands
{
    public static Command Create()
    {
        var watch = new Command("watch", "Manage watched calendars.");
        watch.Subcommands.Add(Add());
        watch.Subcommands.Add(List());
        watch.Subcommands.Add(Remove());
        return watch;
    }

    private static Command Add()
    {
        var admin = new AdminOptions();
        var calendar = new Argument<string?>("CALENDAR_ID")
        {
            Description = "The calendar to watch (an id, or an email for a primary calendar); omit it with --all.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var account = new Option<string>("--account") { Description = "The account id that can read the calendar.", Required = true };
        var all = new Option<bool>("--all") { Description = "Watch every calendar of the account, following calendars as they are added and removed." };
        var wait = new Option<bool>("--wait") { Description = "Wait until the baseline (first full sync) is committed, showing its progress." };
        var command = new Command("add", "Watch a calendar, or with --all every calendar of an account.") { calendar, account, all, wait };
        admin.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(all) == (result.GetValue(calendar) is not null))
            {
                result.AddError("Give either CALENDAR_ID or --all (not both).");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var body = parse.GetValue(all)
                ? new JsonObject { ["accountId"] = parse.GetValue(account), ["allCalendars"] = true }
                : new JsonObject { ["accountId"] = parse.GetValue(account), ["calendarId"] = parse.GetValue(calendar) };
            var created = await client.SendAsync(HttpMethod.Post, "/v1/watches", body, cancellationToken);
            if (created is null)
            {
                return client.FailureExitCode;
            }

            if (parse.GetValue(wait))
            {
                created = await WaitForBaselineAsync(client, (string)created["id"]!, cancellationToken);
                if (created is null)
                {
                    return client.FailureExitCode;
                }
            }

            Console.WriteLine(client.Json ? AdminClient.Pretty(created) : $"watch {created["id"]} ({created["status"]}) on {created["calendarId"] ?? "all calendars"}");
            return (string?)created["status"] is "failing" or "needs_reauth" ? ExitCodes.NeedsAttention : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Polls the watch until its baseline is committed or it fails, printing the events fetched so far to stderr (the
    /// progress a large calendar's baseline reports), so stdout stays the result alone.
    /// </summary>
    private static async Task<JsonNode?> WaitForBaselineAsync(AdminClient client, string watchId, CancellationToken cancellationToken)
    {
        var lastShown = -1;
        while (true)
        {
            var watch = await client.SendAsync(HttpMethod.Get, $"/v1/watches/{Uri.EscapeDataString(watchId)}", null, cancellationToken);
            if (watch is null || watch["lastSyncAt"] is not null || (string?)watch["status"] is "failing" or "needs_reauth" or "stopped")
            {
                if (lastShown >= 0)
                {
                    await Console.Error.WriteLineAsync();
                }

                return watch;
            }

            var fetched = (int?)watch["progress"]?["eventsFetched"] ?? 0;
            if (fetched != lastShown)
            {
                // A terminal sees one line counting up; a log gets one line per step.
                await Console.Error.WriteAsync(Console.IsErrorRedirected ? $"baseline: {fetched:N0} events fetched\n" : $"\rbaseline: {fetched:N0} events fetched");
                lastShown = fetched;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System, cancellationToken);
        }
    }

    private static Command List()
    {
        var admin = new AdminOptions();
        var command = new Command("list", "List watched calendars and their state.");
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var list = await client.SendAsync(HttpMethod.Get, "/v1/watches", null, cancellationToken);
            if (list is null)
            {
                return client.FailureExitCode;
            }

            if (client.Json)
            {
                Console.WriteLine(AdminClient.Pretty(list));
                return 0;
            }

            foreach (var item in list["items"]?.AsArray() ?? [])
            {
                Console.WriteLine($"{item?["id"],-30} {item?["status"],-13} {item?["calendarId"] ?? "(all calendars)"}  channel expires {item?["channelExpiresAt"] ?? "-"}  last sync {item?["lastSyncAt"] ?? "-"}{(item?["error"] is { } e ? $"  error: {e}" : "")}");
            }

            return 0;
        });
        return command;
    }

    private static Command Remove()
    {
        var admin = new AdminOptions();
        var id = new Argument<string>("WATCH_ID") { Description = "The watch to stop." };
        var command = new Command("remove", "Stop watching a calendar (stops its channel).") { id };
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var removed = await client.SendAsync(HttpMethod.Delete, $"/v1/watches/{Uri.EscapeDataString(parse.GetValue(id)!)}", null, cancellationToken);
            if (removed is null)
            {
                return client.FailureExitCode;
            }

            Console.WriteLine(client.Json ? AdminClient.Pretty(removed) : $"watch {parse.GetValue(id)} removed");
            return 0;
        });
        return command;
    }
}
