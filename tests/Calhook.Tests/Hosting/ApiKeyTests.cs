using System.Net;
using System.Net.Http.Headers;
using Calhook.Hosting;
using Calhook.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Hosting;

public sealed class ApiKeyTests
{
    private static CalhookTestHostOptions WithProtectedEndpoint(Action<CalhookTestHostOptions>? configure = null)
    {
        var options = new CalhookTestHostOptions
        {
            ConfigureApp = app => app.MapGet("/test/protected", () => TypedResults.Text("secret stuff")).RequireCalhookApiKey(),
        };
        configure?.Invoke(options);
        return options;
    }

    [Fact]
    public async Task The_right_key_gets_through()
    {
        await using var host = await CalhookTestHost.StartAsync(WithProtectedEndpoint());

        using var response = await host.Client.GetAsync(new Uri("test/protected", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secret stuff", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer chk_wrong_wrong_wrong_wrong")]
    [InlineData("Bearer " + CalhookTestHost.TestApiKey + "x")]
    [InlineData("Basic " + CalhookTestHost.TestApiKey)]
    [InlineData("Bearer ")]
    public async Task A_missing_or_wrong_key_gets_401_problem_json(string? authorization)
    {
        await using var host = await CalhookTestHost.StartAsync(WithProtectedEndpoint());
        using var client = host.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "test/protected");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"status\":401", body, StringComparison.Ordinal);
        Assert.DoesNotContain("secret stuff", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_scheme_name_is_case_insensitive()
    {
        await using var host = await CalhookTestHost.StartAsync(WithProtectedEndpoint());
        using var client = host.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("bearer", CalhookTestHost.TestApiKey);

        using var response = await client.GetAsync(new Uri("test/protected", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_generated_key_is_stored_privately_reused_after_restart_and_never_logged()
    {
        await using var host = await CalhookTestHost.StartAsync(WithProtectedEndpoint(o => o.Settings["Calhook:ApiKey"] = null));
        var keyFile = Path.Combine(host.DataDirectory, ApiKeyProvider.FileName);
        var key = host.Services.GetRequiredService<ApiKeyProvider>().Key;

        Assert.StartsWith("chk_", key, StringComparison.Ordinal);
        Assert.Equal(4 + 43, key.Length);
        Assert.Equal(key, await File.ReadAllTextAsync(keyFile));
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(key), await File.ReadAllBytesAsync(keyFile)); // no BOM: $(cat api-key) works
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        await host.StopAsync();
        await host.StartAsync();

        Assert.Equal(key, host.Services.GetRequiredService<ApiKeyProvider>().Key);
        using var response = await host.Client.GetAsync(new Uri("test/protected", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var logs = host.Logs.Entries;
        Assert.DoesNotContain(logs, entry => entry.Message.Contains(key, StringComparison.Ordinal));
        var generated = Assert.Single(logs, entry => entry.EventId.Id == 101);
        Assert.Contains(Path.GetFullPath(keyFile), generated.Message, StringComparison.Ordinal);
        Assert.Single(logs, entry => entry.EventId.Id == 102);
    }

    [Fact]
    public async Task An_unusable_key_file_stops_the_start_naming_the_file()
    {
        using var dataDirectory = new TestDirectory();
        await File.WriteAllTextAsync(dataDirectory.File(ApiKeyProvider.FileName), "  \n");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CalhookTestHost.StartAsync(
            WithProtectedEndpoint(o => { o.DataDirectory = dataDirectory.Path; o.Settings["Calhook:ApiKey"] = null; })));

        Assert.Contains(Path.GetFullPath(dataDirectory.File(ApiKeyProvider.FileName)), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configured_key_writes_no_key_file()
    {
        await using var host = await CalhookTestHost.StartAsync();

        Assert.Equal(CalhookTestHost.TestApiKey, host.Services.GetRequiredService<ApiKeyProvider>().Key);
        Assert.False(File.Exists(Path.Combine(host.DataDirectory, ApiKeyProvider.FileName)));
    }
}
