using Calhook.Storage;
using Calhook.Sync;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Coordination;

internal static class CoordinationSetup
{
    /// <summary>
    /// The channel and safety-net leaderships, the pending pings and, when the store is shared, the sweeper that hands a dead instance's syncs to this one.
    /// The sync leases themselves wrap the scheduler's runner (<see cref="LeasedWhenShared"/>, used by SyncSetup). The
    /// options (<see cref="CoordinationOptions"/>) are registered and validated with the hosting options.
    /// </summary>
    public static IServiceCollection AddCalhookCoordination(this IServiceCollection services)
    {
        services.TryAddSingleton(StoreKind.Sqlite);
        services.TryAddSingleton(sp => new ChannelLeadership(
            sp.GetRequiredService<ICalhookStore>(), sp.GetRequiredService<StoreKind>(), TimeToLive(sp),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ChannelLeadership>>()));
        services.TryAddSingleton(sp => new SafetyNetLeadership(
            sp.GetRequiredService<ICalhookStore>(), sp.GetRequiredService<StoreKind>(), TimeToLive(sp),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SafetyNetLeadership>>()));
        services.TryAddSingleton(sp => new PendingPings(
            sp.GetRequiredService<ICalhookStore>(), sp.GetRequiredService<StoreKind>(), sp.GetRequiredService<SyncScheduler>(), TimeToLive(sp),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PendingPings>>()));
        services.AddHostedService(sp => sp.GetRequiredService<PendingPings>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<StoreKind>().Shared
            ? new LeaseSweeper(sp.GetRequiredService<ICalhookStore>(), sp.GetRequiredService<SyncScheduler>(), TimeToLive(sp),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LeaseSweeper>>())
            : new NoWork());
        return services;
    }

    /// <summary>The sync runner, under a lease per watch when the store is shared; unchanged on SQLite (one process).</summary>
    public static SyncRunner LeasedWhenShared(IServiceProvider services, SyncRunner sync, Action<string> requestFollowUp)
    {
        var kind = services.GetRequiredService<StoreKind>();
        return !kind.Shared
            ? sync
            : new SyncLeases(services.GetRequiredService<ICalhookStore>(), kind, TimeToLive(services),
                services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<SyncLeases>>()).Wrap(sync, requestFollowUp);
    }

    private static TimeSpan TimeToLive(IServiceProvider services) =>
        services.GetRequiredService<IOptions<CoordinationOptions>>().Value.LeaseTimeToLive;

    /// <summary>Stands in for the sweeper on a store that is not shared.</summary>
    private sealed class NoWork : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
