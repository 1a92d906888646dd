using System.Globalization;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Bench;

/// <summary>
/// <c>list-calls-per-100-pings</c>: one mutation, then a burst of 100 valid pings for the same calendar; counts
/// the events.list calls Calhook makes until the change is in the feed and the scheduler is idle. A per-ping sync
/// would make 100; the target is at most 2.
/// </summary>
internal static class ListCallsBench
{
    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator)
    {
        var counter = new ListCallCounter();
        await using var calhook = await BenchHost.StartAsync(emulator, services =>
            services.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(() => new CountingHandler(counter))));
        const string user = "list-calls-bench@example.com";
        await calhook.WatchAsync(emulator, user, TimeSpan.FromSeconds(30));
        using var control = new EmulatorControlClient(emulator);
        var channel = (await control.GetChannelsAsync()).First(c => c.User == user);
        using var calendar = await Emulator.CalendarAsync(emulator, user);

        // Start from quiet: the channel's own `sync` ping may still be asking for a follow-up of the baseline.
        await QuietAsync(counter);
        var before = counter.Count;
        using (var created = await calendar.PostAsync("events", System.Net.Http.Json.JsonContent.Create(Emulator.Event(1))))
        {
            created.EnsureSuccessStatusCode();
        }

        using var http = new HttpClient();
        var pings = Enumerable.Range(0, 100).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(calhook.BaseAddress, Calhook.Receiving.ReceiverEndpoint.Path));
            request.Headers.TryAddWithoutValidation("X-Goog-Channel-ID", channel.Id);
            request.Headers.TryAddWithoutValidation("X-Goog-Channel-Token", channel.Token!);
            request.Headers.TryAddWithoutValidation("X-Goog-Resource-ID", channel.ResourceId);
            request.Headers.TryAddWithoutValidation("X-Goog-Resource-State", "exists");
            request.Headers.TryAddWithoutValidation("X-Goog-Message-Number", (1000 + i).ToString(CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
        });
        await Task.WhenAll(pings);

        // Wait for the change, then for quiet: no list call for a whole second.
        var feed = JsonNode.Parse(await calhook.Client.GetStringAsync(new Uri("/v1/changes?after=0&wait=30", UriKind.Relative)))!;
        if (feed["changes"]!.AsArray().Count == 0)
        {
            throw new InvalidOperationException("The mutation never reached the feed.");
        }

        await QuietAsync(counter);

        var calls = counter.Count - before;
        return [new Measure("list-calls-per-100-pings", calls, "calls", 100, calls / 100.0, "<= 2", calls <= 2)];
    }

    /// <summary>Returns once a whole second passes without a list call.</summary>
    private static async Task QuietAsync(ListCallCounter counter)
    {
        int seen;
        do
        {
            seen = counter.Count;
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        }
        while (counter.Count != seen);
    }

    private sealed class ListCallCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Add() => Interlocked.Increment(ref _count);
    }

    private sealed class CountingHandler(ListCallCounter counter) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.EndsWith("/events", StringComparison.Ordinal))
            {
                counter.Add();
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
