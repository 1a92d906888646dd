using System.Text;
using System.Text.Json;
using Calhook.Google;
using Calhook.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Dashboard;

/// <summary><c>GET /accounts/{id}</c>: the account's calendars (its calendarList), each with a button to watch it, and one for all.</summary>
internal static class AccountPage
{
    public static void MapAccountPage(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/accounts/{id}", ShowAsync).ExcludeFromDescription();

    private static async Task<IResult> ShowAsync(
        string id, HttpContext http, ICalhookStore store, GoogleCalendarClient google, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (!await DashboardSession.IsSignedInAsync(http))
        {
            return LoginPages.RedirectToLogin(http);
        }

        if (await store.GetAccountAsync(id, cancellationToken) is not { Status: not AccountStatus.Removed } account)
        {
            return Html.Problem(http, StatusCodes.Status404NotFound, "Account not found", $"There is no account '{id}'.", signedIn: true);
        }

        var (calendars, problem) = await ListCalendarsAsync(google, id, cancellationToken);
        var watches = (await store.ListWatchesAsync(cancellationToken)).Where(w => w.AccountId == id).ToList();
        var watched = watches.Where(w => w.Kind == WatchKind.Calendar).Select(w => w.CalendarId).ToHashSet(StringComparer.Ordinal);
        var allWatched = watches.Any(w => w.Kind == WatchKind.AllCalendars);
        var token = Html.Antiforgery(http, antiforgery);
        var body = new StringBuilder();
        body.Append($"<p>Account <code>{Html.E(account.Id)}</code> · status <span class=\"status\">{Html.E(account.Status == AccountStatus.Active ? "active" : "needs_reauth")}</span></p>");
        if (problem is not null)
        {
            body.Append($"<p class=\"problem\" role=\"alert\">The calendars could not be listed: {Html.E(problem)}</p>");
        }

        body.Append("<table id=\"calendars\"><thead><tr><th>Calendar</th><th>Id</th><th>Access</th><th></th></tr></thead><tbody>");
        foreach (var calendar in calendars)
        {
            var calendarId = calendar.Id;
            body.Append("<tr data-calendar-id=\"").Append(Html.E(calendarId)).Append("\"><td>").Append(Html.E(calendar.Summary))
                .Append(calendar.Primary ? " <em>(primary)</em>" : "").Append("</td><td><code>").Append(Html.E(calendarId)).Append("</code></td><td>")
                .Append(Html.E(calendar.AccessRole)).Append("</td><td>");
            if (watched.Contains(calendarId))
            {
                body.Append("<span class=\"watched\">watched</span>");
            }
            else
            {
                body.Append($"<form method=\"post\" action=\"/dashboard/watches\">{token}<input type=\"hidden\" name=\"accountId\" value=\"{Html.E(id)}\">")
                    .Append($"<input type=\"hidden\" name=\"calendarId\" value=\"{Html.E(calendarId)}\"><button type=\"submit\">Watch</button></form>");
            }

            body.Append("</td></tr>");
        }

        body.Append("</tbody></table>");
        if (allWatched)
        {
            body.Append("<p id=\"all-watched\">Every calendar of this account is watched, including calendars added later.</p>");
        }
        else if (calendars.Count > 0)
        {
            body.Append($"<form method=\"post\" action=\"/dashboard/watches\">{token}<input type=\"hidden\" name=\"accountId\" value=\"{Html.E(id)}\">")
                .Append("<input type=\"hidden\" name=\"all\" value=\"true\"><button type=\"submit\" id=\"watch-all\">Watch all calendars</button> <small>(and calendars added later)</small></form>");
        }

        return Html.Page(http, account.Email, body.ToString(), signedIn: true);
    }

    /// <summary>Every calendar of the account's calendarList, following pages; or why it could not be read.</summary>
    internal static async Task<(IReadOnlyList<CalendarEntry> Calendars, string? Problem)> ListCalendarsAsync(
        GoogleCalendarClient google, string accountId, CancellationToken cancellationToken)
    {
        var calendars = new List<CalendarEntry>();
        string? pageToken = null;
        do
        {
            var page = await google.ListCalendarsPageAsync(accountId, pageToken, cancellationToken);
            if (!page.IsSuccess)
            {
                return (calendars, $"{page.Error!.Status} {page.Error.Message}");
            }

            calendars.AddRange(page.Value!.Items.Select(CalendarEntry.From).Where(c => c.Id.Length > 0));
            pageToken = page.Value.NextPageToken;
        }
        while (pageToken is not null);

        return (calendars, null);
    }
}

/// <summary>The few fields of a calendarList entry the pages show.</summary>
internal sealed record CalendarEntry(string Id, string Summary, string AccessRole, bool Primary)
{
    public static CalendarEntry From(JsonElement item) => new(
        Text(item, "id"),
        Text(item, "summaryOverride") is { Length: > 0 } own ? own : Text(item, "summary"),
        Text(item, "accessRole"),
        item.TryGetProperty("primary", out var primary) && primary.ValueKind == JsonValueKind.True);

    private static string Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : "";
}
