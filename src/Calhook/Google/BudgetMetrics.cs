using System.Diagnostics.Metrics;
using Calhook.Hosting;

namespace Calhook.Google;

/// <summary>
/// The request budget as gauges on the meter <c>Calhook.Google</c>, read when <c>/metrics</c> is asked:
/// <c>calhook_google_budget_used{scope,window}</c> and <c>calhook_google_budget_limit{scope,window}</c> (scope
/// <c>project</c> or <c>account</c>, window <c>minute</c> or <c>day</c>; for <c>account</c>, <c>used</c> is the
/// most-used account's count), and the safety net's interval
/// <c>calhook_sync_safety_net_interval_seconds{interval="configured|current"}</c> with
/// <c>calhook_sync_safety_net_stretched</c> (1 while the budget stretches it).
/// </summary>
/// <remarks>
/// One series for the most-used account rather than one per account: an instance may hold thousands of accounts, and a
/// label per account would grow the series without bound. Every account has the same per-user limit, so the busiest
/// one is the one that says whether any account is near it.
/// </remarks>
internal static class BudgetMetrics
{
    /// <summary>Creates the gauges; the meter lives as long as <paramref name="meterFactory"/> (the host's).</summary>
    /// <param name="meterFactory">The host's meter factory.</param>
    /// <param name="budget">The budget observed.</param>
    /// <param name="configuredSafetyNet">Reads <c>Sync:SafetyNetInterval</c>.</param>
    public static void Observe(IMeterFactory meterFactory, RequestBudget budget, Func<TimeSpan> configuredSafetyNet)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(budget);
        var meter = meterFactory.Create(CalhookMetrics.MeterName + ".Google");
        var limits = budget.Limits;
        meter.CreateObservableGauge("calhook.google.budget.used", () =>
        {
            var usage = budget.Usage();
            return new[]
            {
                Window(usage.ProjectMinute, "project", "minute"),
                Window(usage.ProjectDay, "project", "day"),
                Window(usage.BusiestUserMinute, "account", "minute"),
                Window(usage.BusiestUserDay, "account", "day"),
            };
        }, description: "Requests to Google in the current sliding window (for scope account: the most-used account's).");
        meter.CreateObservableGauge("calhook.google.budget.limit", () => new[]
        {
            Window(limits.RequestsPerMinute, "project", "minute"),
            Window(limits.RequestsPerDay, "project", "day"),
            Window(limits.RequestsPerMinutePerUser, "account", "minute"),
            Window(limits.RequestsPerDayPerUser, "account", "day"),
        }, description: "The configured request budget per window (0: no limit).");
        meter.CreateObservableGauge("calhook.sync.safety_net.interval", () =>
        {
            var (configured, current) = SafetyNet(budget, configuredSafetyNet());
            return new[]
            {
                new Measurement<double>(configured.TotalSeconds, new KeyValuePair<string, object?>("interval", "configured")),
                new Measurement<double>(current.TotalSeconds, new KeyValuePair<string, object?>("interval", "current")),
            };
        }, unit: "s", description: "The safety net's interval: configured, and the one its latest look used.");
        meter.CreateObservableGauge("calhook.sync.safety_net.stretched", () =>
        {
            var (configured, current) = SafetyNet(budget, configuredSafetyNet());
            return current > configured ? 1L : 0L;
        }, description: "1 while the request budget stretches the safety net beyond its configured interval.");
    }

    /// <summary>The configured interval and the one in use (the configured one before the first pass).</summary>
    public static (TimeSpan Configured, TimeSpan Current) SafetyNet(RequestBudget budget, TimeSpan configured)
    {
        ArgumentNullException.ThrowIfNull(budget);
        var current = budget.CurrentSafetyNetInterval;
        return (configured, current > TimeSpan.Zero ? current : configured);
    }

    private static Measurement<long> Window(long value, string scope, string window) =>
        new(value, new KeyValuePair<string, object?>("scope", scope), new KeyValuePair<string, object?>("window", window));
}
