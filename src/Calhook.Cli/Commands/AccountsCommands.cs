using System.CommandLine;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary><c>calhook accounts list|remove</c> and <c>calhook connect</c>.</summary>
internal static class AccountsCommands
{
    public static Command Create()
    {
        var accounts = new Command("accounts", "Manage connected Google accounts.");
        accounts.Subcommands.Add(List());
        accounts.Subcommands.Add(Remove());
        return accounts;
    }

    /// <summary><c>calhook connect</c>: prints the address that connects a Google account in a browser.</summary>
    public static Command Connect()
    {
        var admin = new AdminOptions();
        var command = new Command("connect", "Print the URL that connects a Google account (open it in a browser logged in to the dashboard).");
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            // The URL is only worth opening when a Calhook server answers there.
            if (await client.SendAsync(HttpMethod.Get, "/healthz", null, cancellationToken) is null)
            {
                return client.FailureExitCode;
            }

            var url = new Uri(client.Http.BaseAddress!, "/connect/google").AbsoluteUri;
            if (client.Json)
            {
                Console.WriteLine(AdminClient.Pretty(new JsonObject { ["url"] = url }));
            }
            else
            {
                Console.WriteLine(url);
                Console.Error.WriteLine("Open it in a browser; log in with the API key if asked, approve calendar access, then pick the calendars to watch.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List() => AdminOptions.ListCommand(
        "list", "List connected accounts.", "/v1/accounts",
        "No accounts. Connect one with the URL `calhook connect` prints.",
        new Table("ID", "EMAIL", "TYPE", "STATUS", "WATCHES", "ERROR"),
        (table, account, _) => table.Add((string?)account?["id"], (string?)account?["email"], (string?)account?["type"], (string?)account?["status"],
            account?["watches"]?.ToJsonString(), (string?)account?["error"]));

    private static Command Remove()
    {
        var admin = new AdminOptions();
        var id = new Argument<string>("ACCOUNT_ID") { Description = "The account to remove (see `calhook accounts list`)." };
        var command = new Command("remove", "Remove an account: stops its watches and their channels.") { id };
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var accountId = parse.GetValue(id)!;
            var removed = await client.SendAsync(HttpMethod.Delete, $"/v1/accounts/{Uri.EscapeDataString(accountId)}", null, cancellationToken);
            if (removed is null)
            {
                return client.FailureExitCode;
            }

            Console.WriteLine(client.Json ? AdminClient.Pretty(new JsonObject { ["id"] = accountId, ["removed"] = true }) : $"account {accountId} removed; its watches and channels are stopped");
            return ExitCodes.Ok;
        });
        return command;
    }
}
