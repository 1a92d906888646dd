namespace Calhook.Emulator;

/// <summary>Settings of the emulator; all can be changed at run time through <c>PUT /emulator/v1/config</c>.</summary>
public sealed class EmulatorOptions
{
    /// <summary>Longest life of a push channel, in seconds. Default 7 days, as Google's events channels.</summary>
    public int MaxChannelTtlSeconds { get; set; } = 604_800;
}
