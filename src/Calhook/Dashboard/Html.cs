using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Dashboard;

/// <summary>
/// The dashboard's HTML: one layout, and every value from outside (calendar names, event fields, errors) encoded
/// through <see cref="E"/>. Pages are plain strings; the only script is <c>/dashboard/app.js</c>, so the
/// Content-Security-Policy can forbid inline script.
/// </summary>
internal static class Html
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>HTML-encodes text for element content and quoted attribute values.</summary>
    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    public static string Time(DateTimeOffset? at) =>
        at is { } t ? E(t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)) : "–";

    /// <summary>The hidden antiforgery field for a form of this request's user.</summary>
    public static string Antiforgery(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return $"<input type=\"hidden\" name=\"{E(tokens.FormFieldName)}\" value=\"{E(tokens.RequestToken)}\">";
    }

    /// <summary>A whole page: the layout around <paramref name="body"/> (already HTML), with security headers.</summary>
    public static IResult Page(HttpContext http, string title, string body, bool signedIn, int status = StatusCodes.Status200OK, string? head = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        http.Response.Headers.CacheControl = "no-store";
        var nav = signedIn
            ? "<nav><a href=\"/\">Dashboard</a> <a href=\"/connect/google\">Connect a Google account</a> "
              + "<form method=\"post\" action=\"/logout\" class=\"inline\">" + Antiforgery(http, http.RequestServices.GetRequiredService<IAntiforgery>())
              + "<button type=\"submit\">Log out</button></form></nav>"
            : "";
        var html = new StringBuilder()
            .Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">")
            .Append("<title>").Append(E(title)).Append(" · Calhook</title><link rel=\"stylesheet\" href=\"/dashboard/app.css\">")
            .Append(head ?? "")
            .Append("</head><body><header><strong>Calhook</strong> ").Append(nav).Append("</header><main>")
            .Append("<h1>").Append(E(title)).Append("</h1>")
            .Append(body)
            .Append("</main></body></html>")
            .ToString();
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    /// <summary>A page that says what went wrong and what to do next.</summary>
    public static IResult Problem(HttpContext http, int status, string title, string whatToDo, bool signedIn = false) =>
        Page(http, title, $"<p class=\"problem\" role=\"alert\">{E(whatToDo)}</p><p><a href=\"/\">Back to the dashboard</a></p>", signedIn, status);
}
