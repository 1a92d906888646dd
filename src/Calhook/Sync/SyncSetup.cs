using Calhook.Changes;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Sync;

internal static class SyncSetup
{
    /// <summary>Sync options (validated at start-up), the change notifier and ids, the syncer and the scheduler loop.</summary>
    public static IServiceCollection AddCalhookSync(this IServiceCollection services)
    {
        services.AddOptions<SyncOptions>()
            .BindConfiguration(SyncOptions.SectionName)
            .Validate(o => o.MaxConcurrentSyncs >= 1, "Calhook:Sync:MaxConcurrentSyncs must be at least 1.")
            .Validate(o => o.SafetyNetInterval >= TimeSpan.FromSeconds(1), "Calhook:Sync:SafetyNetInterval must be at least 1 second.")
            .Validate(o => o.SafetyNetJitter is >= 0 and <= 0.9, "Calhook:Sync:SafetyNetJitter must be between 0 and 0.9.")
            .Validate(o => o.RetryDelay > TimeSpan.Zero, "Calhook:Sync:RetryDelay must be more than zero.")
            .Validate(o => o.MinSyncInterval >= TimeSpan.Zero && o.MinSyncInterval < o.SafetyNetInterval,
                "Calhook:Sync:MinSyncInterval must be zero or more, and less than Calhook:Sync:SafetyNetInterval.")
            .Validate(o => o.FollowUpQuietTime >= TimeSpan.Zero && o.FollowUpQuietTime < o.SafetyNetInterval,
                "Calhook:Sync:FollowUpQuietTime must be zero or more, and less than Calhook:Sync:SafetyNetInterval.")
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ChangeNotifier>();
        services.TryAddSingleton<PingClock>();
        services.TryAddSingleton<CommitTraces>();
        services.TryAddSingleton<SyncProgress>();
        services.TryAddSingleton(sp => new ChangeIds(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new Syncer(
            sp.GetRequiredService<ICalhookStore>(),
            sp.GetRequiredService<GoogleCalendarClient>().ListEventsPageAsync,
            sp.GetRequiredService<ChangeNotifier>(),
            sp.GetRequiredService<ChangeIds>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<Syncer>>())
        {
            ChangeEmitted = sp.GetService<CalhookMetrics>() is { } metrics ? type => metrics.ChangesEmitted(type) : null,
            FullListProgress = sp.GetRequiredService<SyncProgress>().Report,
            CommitTraces = sp.GetRequiredService<CommitTraces>(),
        });

        services.AddSingleton(sp =>
        {
            var store = sp.GetRequiredService<ICalhookStore>();
            var metrics = sp.GetService<CalhookMetrics>();
            var options = sp.GetRequiredService<IOptions<SyncOptions>>().Value;
            var budget = sp.GetRequiredService<RequestBudget>();
            var measured = SyncTelemetry.Measure(Calendars.CalendarsSetup.Runner(sp), sp.GetRequiredService<PingClock>(), sp.GetRequiredService<SyncProgress>(), metrics, sp.GetRequiredService<TimeProvider>());
            // Instances sharing the store sync a watch only under its lease; a release that finds the lease was asked
            // for by another instance meanwhile asks this scheduler for the follow-up.
            SyncScheduler? scheduler = null;
            var runner = Coordination.CoordinationSetup.LeasedWhenShared(sp, measured, id => scheduler!.RequestSync(id));
            return scheduler = new SyncScheduler(
                runner,
                async ct => [.. (await store.ListWatchesAsync(ct)).Select(w => new WatchLastSync(w.Id, w.LastSyncAt, w.AccountId))],
                options,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<SyncScheduler>>())
            {
                SyncFinished = metrics is null ? null : (_, outcome) => metrics.SyncCompleted(SyncTelemetry.OutcomeName(outcome.Result)),
                SafetyNetInterval = watches => budget.SafetyNetInterval(
                    options.SafetyNetInterval,
                    watches.GroupBy(w => w.AccountId, StringComparer.Ordinal).Select(g => g.Count())),
                SafetyNetIntervalChosen = interval => budget.CurrentSafetyNetInterval = interval,
                // On a shared store one instance runs the catch-up and the safety net for all (on SQLite: this one).
                LeadSafetyNet = sp.GetRequiredService<Coordination.SafetyNetLeadership>().LeadAsync,
            };
        });
        services.AddHostedService(sp => sp.GetRequiredService<SyncScheduler>());
        return services;
    }
}
