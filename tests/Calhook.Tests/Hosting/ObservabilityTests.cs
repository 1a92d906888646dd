using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Calhook.Tests.Channels;
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
        await using var emulator = await EmulatorClient.StartAsync();
        await using var host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { GoogleBaseUrl = emulator.BaseAddress });
        var tokensOfaccess = await emulator.Control.CreateTokensAsync(user);
        var (access, refresh) = (tokensOfaccess.AccessToken, tokensOfaccess.RefreshToken);
        var account = await (await host.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email = user, refreshToken = refresh })).Content.ReadFromJsonAsync<JsonObject>();
        var watch = await (await host.Client.PostAsJsonAsync("/v1/watches", new { accountId = (string?)account!["id"], calendarId = user })).Content.ReadFromJsonAsync<JsonObject>();
        var watchId = (string)watch!["id"]!;
        await Polling.EventuallyAsync(async () => (await host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{watchId}"))!["channelId"] is not null
            && (await host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{watchId}"))!["lastSyncAt"] is not null, Generous, "the baseline is in and the channel open");
        var before = await host.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        using var google = new HttpClient { BaseAddress = new Uri(emulator.BaseAddress, "calendar/v3/calendars/primary/") };
        google.DefaultRequestHeaders.Authorization = new("Bearer", access);
        (await google.PostAsJsonAsync("events", new { summary = "Measured", start = new { dateTime = "2026-12-05T10:00:00Z" }, end = new { dateTime = "2026-12-05T11:00:00Z" } }))
            .EnsureSuccessStatusCode();
        var after = await Polling.EventuallyAsync(() => host.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
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
        await using var emulator = await EmulatorClient.StartAsync();
        await using var host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { GoogleBaseUrl = emulator.BaseAddress });
        var tokens = await emulator.Control.CreateTokensAsync(user);
        var account = await (await host.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email = user, refreshToken = tokens.RefreshToken })).Content.ReadFromJsonAsync<JsonObject>();
        var watch = await (await host.Client.PostAsJsonAsync("/v1/watches", new { accountId = (string?)account!["id"], calendarId = user })).Content.ReadFromJsonAsync<JsonObject>();
        var watchId = (string)watch!["id"]!;
        await Polling.EventuallyAsync(async () => (await host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{watchId}"))!["channelId"] is not null
            && (await host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{watchId}"))!["lastSyncAt"] is not null, Generous, "the baseline is in and the channel open");
        var subscription = await (await host.Client.PostAsJsonAsync("/v1/subscriptions", new { url = new Uri(receiver.BaseAddress, "hooks").AbsoluteUri }))
            .Content.ReadFromJsonAsync<JsonObject>();
        var subscriptionId = (string)subscription!["id"]!;
        var before = await host.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        using var google = new HttpClient { BaseAddress = new Uri(emulator.BaseAddress, "calendar/v3/calendars/primary/") };
        google.DefaultRequestHeaders.Authorization = new("Bearer", tokens.AccessToken);
        (await google.PostAsJsonAsync("events", new { summary = "Delivered", start = new { dateTime = "2026-12-05T10:00:00Z" }, end = new { dateTime = "2026-12-05T11:00:00Z" } }))
            .EnsureSuccessStatusCode();
        var webhook = Assert.Single(await receiver.WaitForRequestsAsync(1, Generous));
        var after = await Polling.EventuallyAsync(() => host.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
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
        await using var emulator = await EmulatorClient.StartAsync();
        var options = new CalhookTestHostOptions { GoogleBaseUrl = emulator.BaseAddress };
        options.Settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseAddress.ToString().TrimEnd('/');
        options.Settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        options.Settings["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        await using var host = await CalhookTestHost.StartAsync(options);
        var refresh = (await emulator.Control.CreateTokensAsync(user)).RefreshToken;
        var account = await (await host.Client.PostAsJsonAsync("/v1/accounts", new { type = "oauth", email = user, refreshToken = refresh })).Content.ReadFromJsonAsync<JsonObject>();
        (await host.Client.PostAsJsonAsync("/v1/watches", new { accountId = (string?)account!["id"], calendarId = user })).EnsureSuccessStatusCode();

        await Polling.EventuallyAsync(
            // Spans go out in batches as they end: the commit (which ends first) and its sync may travel separately.
            () => Task.FromResult(collector.Requests.Any(r => r.PathAndQuery == "/v1/traces" && r.Body.Contains("calhook.sync", StringComparison.Ordinal))
                && collector.Requests.Any(r => r.PathAndQuery == "/v1/traces" && r.Body.Contains("calhook.commit", StringComparison.Ordinal))),
            Generous, "the baseline's sync and commit spans reach the OTLP receiver");
        Assert.All(collector.Requests.Where(r => r.PathAndQuery == "/v1/traces"),
            r => Assert.Equal("application/x-protobuf", r.Headers.First(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Value));
    }

    private static double Value(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}
