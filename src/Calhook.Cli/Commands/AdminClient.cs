using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Calhook.Cli.Commands;

/// <summary>The options every admin command shares, and the HTTP client they build.</summary>
internal sealed class AdminOptions
{
    /// <summary>
    /// A command that lists the items of <paramref name="path"/>: the answer as it is with <c>--json</c>, otherwise
    /// <paramref name="empty"/> when there are none, else one row of <paramref name="table"/> per item.
    /// </summary>
    public static Command ListCommand(string name, string description, string path, string empty, Table table, Action<Table, JsonNode?, DateTimeOffset> row)
    {
        var admin = new AdminOptions();
        var command = new Command(name, description);
        admin.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = admin.Connect(parse);
            var list = await client.SendAsync(HttpMethod.Get, path, null, cancellationToken);
            if (list is null)
            {
                return client.FailureExitCode;
            }

            if (client.Json)
            {
                Console.WriteLine(AdminClient.Pretty(list));
                return ExitCodes.Ok;
            }

            var items = list["items"]?.AsArray() ?? [];
            if (items.Count == 0)
            {
                Console.WriteLine(empty);
                return ExitCodes.Ok;
            }

            var now = TimeProvider.System.GetUtcNow();
            foreach (var item in items)
            {
                row(table, item, now);
            }

            Console.WriteLine(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    public Option<string> Server { get; } = new("--server")
    {
        Description = "The Calhook server (default: $CALHOOK_SERVER, else http://127.0.0.1:5080).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CALHOOK_SERVER") ?? "http://127.0.0.1:5080",
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "The admin API key (default: $CALHOOK_API_KEY, else ./calhook-data/api-key).",
    };

    public Option<bool> Json { get; } = new("--json") { Description = "Print JSON, for scripts." };

    public void AddTo(Command command)
    {
        command.Options.Add(Server);
        command.Options.Add(ApiKey);
        command.Options.Add(Json);
    }

    public AdminClient Connect(ParseResult parse)
    {
        var key = parse.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("CALHOOK_API_KEY");
        if (string.IsNullOrWhiteSpace(key) && File.Exists(Path.Combine("calhook-data", "api-key")))
        {
            key = File.ReadAllText(Path.Combine("calhook-data", "api-key")).Trim();
        }

        var server = parse.GetValue(Server)!;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            // Checked here rather than by a validator so that a bad CALHOOK_SERVER is caught as well as a bad --server.
            return AdminClient.Refused($"calhook: the server '{server}' is not an absolute http(s) URL. Pass --server http://HOST:PORT "
                + "(or set CALHOOK_SERVER), such as http://127.0.0.1:5080, the address `calhook serve` prints.");
        }

        return new AdminClient(uri, key, parse.GetValue(Json));
    }
}

/// <summary>A thin client of Calhook's admin API that prints problems as one readable line.</summary>
internal sealed class AdminClient : IDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly HttpClient _http;

    private readonly string? _refusal;

    public AdminClient(Uri server, string? apiKey, bool json)
    {
        _http = new HttpClient { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrWhiteSpace(apiKey))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        Json = json;
    }

    public bool Json { get; }

    /// <summary>A client that sends nothing: every request prints <paramref name="refusal"/> and fails with <see cref="ExitCodes.Usage"/>.</summary>
    public static AdminClient Refused(string refusal) => new(refusal);

    private AdminClient(string refusal)
    {
        _http = new HttpClient();
        _refusal = refusal;
    }

    public HttpClient Http => _http;

    /// <summary>The exit code the last failed request calls for (<see cref="ExitCodes"/>); 0 while none failed.</summary>
    public int FailureExitCode { get; private set; }

    /// <summary>The HTTP status of the last failed request, when the server answered.</summary>
    public int? FailureStatus { get; private set; }

    /// <summary>Sends a request; returns the JSON body, or null after printing the problem to stderr.</summary>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        if (_refusal is not null)
        {
            FailureExitCode = ExitCodes.Usage;
            await Console.Error.WriteLineAsync(_refusal);
            return null;
        }

        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException error)
        {
            FailureExitCode = ExitCodes.Unreachable;
            await Console.Error.WriteLineAsync(
                $"calhook: cannot reach {_http.BaseAddress} ({error.Message}). Is `calhook serve` running there? Pass --server URL or set CALHOOK_SERVER.");
            return null;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var problem = TryParse(text);
                var detail = (string?)problem?["detail"] ?? (string?)problem?["title"] ?? text;
                FailureExitCode = ExitCodes.Failed;
                FailureStatus = (int)response.StatusCode;
                await Console.Error.WriteLineAsync($"calhook: {method} {path} answered {(int)response.StatusCode}: {detail}{Hint(response.StatusCode, path)}");
                return null;
            }

            return TryParse(text) ?? new JsonObject();
        }
    }

    public static string Pretty(JsonNode? node) => node?.ToJsonString(Indented) ?? "null";

    /// <summary>What to do next, after the server's own words.</summary>
    private static string Hint(System.Net.HttpStatusCode status, string path) => status switch
    {
        System.Net.HttpStatusCode.Unauthorized =>
            " Pass the API key with --api-key or CALHOOK_API_KEY (`calhook serve` prints it and stores it in its data directory's api-key file).",
        System.Net.HttpStatusCode.NotFound when path.StartsWith("/v1/watches/", StringComparison.Ordinal) =>
            " Check the id: `calhook watch list` shows the watches.",
        System.Net.HttpStatusCode.NotFound when path.StartsWith("/v1/accounts/", StringComparison.Ordinal) =>
            " Check the id: `calhook accounts list` shows the accounts.",
        System.Net.HttpStatusCode.NotFound when path.StartsWith("/v1/subscriptions/", StringComparison.Ordinal) =>
            " Check the id: `calhook subscriptions list` shows the subscriptions.",
        System.Net.HttpStatusCode.NotFound =>
            $" This server does not serve {path}: is --server (or CALHOOK_SERVER) a Calhook server of this version?",
        System.Net.HttpStatusCode.BadRequest when path == "/v1/watches" =>
            " `calhook accounts list` shows the accounts' ids; `calhook connect` connects another.",
        _ => "",
    };

    public void Dispose() => _http.Dispose();

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The exit codes of the admin commands, for scripts.</summary>
internal static class ExitCodes
{
    /// <summary>Done; for <c>status</c>: the server is ready and no watch needs attention.</summary>
    public const int Ok = 0;

    /// <summary>The server answered with an error (a wrong key, an unknown id, a refused request).</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong (System.CommandLine's parse errors use it too).</summary>
    public const int Usage = 2;

    /// <summary>The server could not be reached.</summary>
    public const int Unreachable = 3;

    /// <summary><c>status</c> only: the server answers, but a watch is failing or needs re-authorisation, or it is not ready.</summary>
    public const int NeedsAttention = 4;
}
