using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Web;
using Calhook.TestKit;

namespace Calhook.Tests.Dashboard;

/// <summary>The browser connect flow against the emulator's OAuth: consent, state check, code exchange, calendars.</summary>
public sealed class ConnectFlowTests : IAsyncLifetime
{
    private const string User = "connect@example.com";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private EmulatorWorld _world = null!;

    public async Task InitializeAsync() => _world = await EmulatorWorld.StartAsync();

    public Task DisposeAsync() => _world.DisposeAsync().AsTask();

    [Fact]
    public async Task Connecting_through_the_consent_page_stores_the_account_and_offers_its_calendars()
    {
        using var browser = new BrowserSession(_world.Calhook.BaseAddress);
        await browser.LogInAsync();

        using var start = await browser.GetAsync("/connect/google");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var consent = start.Headers.Location!;
        Assert.Equal(new Uri(_world.Emulator.BaseAddress, "/o/oauth2/v2/auth").AbsoluteUri, consent.GetLeftPart(UriPartial.Path));
        var query = HttpUtility.ParseQueryString(consent.Query);
        Assert.Equal("https://www.googleapis.com/auth/calendar.readonly", query["scope"]);
        Assert.Equal("offline", query["access_type"]);
        Assert.Equal("consent", query["prompt"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(new Uri(_world.Calhook.BaseAddress, "/connect/google/callback").AbsoluteUri, query["redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(query["state"]));

        var landing = await ApproveAsync(browser, consent, User);
        Assert.Equal(HttpStatusCode.OK, landing.StatusCode);
        var page = await landing.Content.ReadAsStringAsync();
        Assert.Contains(User, page, StringComparison.Ordinal);

        var accounts = (await _world.Calhook.Client.GetFromJsonAsync<JsonObject>("/v1/accounts"))!["items"]!.AsArray();
        var account = Assert.Single(accounts)!;
        Assert.Equal(User, (string?)account["email"]);
        Assert.Equal("active", (string?)account["status"]);
        Assert.Equal("oauth", (string?)account["type"]);

        var calendars = await browser.Http.GetStringAsync(new Uri($"/accounts/{account["id"]}", UriKind.Relative));
        Assert.Contains($"data-calendar-id=\"{User}\"", calendars, StringComparison.Ordinal);
        using var watched = await browser.SubmitAsync(calendars, "/dashboard/watches", $"value=\"{User}\"");
        Assert.Equal(HttpStatusCode.Redirect, watched.StatusCode);
        await Polling.EventuallyAsync(async () =>
            (await _world.Calhook.Client.GetFromJsonAsync<JsonObject>("/v1/watches"))!["items"]!.AsArray().Any(w => (string?)w!["lastSyncAt"] is not null && (string?)w["calendarId"] == User),
            Generous, "the watched calendar's baseline is committed");
    }

    [Fact]
    public async Task A_forged_state_is_refused_and_nothing_is_stored()
    {
        using var browser = new BrowserSession(_world.Calhook.BaseAddress);
        await browser.LogInAsync();
        using var start = await browser.GetAsync("/connect/google");
        var consent = start.Headers.Location!;

        // Google's answer with the right code but a state this Calhook never issued.
        var callback = await ConsentRedirectAsync(browser, consent, User);
        var forged = ReplaceState(callback, "forged-state");
        using var refused = await browser.GetAsync(forged.PathAndQuery);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("was not issued by this Calhook", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await _world.Calhook.Client.GetFromJsonAsync<JsonObject>("/v1/accounts"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task A_state_started_in_another_browser_is_refused()
    {
        using var victim = new BrowserSession(_world.Calhook.BaseAddress);
        using var attacker = new BrowserSession(_world.Calhook.BaseAddress);
        await victim.LogInAsync();
        await attacker.LogInAsync();
        using var victimStart = await victim.GetAsync("/connect/google");
        using var attackerStart = await attacker.GetAsync("/connect/google");

        // The attacker's own valid callback (their code, their state) delivered to the victim's browser.
        var callback = await ConsentRedirectAsync(attacker, attackerStart.Headers.Location!, "mallory@example.com");
        using var refused = await victim.GetAsync(callback.PathAndQuery);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("another browser", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await _world.Calhook.Client.GetFromJsonAsync<JsonObject>("/v1/accounts"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task The_connect_flow_needs_a_signed_in_browser()
    {
        using var browser = new BrowserSession(_world.Calhook.BaseAddress);
        using var start = await browser.GetAsync("/connect/google");

        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        Assert.Equal("/login?returnUrl=%2Fconnect%2Fgoogle", start.Headers.Location!.OriginalString);
    }

    /// <summary>Approves on the emulator's consent page and returns the callback URL Google would send the browser to.</summary>
    internal static async Task<Uri> ConsentRedirectAsync(BrowserSession browser, Uri consent, string user)
    {
        using var emulator = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var form = BrowserSession.HiddenFields(await emulator.GetStringAsync(consent));
        form["user"] = user;
        using var approved = await emulator.PostAsync(new Uri(consent, "/o/oauth2/v2/auth"), new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.Redirect, approved.StatusCode);
        return approved.Headers.Location!;
    }

    internal static async Task<HttpResponseMessage> ApproveAsync(BrowserSession browser, Uri consent, string user)
    {
        var callback = await ConsentRedirectAsync(browser, consent, user);
        return await browser.GetAsync(callback.PathAndQuery);
    }

    private static Uri ReplaceState(Uri callback, string state)
    {
        var query = HttpUtility.ParseQueryString(callback.Query);
        query["state"] = state;
        return new UriBuilder(callback) { Query = query.ToString() }.Uri;
    }
}
