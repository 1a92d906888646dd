namespace Calhook.Emulator;

/// <summary>
/// Settings of the emulator. <see cref="MaxChannelTtlSeconds"/>, <see cref="SyncTokenLifetimeSeconds"/> and
/// <see cref="RequireHttpsAddress"/> can also be changed at run time through <c>PUT /emulator/v1/config</c>.
/// </summary>
public sealed class EmulatorOptions
{
    /// <summary>Longest life of a push channel, in seconds. Default 7 days, as Google's events channels.</summary>
    public int MaxChannelTtlSeconds { get; set; } = 604_800;

    /// <summary>How long a sync token stays valid, in seconds; after that it answers 410. Default null: forever.</summary>
    public int? SyncTokenLifetimeSeconds { get; set; }

    /// <summary>When true, watch requests with a plain-http address are refused as Google does. Default false.</summary>
    public bool RequireHttpsAddress { get; set; }

    /// <summary>
    /// When true, deleting a recurring series also lists a tombstone for each of its edited instances. Default false:
    /// Google's recorded series deletions show only the master's tombstone; whether Google ever adds the instances' is
    /// not recorded, so this switch lets a client be tested both ways.
    /// </summary>
    public bool InstanceTombstonesOnSeriesDelete { get; set; }

    /// <summary>The clock. Default null: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Life of an access token, in seconds. Default 3600, as Google's.</summary>
    public int AccessTokenLifetimeSeconds { get; set; } = 3600;

    /// <summary>Largest accepted request body, in bytes. Default 1 MiB; larger bodies get a 400.</summary>
    public int MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>Most instances expanded from one recurring series (infinite rules stop there). Default 1000.</summary>
    public int MaxInstancesPerSeries { get; set; } = 1000;

    /// <summary>Delay before the first retry of a notification answered 5xx; doubles per attempt. Default 1 s.</summary>
    public TimeSpan NotificationRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts per notification, the first included. Default 6.</summary>
    public int NotificationMaxAttempts { get; set; } = 6;

    /// <summary>Time allowed for one notification POST. Default 10 s.</summary>
    public TimeSpan NotificationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>With the reorder fault on, how long a held notification waits for the next one. Default 50 ms.</summary>
    public TimeSpan ReorderWindow { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// A file to keep the emulator's state in across restarts (users, tokens, calendars, events, history, channels),
    /// loaded at start and saved when it changes (at most every half second) and at shutdown. Default null: in memory
    /// only.
    /// </summary>
    public string? StateFile { get; set; }

    internal TimeProvider Clock => TimeProvider ?? System.TimeProvider.System;
}
