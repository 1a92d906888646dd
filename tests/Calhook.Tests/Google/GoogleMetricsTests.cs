using Calhook.Emulator.Faults;
using Calhook.TestKit;

namespace Calhook.Tests.Google;

public sealed class GoogleMetricsTests
{
    [Fact]
    public async Task Every_attempt_sent_to_google_is_counted_by_status_class()
    {
        await using var world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        var account = await world.ConnectAsync("metrics@example.com");

        // Every call answers 503 until the faults are reset; each retried attempt is counted.
        await world.Control.SetFaultsAsync(new FaultSettings { Api = new ApiFaults { ErrorRate = 1.0, ErrorStatus = 503 } });
        var watch = await world.WatchAsync(account, "metrics@example.com");
        await Polling.EventuallyAsync(async () => (await world.Api.GetStringAsync(new Uri("/metrics", UriKind.Relative)))
            .Contains("calhook_google_requests_total{status_class=\"5xx\"}", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "503 answers are counted");
        await world.Control.ResetFaultsAsync();
        await world.WaitForStatusAsync((string)watch["id"]!, "active", TimeSpan.FromSeconds(30));

        var metrics = await world.Api.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("calhook_google_requests_total{status_class=\"2xx\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("calhook_google_requests_total{status_class=\"5xx\"}", metrics, StringComparison.Ordinal);
    }
}
