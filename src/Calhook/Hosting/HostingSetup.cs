using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Hosting;

internal static class HostingSetup
{
    /// <summary>
    /// Host arguments that read appsettings.json once instead of watching it: a watch for changes watches the whole
    /// working directory with its subfolders, and the data directory lies inside it by default, so every write of the
    /// database, its WAL and its shared memory woke the watcher (7 % of the process's CPU during a 100,000-event full
    /// list).
    /// </summary>
    public static string[] ReadSettingsOnce => ["--hostBuilder:reloadConfigOnChange=false"];

    /// <summary>Options binding and validation, TimeProvider, problem details, API key, metrics.</summary>
    public static IServiceCollection AddCalhookHosting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CalhookOptions>()
            .Bind(configuration.GetSection(CalhookOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CalhookOptions>, CalhookOptionsValidator>());
        services.TryAddSingleton(Coordination.StoreKind.Sqlite);
        services.AddOptions<Coordination.CoordinationOptions>()
            .BindConfiguration(Coordination.CoordinationOptions.SectionName)
            .Validate(o => o.LeaseTimeToLive >= TimeSpan.FromSeconds(1), "Calhook:Coordination:LeaseTimeToLive must be at least 1 second.")
            .ValidateOnStart();

        // TryAdd: a TimeProvider registered earlier (a test's FakeTimeProvider) is kept; one registered later wins anyway.
        services.TryAddSingleton(TimeProvider.System);

        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, ErrorHandlingStartupFilter>());
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });

        services.TryAddSingleton<ApiKeyProvider>();
        services.AddCalhookApiKeyAuth();
        services.AddMetrics();
        services.TryAddSingleton<CalhookMetrics>();
        services.AddHostedService<CalhookStartup>();
        services.AddCalhookOpenTelemetry(configuration);
        services.AddOpenApi(OpenApiDocument.Name, options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Calhook";
            document.Info.Version = "v1";
            // The document describes the API, not one running instance: no server URL (it would differ per run).
            document.Servers?.Clear();
            return Task.CompletedTask;
        }));
        return services;
    }

    /// <summary>Serves the OpenAPI document of every mapped route at <see cref="OpenApiDocument.Path"/>, with no key.</summary>
    public static IEndpointRouteBuilder MapOpenApiDocument(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapOpenApi(OpenApiDocument.Path);
        return endpoints;
    }

    /// <summary>
    /// Puts Calhook's error handling in front of the host's pipeline: unhandled exceptions and empty error
    /// responses become problem+json.
    /// </summary>
    private sealed class ErrorHandlingStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseExceptionHandler();
            app.UseStatusCodePages();
            next(app);
        };
    }
}

/// <summary>Where the OpenAPI document is served; <c>docs/openapi.json</c> is a committed copy of it.</summary>
public static class OpenApiDocument
{
    public const string Name = "v1";

    public const string Path = "/openapi/{documentName}.json";
}
