using System.Globalization;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.Receiving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Bench;

/// <summary>
/// <c>--only middleware</c>, an experiment rather than a target: where Calhook's receiver loses throughput against the
/// bare endpoint. The same closed-loop load as <c>receiver-throughput</c> against endpoints that differ by one piece
/// each, in rounds (each round runs every endpoint, starting with a different one), and each endpoint's worst ratio
/// against the bare endpoint of the same round:
/// the bare endpoint on the full builder (host filtering), Calhook's pipeline with a route that answers 200 (Calhook's
/// middleware and routing table, no receiver), the receiver with <c>sync</c> pings (verification, counting, no sync),
/// the same without the receiver's metrics, without host filtering, without Calhook's error-handling middleware, and
/// the receiver with <c>exists</c> pings (each asks for a sync), which is what <c>receiver-throughput</c> measures.
/// </summary>
internal static class ReceiverPartsBench
{
    private const string OkPath = "/bench/ok";

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick)
    {
        var rounds = quick ? 3 : 5;
        var round = TimeSpan.FromSeconds(quick ? 1 : 3);
        var none = new Dictionary<string, string>();
        await using var bare = await ReceiverBench.StartBareAsync(null);
        await using var bareFull = await ReceiverBench.StartBareAsync(null, fullBuilder: true);

        // An IMeterFactory nobody listens to: the receiver still counts, but no listener (and no /metrics) sees it.
        using var silentServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var silentMeters = silentServices.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

        var hosts = new List<BenchHost>();
        try
        {
            var standard = await StartAsync(emulator, "parts-standard@example.com", null, hosts);
            var noMetrics = await StartAsync(emulator, "parts-no-metrics@example.com", s => s.AddSingleton(new ReceiverMetrics(silentMeters)), hosts);
            var noHostFiltering = await StartAsync(emulator, "parts-no-host-filtering@example.com", s => RemoveStartupFilter(s, "HostFilteringStartupFilter"), hosts);
            var noErrorPages = await StartAsync(emulator, "parts-no-error-pages@example.com", s => RemoveStartupFilter(s, "ErrorHandlingStartupFilter"), hosts);

            var baseline = (Name: "bare", Uri: new Uri(bare.Urls.First() + ReceiverEndpoint.Path), Headers: none);
            var variants = new (string Name, Uri Uri, Dictionary<string, string> Headers)[]
            {
                ("bare-full-builder", new Uri(bareFull.Urls.First() + ReceiverEndpoint.Path), none),
                ("calhook-pipeline-ok-route", new Uri(standard.Host.BaseAddress, OkPath), none),
                ("calhook-receiver-sync-pings", standard.Target, standard.Sync),
                ("calhook-receiver-sync-pings-no-metrics", noMetrics.Target, noMetrics.Sync),
                ("calhook-receiver-sync-pings-no-host-filtering", noHostFiltering.Target, noHostFiltering.Sync),
                ("calhook-receiver-sync-pings-no-error-pages", noErrorPages.Target, noErrorPages.Sync),
                ("calhook-receiver-exists-pings", standard.Target, standard.Exists),
            };

            // Warm-up, unmeasured.
            foreach (var (_, uri, headers) in variants.Prepend(baseline))
            {
                await ReceiverBench.LoadAsync(uri, headers, TimeSpan.FromSeconds(1));
            }

            var ratios = variants.ToDictionary(v => v.Name, _ => new List<double>());
            for (var r = 0; r < rounds; r++)
            {
                var bareRate = (await ReceiverBench.LoadAsync(baseline.Uri, baseline.Headers, round)).Rate;
                for (var i = 0; i < variants.Length; i++)
                {
                    var (name, uri, headers) = variants[(i + r) % variants.Length];
                    ratios[name].Add((await ReceiverBench.LoadAsync(uri, headers, round)).Rate / bareRate);
                }
            }

            return variants.Select(v =>
            {
                var all = ratios[v.Name];
                var text = string.Join(", ", all.Select(x => x.ToString("0.00", CultureInfo.InvariantCulture)));
                return new Measure($"receiver-part-{v.Name}", all.Min(), $"worst ratio to bare of {rounds} rounds of {round.TotalSeconds:0} s ({text})",
                    null, all.Min(), "informational", true);
            }).ToList();
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static async Task<(BenchHost Host, Uri Target, Dictionary<string, string> Sync, Dictionary<string, string> Exists)> StartAsync(
        Uri emulator, string user, Action<IServiceCollection>? configure, List<BenchHost> hosts)
    {
        var host = await BenchHost.StartAsync(emulator, configure, configureApp: app => app.MapPost(OkPath, () => Microsoft.AspNetCore.Http.Results.Ok()));
        hosts.Add(host);
        await host.WatchAsync(emulator, user, TimeSpan.FromSeconds(60));
        using var control = new EmulatorControlClient(emulator);
        var channel = (await control.GetChannelsAsync()).First(c => c.User == user);
        return (host, new Uri(host.BaseAddress, ReceiverEndpoint.Path), ReceiverBench.PingHeaders(channel, "sync"), ReceiverBench.PingHeaders(channel, "exists"));
    }

    /// <summary>Removes the startup filter whose type has this name (the framework's and Calhook's are not public).</summary>
    private static void RemoveStartupFilter(IServiceCollection services, string typeName)
    {
        var removed = services.Where(d => d.ServiceType == typeof(IStartupFilter) && d.ImplementationType?.Name == typeName).ToList();
        if (removed.Count == 0)
        {
            throw new InvalidOperationException($"No startup filter named {typeName}: the experiment no longer removes what it says.");
        }

        foreach (var descriptor in removed)
        {
            services.Remove(descriptor);
        }
    }
}
