using System.Diagnostics.Metrics;
using System.Net;
using Calhook.Changes;
using Calhook.Hosting;
using Calhook.Storage.Sqlite;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Hosting;

public sealed class HealthApiTests
{
    [Fact]
    public async Task Liveness_and_readiness_answer_200_while_the_store_answers()
    {
        await using var host = await CalhookTestHost.StartAsync();
        using var client = host.CreateAnonymousClient();

        using var live = await client.GetAsync(new Uri("healthz", UriKind.Relative));
        using var ready = await client.GetAsync(new Uri("readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Readiness_answers_503_when_the_store_is_gone_and_liveness_stays_200()
    {
        await using var host = await CalhookTestHost.StartAsync();
        using var client = host.CreateAnonymousClient();
        var moved = host.DataDirectory + "-moved";
        try
        {
            // The data directory disappears and a file takes its name: no connection can open the database again.
            Directory.Move(host.DataDirectory, moved);
            await File.WriteAllTextAsync(host.DataDirectory, "");
            host.Services.GetRequiredService<SqliteStore>().Dispose();

            using var ready = await client.GetAsync(new Uri("readyz", UriKind.Relative));
            using var live = await client.GetAsync(new Uri("healthz", UriKind.Relative));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("application/problem+json", ready.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            File.Delete(host.DataDirectory);
            Directory.Move(moved, host.DataDirectory);
        }
    }

    [Fact]
    public async Task Metrics_are_prometheus_text_with_the_documented_counters()
    {
        await using var host = await CalhookTestHost.StartAsync();
        using var client = host.CreateAnonymousClient();
        var metrics = host.Services.GetRequiredService<CalhookMetrics>();

        var before = await client.GetStringAsync(new Uri("metrics", UriKind.Relative));
        metrics.ChangesEmitted(ChangeTypes.Updated, 3);
        metrics.ChangesEmitted(ChangeTypes.Updated);
        metrics.SyncCompleted("ok");
        metrics.GoogleRequest(503);
        metrics.GoogleRequest(null);
        using var response = await client.GetAsync(new Uri("metrics", UriKind.Relative));
        var after = await response.Content.ReadAsStringAsync();

        Assert.Contains("calhook_changes_emitted_total{type=\"event.updated\"} 0\n", before, StringComparison.Ordinal);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE calhook_changes_emitted_total counter\n", after, StringComparison.Ordinal);
        Assert.Contains("calhook_changes_emitted_total{type=\"event.updated\"} 4\n", after, StringComparison.Ordinal);
        Assert.Contains("calhook_changes_emitted_total{type=\"event.created\"} 0\n", after, StringComparison.Ordinal);
        Assert.Contains("calhook_syncs_total{outcome=\"ok\"} 1\n", after, StringComparison.Ordinal);
        Assert.Contains("calhook_google_requests_total{status_class=\"5xx\"} 1\n", after, StringComparison.Ordinal);
        Assert.Contains("calhook_google_requests_total{status_class=\"error\"} 1\n", after, StringComparison.Ordinal);
        Assert.All(after.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')),
            line => Assert.StartsWith("calhook_", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_include_other_calhook_meters_of_the_host_and_nothing_else()
    {
        await using var host = await CalhookTestHost.StartAsync();
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        factory.Create("Calhook.Receiving").CreateCounter<long>("calhook_notifications_total").Add(2, new KeyValuePair<string, object?>("outcome", "forged"));
        factory.Create("Calhook.Delivery").CreateCounter<double>("calhook.deliveries").Add(1.5);
        factory.Create("Elsewhere").CreateCounter<long>("elsewhere.requests").Add(1);
        using var foreign = new Meter("Calhook.Foreign");
        foreign.CreateCounter<long>("calhook.foreign").Add(1);

        var text = await host.Client.GetStringAsync(new Uri("metrics", UriKind.Relative));

        Assert.Contains("calhook_notifications_total{outcome=\"forged\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("calhook_deliveries_total 1.5\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("elsewhere", text, StringComparison.Ordinal);
        Assert.DoesNotContain("calhook_foreign", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_hosts_in_one_process_count_separately()
    {
        await using var first = await CalhookTestHost.StartAsync();
        await using var second = await CalhookTestHost.StartAsync();

        first.Services.GetRequiredService<CalhookMetrics>().ChangesEmitted(ChangeTypes.Deleted, 5);
        var text = await second.Client.GetStringAsync(new Uri("metrics", UriKind.Relative));

        Assert.Contains("calhook_changes_emitted_total{type=\"event.deleted\"} 0\n", text, StringComparison.Ordinal);
    }
}
