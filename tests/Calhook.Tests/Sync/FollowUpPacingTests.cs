using Calhook.Sync;

namespace Calhook.Tests.Sync;

public sealed class FollowUpPacingTests
{
    private static readonly SyncOptions Options = new() { MinSyncInterval = TimeSpan.FromMilliseconds(200), FollowUpQuietTime = TimeSpan.FromMilliseconds(20) };

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void A_follow_up_waits_for_the_quiet_time_after_the_last_ping()
    {
        Assert.Equal(Ms(15), FollowUpPacing.Wait(sinceStart: Ms(10), sinceLastPing: Ms(5), Options));
    }

    [Fact]
    public void A_follow_up_starts_at_once_when_the_last_ping_is_older_than_the_quiet_time()
    {
        Assert.True(FollowUpPacing.Wait(sinceStart: Ms(50), sinceLastPing: Ms(30), Options) <= TimeSpan.Zero);
    }

    [Fact]
    public void Pings_that_keep_coming_never_delay_a_follow_up_past_the_minimum_interval_from_the_previous_start()
    {
        Assert.Equal(Ms(5), FollowUpPacing.Wait(sinceStart: Ms(195), sinceLastPing: Ms(0), Options));
        Assert.True(FollowUpPacing.Wait(sinceStart: Ms(200), sinceLastPing: Ms(0), Options) <= TimeSpan.Zero);
    }

    [Fact]
    public void Zero_settings_follow_up_at_once()
    {
        var eager = new SyncOptions { MinSyncInterval = TimeSpan.Zero, FollowUpQuietTime = TimeSpan.Zero };
        Assert.True(FollowUpPacing.Wait(Ms(0), Ms(0), eager) <= TimeSpan.Zero);
        Assert.True(FollowUpPacing.Wait(Ms(0), null, Options) <= TimeSpan.Zero);
    }
}
