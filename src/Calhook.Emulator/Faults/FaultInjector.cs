using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Faults;

/// <summary>Draws faults from the current settings with a seeded random source. Thread-safe.</summary>
internal sealed class FaultInjector
{
    private readonly Lock gate = new();
    private FaultSettings settings = new();
    private Random random = new();

    public FaultSettings Settings
    {
        get
        {
            lock (gate) return settings;
        }
    }

    public void Apply(FaultSettings value)
    {
        lock (gate)
        {
            settings = value;
            random = value.Seed is { } seed ? new Random(seed) : new Random();
        }
    }

    public void Reset() => Apply(new FaultSettings());

    public bool DropNotification() => Roll(s => s.Notifications?.DropRate ?? 0);

    public bool DuplicateNotification() => Roll(s => s.Notifications?.DuplicateRate ?? 0);

    public bool Reorder
    {
        get
        {
            lock (gate) return settings.Notifications?.Reorder ?? false;
        }
    }

    public TimeSpan NotificationDelay()
    {
        lock (gate)
        {
            if (settings.Notifications?.DelayMs is not [var min, var max]) return TimeSpan.Zero;
            return TimeSpan.FromMilliseconds(random.Next(min, max + 1));
        }
    }

    /// <summary>The gap to the next message number: 1 to 3, so numbers increase with gaps as Google's do.</summary>
    public long NextMessageGap()
    {
        lock (gate) return random.Next(1, 4);
    }

    /// <summary>An error to answer instead of the call, or null to serve it.</summary>
    public GoogleError? ApiFault(bool incrementalList)
    {
        lock (gate)
        {
            if (settings.Api is not { } api) return null;
            if (api.ErrorRate > 0 && random.NextDouble() < api.ErrorRate) return GoogleError.Backend(api.ErrorStatus ?? 503);
            if (api.RateLimitRate > 0 && random.NextDouble() < api.RateLimitRate)
            {
                return GoogleError.RateLimit(random.Next(2) == 0 ? 403 : 429);
            }

            if (incrementalList && api.FullSyncRequiredRate > 0 && random.NextDouble() < api.FullSyncRequiredRate)
            {
                return GoogleError.FullSyncRequired();
            }

            return null;
        }
    }

    private bool Roll(Func<FaultSettings, double> rate)
    {
        lock (gate)
        {
            var p = rate(settings);
            return p > 0 && random.NextDouble() < p;
        }
    }
}
