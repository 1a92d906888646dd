using System.Globalization;
using System.Text.RegularExpressions;
using Calhook.TestKit;

namespace Calhook.Tests.Google;

/// <summary>The request budget's gauges at <c>/metrics</c>: limits, what the windows hold, and the safety net's interval.</summary>
public sealed class BudgetMetricsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_budget_gauges_show_the_limits_from_the_start_and_count_every_request_sent_to_google()
    {
        await using var world = await EmulatorWorld.StartAsync(o =>
        {
            o.WithQuickRecovery();
            o.Settings["Calhook:Google:RequestsPerMinute"] = "1234";
            o.Settings["Calhook:Google:RequestsPerDay"] = "56789";
            o.Settings["Calhook:Google:RequestsPerMinutePerUser"] = "321";
        });

        var before = await MetricsAsync(world);
        Assert.Contains("# TYPE calhook_google_budget_used gauge", before, StringComparison.Ordinal);
        Assert.Contains("# TYPE calhook_google_budget_limit gauge", before, StringComparison.Ordinal);
        Assert.Equal(1234, Value(before, "calhook_google_budget_limit{scope=\"project\",window=\"minute\"}"));
        Assert.Equal(56789, Value(before, "calhook_google_budget_limit{scope=\"project\",window=\"day\"}"));
        Assert.Equal(321, Value(before, "calhook_google_budget_limit{scope=\"account\",window=\"minute\"}"));
        Assert.Equal(0, Value(before, "calhook_google_budget_limit{scope=\"account\",window=\"day\"}"));
        Assert.Equal(0, Value(before, "calhook_google_budget_used{scope=\"project\",window=\"minute\"}"));
        Assert.Equal(3600, Value(before, "calhook_sync_safety_net_interval_seconds{interval=\"configured\"}"));
        Assert.Equal(0, Value(before, "calhook_sync_safety_net_stretched"));

        // Two accounts: the account gauges follow the busier one, the project gauges count both.
        var watches = new[]
        {
            await world.WatchOwnCalendarAsync("budget-busy@example.com"),
            await world.WatchOwnCalendarAsync("budget-quiet@example.com"),
        };
        foreach (var watch in watches)
        {
            await Polling.EventuallyAsync(async () => (await world.WatchStateAsync(watch))["lastSyncAt"] is not null, Generous, "the baseline is in");
        }

        await world.Api.PostAsync(new Uri($"v1/watches/{watches[0]}/sync", UriKind.Relative), null);

        // Every attempt that reached Google was taken from the budget first: once the last answer is counted, the
        // project's windows hold exactly the requests counted by status class.
        var after = await Polling.EventuallyAsync(() => MetricsAsync(world),
            m => Value(m, "calhook_google_budget_used{scope=\"project\",window=\"minute\"}") == SentToGoogle(m) && SentToGoogle(m) >= 5,
            Generous, "the project's minute holds every request sent");
        var sent = SentToGoogle(after);
        Assert.Equal(sent, Value(after, "calhook_google_budget_used{scope=\"project\",window=\"day\"}"));
        var busiest = Value(after, "calhook_google_budget_used{scope=\"account\",window=\"minute\"}");
        Assert.InRange(busiest, sent / 2, sent - 2);
        Assert.Equal(busiest, Value(after, "calhook_google_budget_used{scope=\"account\",window=\"day\"}"));
    }

    [Fact]
    public async Task The_safety_net_gauges_say_when_the_budget_stretches_it()
    {
        await using var world = await EmulatorWorld.StartAsync(o =>
        {
            o.WithQuickRecovery();
            // One watch every second is 60 a minute; the safety net may spend 7 of these 10.
            o.Settings["Calhook:Google:RequestsPerMinute"] = "10";
            o.Settings["Calhook:Sync:SafetyNetInterval"] = "00:00:01";
        });
        await world.WatchOwnCalendarAsync("budget-stretch@example.com");

        var metrics = await Polling.EventuallyAsync(() => MetricsAsync(world),
            m => Value(m, "calhook_sync_safety_net_stretched") == 1, Generous, "the safety net is stretched");
        Assert.Equal(1, Value(metrics, "calhook_sync_safety_net_interval_seconds{interval=\"configured\"}"));
        // One request per watch (the calendar's, and its account's calendar list) per pass, 7 a minute: 60/7 s each.
        var perWatch = Value(metrics, "calhook_sync_safety_net_interval_seconds{interval=\"current\"}") / (60.0 / 7);
        Assert.True(perWatch >= 0.999 && Math.Abs(perWatch - Math.Round(perWatch)) < 0.001, $"{perWatch} watches' worth of 60/7 s");
    }

    private static Task<string> MetricsAsync(EmulatorWorld world) => world.Api.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    private static double SentToGoogle(string metrics) =>
        Regex.Matches(metrics, "^calhook_google_requests_total\\{status_class=\"[^\"]+\"\\} (\\S+)$", RegexOptions.Multiline)
            .Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    private static double Value(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"{series} is missing from:\n{metrics}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
