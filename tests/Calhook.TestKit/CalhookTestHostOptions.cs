using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.TestKit;

/// <summary>How a <see cref="CalhookTestHost"/> is set up. Every property is optional.</summary>
public sealed class CalhookTestHostOptions
{
    /// <summary>The Google origin (usually the emulator's <c>BaseAddress</c>); sets <c>Calhook:Google:BaseUrl</c>.</summary>
    public Uri? GoogleBaseUrl { get; set; }

    /// <summary>
    /// A fixed port, for a test that starts a second host where a first one ran (open channels point at the old
    /// address). Default: a free port chosen at the first start and kept across restarts.
    /// </summary>
    public int? Port { get; set; }

    /// <summary>The data directory. Default: a fresh temp folder owned (and deleted) by the host.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// Configuration overrides, keys as in <c>appsettings</c> (<c>Calhook:Delivery:AllowPrivateNetworks</c>). They win
    /// over the host's own defaults; a null value removes a default (e.g. <c>Calhook:ApiKey</c> to get a generated key).
    /// </summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Runs after <c>AddCalhook</c>: replace services here (a <c>FakeTimeProvider</c>, a store).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>Runs after <c>MapCalhook</c>: map extra endpoints a test needs.</summary>
    public Action<WebApplication>? ConfigureApp { get; set; }

    /// <summary>
    /// Recovery at a test's pace: Google calls retried after 50 ms (up to 8 attempts, 500 ms apart at most), failed
    /// channel work retried after 200 ms (2 s at most), pings flushed every 100 ms, and a safety net of an hour, so
    /// every sync a test sees comes from a ping or a request. For tests of failures and channels; returns these options.
    /// </summary>
    public CalhookTestHostOptions WithQuickRecovery()
    {
        Settings["Calhook:Google:RetryBaseDelay"] = "00:00:00.050";
        Settings["Calhook:Google:MaxRetryDelay"] = "00:00:00.500";
        Settings["Calhook:Google:MaxRetryAttempts"] = "8";
        Settings["Calhook:Channels:RetryBaseDelay"] = "00:00:00.200";
        Settings["Calhook:Channels:RetryMaxDelay"] = "00:00:02";
        Settings["Calhook:Receiving:FlushInterval"] = "00:00:00.100";
        Settings["Calhook:Sync:SafetyNetInterval"] = "01:00:00";
        return this;
    }
}
