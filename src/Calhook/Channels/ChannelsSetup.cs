using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Calhook.Channels;

/// <summary>
/// The channels feature's services: options, the channel map, the supervisor that keeps channels open and the stopper
/// of channels nobody knows.
/// </summary>
internal static class ChannelsSetup
{
    public static IServiceCollection AddCalhookChannels(this IServiceCollection services)
    {
        services.AddOptions<ChannelOptions>()
            .BindConfiguration(ChannelOptions.SectionName)
            .Validate(o => o.RenewalMargin > TimeSpan.Zero && o.RenewalSpread >= TimeSpan.Zero, "Calhook:Channels:RenewalMargin must be positive and RenewalSpread not negative.")
            .Validate(o => o.RetryBaseDelay > TimeSpan.Zero && o.RetryMaxDelay >= o.RetryBaseDelay, "Calhook:Channels:RetryBaseDelay must be positive and at most RetryMaxDelay.")
            .Validate(o => o.RenewalOverlap >= TimeSpan.Zero, "Calhook:Channels:RenewalOverlap must not be negative.")
            .Validate(o => o.UnknownChannelStopsPerSecond > 0, "Calhook:Channels:UnknownChannelStopsPerSecond must be positive.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ChannelMap>();
        services.AddSingleton<ChannelSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<ChannelSupervisor>());
        services.AddSingleton<UnknownChannelStopper>();
        services.AddHostedService(sp => sp.GetRequiredService<UnknownChannelStopper>());
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, WatchesJsonContext.Default));
        return services;
    }
}
