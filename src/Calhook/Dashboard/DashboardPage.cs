using System.Text;
using Calhook.Accounts;
using Calhook.Calendars;
using Calhook.Channels;
using Calhook.Google;
using Calhook.Receiving;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Dashboard;

/// <summary>
/// <c>GET /</c>: accounts, watches (status, channel expiry, last ping, last sync, the error in words), webhook
/// subscriptions (<see cref="SubscriptionsSection"/>) and the live change view; the forms behind its buttons; and its
/// script and stylesheet.
/// </summary>
internal static class DashboardPage
{
    /// <summary>How many recent changes the live view shows on load, before new ones stream in.</summary>
    private const int RecentChanges = 20;

    public static void MapDashboardPages(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", ShowAsync).ExcludeFromDescription();
        endpoints.MapPost("/dashboard/watches", WatchAsync).ExcludeFromDescription().DisableAntiforgery();
        endpoints.MapPost("/dashboard/watches/{id}/remove", RemoveWatchAsync).ExcludeFromDescription().DisableAntiforgery();
        endpoints.MapPost("/dashboard/accounts/{id}/remove", RemoveAccountAsync).ExcludeFromDescription().DisableAntiforgery();
        endpoints.MapGet("/dashboard/app.js", () => Asset(DashboardAssets.Script, "text/javascript; charset=utf-8")).ExcludeFromDescription();
        endpoints.MapGet("/dashboard/app.css", () => Asset(DashboardAssets.Style, "text/css; charset=utf-8")).ExcludeFromDescription();
    }

    private static async Task<IResult> ShowAsync(
        HttpContext http, ICalhookStore store, ChannelMap map, NotificationRecorder notifications, SyncProgress progress, IAntiforgery antiforgery,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (!await DashboardSession.IsSignedInAsync(http))
        {
            return LoginPages.RedirectToLogin(http);
        }

        var accounts = await store.ListAccountsAsync(cancellationToken);
        // An account's calendar-list watch is Calhook's own bookkeeping, not a watch anyone made.
        var watches = (await store.ListWatchesAsync(cancellationToken)).Where(w => w.Kind != WatchKind.CalendarList).ToList();
        var last = await store.GetLastSequenceAsync(cancellationToken);
        var token = Html.Antiforgery(http, antiforgery);
        var emails = accounts.ToDictionary(a => a.Id, a => a.Email, StringComparer.Ordinal);
        var now = time.GetUtcNow();

        var body = new StringBuilder(SubscriptionsSection.ReplayNotice(http.Request));
        body.Append("<section><h2>Accounts</h2>");
        if (accounts.Count == 0)
        {
            body.Append("<p>No account yet. <a href=\"/connect/google\">Connect a Google account</a> to start.</p>");
        }
        else
        {
            body.Append("<table id=\"accounts\"><thead><tr><th>Email</th><th>Status</th><th>Watches</th><th></th></tr></thead><tbody>");
            foreach (var account in accounts)
            {
                var status = account.Status == AccountStatus.NeedsReauth ? "needs_reauth" : "active";
                body.Append($"<tr data-account-id=\"{Html.E(account.Id)}\"><td><a href=\"/accounts/{Html.E(Uri.EscapeDataString(account.Id))}\">{Html.E(account.Email)}</a></td>")
                    .Append($"<td><span class=\"status {status}\">{status}</span>{(account.Error is { } e ? $" <span class=\"error\">{Html.E(e)}</span>" : "")}")
                    .Append(account.Status == AccountStatus.NeedsReauth ? $" <a href=\"/connect/google?loginHint={Html.E(Uri.EscapeDataString(account.Email))}\">Re-authorise</a>" : "")
                    .Append($"</td><td>{watches.Count(w => w.AccountId == account.Id)}</td>")
                    .Append($"<td><form method=\"post\" action=\"/dashboard/accounts/{Html.E(Uri.EscapeDataString(account.Id))}/remove\">{token}<button type=\"submit\">Remove</button></form></td></tr>");
            }

            body.Append("</tbody></table>");
        }

        body.Append("</section><section><h2>Watches</h2>");
        if (watches.Count == 0)
        {
            body.Append("<p>Nothing is watched. Open an account to choose its calendars.</p>");
        }
        else
        {
            body.Append("<table id=\"watches\"><thead><tr><th>Calendar</th><th>Account</th><th>Status</th><th>Channel expires</th><th>Last ping</th><th>Last sync</th><th>Error</th><th></th></tr></thead><tbody>");
            foreach (var watch in watches)
            {
                var state = await WatchState.ReadAsync(watch, store, map, notifications, now, progress, cancellationToken);
                var calendar = state.AllCalendars
                    ? "<em class=\"all-calendars\">all calendars</em>"
                    : Html.E(state.CalendarId) + (state.ParentWatchId is null ? "" : " <small class=\"followed\">(all calendars)</small>");
                body.Append($"<tr data-watch-id=\"{Html.E(state.Id)}\"><td>{calendar}</td>")
                    .Append($"<td>{Html.E(emails.GetValueOrDefault(state.AccountId, state.AccountId))}</td>")
                    .Append($"<td><span class=\"status {Html.E(state.Status)}\">{Html.E(state.Status)}</span>")
                    .Append(state.Progress is { } running ? $" <span class=\"progress\">{Html.E(running.Phase)}: {running.EventsFetched:N0} events fetched</span>" : "")
                    .Append("</td>")
                    .Append($"<td>{Html.Time(state.ChannelExpiresAt)}</td><td>{Html.Time(state.LastNotificationAt)}</td><td>{Html.Time(state.LastSyncAt)}</td>")
                    .Append($"<td class=\"error\">{Html.E(state.Error)}</td>")
                    .Append($"<td><form method=\"post\" action=\"/dashboard/watches/{Html.E(Uri.EscapeDataString(state.Id))}/remove\">{token}<button type=\"submit\">Stop</button></form></td></tr>");
            }

            body.Append("</tbody></table>");
        }

        body.Append("</section>");
        await SubscriptionsSection.AppendAsync(body, store, token, last, cancellationToken);

        body.Append($"""
            <section><h2>Live changes <small id="stream-status">connecting…</small></h2>
            <ol id="changes" data-after="{Math.Max(0, last - RecentChanges)}"></ol></section>
            <script src="/dashboard/app.js" defer></script>
            """);
        return Html.Page(http, "Dashboard", body.ToString(), signedIn: true);
    }

    /// <summary>
    /// The account page's buttons: watch one calendar, or every calendar of the account (the watch the API's
    /// <c>allCalendars</c> makes, which follows calendars as they are added and removed). Made as the API makes them.
    /// </summary>
    private static async Task<IResult> WatchAsync(
        HttpContext http, ICalhookStore store, CalendarWatches calendars, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (await RefuseAsync(http, antiforgery) is { } refused)
        {
            return refused;
        }

        var form = await http.Request.ReadFormAsync(cancellationToken);
        var accountId = form["accountId"].ToString();
        if (await store.GetAccountAsync(accountId, cancellationToken) is not { Status: not AccountStatus.Removed })
        {
            return Html.Problem(http, StatusCodes.Status400BadRequest, "Account not found", $"There is no account '{accountId}'.", signedIn: true);
        }

        var all = form["all"] == "true";
        var calendarId = form["calendarId"].ToString();
        if (!all && calendarId.Length == 0)
        {
            return Html.Problem(http, StatusCodes.Status400BadRequest, "No calendar chosen", "Pick a calendar on the account's page.", signedIn: true);
        }

        if (!all && CalendarIds.Problem(calendarId) is { } problem)
        {
            return Html.Problem(http, StatusCodes.Status400BadRequest, "Invalid calendar", problem, signedIn: true);
        }

        // A second click (or a stale page) adds nothing: one watch per calendar, one all-calendars watch per account.
        var watches = (await store.ListWatchesAsync(cancellationToken)).Where(w => w.AccountId == accountId).ToList();
        var watched = all
            ? watches.Any(w => w.Kind == WatchKind.AllCalendars)
            : watches.Any(w => w.Kind == WatchKind.Calendar && w.CalendarId == calendarId);
        if (!watched)
        {
            await calendars.StartAsync(accountId, all ? null : calendarId, cancellationToken);
        }

        return Results.Redirect("/", permanent: false, preserveMethod: false);
    }

    /// <summary>The Stop button: stops the watch as <c>DELETE /v1/watches/{id}</c> does.</summary>
    private static async Task<IResult> RemoveWatchAsync(
        string id, HttpContext http, ICalhookStore store, CalendarWatches calendars, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (await RefuseAsync(http, antiforgery) is { } refused)
        {
            return refused;
        }

        if (await store.GetWatchAsync(id, cancellationToken) is { Kind: not WatchKind.CalendarList, Status: not WatchStatus.Stopped } watch)
        {
            await calendars.StopAsync(watch, cancellationToken);
        }

        return Results.Redirect("/");
    }

    private static async Task<IResult> RemoveAccountAsync(
        string id, HttpContext http, AccountLifecycle lifecycle, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (await RefuseAsync(http, antiforgery) is { } refused)
        {
            return refused;
        }

        await lifecycle.RemoveAsync(id, cancellationToken);
        return Results.Redirect("/");
    }

    /// <summary>A form post needs the session and a valid antiforgery token; null when both are there.</summary>
    internal static async Task<IResult?> RefuseAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (!await DashboardSession.IsSignedInAsync(http))
        {
            return Html.Problem(http, StatusCodes.Status401Unauthorized, "Logged out", "Your session ended. Log in at /login and try again.");
        }

        return await antiforgery.IsRequestValidAsync(http)
            ? null
            : Html.Problem(http, StatusCodes.Status400BadRequest, "The form expired",
                "The form was not accepted (its antiforgery token is missing or stale). Reload the page and try again.", signedIn: true);
    }

    private static IResult Asset(string content, string contentType) => Results.Text(content, contentType, Encoding.UTF8);
}
