using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Tests.Delivery;
using Calhook.TestKit;
using Microsoft.Playwright;

namespace Calhook.Tests.Dashboard;

/// <summary>
/// The dashboard in a real headless browser: log in, connect an account through the emulator's consent page, watch a
/// calendar, see a change made in the emulator appear live with its diff, see a subscription's delivery attempts and
/// replay them with the replay button.
/// </summary>
public sealed class DashboardBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private const string User = "browser@example.com";
    private const float Timeout = 30_000;
    private EmulatorWorld _world = null!;
    private LoopbackReceiver _receiver = null!;

    // The test host allows private networks (Calhook:Delivery:AllowPrivateNetworks): the receiver is on loopback.
    public async Task InitializeAsync()
    {
        _world = await EmulatorWorld.StartAsync();
        _receiver = await LoopbackReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _world.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Log_in_connect_watch_see_a_change_with_its_diff_then_its_delivery_attempts_and_replay_them()
    {
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);

        // Log in: the dashboard sends a signed-out browser to the form.
        await page.GotoAsync(new Uri(_world.Calhook.BaseAddress, "/").AbsoluteUri);
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=apiKey]", CalhookTestHost.TestApiKey);
        await page.ClickAsync("button:has-text('Log in')");
        await page.WaitForSelectorAsync("h1:has-text('Dashboard')");

        // Connect: Calhook → the emulator's consent page → back, then on to the account's calendars.
        await page.ClickAsync("a:has-text('Connect a Google account')");
        await page.WaitForSelectorAsync("text=Calendar emulator");
        await page.FillAsync("input[name=user]", User);
        await page.ClickAsync("button:has-text('Allow')");
        await page.WaitForSelectorAsync($"#calendars tr[data-calendar-id='{User}']");

        // Watch the primary calendar; the dashboard lists it.
        await page.ClickAsync($"#calendars tr[data-calendar-id='{User}'] button:has-text('Watch')");
        await page.WaitForSelectorAsync($"#watches td:has-text('{User}')");
        var watchId = await page.GetAttributeAsync("#watches tr[data-watch-id]", "data-watch-id");
        await Polling.EventuallyAsync(() => _world.WatchStateAsync(watchId!), w => w["lastSyncAt"] is not null && w["channelId"] is not null,
            TimeSpan.FromSeconds(30), "the watch's baseline is in and its channel open");
        await page.ReloadAsync();
        await page.WaitForSelectorAsync($"#watches tr[data-watch-id='{watchId}'] .status:has-text('active')");
        await page.WaitForSelectorAsync("#stream-status:has-text('live')");

        // A webhook subscriber on loopback, subscribed before the changes are made.
        using var subscribed = await _world.Api.PostAsJsonAsync("/v1/subscriptions", new { url = new Uri(_receiver.BaseAddress, "hooks").AbsoluteUri });
        subscribed.EnsureSuccessStatusCode();
        var subscription = (await subscribed.Content.ReadFromJsonAsync<JsonObject>())!;
        var (subscriptionId, secret) = ((string)subscription["id"]!, (string)subscription["secret"]!);

        // A change made in the emulator appears live, with its diff before → after.
        var (user, _) = await _world.SignInAsync(User);
        using var google = user;
        var created = await (await google.PostAsJsonAsync("calendar/v3/calendars/primary/events", new
        {
            summary = "Standup <b>draft</b>",
            start = new { dateTime = "2026-12-07T09:00:00Z" },
            end = new { dateTime = "2026-12-07T09:15:00Z" },
        })).Content.ReadFromJsonAsync<JsonObject>();
        await page.WaitForSelectorAsync("li.change[data-type='event.created']");
        (await google.PatchAsJsonAsync($"calendar/v3/calendars/primary/events/{created!["id"]}", new { summary = "Standup moved" })).EnsureSuccessStatusCode();

        var updated = page.Locator("li.change[data-type='event.updated']");
        await updated.WaitForAsync();
        var row = updated.Locator("table.diff tr", new() { HasText = "summary" });
        Assert.Equal("Standup <b>draft</b>", await row.Locator("td.before").TextContentAsync());
        Assert.Equal("Standup moved", await row.Locator("td.after").TextContentAsync());
        // Event text is shown as text, never as markup.
        Assert.Equal(0, await page.Locator("li.change b").CountAsync());

        // Both changes reach the subscriber, signed; the dashboard lists their attempts with status code and duration.
        var delivered = await _receiver.WaitForRequestsAsync(2, TimeSpan.FromSeconds(30));
        Assert.All(delivered, d => Assert.True(WebhookVerifier.Verify(secret, d.Headers["webhook-id"], d.Headers["webhook-timestamp"], d.Body, d.Headers["webhook-signature"])));
        var sequences = delivered.Select(d => (long)JsonNode.Parse(d.Body)!["data"]!["sequence"]!).ToList();
        await Polling.EventuallyAsync(
            async () => (await _world.Api.GetFromJsonAsync<JsonObject>($"/v1/subscriptions/{subscriptionId}/deliveries"))!["items"]!.AsArray().Count == 2,
            TimeSpan.FromSeconds(30), "both attempts are in the attempt log");
        await page.ReloadAsync();
        var card = page.Locator($"#subscriptions article[data-subscription-id='{subscriptionId}']");
        Assert.Equal(new Uri(_receiver.BaseAddress, "hooks").AbsoluteUri, await card.Locator("code.url").TextContentAsync());
        Assert.Equal("active", await card.Locator("h3 .status").TextContentAsync());
        var first = card.Locator($"table.attempts tr[data-sequence='{sequences[0]}'][data-outcome='delivered']");
        Assert.Equal("200", await first.Locator("td.status-code").TextContentAsync());
        Assert.Contains($"change #{sequences[1]} (attempt 1) delivered, HTTP 200", await card.Locator(".last-attempt").TextContentAsync(), StringComparison.Ordinal);

        // Replay from before the first change: the subscriber gets both again, with their original webhook-ids, in order.
        await card.Locator("form.replay input[name=from]").FillAsync((sequences[0] - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await card.Locator("form.replay button:has-text('Replay')").ClickAsync();
        await page.WaitForSelectorAsync("#replay-notice:has-text('2 changes queued again')");
        var all = await _receiver.WaitForRequestsAsync(4, TimeSpan.FromSeconds(30));
        Assert.Equal(delivered.Select(d => d.Headers["webhook-id"]), all.Skip(2).Select(d => d.Headers["webhook-id"]));
    }
}
