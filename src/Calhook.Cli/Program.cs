using System.CommandLine;
using Calhook.Cli.Commands;
using Calhook.Hosting;

// First, before the host's threads allocate (NativeHeap says why).
NativeHeap.LimitArenas();

var root = new RootCommand("Calhook: exact, durable change streams from Google Calendar push notifications.")
{
    ServeCommand.Create(),
    EmulatorCommand.Create(),
    DemoCommand.Create(),
    WatchCommands.Create(),
    ChangesCommand.Create(),
    ListenCommand.Create(),
    StatusCommand.Create(),
    SubscriptionsCommands.Create(),
    AccountsCommands.Create(),
    AccountsCommands.Connect(),
};

var parsed = root.Parse(args);
var exit = await parsed.InvokeAsync();

// System.CommandLine prints a wrong command line's errors and help and answers 1, which the admin commands use for
// "the server refused": a wrong command line is 2 (ExitCodes.Usage), as documented.
return parsed.Errors.Count > 0 ? ExitCodes.Usage : exit;
