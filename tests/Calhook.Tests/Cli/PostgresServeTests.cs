using Calhook.Tests.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary><c>calhook serve --postgres</c>: the real executable on the test run's PostgreSQL server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresServeTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Serve_on_postgres_migrates_the_database_and_readyz_reports_it()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("serve");
        using var data = new TestDirectory();
        var baseAddress = new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/");
        await using var serve = CalhookProcess.Start(
            "serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data.Path, "--google-url", "http://127.0.0.1:9", "--postgres", connectionString);
        await serve.WaitUntilHealthyAsync(baseAddress, Generous);

        using var http = new HttpClient { BaseAddress = baseAddress };
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready: the postgresql store answers", await ready.Content.ReadAsStringAsync());
        Assert.False(File.Exists(Path.Combine(data.Path, "calhook.db")), "nothing is stored in SQLite");
    }

    [Fact]
    public async Task Serve_with_an_unreachable_database_stops_naming_the_setting()
    {
        using var data = new TestDirectory();
        await using var serve = CalhookProcess.Start(
            "serve", "--urls", $"http://127.0.0.1:{CalhookProcess.FreePort()}", "--data", data.Path, "--google-url", "http://127.0.0.1:9",
            "--postgres", "Host=127.0.0.1;Port=1;Username=calhook;Password=secret-password;Database=calhook;Timeout=2");

        var exit = await serve.WaitForExitAsync(Generous);

        Assert.Equal(2, exit);
        Assert.Contains("calhook: cannot start: Calhook could not open its store: Cannot reach PostgreSQL at 127.0.0.1:1/calhook (Calhook:Postgres:ConnectionString)", serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-password", serve.Output, StringComparison.Ordinal);
    }
}
