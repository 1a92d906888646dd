using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Calhook.Delivery;

internal static class DeliverySetup
{
    /// <summary>Delivery options (validated at start-up), the webhook client, the retry policy and the sender loop.</summary>
    public static IServiceCollection AddCalhookDelivery(this IServiceCollection services)
    {
        const string prefix = DeliveryOptions.SectionName;
        services.AddOptions<DeliveryOptions>()
            .BindConfiguration(prefix)
            .Validate(o => o.EffectiveRetryDelays.All(d => d > TimeSpan.Zero), $"{prefix}:RetryDelays must all be more than zero.")
            .Validate(o => o.RetryJitter is >= 0 and < 1, $"{prefix}:RetryJitter must be at least 0 and less than 1.")
            .Validate(o => o.AttemptTimeout > TimeSpan.Zero, $"{prefix}:AttemptTimeout must be more than zero.")
            .Validate(o => o.MaxResponseBodyBytes >= 0, $"{prefix}:MaxResponseBodyBytes must not be negative.")
            .Validate(o => o.MaxConcurrentAttempts >= 1, $"{prefix}:MaxConcurrentAttempts must be at least 1.")
            .Validate(o => o.SecretRotationOverlap >= TimeSpan.Zero, $"{prefix}:SecretRotationOverlap must not be negative.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.InstanceId), $"{prefix}:InstanceId must not be empty.")
            .Validate(o => o.AttemptLogMaxPerSubscription >= 1, $"{prefix}:AttemptLogMaxPerSubscription must be at least 1.")
            .Validate(o => o.AttemptLogMaxAge > TimeSpan.Zero, $"{prefix}:AttemptLogMaxAge must be more than zero.")
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DeliveryOptions>>().Value;
            return new WebhookClient(options.AllowPrivateNetworks, options.AttemptTimeout, options.MaxResponseBodyBytes, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DeliveryOptions>>().Value;
            return new RetryPolicy(options.EffectiveRetryDelays, options.RetryJitter, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<DeliveryOptions>>().Value);
        services.TryAddSingleton<DeliveryMetrics>();
        services.TryAddSingleton<CommitTraces>();
        services.AddSingleton<DeliverySender>();
        services.AddHostedService(sp => sp.GetRequiredService<DeliverySender>());
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, SubscriptionsJsonContext.Default));
        return services;
    }
}
