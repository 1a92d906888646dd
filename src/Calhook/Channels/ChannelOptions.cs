namespace Calhook.Channels;

/// <summary>Channel lifecycle settings, section <c>Calhook:Channels</c>.</summary>
internal sealed class ChannelOptions
{
    public const string SectionName = "Calhook:Channels";

    /// <summary>TTL asked of events.watch. Default null: Google's default (7 days). Google may grant less.</summary>
    public TimeSpan? RequestedTtl { get; set; }

    /// <summary>
    /// How long before expiry a channel is renewed. Default 1 day. Never more than a fifth of the channel's life,
    /// so short-lived channels renew near the end of their life too.
    /// </summary>
    public TimeSpan RenewalMargin { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Renewals are moved earlier by a random part of this window, so channels opened together do not renew
    /// together. Default 6 hours; never more than a tenth of the channel's life.
    /// </summary>
    public TimeSpan RenewalSpread { get; set; } = TimeSpan.FromHours(6);

    /// <summary>First delay before retrying a watch call that failed for a transient reason. Default 5 seconds.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest delay between retries of a failing watch call. Default 30 minutes.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Assumed life of a channel whose watch answer carries no expiration. Default 7 days.</summary>
    public TimeSpan AssumedTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Unknown channels are stopped at most once per this window (stopped channels may still ping). Default 10 minutes.</summary>
    public TimeSpan UnknownChannelStopWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Most stop calls per second sent to Google for channels the receiver does not know. Pings are unverified input:
    /// this bounds what a flood of forged ones can make Calhook do. Default 4.
    /// </summary>
    public double UnknownChannelStopsPerSecond { get; set; } = 4;

    /// <summary>
    /// After a renewal, how long the replaced channel stays open and accepted before it is stopped, so pings already
    /// on their way to it still count. Default 30 seconds; never past the old channel's expiry. Zero stops it at once.
    /// </summary>
    public TimeSpan RenewalOverlap { get; set; } = TimeSpan.FromSeconds(30);
}
