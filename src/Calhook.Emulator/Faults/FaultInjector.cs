using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Faults;

/// <summary>Draws faults from the current settings with a seeded random source. Thread-safe.</summary>
internal sealed class FaultInjector
{
    private readonly Lock _gate = new();
    private FaultSettings _settings = new();
    private Random _random = new();

    public FaultSettings Settings
    {
        get
        {
            lock (_gate)
            {
                return _settings;
            }
        }
    }

    public void Apply(FaultSettings value)
    {
        lock (_gate)
        {
            _settings = value;
            _random = value.Seed is { } seed ? new Random(seed) : new Random();
        }
    }

    public void Reset() => Apply(new FaultSettings());

    public bool DropNotification() => Roll(s => s.Notifications?.DropRate ?? 0);

    public bool DuplicateNotification() => Roll(s => s.Notifications?.DuplicateRate ?? 0);

    public bool Reorder
    {
        get
        {
            lock (_gate)
            {
                return _settings.Notifications?.Reorder ?? false;
            }
        }
    }

    public TimeSpan NotificationDelay()
    {
        lock (_gate)
        {
            if (_settings.Notifications?.DelayMs is not [var min, var max])
            {
                return TimeSpan.Zero;
            }

            return TimeSpan.FromMilliseconds(_random.Next(min, max + 1));
        }
    }

    /// <summary>The gap to the next message number: 1 to 3, so numbers increase with gaps as Google's do.</summary>
    public long NextMessageGap()
    {
        lock (_gate)
        {
            return _random.Next(1, 4);
        }
    }

    /// <summary>An error to answer instead of the call, or null to serve it.</summary>
    public GoogleError? ApiFault(bool incrementalList)
    {
        lock (_gate)
        {
            if (_settings.Api is not { } api)
            {
                return null;
            }

            if (api.ErrorRate > 0 && _random.NextDouble() < api.ErrorRate)
            {
                return GoogleError.Backend(api.ErrorStatus ?? 503);
            }

            if (api.RateLimitRate > 0 && _random.NextDouble() < api.RateLimitRate)
            {
                return GoogleError.RateLimit(_random.Next(2) == 0 ? 403 : 429);
            }

            if (incrementalList && api.FullSyncRequiredRate > 0 && _random.NextDouble() < api.FullSyncRequiredRate)
            {
                return GoogleError.FullSyncRequired();
            }

            return null;
        }
    }

    private bool Roll(Func<FaultSettings, double> rate)
    {
        lock (_gate)
        {
            var p = rate(_settings);
            return p > 0 && _random.NextDouble() < p;
        }
    }
}
