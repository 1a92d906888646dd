using System.Text.Json.Nodes;
using Calhook.Google;
using Calhook.TestKit;
using Calhook.Tests.Cli;
using Calhook.Tests.Dashboard;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Sync;

/// <summary>
/// A baseline of a calendar that takes several pages shows how far it has got: in the watch state, in
/// <c>calhook status</c> (table and <c>--json</c>) and on the dashboard, and no longer once it is committed.
/// </summary>
public sealed class BaselineProgressTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_baseline_held_between_pages_shows_the_events_read_so_far_in_the_api_the_cli_and_the_dashboard()
    {
        var gate = new PageGate();
        await using var world = await EmulatorWorld.StartAsync(options => options.ConfigureServices = services =>
        {
            // Two events a page: five events are three pages, and the gate holds every page after the first.
            services.Configure<GoogleClientOptions>(o => o.EventsPageSize = 2);
            services.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(() => new PageGateHandler(gate)));
        });
        var host = world.Calhook;
        const string user = "progress@example.com";
        var (google, refreshToken) = await world.SignInAsync(user);
        using (google)
        {
            for (var i = 0; i < 5; i++)
            {
                await EmulatorWorld.InsertEventAsync(google, user, $"Event {i}");
            }
        }

        var watchId = (string)(await world.WatchAsync(await world.AddAccountAsync(user, refreshToken), user))["id"]!;

        // The second page is asked for (and held) while the first is detected and staged: then progress says 2.
        await gate.Held.WaitAsync(Generous);
        var state = await Polling.EventuallyAsync(
            () => world.WatchStateAsync(watchId),
            s => s["progress"] is not null, Generous, "the watch shows the baseline's progress");
        Assert.Equal("baseline", (string?)state["progress"]!["phase"]);
        Assert.Equal(2, (int)state["progress"]!["eventsFetched"]!);
        Assert.Null(state["lastSyncAt"]);

        var (exit, table) = await RunAsync(host, "status");
        Assert.Equal(0, exit);
        Assert.Matches($@"{user}\s+\w+ \(baseline: 2 events\)", table);
        var (jsonExit, json) = await RunAsync(host, "status", "--json");
        Assert.Equal(0, jsonExit);
        var listed = JsonNode.Parse(json)!["watches"]!.AsArray().Single(w => (string?)w!["id"] == watchId)!;
        Assert.Equal("baseline", (string?)listed["progress"]!["phase"]);
        Assert.Equal(2, (int)listed["progress"]!["eventsFetched"]!);

        using var browser = new BrowserSession(host.BaseAddress);
        await browser.LogInAsync();
        var page = await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains($"<tr data-watch-id=\"{watchId}\">", page, StringComparison.Ordinal);
        Assert.Contains("<span class=\"progress\">baseline: 2 events fetched</span>", page, StringComparison.Ordinal);

        // Let the rest through: the baseline commits all five and the progress is gone everywhere.
        gate.Open();
        var done = await Polling.EventuallyAsync(
            () => world.WatchStateAsync(watchId),
            s => s["lastSyncAt"] is not null, Generous, "the baseline is committed");
        Assert.Null(done["progress"]);
        var (_, after) = await RunAsync(host, "status", "--json");
        Assert.Null(JsonNode.Parse(after)!["watches"]!.AsArray().Single(w => (string?)w!["id"] == watchId)!["progress"]);
        Assert.DoesNotContain("class=\"progress\"", await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative)), StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output)> RunAsync(CalhookTestHost host, params string[] arguments)
    {
        await using var run = CalhookProcess.Start([.. arguments, "--server", host.BaseAddress.ToString(), "--api-key", CalhookTestHost.TestApiKey]);
        var exit = await run.WaitForExitAsync(Generous);
        return (exit, run.Output);
    }

    /// <summary>Holds every events.list request for a page after the first until opened.</summary>
    private sealed class PageGate
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Held => _held.Task;

        public void Open() => _open.TrySetResult();

        public async Task PassAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            if (request.Method == HttpMethod.Get && uri.AbsolutePath.EndsWith("/events", StringComparison.Ordinal)
                && uri.Query.Contains("pageToken=", StringComparison.Ordinal))
            {
                _held.TrySetResult();
                await _open.Task.WaitAsync(cancellationToken);
            }
        }
    }

    private sealed class PageGateHandler(PageGate gate) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await gate.PassAsync(request, cancellationToken);
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
