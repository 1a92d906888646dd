using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Receiving;

/// <summary>The receiving feature's services: options, metrics and the recorder of last notifications.</summary>
internal static class ReceivingSetup
{
    public static IServiceCollection AddCalhookReceiving(this IServiceCollection services)
    {
        services.AddOptions<ReceivingOptions>()
            .BindConfiguration(ReceivingOptions.SectionName)
            .Validate(o => o.MaxBodyBytes >= 0, "Calhook:Receiving:MaxBodyBytes must not be negative.")
            .Validate(o => o.FlushInterval > TimeSpan.Zero, "Calhook:Receiving:FlushInterval must be positive.")
            .Validate(o => o.VerificationFiles.Keys.All(VerificationFiles.IsValidName), "Calhook:Receiving:VerificationFiles names must be plain file names ending in .html or .txt.")
            .ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<ReceiverMetrics>();
        services.AddSingleton<NotificationRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<NotificationRecorder>());
        return services;
    }
}
