using System.CommandLine;
using Calhook.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Calhook.Cli.Commands;

/// <summary>
/// <c>calhook serve</c>: the service. With no Google OAuth client and no <c>--google-url</c>, it starts the embedded
/// emulator, connects a demo account and watches its primary calendar, so that it works out of the box.
/// </summary>
internal static class ServeCommand
{
    public const string DemoUser = "demo@example.com";

    /// <summary>The embedded emulator's state, in the data directory.</summary>
    public const string EmbeddedEmulatorStateFile = "emulator-state.json";

    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "The address to listen on.", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var data = new Option<string?>("--data") { Description = "Data directory (SQLite, keys, API key). Default ./calhook-data." };
        var googleUrl = new Option<string?>("--google-url") { Description = "One origin replacing Google's API and OAuth hosts (an emulator)." };
        var publicUrl = new Option<string?>("--public-url") { Description = "The public origin Google reaches this service at (default: --urls)." };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string (instead of SQLite)." };
        var apiKey = new Option<string?>("--api-key")
        {
            Description = "The admin API key (default: generated into the data directory). Visible to every local user in the process list: prefer --api-key-file or CALHOOK_API_KEY.",
        };
        var apiKeyFile = new Option<string?>("--api-key-file") { Description = "A file holding the admin API key (readable by the service's user only)." };

        var command = new Command("serve", "Run the Calhook service.") { urls, data, googleUrl, publicUrl, postgres, apiKey, apiKeyFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(apiKeyFile) is { } keyFile)
            {
                try
                {
                    Set(overrides, "Calhook:ApiKey", (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim());
                }
                catch (Exception error) when (error is IOException or UnauthorizedAccessException)
                {
                    await Console.Error.WriteLineAsync($"calhook: cannot start: --api-key-file {keyFile} cannot be read ({error.Message}).");
                    return 2;
                }

                if (!overrides.ContainsKey("Calhook:ApiKey"))
                {
                    await Console.Error.WriteLineAsync($"calhook: cannot start: --api-key-file {keyFile} is empty.");
                    return 2;
                }
            }

            Set(overrides, "Calhook:DataDirectory", parse.GetValue(data));
            Set(overrides, "Calhook:Google:BaseUrl", parse.GetValue(googleUrl));
            Set(overrides, "Calhook:PublicUrl", parse.GetValue(publicUrl));
            Set(overrides, "Calhook:Postgres:ConnectionString", parse.GetValue(postgres));
            if (!overrides.ContainsKey("Calhook:ApiKey"))
            {
                Set(overrides, "Calhook:ApiKey", parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("CALHOOK_API_KEY"));
            }

            // The same sources, in the same folder (the working directory), as the app CalhookApp builds.
            var settings = new ConfigurationBuilder()
                .SetBasePath(Directory.GetCurrentDirectory())
                .AddJsonFile("appsettings.json", optional: true)
                .AddEnvironmentVariables()
                .AddInMemoryCollection(overrides)
                .Build();
            var useEmbeddedEmulator = string.IsNullOrWhiteSpace(settings["Calhook:Google:ClientId"])
                && string.IsNullOrWhiteSpace(settings["Calhook:Google:BaseUrl"]);

            EmulatorServer? emulator = null;
            var resumedEmulator = false;
            try
            {
                if (useEmbeddedEmulator)
                {
                    // The embedded emulator keeps its state beside Calhook's, so a restart resumes the same accounts,
                    // calendars and events (and the demo watch is reused).
                    var dataDirectory = Calhook.Hosting.PrivateFiles.EnsureDirectory(settings["Calhook:DataDirectory"] ?? "calhook-data");
                    var stateFile = Path.Combine(dataDirectory, EmbeddedEmulatorStateFile);
                    resumedEmulator = File.Exists(stateFile);
                    emulator = await EmulatorServer.StartAsync(new EmulatorOptions { StateFile = stateFile }, cancellationToken: cancellationToken);
                    overrides["Calhook:Google:BaseUrl"] = emulator.BaseAddress.ToString().TrimEnd('/');
                }

                // Settings are validated while the app is built (endpoints resolve their options) and as it starts.
                WebApplication? app = null;
                try
                {
                    app = CalhookApp.Build(parse.GetValue(urls)!, overrides);
                    await app.StartAsync(cancellationToken);
                }
                catch (Exception error) when (error is Microsoft.Extensions.Options.OptionsValidationException or InvalidOperationException or IOException)
                {
                    if (app is not null)
                    {
                        await app.DisposeAsync();
                    }

                    await Console.Error.WriteLineAsync($"calhook: cannot start: {error.Message}");
                    return 2;
                }

                await using var running = app;
                var baseUrl = app.Configuration["Calhook:PublicUrl"]!;
                var provider = app.Services.GetRequiredService<Calhook.Hosting.ApiKeyProvider>();
                var key = provider.Key;
                // In shell hints the key is read from where it lives, so it appears on screen once at most.
                var keyHint = provider.FilePath is { } keyPath ? $"$(cat {keyPath})" : "$CALHOOK_API_KEY";
                Console.WriteLine($"Calhook is running at {app.Urls.FirstOrDefault() ?? baseUrl}");
                Console.WriteLine($"  Push receiver:  {baseUrl}{Calhook.Receiving.ReceiverEndpoint.Path}");
                Console.WriteLine($"  Change feed:    {baseUrl}/v1/changes   (stream: {baseUrl}/v1/changes/stream)");
                Console.WriteLine($"  Health:         {baseUrl}/healthz, {baseUrl}/readyz, {baseUrl}/metrics");
                Console.WriteLine(provider.FilePath is null
                    ? "  API key:        the configured Calhook:ApiKey"
                    : provider.Generated
                        ? $"  API key:        {key} (generated now and stored in {provider.FilePath}; shown this once)"
                        : $"  API key:        stored in {provider.FilePath}");

                if (emulator is not null)
                {
                    Console.WriteLine($"  Emulator:       {emulator.BaseAddress} (Google Calendar API and OAuth)");
                    var watch = await DemoAccount.EnsureWatchedAsync(new Uri(baseUrl), key, emulator.BaseAddress, DemoUser, resumedEmulator, cancellationToken);
                    Console.WriteLine($"  Demo account:   {DemoUser}, watch {watch}");
                    using var admin = new AdminClient(new Uri(baseUrl), key, json: false);
                    if (!await DemoAccount.WaitForBaselineAsync(admin, watch, TimeSpan.FromSeconds(30), cancellationToken))
                    {
                        await Console.Error.WriteLineAsync($"calhook: the first sync of {DemoUser} has not finished yet; see `calhook watch list`.");
                    }

                    Console.WriteLine();
                    Console.WriteLine("Make a change in the emulator, then read the feed:");
                    Console.WriteLine($"  TOKEN=$(curl -s -X POST {emulator.BaseAddress}emulator/v1/tokens -d '{{\"user\":\"{DemoUser}\"}}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')");
                    Console.WriteLine($"  curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' {emulator.BaseAddress}calendar/v3/calendars/primary/events -d '{{\"summary\":\"Hello\",\"start\":{{\"dateTime\":\"2026-12-01T10:00:00Z\"}},\"end\":{{\"dateTime\":\"2026-12-01T11:00:00Z\"}}}}'");
                    Console.WriteLine($"  curl -s -H \"Authorization: Bearer {keyHint}\" '{baseUrl}/v1/changes?after=0'");
                }

                await app.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
            finally
            {
                if (emulator is not null)
                {
                    await emulator.DisposeAsync();
                }
            }
        });
        return command;
    }

    private static void Set(Dictionary<string, string?> overrides, string key, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            overrides[key] = value;
        }
    }
}
