using System.Globalization;
using System.Text;
using Calhook.Delivery;
using Calhook.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Dashboard;

/// <summary>
/// The dashboard's webhook subscriptions: each with its URL, status, cursor and backlog, last success, last attempt and
/// error in words, its recent attempts (status code, duration, error), and a replay form that requeues from a sequence
/// or a time exactly as <c>POST /v1/subscriptions/{id}/replay</c> does.
/// </summary>
internal static class SubscriptionsSection
{
    /// <summary>How many of a subscription's newest attempts the page lists.</summary>
    public const int RecentAttempts = 10;

    public static void MapSubscriptionForms(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/dashboard/subscriptions/{id}/replay", ReplayAsync).ExcludeFromDescription().DisableAntiforgery();

    /// <summary>Appends the section (already HTML) to <paramref name="body"/>.</summary>
    public static async Task AppendAsync(StringBuilder body, ICalhookStore store, string antiforgeryField, long lastSequence, CancellationToken cancellationToken)
    {
        body.Append("<section id=\"subscriptions\"><h2>Subscriptions</h2>");
        var subscriptions = await store.ListSubscriptionsAsync(cancellationToken);

        if (subscriptions.Count == 0)
        {
            body.Append("<p>No webhook subscription. Create one with <code>POST /v1/subscriptions</code> (see docs/webhooks.md).</p></section>");
            return;
        }

        foreach (var subscription in subscriptions)
        {
            var attempts = await store.ListLatestDeliveryAttemptsAsync(subscription.Id, RecentAttempts, cancellationToken);
            AppendSubscription(body, subscription, attempts, antiforgeryField, lastSequence);
        }

        body.Append("</section>");
    }

    private static void AppendSubscription(
        StringBuilder body, SubscriptionRecord subscription, IReadOnlyList<DeliveryAttemptRecord> attempts, string antiforgeryField, long lastSequence)
    {
        var status = SubscriptionState.StatusName(subscription.Status);
        var behind = Math.Max(0, lastSequence - subscription.Cursor);
        body.Append($"<article class=\"subscription\" data-subscription-id=\"{Html.E(subscription.Id)}\">")
            .Append($"<h3><code class=\"url\">{Html.E(subscription.Url)}</code> <span class=\"status {status}\">{status}</span></h3>")
            .Append($"<p class=\"meta\"><code>{Html.E(subscription.Id)}</code> · {Html.E(Filter(subscription))}</p>")
            .Append($"<p class=\"cursor\">Scheduled up to change #{subscription.Cursor}")
            .Append(behind == 0 ? " (the end of the log)" : $" ({behind} more in the log, being scheduled)")
            .Append($" · <span class=\"backlog\">{subscription.Backlog} pending</span> · last success {Html.Time(subscription.LastSuccessAt)}</p>")
            .Append(ReplayInWords(subscription.Replay))
            .Append(StatusInWords(subscription))
            .Append(attempts.Count > 0
                ? $"<p class=\"last-attempt\">Last attempt: {Html.E(InWords(attempts[0]))}, {Html.Time(attempts[0].AttemptedAt)}</p>"
                : "<p class=\"last-attempt\">No attempt yet.</p>");

        if (attempts.Count > 0)
        {
            body.Append("<table class=\"attempts\"><thead><tr><th>Time</th><th>Change</th><th>Attempt</th><th>Status</th><th>Duration</th><th>Outcome</th><th>Error</th></tr></thead><tbody>");
            foreach (var attempt in attempts)
            {
                var outcome = DeliveryMetrics.OutcomeName(attempt.Verdict);
                body.Append($"<tr data-sequence=\"{attempt.Sequence}\" data-outcome=\"{outcome}\"><td>{Html.Time(attempt.AttemptedAt)}</td>")
                    .Append($"<td>#{attempt.Sequence} <code>{Html.E(attempt.ChangeId)}</code></td><td>{attempt.Attempt}</td>")
                    .Append($"<td class=\"status-code\">{(attempt.StatusCode is { } code ? code.ToString(CultureInfo.InvariantCulture) : "–")}</td>")
                    .Append($"<td>{attempt.LatencyMs.ToString("0.0", CultureInfo.InvariantCulture)} ms</td>")
                    .Append($"<td><span class=\"outcome {outcome}\">{outcome}</span></td><td class=\"error\">{Html.E(attempt.Error)}</td></tr>");
            }

            body.Append("</tbody></table>");
        }

        // The default replays the newest attempted change and everything after it.
        var from = attempts.Count > 0 ? attempts[0].Sequence - 1 : subscription.Cursor;
        body.Append($"<form method=\"post\" action=\"/dashboard/subscriptions/{Html.E(Uri.EscapeDataString(subscription.Id))}/replay\" class=\"replay\">{antiforgeryField}")
            .Append($"<label>Replay the changes after sequence <input name=\"from\" value=\"{Math.Max(0, from)}\" size=\"24\" required></label> ")
            .Append("<small>(or a UTC time such as 2026-11-28T00:00:00Z)</small> <button type=\"submit\">Replay</button></form>")
            .Append("</article>");
    }

    private static async Task<IResult> ReplayAsync(
        string id, HttpContext http, ICalhookStore store, DeliverySender sender, IAntiforgery antiforgery, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await DashboardPage.RefuseAsync(http, antiforgery) is { } refused)
        {
            return refused;
        }

        var form = await http.Request.ReadFormAsync(cancellationToken);
        var from = form["from"].ToString().Trim();
        long? after = null;
        DateTimeOffset? since = null;
        if (long.TryParse(from, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            after = sequence;
        }
        else if (DateTimeOffset.TryParse(from, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            since = at;
        }
        else
        {
            return Html.Problem(http, StatusCodes.Status400BadRequest, "Nothing to replay from",
                $"'{from}' is neither a sequence (a whole number, 0 or more) nor a time (such as 2026-11-28T00:00:00Z). Go back and give one.", signedIn: true);
        }

        var count = await SubscriptionReplay.ScheduleAsync(store, sender, id, after, since, time.GetUtcNow(), cancellationToken);
        if (count is null)
        {
            return Html.Problem(http, StatusCodes.Status404NotFound, "Subscription not found", $"There is no subscription '{id}'.", signedIn: true);
        }

        return Results.Redirect($"/?replayed={Uri.EscapeDataString(id)}&scheduled={count.Value}#subscriptions");
    }

    /// <summary>The notice the page shows after a replay (its redirect carries the numbers).</summary>
    public static string ReplayNotice(HttpRequest request)
    {
        var id = request.Query["replayed"].ToString();
        return id.Length > 0 && int.TryParse(request.Query["scheduled"], NumberStyles.None, CultureInfo.InvariantCulture, out var scheduled)
            ? $"<p class=\"notice\" role=\"status\" id=\"replay-notice\">Replay of <code>{Html.E(id)}</code>: {scheduled} change{(scheduled == 1 ? "" : "s")} queued again.</p>"
            : "";
    }

    /// <summary>The latest replay and how far it has got: "Replay of changes #12–#40: 20 of 25 delivered, 5 to go".</summary>
    private static string ReplayInWords(ReplayProgress? replay)
    {
        if (replay is null)
        {
            return "";
        }

        var range = replay.Total == 0 ? $"after #{replay.After}" : $"#{replay.After + 1}–#{replay.Through}";
        var failed = replay.Failed > 0 ? $", {replay.Failed} given up" : "";
        var state = replay.Remaining == 0 ? "done" : "running";
        return $"<p class=\"replay {state}\" data-remaining=\"{replay.Remaining}\">Replay of changes {range} ({Html.Time(replay.RequestedAt)}): "
            + $"{replay.Delivered} of {replay.Total} delivered{failed}, "
            + (replay.Remaining == 0 ? "done.</p>" : $"{replay.Remaining} to go.</p>");
    }

    private static string Filter(SubscriptionRecord subscription)
    {
        var types = subscription.Types is { Count: > 0 } t ? string.Join(", ", t) : "all types";
        var calendars = subscription.CalendarIds is { Count: > 0 } c ? string.Join(", ", c) : "all calendars";
        var ignoring = subscription.IgnorePaths is { Count: > 0 } i ? $" · ignoring {string.Join(", ", i)}" : "";
        return $"{types} · {calendars}{ignoring}";
    }

    private static string StatusInWords(SubscriptionRecord subscription)
    {
        var why = subscription.Status switch
        {
            SubscriptionStatus.Failing => "A change was given up after its last attempt; deliveries go on. "
                + $"Fix the receiver, then enable it again (POST /v1/subscriptions/{subscription.Id}/enable) and replay what it missed.",
            SubscriptionStatus.Disabled => "The receiver answered 410 Gone, so nothing is sent; changes keep queueing. "
                + $"Enable it again (POST /v1/subscriptions/{subscription.Id}/enable) to resume in order.",
            _ => null,
        };
        var error = subscription.LastError is { } e ? $"<p class=\"error last-error\">Last error: {Html.E(e)}</p>" : "";
        return error + (why is null ? "" : $"<p class=\"problem\">{Html.E(why)}</p>");
    }

    /// <summary>One attempt in words: "delivered (HTTP 200 in 4.1 ms)", "failed, will be retried: HTTP 500: …".</summary>
    internal static string InWords(DeliveryAttemptRecord attempt)
    {
        var took = attempt.LatencyMs.ToString("0.0", CultureInfo.InvariantCulture);
        var change = $"change #{attempt.Sequence} (attempt {attempt.Attempt})";
        return attempt.Verdict switch
        {
            DeliveryVerdict.Delivered => $"{change} delivered, HTTP {attempt.StatusCode} in {took} ms",
            DeliveryVerdict.RetryLater => $"{change} failed and will be retried: {attempt.Error ?? "no answer"}",
            DeliveryVerdict.Failed => $"{change} failed and was given up (the last attempt): {attempt.Error ?? "no answer"}",
            _ => $"{change} answered 410 Gone: the subscription is disabled",
        };
    }
}
