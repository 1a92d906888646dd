namespace Calhook.Emulator;

/// <summary>
/// The options and the settings that can change at run time (<c>PUT /emulator/v1/config</c>). Reads are lock-free;
/// a changed setting applies to the next request.
/// </summary>
internal sealed class EmulatorRuntime(EmulatorOptions options)
{
    private volatile RuntimeConfig _config = new(options.MaxChannelTtlSeconds, options.SyncTokenLifetimeSeconds,
        options.RequireHttpsAddress, options.InstanceTombstonesOnSeriesDelete);

    private long _version;

    /// <summary>
    /// Distinguishes tokens of this emulator process from those of an earlier one (those answer 410). Restored from the
    /// state file, when there is one, so tokens stay valid across restarts.
    /// </summary>
    public string InstanceId { get; set; } = Guid.NewGuid().ToString("N")[..8];

    /// <summary>Counts changes of state worth saving (the state file writes when it moved).</summary>
    public long Version => Interlocked.Read(ref _version);

    public void MarkChanged() => Interlocked.Increment(ref _version);

    public EmulatorOptions Options { get; } = options;

    public TimeProvider Clock { get; } = options.Clock;

    public RuntimeConfig Config
    {
        get => _config;
        set => _config = value;
    }
}

/// <summary>The run-time settings, exactly as <c>GET/PUT /emulator/v1/config</c> shows them.</summary>
/// <param name="MaxChannelTtlSeconds">Longest life of a push channel, in seconds.</param>
/// <param name="SyncTokenLifetimeSeconds">How long a sync token stays valid, in seconds; null: forever.</param>
/// <param name="RequireHttpsAddress">Whether watch requests with a plain-http address are refused.</param>
/// <param name="InstanceTombstonesOnSeriesDelete">Whether deleting a series also lists tombstones for its edited instances.</param>
public sealed record RuntimeConfig(int MaxChannelTtlSeconds, int? SyncTokenLifetimeSeconds, bool RequireHttpsAddress,
    bool InstanceTombstonesOnSeriesDelete = false);
