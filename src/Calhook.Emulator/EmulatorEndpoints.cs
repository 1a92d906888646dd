using Calhook.Emulator.Calendars;
using Calhook.Emulator.Channels;
using Calhook.Emulator.Control;
using Calhook.Emulator.Events;
using Calhook.Emulator.Faults;
using Calhook.Emulator.Persistence;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Calhook.Emulator;

/// <summary>Hosts the emulator inside any ASP.NET Core app: <c>AddCalendarEmulator()</c> then <c>MapCalendarEmulator()</c>.</summary>
public static class EmulatorEndpoints
{
    /// <summary>Registers the emulator's state (in memory, one per container) and its options.</summary>
    public static IServiceCollection AddCalendarEmulator(this IServiceCollection services, Action<EmulatorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<EmulatorOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.MaxChannelTtlSeconds > 0, "EmulatorOptions.MaxChannelTtlSeconds must be positive.")
            .Validate(o => o.SyncTokenLifetimeSeconds is null or > 0, "EmulatorOptions.SyncTokenLifetimeSeconds must be positive.")
            .Validate(o => o.NotificationMaxAttempts > 0, "EmulatorOptions.NotificationMaxAttempts must be positive.")
            .ValidateOnStart();
        services.AddSingleton(sp => new EmulatorRuntime(sp.GetRequiredService<IOptions<EmulatorOptions>>().Value));
        services.AddSingleton<UserDirectory>();
        services.AddSingleton<ServiceAccounts>();
        services.AddSingleton<CalendarStore>();
        services.AddSingleton<ChangeSignal>();
        services.AddSingleton<ListTokens>();
        services.AddSingleton<EventWriter>();
        services.AddSingleton<SeriesSplitter>();
        services.AddSingleton<EventLister>();
        services.AddSingleton<ChannelRegistry>();
        services.AddSingleton<FaultInjector>();
        services.AddSingleton<NotificationDispatcher>();
        services.AddSingleton<EmulatorStateFile>();
        services.AddHostedService(sp => sp.GetRequiredService<EmulatorStateFile>());
        return services;
    }

    /// <summary>Maps Google's surface at the root (<c>/calendar/v3</c>, <c>/o/oauth2/v2/auth</c>, <c>/token</c>) and <c>/emulator/v1</c>.</summary>
    public static IEndpointRouteBuilder MapCalendarEmulator(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var dispatcher = services.GetRequiredService<NotificationDispatcher>();
        services.GetRequiredService<CalendarStore>().CalendarListChanged +=
            user => dispatcher.Publish(ChannelEndpoints.CalendarListCollection(user));

        var api = endpoints.MapGroup("/calendar/v3");
        api.AddEndpointFilter(BearerAuth.FilterAsync);
        api.MapEvents();
        api.MapChannels();
        api.MapCalendars();
        endpoints.Map("/calendar/v3/{**rest}", () => GoogleError.NotFound().ToResult());
        endpoints.MapOAuth();
        endpoints.MapControls();
        endpoints.MapScenarios();
        return endpoints;
    }
}
