using System.CommandLine;
using Calhook.Emulator;

namespace Calhook.Cli.Commands;

/// <summary><c>calhook emulator</c>: the Google Calendar API emulator alone.</summary>
internal static class EmulatorCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls")
        {
            Description = "The address to listen on.",
            DefaultValueFactory = _ => "http://127.0.0.1:8085",
        };
        var maxTtl = new Option<int>("--max-channel-ttl")
        {
            Description = "Longest life of a push channel, in seconds (default 604800, 7 days).",
            DefaultValueFactory = _ => 604_800,
        };
        maxTtl.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--max-channel-ttl must be a positive number of seconds.");
            }
        });

        var command = new Command("emulator", "Run the offline Google Calendar API emulator.") { urls, maxTtl };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new EmulatorOptions { MaxChannelTtlSeconds = parse.GetValue(maxTtl) };
            await using var server = await EmulatorServer.StartAsync(options, parse.GetValue(urls)!, cancellationToken);
            Console.WriteLine($"Google Calendar emulator listening on {server.BaseAddress}");
            Console.WriteLine($"  API root:    {server.BaseAddress}calendar/v3/");
            Console.WriteLine($"  OAuth:       {server.BaseAddress}o/oauth2/v2/auth, {server.BaseAddress}token");
            Console.WriteLine($"  Controls:    {server.BaseAddress}emulator/v1/");
            Console.WriteLine($"  Get a token: curl -X POST {server.BaseAddress}emulator/v1/tokens -d '{{\"user\":\"alice@example.com\"}}'");
            await server.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
