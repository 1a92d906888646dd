namespace Calhook.Tests.Cli;

/// <summary>The emulator's controls are unauthenticated by design, so it listens on loopback unless told otherwise.</summary>
public sealed class EmulatorExposureTests
{
    [Theory]
    [InlineData("http://0.0.0.0:{0}")]
    [InlineData("http://[::]:{0}")]
    [InlineData("http://*:{0}")]
    [InlineData("http://+:{0}")]
    [InlineData("http://example.com:{0}")]
    public async Task The_emulator_refuses_a_non_loopback_address_without_allow_remote(string url)
    {
        await using var emulator = CalhookProcess.Start("emulator", "--urls", string.Format(System.Globalization.CultureInfo.InvariantCulture, url, CalhookProcess.FreePort()));

        Assert.Equal(2, await emulator.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("--allow-remote", emulator.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on", emulator.Output, StringComparison.Ordinal);
    }
}
