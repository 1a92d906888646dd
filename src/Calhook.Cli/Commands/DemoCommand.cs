using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;

namespace Calhook.Cli.Commands;

/// <summary>
/// <c>calhook demo</c>: a scripted story against the embedded emulator — create, move, rename, invite, a recurring
/// series with one cancelled instance, delete — printing each change Calhook reports as it arrives. Exits 0 when
/// every step produced its change, 1 otherwise.
/// </summary>
internal static class DemoCommand
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var command = new Command("demo", "Run a scripted end-to-end story on the emulator and print each change.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var data = Directory.CreateTempSubdirectory("calhook-demo-");
            try
            {
                return await RunAsync(data.FullName, cancellationToken);
            }
            finally
            {
                data.Delete(recursive: true);
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions(), cancellationToken: cancellationToken);
        var apiKey = "chk_demo_" + Guid.NewGuid().ToString("N");
        var overrides = new Dictionary<string, string?>
        {
            ["Calhook:DataDirectory"] = dataDirectory,
            ["Calhook:Google:BaseUrl"] = emulator.BaseAddress.ToString().TrimEnd('/'),
            ["Calhook:ApiKey"] = apiKey,
        };
        await using var app = CalhookApp.Build("http://127.0.0.1:0", overrides, quiet: true);
        await app.StartAsync(cancellationToken);
        var calhook = new Uri(app.Configuration["Calhook:PublicUrl"]!);
        Console.WriteLine($"Emulator at {emulator.BaseAddress}, Calhook at {calhook}");

        const string user = ServeCommand.DemoUser;
        var watchId = await DemoAccount.EnsureWatchedAsync(calhook, apiKey, emulator.BaseAddress, user, reuse: false, cancellationToken);
        using var feed = new AdminClient(calhook, apiKey, json: false);
        if (!await DemoAccount.WaitForBaselineAsync(feed, watchId, StepTimeout, cancellationToken))
        {
            await Console.Error.WriteLineAsync("calhook demo: the first sync of the demo calendar did not finish.");
            return 1;
        }

        using var control = new EmulatorControlClient(emulator.BaseAddress);
        var tokens = await control.CreateTokensAsync(user, cancellationToken);
        using var google = new HttpClient { BaseAddress = new Uri(emulator.BaseAddress, "calendar/v3/calendars/primary/") };
        google.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);

        long after = 0;
        async Task<bool> Step(string title, Func<Task> action)
        {
            Console.WriteLine();
            Console.WriteLine($"== {title}");
            await action();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StepTimeout);
            try
            {
                var page = await feed.SendAsync(HttpMethod.Get, $"/v1/changes?after={after}&wait=30", null, timeout.Token);
                var changes = page?["changes"]?.AsArray() ?? [];
                foreach (var change in changes)
                {
                    Print(change!);
                }

                after = (long?)page?["next"] ?? after;
                return changes.Count > 0;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        string? reviewId = null;
        string? seriesId = null;
        var steps = new (string Title, Func<Task> Action)[]
        {
            ("Create \"Design review\" on 1 December, 10:00 Paris time", async () =>
                reviewId = (string?)(await SendAsync(google, HttpMethod.Post, "events", new JsonObject
                {
                    ["summary"] = "Design review",
                    ["attendees"] = new JsonArray(new JsonObject { ["email"] = "carol@example.com" }),
                    ["start"] = new JsonObject { ["dateTime"] = "2026-12-01T10:00:00+01:00", ["timeZone"] = "Europe/Paris" },
                    ["end"] = new JsonObject { ["dateTime"] = "2026-12-01T11:00:00+01:00", ["timeZone"] = "Europe/Paris" },
                }, cancellationToken))["id"]),
            ("Move it one hour later", () => SendAsync(google, HttpMethod.Patch, $"events/{reviewId}", new JsonObject
                {
                    ["start"] = new JsonObject { ["dateTime"] = "2026-12-01T11:00:00+01:00", ["timeZone"] = "Europe/Paris" },
                    ["end"] = new JsonObject { ["dateTime"] = "2026-12-01T12:00:00+01:00", ["timeZone"] = "Europe/Paris" },
                }, cancellationToken)),
            ("Rename it", () => SendAsync(google, HttpMethod.Patch, $"events/{reviewId}",
                new JsonObject { ["summary"] = "Design review: calendar sync" }, cancellationToken)),
            ("Invite bob@example.com", () => SendAsync(google, HttpMethod.Patch, $"events/{reviewId}", new JsonObject
                {
                    ["attendees"] = new JsonArray(
                        new JsonObject { ["email"] = "carol@example.com" },
                        new JsonObject { ["email"] = "bob@example.com" }),
                }, cancellationToken)),
            ("Create a weekly stand-up, four times", async () =>
                seriesId = (string?)(await SendAsync(google, HttpMethod.Post, "events", new JsonObject
                {
                    ["summary"] = "Weekly stand-up",
                    ["start"] = new JsonObject { ["dateTime"] = "2026-12-02T09:00:00+01:00", ["timeZone"] = "Europe/Paris" },
                    ["end"] = new JsonObject { ["dateTime"] = "2026-12-02T09:15:00+01:00", ["timeZone"] = "Europe/Paris" },
                    ["recurrence"] = new JsonArray("RRULE:FREQ=WEEKLY;COUNT=4"),
                }, cancellationToken))["id"]),
            ("Cancel the second stand-up only", async () =>
            {
                var instances = await SendAsync(google, HttpMethod.Get, $"events/{seriesId}/instances", null, cancellationToken);
                var second = (string?)instances["items"]![1]!["id"];
                await SendAsync(google, HttpMethod.Delete, $"events/{second}", null, cancellationToken);
            }),
            ("Delete the design review", () => SendAsync(google, HttpMethod.Delete, $"events/{reviewId}", null, cancellationToken)),
        };

        foreach (var (title, action) in steps)
        {
            if (!await Step(title, action))
            {
                await Console.Error.WriteLineAsync($"calhook demo: no change arrived within {StepTimeout.TotalSeconds:0} s for \"{title}\".");
                return 1;
            }
        }

        Console.WriteLine();
        Console.WriteLine("Every step produced its change. Done.");
        await app.StopAsync(cancellationToken);
        return 0;
    }

    private static void Print(JsonNode change)
    {
        Console.WriteLine($"   {ChangesCommand.Describe(change)}");
        foreach (var diff in change["diff"]?.AsArray() ?? [])
        {
            Console.WriteLine($"      {diff?["path"]}: {Show(diff?["before"])} -> {Show(diff?["after"])}");
        }
    }

    private static string Show(JsonNode? value) => value?.ToJsonString(Readable) ?? "(none)";

    private static async Task<JsonObject> SendAsync(HttpClient google, HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await google.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        return string.IsNullOrEmpty(text) ? [] : JsonNode.Parse(text)!.AsObject();
    }
}
