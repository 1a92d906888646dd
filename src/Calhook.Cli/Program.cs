using System.CommandLine;
using Calhook.Cli.Commands;

var root = new RootCommand("Calhook: exact, durable change streams from Google Calendar push notifications.")
{
    ServeCommand.Create(),
    EmulatorCommand.Create(),
    DemoCommand.Create(),
    WatchCommands.Create(),
    ChangesCommand.Create(),
    ListenCommand.Create(),
    StatusCommand.Create(),
    AccountsCommands.Create(),
    AccountsCommands.Connect(),
};

return await root.Parse(args).InvokeAsync();
