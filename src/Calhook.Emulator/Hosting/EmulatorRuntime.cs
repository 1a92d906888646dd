namespace Calhook.Emulator;

/// <summary>
/// The options and the settings that can change at run time (<c>PUT /emulator/v1/config</c>). Reads are lock-free;
/// a changed setting applies to the next request.
/// </summary>
internal sealed class EmulatorRuntime(EmulatorOptions options)
{
    private volatile RuntimeConfig config = new(options.MaxChannelTtlSeconds, options.SyncTokenLifetimeSeconds,
        options.RequireHttpsAddress, options.InstanceTombstonesOnSeriesDelete);

    /// <summary>Distinguishes tokens of this emulator process from those of an earlier one (those answer 410).</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N")[..8];

    public EmulatorOptions Options { get; } = options;

    public TimeProvider Clock { get; } = options.Clock;

    public RuntimeConfig Config
    {
        get => config;
        set => config = value;
    }
}

/// <summary>The run-time settings, exactly as <c>GET/PUT /emulator/v1/config</c> shows them.</summary>
internal sealed record RuntimeConfig(int MaxChannelTtlSeconds, int? SyncTokenLifetimeSeconds, bool RequireHttpsAddress,
    bool InstanceTombstonesOnSeriesDelete = false);
