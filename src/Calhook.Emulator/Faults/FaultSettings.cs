namespace Calhook.Emulator.Faults;

/// <summary>Fault injection, as <c>GET/PUT /emulator/v1/faults</c> shows it. Every field is optional; default: no faults.</summary>
public sealed record FaultSettings
{
    /// <summary>Seed of the random choices; the same seed and the same calls give the same faults. Default: random.</summary>
    public int? Seed { get; init; }

    /// <summary>Faults on push deliveries. Default: none.</summary>
    public NotificationFaults? Notifications { get; init; }

    /// <summary>Faults on Calendar API calls. Default: none.</summary>
    public ApiFaults? Api { get; init; }

    /// <summary>A description of the first invalid field, or null.</summary>
    internal string? Validate()
    {
        if (Notifications is { } n)
        {
            if (n.DropRate is < 0 or > 1)
            {
                return "notifications.dropRate must be between 0 and 1";
            }

            if (n.DuplicateRate is < 0 or > 1)
            {
                return "notifications.duplicateRate must be between 0 and 1";
            }

            if (n.DelayMs is { } d && (d.Length != 2 || d[0] < 0 || d[1] < d[0]))
            {
                return "notifications.delayMs must be [min,max] with 0 <= min <= max";
            }
        }

        if (Api is { } a)
        {
            if (a.ErrorRate is < 0 or > 1)
            {
                return "api.errorRate must be between 0 and 1";
            }

            if (a.RateLimitRate is < 0 or > 1)
            {
                return "api.rateLimitRate must be between 0 and 1";
            }

            if (a.FullSyncRequiredRate is < 0 or > 1)
            {
                return "api.fullSyncRequiredRate must be between 0 and 1";
            }

            if (a.ErrorStatus is < 500 or > 599)
            {
                return "api.errorStatus must be a 5xx status";
            }
        }

        return null;
    }
}

/// <summary>Faults on push deliveries.</summary>
public sealed record NotificationFaults
{
    /// <summary>Share of notifications never sent (0–1).</summary>
    public double DropRate { get; init; }

    /// <summary>Share of notifications sent twice, with the same message number (0–1).</summary>
    public double DuplicateRate { get; init; }

    /// <summary>Extra delay before each notification, drawn uniformly from [min, max] milliseconds.</summary>
    public int[]? DelayMs { get; init; }

    /// <summary>When true, each notification is held until the next one of its channel is sent first.</summary>
    public bool Reorder { get; init; }
}

/// <summary>Faults on <c>/calendar/v3/*</c> calls (never on OAuth or the emulator controls).</summary>
public sealed record ApiFaults
{
    /// <summary>Share of calls answered <see cref="ErrorStatus"/> with Google's <c>backendError</c> (0–1).</summary>
    public double ErrorRate { get; init; }

    /// <summary>Status of injected server errors. Default (null) 503.</summary>
    public int? ErrorStatus { get; init; }

    /// <summary>Share of calls answered Google's 403 or 429 <c>rateLimitExceeded</c> (0–1).</summary>
    public double RateLimitRate { get; init; }

    /// <summary>Share of <c>events.list</c> calls with a sync token answered 410 <c>fullSyncRequired</c> (0–1).</summary>
    public double FullSyncRequiredRate { get; init; }
}
