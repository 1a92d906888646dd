using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Changes;

internal static class ChangesSetup
{
    /// <summary>The change feed's stream: its options (section <c>Calhook:Stream</c>, validated at start-up) and its hub.</summary>
    public static IServiceCollection AddCalhookChanges(this IServiceCollection services)
    {
        services.AddOptions<ChangeStreamOptions>()
            .BindConfiguration(ChangeStreamOptions.SectionName)
            .Validate(o => o.MaxReaders >= 1, "Calhook:Stream:MaxReaders must be at least 1.")
            .Validate(o => o.ReaderBufferBytes >= 1024, "Calhook:Stream:ReaderBufferBytes must be at least 1024.")
            .Validate(o => o.StalledReaderTimeout >= TimeSpan.FromMilliseconds(100), "Calhook:Stream:StalledReaderTimeout must be at least 100 ms.")
            .ValidateOnStart();
        services.AddSingleton<ChangeStreamHub>();
        services.AddHostedService(sp => sp.GetRequiredService<ChangeStreamHub>());
        return services;
    }
}
