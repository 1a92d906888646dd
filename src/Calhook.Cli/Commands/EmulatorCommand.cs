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

        var allowRemote = new Option<bool>("--allow-remote")
        {
            Description = "Allow --urls to listen beyond loopback. The emulator's controls (/emulator/v1) have no authentication and list channel tokens.",
        };

        var command = new Command("emulator", "Run the offline Google Calendar API emulator.") { urls, maxTtl, allowRemote };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var listen = parse.GetValue(urls)!;
            if (!parse.GetValue(allowRemote) && listen.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(u => !IsLoopback(u)) is { } exposed)
            {
                await Console.Error.WriteLineAsync(
                    $"calhook: the emulator's controls have no authentication, so it listens on loopback only; '{exposed}' is not a loopback address. Pass --allow-remote to listen there anyway.");
                return 2;
            }

            var options = new EmulatorOptions { MaxChannelTtlSeconds = parse.GetValue(maxTtl) };
            await using var server = await EmulatorServer.StartAsync(options, listen, cancellationToken);
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

    /// <summary>Whether a listen URL binds loopback only: <c>localhost</c>, 127.0.0.0/8 or ::1 (not <c>*</c>, <c>+</c>, 0.0.0.0, ::).</summary>
    internal static bool IsLoopback(string url)
    {
        // Kestrel's wildcards are not valid URI hosts: they are never loopback.
        if (!Uri.TryCreate(url.Replace("://*", "://wildcard.invalid", StringComparison.Ordinal).Replace("://+", "://wildcard.invalid", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback && (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address)));
    }
}
