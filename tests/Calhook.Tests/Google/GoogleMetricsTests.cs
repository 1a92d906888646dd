using Calhook.Emulator.Faults;
using Calhook.TestKit;
using Calhook.Tests.Channels;

namespace Calhook.Tests.Google;

public sealed class GoogleMetricsTests
{
    [Fact]
    public async Task Every_attempt_sent_to_google_is_counted_by_status_class()
    {
        await using var emulator = await EmulatorClient.StartAsync();
        using var data = new TestDirectory();
        await using var host = await CoreHost.StartAsync(emulator.BaseAddress, data);
        var account = await host.AddOAuthAccountAsync(emulator, "metrics@example.com");

        // Every call answers 503 until the faults are reset; each retried attempt is counted.
        await emulator.Control.SetFaultsAsync(new FaultSettings { Api = new ApiFaults { ErrorRate = 1.0, ErrorStatus = 503 } });
        var watch = await host.WatchAsync(account, "metrics@example.com");
        await Polling.EventuallyAsync(async () => (await host.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)))
            .Contains("calhook_google_requests_total{status_class=\"5xx\"}", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "503 answers are counted");
        await emulator.Control.ResetFaultsAsync();
        await host.WaitForStatusAsync((string)watch["id"]!, "active", TimeSpan.FromSeconds(30));

        var metrics = await host.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("calhook_google_requests_total{status_class=\"2xx\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("calhook_google_requests_total{status_class=\"5xx\"}", metrics, StringComparison.Ordinal);
    }
}
