namespace Calhook.Channels;

/// <summary>
/// When to renew a channel and when to retry a failed watch call. Pure: the caller passes the time and a jitter
/// sample in [0, 1), so every decision is exact in tests.
/// </summary>
internal sealed class RenewalPolicy
{
    private readonly ChannelOptions _options;

    public RenewalPolicy(ChannelOptions options) => _options = options;

    /// <summary>
    /// The renewal time of a channel opened at <paramref name="openedAt"/> that expires at <paramref name="expiresAt"/>:
    /// expiry minus the margin, minus <paramref name="jitter"/> of the spread window.
    /// </summary>
    public DateTimeOffset RenewAt(DateTimeOffset openedAt, DateTimeOffset expiresAt, double jitter)
    {
        var lifetime = expiresAt - openedAt;
        if (lifetime <= TimeSpan.Zero)
        {
            return expiresAt;
        }

        var margin = Min(_options.RenewalMargin, lifetime / 5);
        var spread = Min(_options.RenewalSpread, lifetime / 10);
        return expiresAt - margin - (spread * Math.Clamp(jitter, 0, 1));
    }

    /// <summary>
    /// The delay before the next try after <paramref name="failures"/> consecutive failures: exponential from the base,
    /// capped, ±20 % jitter. While a channel is still open, never more than half its remaining life, so a renewal
    /// gets several chances before the channel expires.
    /// </summary>
    public TimeSpan RetryDelay(int failures, DateTimeOffset now, DateTimeOffset? currentExpiresAt, double jitter)
    {
        var exponent = Math.Clamp(failures - 1, 0, 30);
        var delay = Min(_options.RetryMaxDelay, _options.RetryBaseDelay * Math.Pow(2, exponent));
        if (currentExpiresAt is { } expiresAt && expiresAt > now)
        {
            delay = Min(delay, (expiresAt - now) / 2);
        }

        var factor = 0.8 + (0.4 * Math.Clamp(jitter, 0, 1));
        return delay * factor;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
