using System.Net;
using Calhook.Tests.Delivery;
using Calhook.TestKit;

namespace Calhook.Tests.Dashboard;

/// <summary>The dashboard's subscriptions section and its replay form, over HTTP with a cookie session.</summary>
public sealed class DashboardSubscriptionsTests
{
    [Fact]
    public async Task A_failing_subscription_shows_its_status_last_error_and_attempts_in_words()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        subscriber.Respond = _ => Task.FromResult(500);
        var id = await rig.SubscribeAsync(subscriber);
        var change = (await rig.CreateAsync("a@example.com"))[0];
        await Polling.EventuallyAsync(async () => (string?)(await rig.GetAsync($"/v1/subscriptions/{id}"))["status"] == "failing",
            TimeSpan.FromSeconds(20), "the change is given up after its four attempts");

        using var browser = new BrowserSession(rig.Host.BaseAddress);
        await browser.LogInAsync();
        var page = await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative));

        Assert.Contains($"data-subscription-id=\"{id}\"", page, StringComparison.Ordinal);
        Assert.Contains("<span class=\"status failing\">failing</span>", page, StringComparison.Ordinal);
        Assert.Contains("Last error: HTTP 500", page, StringComparison.Ordinal);
        Assert.Contains("A change was given up after its last attempt", page, StringComparison.Ordinal);
        Assert.Contains($"Last attempt: change #{change.Sequence} (attempt 4) failed and was given up (the last attempt): HTTP 500", page, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(page, $"<tr data-sequence=\"{change.Sequence}\" data-outcome=\"retry\">"));
        Assert.Equal(1, CountOf(page, $"<tr data-sequence=\"{change.Sequence}\" data-outcome=\"failed\">"));
        Assert.Contains("<td class=\"status-code\">500</td>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_replay_form_requeues_from_a_sequence_or_a_time_like_the_api()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        var changes = await rig.CreateAsync("a@example.com", count: 3);
        await DeliveryRig.AcceptedAsync(subscriber, 3, "the three changes arrive");

        using var browser = new BrowserSession(rig.Host.BaseAddress);
        await browser.LogInAsync();
        var page = await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative));
        var action = $"/dashboard/subscriptions/{id}/replay";
        var token = new Dictionary<string, string> { [BrowserSession.TokenField(page)] = BrowserSession.Token(page) };

        using var bySequence = await browser.PostFormAsync(action, new Dictionary<string, string>(token) { ["from"] = $"{changes[0].Sequence}" });
        Assert.Equal(HttpStatusCode.Redirect, bySequence.StatusCode);
        Assert.Equal($"/?replayed={id}&scheduled=2#subscriptions", bySequence.Headers.Location!.OriginalString);
        var again = await DeliveryRig.AcceptedAsync(subscriber, 5, "the two changes after the first arrive again");
        Assert.Equal(changes.Skip(1).Select(c => c.Id), again.Skip(3).Select(w => w.Id));

        using var byTime = await browser.PostFormAsync(action, new Dictionary<string, string>(token) { ["from"] = "2026-01-01T00:00:00Z" });
        Assert.Equal($"/?replayed={id}&scheduled=3#subscriptions", byTime.Headers.Location!.OriginalString);
        await DeliveryRig.AcceptedAsync(subscriber, 8, "all three arrive again");

        var notice = await browser.Http.GetStringAsync(new Uri($"/?replayed={id}&scheduled=3", UriKind.Relative));
        Assert.Contains("3 changes queued again", notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_replay_form_refuses_a_missing_token_a_bad_point_and_an_unknown_subscription()
    {
        await using var rig = await DeliveryRig.StartAsync();
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        using var browser = new BrowserSession(rig.Host.BaseAddress);
        await browser.LogInAsync();
        var page = await browser.Http.GetStringAsync(new Uri("/", UriKind.Relative));
        var token = new Dictionary<string, string> { [BrowserSession.TokenField(page)] = BrowserSession.Token(page) };

        using var forged = await browser.PostFormAsync($"/dashboard/subscriptions/{id}/replay", new Dictionary<string, string> { ["from"] = "0" });
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("antiforgery", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var bad = await browser.PostFormAsync($"/dashboard/subscriptions/{id}/replay", new Dictionary<string, string>(token) { ["from"] = "yesterday" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("neither a sequence", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var unknown = await browser.PostFormAsync("/dashboard/subscriptions/sub_nope/replay", new Dictionary<string, string>(token) { ["from"] = "0" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var anonymous = new BrowserSession(rig.Host.BaseAddress);
        using var signedOut = await anonymous.PostFormAsync($"/dashboard/subscriptions/{id}/replay", new Dictionary<string, string>(token) { ["from"] = "0" });
        Assert.Equal(HttpStatusCode.Unauthorized, signedOut.StatusCode);
        Assert.Equal(0, (long)(await rig.GetAsync($"/v1/subscriptions/{id}"))["backlog"]!);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
