namespace Calhook.Emulator.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Default_channel_ttl_is_seven_days() =>
        Assert.Equal(604_800, new EmulatorOptions().MaxChannelTtlSeconds);
}
