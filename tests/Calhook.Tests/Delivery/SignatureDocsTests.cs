using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Calhook.TestKit;

namespace Calhook.Tests.Delivery;

/// <summary>
/// The signature verifiers docs/webhooks.md shows (C#, Node, Python) verify webhooks Calhook really delivered, including
/// one signed with two secrets during a rotation, and refuse a changed body, a stale timestamp, a wrong secret and an
/// unknown signature version. The Node and Python snippets are taken from the page and run by the real interpreters.
/// </summary>
public sealed partial class SignatureDocsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private static IReadOnlyList<VerificationCase>? Captured;
    private static readonly SemaphoreSlim CaptureGate = new(1, 1);

    [Fact]
    public void The_documented_csharp_verifier_is_the_code_under_test()
    {
        var documented = DocumentedBlock("csharp", "public static class WebhookSignature");
        var copy = Normalise(File.ReadAllText(Path.Combine(RepositoryRoot(), "tests", "Calhook.Tests", "Delivery", "DocumentedWebhookSignature.cs")));

        foreach (var line in documented.Split('\n').Where(l => l.StartsWith("using ", StringComparison.Ordinal)))
        {
            Assert.Contains(line, copy, StringComparison.Ordinal);
        }

        var code = string.Join('\n', documented.Split('\n').Where(l => !l.StartsWith("using ", StringComparison.Ordinal))).Trim('\n');
        Assert.Contains(code, copy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_documented_csharp_verifier_accepts_delivered_webhooks_and_refuses_tampering()
    {
        var cases = await CapturedCasesAsync();

        var verdicts = cases.Select(c => WebhookSignature.Verify(c.Secret, c.Headers.GetValueOrDefault("webhook-id", ""),
            c.Headers.GetValueOrDefault("webhook-timestamp", ""), c.Headers.GetValueOrDefault("webhook-signature", ""),
            Encoding.UTF8.GetBytes(c.Body), DateTimeOffset.FromUnixTimeSeconds(c.Now)));

        Assert.Equal(cases.Select(c => (c.Name, c.Expected)), cases.Select(c => c.Name).Zip(verdicts));
    }

    [RequiresExecutableFact("node")]
    public async Task The_documented_node_verifier_accepts_delivered_webhooks_and_refuses_tampering()
    {
        using var folder = new TestDirectory();
        var snippet = folder.File("verify.js");
        await File.WriteAllTextAsync(snippet, DocumentedBlock("js", "function verifyWebhook"));
        var harness = folder.File("harness.js");
        await File.WriteAllTextAsync(harness, """
            const { verifyWebhook } = require(process.argv[2]);
            const cases = JSON.parse(require("node:fs").readFileSync(process.argv[3], "utf8"));
            console.log(JSON.stringify(cases.map((c) => verifyWebhook(c.secret, c.headers, Buffer.from(c.body, "utf8"), c.now))));
            """);

        await AssertVerdictsAsync(RequiresExecutableFactAttribute.Find("node")!, harness, snippet, folder);
    }

    [RequiresExecutableFact("python3")]
    public async Task The_documented_python_verifier_accepts_delivered_webhooks_and_refuses_tampering()
    {
        using var folder = new TestDirectory();
        var snippet = folder.File("verify.py");
        await File.WriteAllTextAsync(snippet, DocumentedBlock("python", "def verify_webhook"));
        var harness = folder.File("harness.py");
        await File.WriteAllTextAsync(harness, """
            import importlib.util, json, sys
            spec = importlib.util.spec_from_file_location("verify", sys.argv[1])
            verify = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(verify)
            with open(sys.argv[2], encoding="utf-8") as f:
                cases = json.load(f)
            print(json.dumps([verify.verify_webhook(c["secret"], c["headers"], c["body"].encode("utf-8"), c["now"]) for c in cases]))
            """);

        await AssertVerdictsAsync(RequiresExecutableFactAttribute.Find("python3")!, harness, snippet, folder);
    }

    /// <summary>Runs <c>interpreter harness snippet cases.json</c> and compares the verdicts it prints with the expected ones.</summary>
    private static async Task AssertVerdictsAsync(string interpreter, string harness, string snippet, TestDirectory folder)
    {
        var cases = await CapturedCasesAsync();
        var input = folder.File("cases.json");
        await File.WriteAllTextAsync(input, new JsonArray([.. cases.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["secret"] = c.Secret,
            ["headers"] = new JsonObject(c.Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value))),
            ["body"] = c.Body,
            ["now"] = c.Now,
        })]).ToJsonString());

        var start = new ProcessStartInfo(interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { harness, snippet, input })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90)); // an interpreter starting on a busy machine is slow
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{interpreter} exited {process.ExitCode}: {await error}");

        var verdicts = JsonSerializer.Deserialize<bool[]>(await output)!;
        Assert.Equal(cases.Select(c => (c.Name, c.Expected)), cases.Select(c => c.Name).Zip(verdicts));
    }

    /// <summary>
    /// Two webhooks a real host delivered to a loopback receiver (the second during a secret rotation, so signed with
    /// both secrets), and the variations every verifier must refuse. Captured once for the class.
    /// </summary>
    private static async Task<IReadOnlyList<VerificationCase>> CapturedCasesAsync()
    {
        await CaptureGate.WaitAsync();
        try
        {
            return Captured ??= await CaptureAsync();
        }
        finally
        {
            CaptureGate.Release();
        }
    }

    private static async Task<IReadOnlyList<VerificationCase>> CaptureAsync()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var receiver = await LoopbackReceiver.StartAsync();
        using var created = await rig.Client.PostAsJsonAsync("/v1/subscriptions", new { url = new Uri(receiver.BaseAddress, "hooks").AbsoluteUri });
        var subscription = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var (id, oldSecret) = ((string)subscription["id"]!, (string)subscription["secret"]!);

        // A change whose summary needs UTF-8 beyond ASCII, so the verifiers must hash the body's bytes, not characters.
        await rig.CommitAsync("a@example.com", rig.Created() with { EventId = "evé", EventJson = """{"id":"evé","summary":"Réunion ☕ <équipe>"}""" });
        var plain = (await receiver.WaitForRequestsAsync(1, Generous))[0];
        var newSecret = (string)(await rig.PostAsync($"/v1/subscriptions/{id}/rotate-secret"))["secret"]!;
        await rig.CreateAsync("a@example.com");
        var rotated = (await receiver.WaitForRequestsAsync(2, Generous))[1];
        Assert.Contains(" ", rotated.Headers["webhook-signature"], StringComparison.Ordinal);

        var stranger = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var signature = plain.Headers["webhook-signature"];
        return
        [
            Case("delivered", oldSecret, plain, true),
            Case("rotation, new secret", newSecret, rotated, true),
            Case("rotation, old secret", oldSecret, rotated, true),
            Case("body changed", oldSecret, plain, false) with { Body = plain.Body.Replace("Réunion", "Reunion", StringComparison.Ordinal) },
            Case("an hour late", oldSecret, plain, false) with { Now = Timestamp(plain) + 3600 },
            Case("an hour early", oldSecret, plain, false) with { Now = Timestamp(plain) - 3600 },
            Case("another secret", stranger, plain, false),
            Case("unknown version", oldSecret, plain, false) with { Headers = With(plain, "webhook-signature", "v2" + signature[2..]) },
            Case("no signature", oldSecret, plain, false) with { Headers = With(plain, "webhook-signature", null) },
            Case("another webhook-id", oldSecret, plain, false) with { Headers = With(plain, "webhook-id", "chg_other") },
        ];
    }

    private static VerificationCase Case(string name, string secret, ReceivedRequest request, bool expected) => new(
        name, secret, With(request, null, null), request.Body, Timestamp(request), expected);

    private static long Timestamp(ReceivedRequest request) => long.Parse(request.Headers["webhook-timestamp"], CultureInfo.InvariantCulture);

    /// <summary>The three webhook headers (lower-case names, as Node and Flask give them), one replaced or removed.</summary>
    private static Dictionary<string, string> With(ReceivedRequest request, string? name, string? value)
    {
        var headers = new[] { "webhook-id", "webhook-timestamp", "webhook-signature" }.ToDictionary(h => h, h => request.Headers[h], StringComparer.Ordinal);
        if (name is not null)
        {
            if (value is null)
            {
                headers.Remove(name);
            }
            else
            {
                headers[name] = value;
            }
        }

        return headers;
    }

    /// <summary>The one fenced block of docs/webhooks.md in <paramref name="language"/> that contains <paramref name="marker"/>.</summary>
    private static string DocumentedBlock(string language, string marker)
    {
        var page = Normalise(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "webhooks.md")));
        return Assert.Single(Fence().Matches(page), m => m.Groups["language"].Value == language && m.Groups["code"].Value.Contains(marker, StringComparison.Ordinal))
            .Groups["code"].Value;
    }

    private static string Normalise(string text) => text.ReplaceLineEndings("\n");

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Calhook.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Calhook.slnx not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("^```(?<language>\\w+)\\n(?<code>.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex Fence();

    private sealed record VerificationCase(string Name, string Secret, Dictionary<string, string> Headers, string Body, long Now, bool Expected);
}

/// <summary>A fact that runs only when <paramref name="executable"/> is on the PATH, and otherwise says what to install.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class RequiresExecutableFactAttribute : FactAttribute
{
    public RequiresExecutableFactAttribute(string executable)
    {
        if (Find(executable) is null)
        {
            Skip = $"`{executable}` is not on the PATH; install it (Debian: apt-get install {(executable == "node" ? "nodejs" : executable)}) to run this test.";
        }
    }

    /// <summary>The full path of <paramref name="executable"/> on the PATH, or null.</summary>
    public static string? Find(string executable) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, executable))
            .FirstOrDefault(File.Exists);
}
