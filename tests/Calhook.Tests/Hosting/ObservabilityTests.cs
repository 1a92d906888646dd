using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Calhook.TestKit;

namespace Calhook.Tests.Hosting;

/// <summary>Histograms at /metrics, the ping → sync → commit → delivery trace, and its export over OTLP/HTTP.</summary>
public sealed partial class ObservabilityTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Metrics_and_histograms_move_after_a_change_and_the_trace_runs_from_ping_to_commit()
    {
        const string user = "metrics@example.com";
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Calhook",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var world = await EmulatorWorld.StartAsync();
        var (google, watchId) = await WatchedAsync(world, user);
        using var _ = google;
        var before = await MetricsAsync(world);

        await EmulatorWorld.InsertEventAsync(google, user, "Measured");
        var after = await Polling.EventuallyAsync(() => MetricsAsync(world),
            text => Value(text, "calhook_ping_to_change_lag_seconds_count") >= 1, Generous, "the ping-to-change lag is recorded");

        Assert.Contains("# TYPE calhook_sync_duration_seconds histogram", after, StringComparison.Ordinal);
        Assert.Contains("# TYPE calhook_ping_to_change_lag_seconds histogram", after, StringComparison.Ordinal);
        Assert.Equal(0, Value(before, "calhook_changes_emitted_total{type=\"event.created\"}"));
        Assert.Equal(1, Value(after, "calhook_changes_emitted_total{type=\"event.created\"}"));
        Assert.True(Value(after, "calhook_sync_duration_seconds_count{outcome=\"ok\"}") > Value(before, "calhook_sync_duration_seconds_count{outcome=\"ok\"}"));
        Assert.True(Value(after, "calhook_sync_duration_seconds_sum{outcome=\"ok\"}") > 0);
        Assert.Equal(Value(after, "calhook_ping_to_change_lag_seconds_count"), Value(after, "calhook_ping_to_change_lag_seconds_bucket{le=\"+Inf\"}"));
        Assert.True(Value(after, "calhook_ping_to_change_lag_seconds_bucket{le=\"0.005\"}") <= Value(after, "calhook_ping_to_change_lag_seconds_bucket{le=\"120\"}"));

        // The sync that found the change continues the trace of the ping that announced it, and the commit is inside it.
        var mine = activities.Where(a => a.GetTagItem("calhook.watch_id") as string == watchId).ToList();
        var sync = Assert.Single(mine, a => a.OperationName == "calhook.sync" && a.GetTagItem("calhook.changes") is 1);
        var ping = Assert.Single(mine, a => a.OperationName == "calhook.ping" && a.SpanId == sync.ParentSpanId);
        Assert.Equal(ping.TraceId, sync.TraceId);
        Assert.Contains(activities, a => a.OperationName == "calhook.commit" && a.ParentSpanId == sync.SpanId);
    }

    [Fact]
    public async Task Delivery_latency_and_attempts_move_after_a_delivered_change_and_the_delivery_span_continues_the_commit_trace()
    {
        const string user = "delivery-metrics@example.com";
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Calhook",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var receiver = await LoopbackReceiver.StartAsync();
        await using var world = await EmulatorWorld.StartAsync();
        var (google, watchId) = await WatchedAsync(world, user);
        using var _ = google;
        var subscriptionId = (string)(await world.CreateAsync("/v1/subscriptions", new { url = new Uri(receiver.BaseAddress, "hooks").AbsoluteUri }))["id"]!;
        var before = await MetricsAsync(world);

        await EmulatorWorld.InsertEventAsync(google, user, "Delivered");
        var webhook = Assert.Single(await receiver.WaitForRequestsAsync(1, Generous));
        var after = await Polling.EventuallyAsync(() => MetricsAsync(world),
            text => Value(text, "calhook_delivery_latency_seconds_count") >= 1, Generous, "the delivery latency is recorded");

        Assert.Contains("# TYPE calhook_delivery_latency_seconds histogram", after, StringComparison.Ordinal);
        Assert.Contains("# TYPE calhook_delivery_duration_seconds histogram", after, StringComparison.Ordinal);
        Assert.Equal(0, Value(before, "calhook_delivery_latency_seconds_count"));
        Assert.Equal(0, Value(before, "calhook_deliveries_total{outcome=\"delivered\"}"));
        Assert.Equal(1, Value(after, "calhook_delivery_latency_seconds_count"));
        Assert.Equal(1, Value(after, "calhook_deliveries_total{outcome=\"delivered\"}"));
        Assert.Equal(0, Value(after, "calhook_deliveries_total{outcome=\"retry\"}"));
        Assert.Equal(1, Value(after, "calhook_delivery_duration_seconds_count{outcome=\"delivered\"}"));
        var latency = Value(after, "calhook_delivery_latency_seconds_sum");
        Assert.InRange(latency, double.Epsilon, Generous.TotalSeconds);
        Assert.Equal(1, Value(after, "calhook_delivery_latency_seconds_bucket{le=\"86400\"}"));

        // The attempt's span is a child of the commit that appended the change, in the trace that began with the ping.
        var changeId = webhook.Headers["webhook-id"];
        var deliver = await Polling.EventuallyAsync(() => Task.FromResult(activities.FirstOrDefault(a => a.OperationName == "calhook.deliver"
            && a.GetTagItem("calhook.subscription_id") as string == subscriptionId)), a => a is not null, Generous, "the delivery span ends");
        Assert.Equal(changeId, deliver!.GetTagItem("calhook.change_id"));
        Assert.Equal(200, deliver.GetTagItem("http.response.status_code"));
        Assert.Equal("delivered", deliver.GetTagItem("calhook.outcome"));
        var commit = Assert.Single(activities, a => a.OperationName == "calhook.commit" && a.SpanId == deliver.ParentSpanId);
        var sync = Assert.Single(activities, a => a.OperationName == "calhook.sync" && a.SpanId == commit.ParentSpanId);
        Assert.Equal(watchId, sync.GetTagItem("calhook.watch_id"));
        Assert.Contains(activities, a => a.OperationName == "calhook.ping" && a.SpanId == sync.ParentSpanId);
        Assert.Equal(commit.TraceId, deliver.TraceId);
    }

    [Fact]
    public async Task Traces_are_exported_over_otlp_when_the_standard_endpoint_is_set()
    {
        const string user = "otlp@example.com";
        await using var collector = await LoopbackReceiver.StartAsync();
        await using var world = await EmulatorWorld.StartAsync(options =>
        {
            options.Settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseAddress.ToString().TrimEnd('/');
            options.Settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            options.Settings["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        });
        await world.WatchOwnCalendarAsync(user);

        await Polling.EventuallyAsync(
            // Spans go out in batches as they end: the commit (which ends first) and its sync may travel separately.
            () => Task.FromResult(collector.Requests.Any(r => r.PathAndQuery == "/v1/traces" && r.Body.Contains("calhook.sync", StringComparison.Ordinal))
                && collector.Requests.Any(r => r.PathAndQuery == "/v1/traces" && r.Body.Contains("calhook.commit", StringComparison.Ordinal))),
            Generous, "the baseline's sync and commit spans reach the OTLP receiver");
        Assert.All(collector.Requests.Where(r => r.PathAndQuery == "/v1/traces"),
            r => Assert.Equal("application/x-protobuf", r.Headers.First(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Value));
    }

    /// <summary>Watches <paramref name="user"/>'s calendar and waits for its baseline and channel; returns a Google client as the user and the watch id.</summary>
    private static async Task<(HttpClient Google, string WatchId)> WatchedAsync(EmulatorWorld world, string user)
    {
        var (google, refreshToken) = await world.SignInAsync(user);
        var watchId = (string)(await world.WatchAsync(await world.AddAccountAsync(user, refreshToken), user))["id"]!;
        await Polling.EventuallyAsync(() => world.WatchStateAsync(watchId), w => w["channelId"] is not null && w["lastSyncAt"] is not null,
            Generous, "the baseline is in and the channel open");
        return (google, watchId);
    }

    private static Task<string> MetricsAsync(EmulatorWorld world) => world.Api.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    private static double Value(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}
