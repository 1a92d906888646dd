using Calhook.Channels;
using Calhook.Storage;

namespace Calhook.Tests.Channels;

public sealed class WatchHealthTests
{
    private static readonly WatchProblem ChannelGone = new(WatchProblemKind.Error, "channel: calendar not found (404)");
    private static readonly WatchProblem SyncDown = new(WatchProblemKind.Error, "sync: Google failed (503)");
    private static readonly WatchProblem ChannelReauth = new(WatchProblemKind.NeedsReauth, "channel: re-authorise");
    private static readonly WatchProblem SyncReauth = new(WatchProblemKind.NeedsReauth, "sync: re-authorise");

    [Fact]
    public void A_stopped_watch_is_stopped_whatever_its_problems()
    {
        Assert.Equal((WatchStatus.Stopped, null), WatchHealth.Derive(true, true, true, ChannelReauth, SyncDown));
    }

    [Fact]
    public void Needs_reauth_from_either_writer_wins_over_any_error()
    {
        Assert.Equal((WatchStatus.NeedsReauth, "channel: re-authorise"), WatchHealth.Derive(false, true, true, ChannelReauth, SyncDown));
        Assert.Equal((WatchStatus.NeedsReauth, "sync: re-authorise"), WatchHealth.Derive(false, true, true, ChannelGone, SyncReauth));
        Assert.Equal((WatchStatus.NeedsReauth, "sync: re-authorise"), WatchHealth.Derive(false, true, true, ChannelReauth, SyncReauth));
    }

    [Fact]
    public void A_channel_problem_alone_is_failing_even_though_syncs_succeed()
    {
        Assert.Equal((WatchStatus.Failing, ChannelGone.Message), WatchHealth.Derive(false, true, true, ChannelGone, null));
    }

    [Fact]
    public void A_sync_problem_alone_is_failing_and_its_message_is_shown_before_the_channels()
    {
        Assert.Equal((WatchStatus.Failing, SyncDown.Message), WatchHealth.Derive(false, true, true, null, SyncDown));
        Assert.Equal((WatchStatus.Failing, SyncDown.Message), WatchHealth.Derive(false, true, true, ChannelGone, SyncDown));
    }

    [Fact]
    public void A_problem_during_start_up_is_failing_not_starting()
    {
        Assert.Equal((WatchStatus.Failing, ChannelGone.Message), WatchHealth.Derive(false, false, false, ChannelGone, null));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Starting_until_a_channel_is_open_and_the_baseline_is_committed(bool channelOpened, bool baselineCommitted)
    {
        Assert.Equal((WatchStatus.Starting, null), WatchHealth.Derive(false, channelOpened, baselineCommitted, null, null));
    }

    [Fact]
    public void Active_once_both_are_done_and_nothing_is_wrong()
    {
        Assert.Equal((WatchStatus.Active, null), WatchHealth.Derive(false, true, true, null, null));
    }
}
