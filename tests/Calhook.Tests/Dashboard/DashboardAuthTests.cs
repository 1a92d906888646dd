using System.Net;
using System.Net.Http.Headers;
using Calhook.TestKit;

namespace Calhook.Tests.Dashboard;

/// <summary>The dashboard's login, its session cookie, and what the cookie may and may not do.</summary>
public sealed class DashboardAuthTests : IAsyncLifetime
{
    private CalhookTestHost _host = null!;

    public async Task InitializeAsync() => _host = await CalhookTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_dashboard_sends_a_signed_out_browser_to_the_login_form()
    {
        using var browser = new BrowserSession(_host.BaseAddress);
        using var response = await browser.GetAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logging_in_sets_an_http_only_strict_cookie_that_opens_the_dashboard_and_the_stream()
    {
        using var browser = new BrowserSession(_host.BaseAddress);
        var page = await browser.Http.GetStringAsync(new Uri("/login", UriKind.Relative));
        using var login = await browser.PostFormAsync("/login", new Dictionary<string, string>
        {
            ["apiKey"] = CalhookTestHost.TestApiKey, ["returnUrl"] = "/", [BrowserSession.TokenField(page)] = BrowserSession.Token(page),
        });

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var setCookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("calhook_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(CalhookTestHost.TestApiKey, setCookie, StringComparison.Ordinal);

        using var dashboard = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("default-src 'self'", dashboard.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/changes/stream");
        using var stream = await browser.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task The_session_cookie_does_not_authorise_writes_to_the_api()
    {
        using var browser = new BrowserSession(_host.BaseAddress);
        await browser.LogInAsync();

        using var read = await browser.GetAsync("/v1/watches");
        using var write = await browser.Http.PostAsync(new Uri("/v1/watches", UriKind.Relative),
            new StringContent("{\"accountId\":\"a\",\"calendarId\":\"c\"}", MediaTypeHeaderValue.Parse("application/json")));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_a_hint_and_no_cookie()
    {
        using var browser = new BrowserSession(_host.BaseAddress);
        var page = await browser.Http.GetStringAsync(new Uri("/login", UriKind.Relative));
        using var login = await browser.PostFormAsync("/login", new Dictionary<string, string>
        {
            ["apiKey"] = "chk_not_the_key_at_all", [BrowserSession.TokenField(page)] = BrowserSession.Token(page),
        });

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Contains("api-key file", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(login.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("calhook_session=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_form_post_without_its_antiforgery_token_is_refused()
    {
        using var browser = new BrowserSession(_host.BaseAddress);
        await browser.LogInAsync();

        using var posted = await browser.PostFormAsync("/dashboard/watches", new Dictionary<string, string> { ["accountId"] = "acc_x", ["calendarId"] = "c" });

        Assert.Equal(HttpStatusCode.BadRequest, posted.StatusCode);
        Assert.Contains("antiforgery", await posted.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_never_redirects_off_site()
    {
        using var browser = new BrowserSession(_host.BaseAddress);
        var page = await browser.Http.GetStringAsync(new Uri("/login", UriKind.Relative));
        using var login = await browser.PostFormAsync("/login", new Dictionary<string, string>
        {
            ["apiKey"] = CalhookTestHost.TestApiKey, ["returnUrl"] = "//evil.example/", [BrowserSession.TokenField(page)] = BrowserSession.Token(page),
        });

        Assert.Equal("/", login.Headers.Location!.OriginalString);
    }
}
