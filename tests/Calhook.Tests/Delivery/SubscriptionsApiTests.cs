using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.TestKit;

namespace Calhook.Tests.Delivery;

public sealed class SubscriptionsApiTests
{
    [Theory]
    [InlineData("""{}""", "url")]
    [InlineData("""{"url":"ftp://example.com/x"}""", "url")]
    [InlineData("""{"url":"not a url"}""", "url")]
    [InlineData("""{"url":"https://example.com/x","types":["event.moved"]}""", "types")]
    [InlineData("""{"url":"https://example.com/x","calendarIds":[""]}""", "calendarIds")]
    [InlineData("""{"url":"https://example.com/x","ignorePaths":["a..b"]}""", "ignorePaths")]
    [InlineData("""{"url":"https://example.com/x","ignorePaths":["*"]}""", "ignorePaths")]
    public async Task Invalid_subscriptions_are_refused_naming_the_field(string body, string field)
    {
        await using var rig = await DeliveryRig.StartAsync();

        using var response = await rig.Client.PostAsync(new Uri("/v1/subscriptions", UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonNode>())!;
        Assert.Equal(field, (string?)problem["field"]);
        Assert.Contains(field, (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Empty((await rig.GetAsync("/v1/subscriptions"))["items"]!.AsArray());
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/hooks")]
    [InlineData("http://localhost:9/hooks")]
    [InlineData("http://[::1]:9/hooks")]
    public async Task With_private_networks_off_a_plainly_private_url_is_refused_at_creation(string url)
    {
        await using var rig = await DeliveryRig.StartAsync(o => o.Settings["Calhook:Delivery:AllowPrivateNetworks"] = "false");

        using var response = await rig.Client.PostAsJsonAsync("/v1/subscriptions", new JsonObject { ["url"] = url });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonNode>())!;
        Assert.Equal("url", (string?)problem["field"]);
        Assert.Contains("AllowPrivateNetworks", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_private_networks_off_a_name_resolving_to_loopback_is_refused_when_connecting()
    {
        // The URL was accepted while private networks were allowed; the service then runs with them refused: the
        // guard at connect time refuses the resolved loopback address, and the attempt log says why.
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        await using var rig = await DeliveryRig.StartAsync();
        var id = await rig.SubscribeAsync(subscriber, new JsonObject());
        await rig.Host.StopAsync();
        await using var strict = await DeliveryRig.StartAsync(o =>
        {
            o.DataDirectory = rig.Host.DataDirectory;
            o.Settings["Calhook:Delivery:AllowPrivateNetworks"] = "false";
        });

        await strict.CreateAsync("a@example.com");

        var attempt = await Polling.EventuallyAsync(
            async () => (await strict.GetAsync($"/v1/subscriptions/{id}/deliveries"))["items"]!.AsArray(),
            items => items.Count > 0, TimeSpan.FromSeconds(20), "an attempt is recorded");
        Assert.Null(attempt[0]!["statusCode"]);
        Assert.Contains("AllowPrivateNetworks", (string?)attempt[0]!["error"], StringComparison.Ordinal);
        Assert.Empty(subscriber.Received);
    }

    [Fact]
    public async Task A_subscription_shows_its_state_without_its_secret_and_can_be_deleted()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        using var created = await rig.Client.PostAsJsonAsync("/v1/subscriptions", new JsonObject
        {
            ["url"] = subscriber.Url.ToString(), ["types"] = new JsonArray("event.created"), ["calendarIds"] = new JsonArray("a@example.com"),
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = (await created.Content.ReadFromJsonAsync<JsonNode>())!;
        var id = (string)body["id"]!;
        Assert.StartsWith("whsec_", (string)body["secret"]!, StringComparison.Ordinal);
        Assert.Equal($"/v1/subscriptions/{id}", created.Headers.Location?.ToString());

        var state = await rig.GetAsync($"/v1/subscriptions/{id}");
        Assert.Null(state["secret"]);
        Assert.Equal("active", (string?)state["status"]);
        Assert.Equal(subscriber.Url.ToString(), (string?)state["url"]);
        Assert.Equal("event.created", (string?)state["types"]![0]);
        Assert.Equal(0, (long)state["backlog"]!);
        Assert.Single((await rig.GetAsync("/v1/subscriptions"))["items"]!.AsArray());
        Assert.DoesNotContain((string)body["secret"]!, await rig.Client.GetStringAsync(new Uri("/v1/subscriptions", UriKind.Relative)), StringComparison.Ordinal);

        using var deleted = await rig.Client.DeleteAsync(new Uri($"/v1/subscriptions/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var missing = await rig.Client.GetAsync(new Uri($"/v1/subscriptions/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_secret_is_encrypted_at_rest_and_never_logged()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        await rig.SubscribeAsync(subscriber);
        var secret = Assert.Single(subscriber.TrustedSecrets);
        await rig.CreateAsync("a@example.com");
        await DeliveryRig.AcceptedAsync(subscriber, 1, "delivered");
        await rig.Host.StopAsync();

        var bytes = await File.ReadAllBytesAsync(Path.Combine(rig.Host.DataDirectory, "calhook.db"));
        var wal = Path.Combine(rig.Host.DataDirectory, "calhook.db-wal");
        var all = System.Text.Encoding.ASCII.GetString(bytes) + (File.Exists(wal) ? System.Text.Encoding.ASCII.GetString(await File.ReadAllBytesAsync(wal)) : "");
        Assert.DoesNotContain(secret["whsec_".Length..], all, StringComparison.Ordinal);
        Assert.DoesNotContain(rig.Host.Logs.Entries, e => e.Message.Contains(secret["whsec_".Length..], StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_attempt_log_pages_by_cursor()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        var committed = await rig.CreateAsync("a@example.com", count: 5);
        await DeliveryRig.AcceptedAsync(subscriber, 5, "delivered");
        await Polling.EventuallyAsync(
            async () => (await rig.GetAsync($"/v1/subscriptions/{id}/deliveries?limit=100"))["items"]!.AsArray().Count == 5,
            TimeSpan.FromSeconds(20), "five attempts are recorded");

        var first = await rig.GetAsync($"/v1/subscriptions/{id}/deliveries?limit=3");
        var second = await rig.GetAsync($"/v1/subscriptions/{id}/deliveries?limit=3&after={(string)first["next"]!}");

        Assert.True((bool)first["hasMore"]!);
        Assert.False((bool)second["hasMore"]!);
        var items = first["items"]!.AsArray().Concat(second["items"]!.AsArray()).ToList();
        Assert.Equal(committed.Select(c => c.Id), items.Select(a => (string)a!["changeId"]!));
        Assert.Equal(committed.Select(c => c.Sequence), items.Select(a => (long)a!["sequence"]!));
        Assert.All(items, a =>
        {
            Assert.Equal(200, (int)a!["statusCode"]!);
            Assert.Equal(1, (int)a["attempt"]!);
            Assert.True((double)a["latencyMs"]! >= 0);
            Assert.NotNull(a["at"]);
        });
        var state = await rig.GetAsync($"/v1/subscriptions/{id}");
        Assert.NotNull(state["lastSuccessAt"]);

        using var bad = await rig.Client.GetAsync(new Uri($"/v1/subscriptions/{id}/deliveries?after=x", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Replay_needs_after_or_since_and_unknown_subscriptions_are_404()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);

        using var neither = await rig.Client.PostAsJsonAsync($"/v1/subscriptions/{id}/replay", new JsonObject());
        using var both = await rig.Client.PostAsJsonAsync($"/v1/subscriptions/{id}/replay", new JsonObject { ["after"] = 1, ["since"] = "2026-01-01T00:00:00Z" });
        using var unknown = await rig.Client.PostAsJsonAsync("/v1/subscriptions/sub_nope/replay", new JsonObject { ["after"] = 0 });
        using var rotateUnknown = await rig.Client.PostAsJsonAsync("/v1/subscriptions/sub_nope/rotate-secret", new JsonObject());
        using var enableUnknown = await rig.Client.PostAsJsonAsync("/v1/subscriptions/sub_nope/enable", new JsonObject());

        Assert.Equal(HttpStatusCode.BadRequest, neither.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Equal("after", (string?)(await neither.Content.ReadFromJsonAsync<JsonNode>())!["field"]);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, rotateUnknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, enableUnknown.StatusCode);
    }

    [Fact]
    public async Task Attempts_are_counted_in_metrics_by_outcome()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var failures = 1;
        subscriber.Respond = _ => Task.FromResult(Interlocked.Decrement(ref failures) >= 0 ? 500 : 200);
        await rig.SubscribeAsync(subscriber);
        await rig.CreateAsync("a@example.com");
        await DeliveryRig.AcceptedAsync(subscriber, 1, "delivered after one retry");

        var metrics = await Polling.EventuallyAsync(
            () => rig.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            text => text.Contains("calhook_deliveries_total{outcome=\"delivered\"} 1", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), "the delivered attempt is counted");
        Assert.Contains("calhook_deliveries_total{outcome=\"retry\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("calhook_deliveries_total{outcome=\"failed\"} 0", metrics, StringComparison.Ordinal);
    }
}
