using Calhook.Changes;
using Calhook.Channels;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Calendars;

internal static class CalendarsSetup
{
    /// <summary>Calendar-list options (validated at start-up), the calendar-list syncer and the watch follower.</summary>
    public static IServiceCollection AddCalhookCalendars(this IServiceCollection services)
    {
        services.AddOptions<CalendarListOptions>()
            .BindConfiguration(CalendarListOptions.SectionName)
            .Validate(o => o.FullListInterval >= TimeSpan.Zero, "Calhook:CalendarList:FullListInterval must not be negative.")
            .ValidateOnStart();
        services.AddSingleton(sp => new CalendarWatches(
            sp.GetRequiredService<ICalhookStore>(),
            sp.GetRequiredService<ChannelSupervisor>,
            sp.GetRequiredService<SyncScheduler>,
            sp.GetRequiredService<ChangeIds>(),
            sp.GetRequiredService<ChangeNotifier>(),
            sp.GetService<CalhookMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CalendarWatches>>()));
        services.AddSingleton(sp => new CalendarListSyncer(
            sp.GetRequiredService<ICalhookStore>(),
            sp.GetRequiredService<GoogleCalendarClient>().ListCalendarListPageAsync,
            sp.GetRequiredService<CalendarWatches>(),
            sp.GetRequiredService<ChangeIds>(),
            sp.GetRequiredService<IOptions<CalendarListOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CalendarListSyncer>>()));
        return services;
    }

    /// <summary>The sync runner of the scheduler: each watch to the syncer of its kind (see <see cref="CalendarWatches.SyncAsync"/>).</summary>
    public static SyncRunner Runner(IServiceProvider services)
    {
        var watches = services.GetRequiredService<CalendarWatches>();
        var events = services.GetRequiredService<Syncer>();
        var lists = services.GetRequiredService<CalendarListSyncer>();
        return (watchId, cancellationToken) => watches.SyncAsync(watchId, events, lists, cancellationToken);
    }
}
