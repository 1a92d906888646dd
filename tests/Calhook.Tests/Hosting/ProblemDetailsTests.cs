using System.Net;
using System.Net.Http.Json;
using Calhook.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Calhook.Tests.Hosting;

public sealed class ProblemDetailsTests : IAsyncLifetime
{
    private CalhookTestHost _host = null!;

    public sealed record Greeting(string Name);

    public async Task InitializeAsync() => _host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions
    {
        ConfigureApp = app =>
        {
            app.MapPost("/test/greet", (Greeting greeting) => TypedResults.Text($"hello {greeting.Name}"));
            app.MapGet("/test/boom", string () => throw new InvalidOperationException("connection string Password=swordfish"));
        },
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_well_formed_body_is_served()
    {
        using var response = await _host.Client.PostAsJsonAsync("test/greet", new Greeting("Ada"));

        Assert.Equal("hello Ada", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Malformed_json_gets_400_problem_json_saying_what_is_wrong()
    {
        using var content = new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json");
        using var response = await _host.Client.PostAsync(new Uri("test/greet", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("JSON", body, StringComparison.Ordinal);
        Assert.Contains("Path: $", body, StringComparison.Ordinal);

        // A client's mistake is not the service's error: nothing at error level.
        Assert.DoesNotContain(_host.Logs.Entries, entry => entry.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_wrong_content_type_gets_415_problem_json()
    {
        using var content = new StringContent("name=Ada", System.Text.Encoding.UTF8, "text/plain");
        using var response = await _host.Client.PostAsync(new Uri("test/greet", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_unhandled_exception_gets_500_problem_json_without_internals()
    {
        using var response = await _host.Client.GetAsync(new Uri("test/boom", UriKind.Relative));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("swordfish", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);

        // The operator still learns what happened.
        Assert.Contains(_host.Logs.Entries, entry => entry.Level >= LogLevel.Error && entry.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task An_unknown_path_gets_404_problem_json()
    {
        using var response = await _host.Client.GetAsync(new Uri("no/such/thing", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
