using System.Net;
using System.Text.RegularExpressions;
using Calhook.TestKit;

namespace Calhook.Tests.Dashboard;

/// <summary>
/// A cookie-keeping HTTP client that behaves like a browser without one: it logs in through the form, follows no
/// redirect by itself (tests look at each), and submits forms with the fields the page rendered.
/// </summary>
internal sealed partial class BrowserSession : IDisposable
{
    private readonly HttpClient _http;

    public BrowserSession(Uri baseAddress)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = baseAddress };
    }

    public CookieContainer Cookies { get; }

    public HttpClient Http => _http;

    public async Task LogInAsync(string apiKey = CalhookTestHost.TestApiKey)
    {
        var page = await _http.GetStringAsync(new Uri("/login", UriKind.Relative));
        using var response = await PostFormAsync("/login", new Dictionary<string, string> { ["apiKey"] = apiKey, ["returnUrl"] = "/", [TokenField(page)] = Token(page) });
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    public Task<HttpResponseMessage> GetAsync(string url) => _http.GetAsync(new Uri(url, UriKind.RelativeOrAbsolute));

    public async Task<HttpResponseMessage> PostFormAsync(string url, IDictionary<string, string> fields) =>
        await _http.PostAsync(new Uri(url, UriKind.RelativeOrAbsolute), new FormUrlEncodedContent(fields));

    /// <summary>Posts the form of <paramref name="page"/> whose action is <paramref name="action"/> and that holds <paramref name="mustContain"/>.</summary>
    public Task<HttpResponseMessage> SubmitAsync(string page, string action, string mustContain = "")
    {
        var form = Forms().Matches(page).Select(m => m.Value)
            .First(f => f.Contains($"action=\"{action}\"", StringComparison.Ordinal) && f.Contains(mustContain, StringComparison.Ordinal));
        var fields = Hidden().Matches(form).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        return PostFormAsync(WebUtility.HtmlDecode(action), fields);
    }

    /// <summary>All hidden inputs of the first form of a page (for a consent page).</summary>
    public static Dictionary<string, string> HiddenFields(string page) =>
        Hidden().Matches(page).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));

    public static string Token(string page) => WebUtility.HtmlDecode(AntiforgeryInput().Match(page).Groups["value"].Value);

    public static string TokenField(string page) => WebUtility.HtmlDecode(AntiforgeryInput().Match(page).Groups["name"].Value);

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("<form .*?</form>", RegexOptions.Singleline)]
    private static partial Regex Forms();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex Hidden();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>__RequestVerificationToken[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex AntiforgeryInput();
}
