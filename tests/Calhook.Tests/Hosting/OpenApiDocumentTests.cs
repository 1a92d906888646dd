using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.TestKit;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Hosting;

/// <summary>
/// <c>docs/openapi.json</c> is the document the running service generates from its endpoints, and it names every
/// mapped route. After changing an endpoint, regenerate it (see docs/contributing.md):
/// <c>CALHOOK_WRITE_OPENAPI=1 dotnet test tests/Calhook.Tests --filter FullyQualifiedName~OpenApiDocumentTests</c>.
/// </summary>
public sealed class OpenApiDocumentTests
{
    private const string Regenerate =
        "Regenerate it with: CALHOOK_WRITE_OPENAPI=1 dotnet test tests/Calhook.Tests --filter FullyQualifiedName~OpenApiDocumentTests";

    [Fact]
    public async Task The_committed_document_is_the_one_the_service_serves_and_names_every_route()
    {
        await using var host = await CalhookTestHost.StartAsync();
        using var anonymous = host.CreateAnonymousClient();
        var served = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        var committed = Path.Combine(RepositoryRoot(), "docs", "openapi.json");
        if (Environment.GetEnvironmentVariable("CALHOOK_WRITE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(committed, text);
        }

        var paths = served["paths"]!.AsObject();
        var missing = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null && e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(m => (Method: m.ToLowerInvariant(), Path: "/" + e.RoutePattern.RawText!.Trim('/'))))
            .Where(r => paths[r.Path]?[r.Method] is null)
            .Select(r => $"{r.Method.ToUpperInvariant()} {r.Path}")
            .ToList();
        Assert.True(missing.Count == 0, $"Routes missing from the OpenAPI document: {string.Join(", ", missing)}.");
        Assert.True(File.Exists(committed), $"docs/openapi.json is missing. {Regenerate}");
        Assert.True(JsonNode.DeepEquals(served, JsonNode.Parse(await File.ReadAllTextAsync(committed))),
            $"docs/openapi.json is stale: the service now serves another document. {Regenerate}");
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Calhook.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Calhook.slnx not found above " + AppContext.BaseDirectory);
    }
}
