using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Tests.Channels;
using Calhook.TestKit;
using Microsoft.Playwright;

namespace Calhook.Tests.Dashboard;

/// <summary>
/// The dashboard in a real headless browser: log in, connect an account through the emulator's consent page, watch a
/// calendar, and see a change made in the emulator appear live with its diff.
/// </summary>
public sealed class DashboardBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private const string User = "browser@example.com";
    private const float Timeout = 30_000;
    private EmulatorClient _emulator = null!;
    private CalhookTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorClient.StartAsync();
        _host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { GoogleBaseUrl = _emulator.BaseAddress });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Log_in_connect_through_the_consent_page_watch_a_calendar_and_see_a_change_with_its_diff()
    {
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);

        // Log in: the dashboard sends a signed-out browser to the form.
        await page.GotoAsync(new Uri(_host.BaseAddress, "/").AbsoluteUri);
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
        await Polling.EventuallyAsync(async () => (await _host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{watchId}"))!["lastSyncAt"] is not null
            && (await _host.Client.GetFromJsonAsync<JsonObject>($"/v1/watches/{watchId}"))!["channelId"] is not null,
            TimeSpan.FromSeconds(30), "the watch's baseline is in and its channel open");
        await page.ReloadAsync();
        await page.WaitForSelectorAsync($"#watches tr[data-watch-id='{watchId}'] .status:has-text('active')");
        await page.WaitForSelectorAsync("#stream-status:has-text('live')");

        // A change made in the emulator appears live, with its diff before → after.
        var access = (await _emulator.Control.CreateTokensAsync(User)).AccessToken;
        using var google = new HttpClient { BaseAddress = new Uri(_emulator.BaseAddress, "calendar/v3/calendars/primary/") };
        google.DefaultRequestHeaders.Authorization = new("Bearer", access);
        var created = await (await google.PostAsJsonAsync("events", new
        {
            summary = "Standup <b>draft</b>",
            start = new { dateTime = "2026-12-07T09:00:00Z" },
            end = new { dateTime = "2026-12-07T09:15:00Z" },
        })).Content.ReadFromJsonAsync<JsonObject>();
        await page.WaitForSelectorAsync("li.change[data-type='event.created']");
        (await google.PatchAsJsonAsync($"events/{created!["id"]}", new { summary = "Standup moved" })).EnsureSuccessStatusCode();

        var updated = page.Locator("li.change[data-type='event.updated']");
        await updated.WaitForAsync();
        var row = updated.Locator("table.diff tr", new() { HasText = "summary" });
        Assert.Equal("Standup <b>draft</b>", await row.Locator("td.before").TextContentAsync());
        Assert.Equal("Standup moved", await row.Locator("td.after").TextContentAsync());
        // Event text is shown as text, never as markup.
        Assert.Equal(0, await page.Locator("li.change b").CountAsync());
    }
}
