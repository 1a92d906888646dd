using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Calhook.Hosting;

/// <summary>
/// OpenTelemetry export over OTLP, switched on by the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> setting (an
/// environment variable, or any configuration source). The exporter itself reads the other standard <c>OTEL_*</c>
/// settings (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_SERVICE_NAME</c>, …).
/// Without the endpoint nothing is registered and activities cost nothing.
/// </summary>
internal static class OpenTelemetrySetup
{
    public const string EndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static IServiceCollection AddCalhookOpenTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration[EndpointSetting]))
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("calhook"))
            .WithTracing(tracing => tracing.AddSource(CalhookTelemetry.SourceName).AddOtlpExporter())
            .WithMetrics(metrics => metrics.AddMeter(CalhookMetrics.MeterName, CalhookMetrics.MeterName + ".*").AddOtlpExporter());
        return services;
    }
}
