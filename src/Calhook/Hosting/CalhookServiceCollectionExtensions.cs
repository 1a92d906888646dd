using Calhook.Accounts;
using Calhook.Calendars;
using Calhook.Changes;
using Calhook.Channels;
using Calhook.Coordination;
using Calhook.Delivery;
using Calhook.Dashboard;
using Calhook.Google;
using Calhook.Receiving;
using Calhook.Storage;
using Calhook.Sync;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Hosting;

/// <summary>Calhook's one registration and one mapping; <c>Program.cs</c> of a host calls both.</summary>
public static class CalhookServiceCollectionExtensions
{
    /// <summary>Registers Calhook's services, options (section <c>Calhook</c>) and background loops.</summary>
    public static IServiceCollection AddCalhook(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddCalhookHosting(configuration);
        services.AddCalhookStorage();
        services.AddCalhookGoogle();
        services.AddCalhookAccounts();
        services.AddCalhookChannels();
        services.AddCalhookReceiving();
        services.AddCalhookSync();
        services.AddCalhookCoordination();
        services.AddCalhookCalendars();
        services.AddCalhookDelivery();
        services.AddCalhookChanges();
        services.AddCalhookDashboard();
        return services;
    }

    /// <summary>Maps the receiver, the admin API, the health endpoints and the OpenAPI document.</summary>
    public static IEndpointRouteBuilder MapCalhook(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealth();
        endpoints.MapOpenApiDocument();
        endpoints.MapReceiver();
        endpoints.MapAccounts();
        endpoints.MapWatches();
        endpoints.MapChanges();
        endpoints.MapSync();
        endpoints.MapSubscriptions();
        endpoints.MapQuota();
        endpoints.MapDashboard();
        return endpoints;
    }
}
