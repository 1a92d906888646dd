using Calhook.Channels;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Channels;

/// <summary>
/// The supervisor runs the channel work that is due together (a renewal wave, the start-up restore, watches added
/// together) several steps at once, never more than its limit. One at a time, every other test still passes, but a wave of 10,000 renewals takes
/// eight times longer than it should. A proxy in front of the emulator holds the channel openings (<c>events.watch</c>)
/// until eight are in flight together, so these tests wait for a count, not for a clock.
/// </summary>
public sealed class ChannelSupervisorConcurrencyTests
{
    private const string Alice = "alice@example.com";

    /// <summary>ChannelSupervisor.MaxConcurrentSteps, written out: the tests pin the limit, they do not read it.</summary>
    private const int MaxConcurrentSteps = 8;

    /// <summary>More watches than steps run at once, so the limit is reached and the steps queue behind it.</summary>
    private const int Watches = 20;

    [Fact]
    public async Task A_renewal_wave_renews_eight_channels_at_once_and_never_more()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var proxy = await FaultProxy.StartAsync();
        await using var world = await EmulatorWorld.StartAsync(o =>
        {
            proxy.Between(Configure(o));
            o.ConfigureServices = services => services.AddSingleton<TimeProvider>(time);
        });
        var watches = await WatchCalendarsAsync(world, Watches);
        var firstChannels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (watchId, _) in watches)
        {
            firstChannels[watchId] = (await world.WaitForStatusAsync(watchId, "active"))["channelId"]!.GetValue<string>();
        }

        var gate = new OpeningGate(MaxConcurrentSteps);
        proxy.AroundWatch = gate.PassAsync;
        // The 7-day channels were all opened at the same instant of the service clock; each renewal falls 24 to 30 hours
        // before expiry (jitter). Past that window, every renewal is due at once.
        time.Advance(TimeSpan.FromDays(6) + TimeSpan.FromHours(1));

        await gate.WaitOpenedAsync();
        await Polling.EventuallyAsync(async () =>
        {
            foreach (var (watchId, first) in firstChannels)
            {
                if ((await world.WatchStateAsync(watchId))["channelId"]?.GetValue<string>() is not { } current || current == first)
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(30), () => $"every watch moves to a new channel ({gate})");
        gate.AssertLimitReachedNeverPassed(Watches);
    }

    [Fact]
    public async Task Watches_restored_at_start_up_open_eight_channels_at_once_and_one_that_fails_holds_back_none()
    {
        await using var proxy = await FaultProxy.StartAsync();
        await using var world = await EmulatorWorld.StartAsync(o => proxy.Between(Configure(o)));

        // While Google refuses every events.watch, the watches are stored without a channel.
        proxy.WatchStatus = 500;
        var watches = await WatchCalendarsAsync(world, Watches);
        foreach (var (watchId, _) in watches)
        {
            await world.WaitForStatusAsync(watchId, "failing");
        }

        await world.Calhook.StopAsync();

        // At start-up each watch needs a channel: they are restored together. One calendar's calls still fail.
        var (failingWatch, failingCalendar) = watches[Watches / 2];
        proxy.WatchStatus = null;
        proxy.SetWatchStatus(failingCalendar, 500);
        var gate = new OpeningGate(MaxConcurrentSteps);
        proxy.AroundWatch = gate.PassAsync;
        await world.Calhook.StartAsync();

        await gate.WaitOpenedAsync();
        await world.Calhook.Services.GetRequiredService<ChannelSupervisor>().Restored;
        foreach (var (watchId, calendarId) in watches.Where(w => w.WatchId != failingWatch))
        {
            var active = await world.WaitForStatusAsync(watchId, "active");
            Assert.Equal(active["channelId"]!.GetValue<string>(), Assert.Single(await world.Control.GetChannelsAsync(calendarId)).Id);
        }

        var failing = await world.WatchStateAsync(failingWatch);
        Assert.Equal("failing", failing["status"]!.GetValue<string>());
        Assert.Contains("500", failing["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await world.Control.GetChannelsAsync(failingCalendar));
        gate.AssertLimitReachedNeverPassed(Watches);
    }

    [Fact]
    public async Task Watches_added_together_open_eight_channels_at_once_and_never_more()
    {
        await using var proxy = await FaultProxy.StartAsync();
        await using var world = await EmulatorWorld.StartAsync(o => proxy.Between(Configure(o)));

        // The openings that come while watches are still being added (the calendar list's, the first watches') are held
        // until every watch has been added, so the other watches' commands queue behind them and open together, through
        // the gate.
        var added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new OpeningGate(MaxConcurrentSteps);
        proxy.AroundWatch = async (answer, aborted) =>
        {
            if (!added.Task.IsCompleted)
            {
                await added.Task.WaitAsync(aborted);
                await answer();
                return;
            }

            await gate.PassAsync(answer, aborted);
        };
        var watches = await WatchCalendarsAsync(world, Watches);
        added.SetResult();

        await gate.WaitOpenedAsync();
        foreach (var (watchId, calendarId) in watches)
        {
            var active = await world.WaitForStatusAsync(watchId, "active");
            Assert.Equal(active["channelId"]!.GetValue<string>(), Assert.Single(await world.Control.GetChannelsAsync(calendarId)).Id);
        }

        gate.AssertLimitReachedNeverPassed(MaxConcurrentSteps);
    }

    /// <summary>
    /// Quick recovery, one retry per Google call (the refused opens fail fast), and a per-user budget that never holds a
    /// call back: the twenty watches share one account, and a call waiting for the budget would not reach the proxy.
    /// </summary>
    private static CalhookTestHostOptions Configure(CalhookTestHostOptions options)
    {
        options.WithQuickRecovery();
        options.Settings["Calhook:Google:MaxRetryAttempts"] = "1";
        options.Settings["Calhook:Google:RequestsPerMinutePerUser"] = "100000";
        return options;
    }

    /// <summary>Connects Alice, creates <paramref name="count"/> calendars of hers and watches each one.</summary>
    private static async Task<List<(string WatchId, string CalendarId)>> WatchCalendarsAsync(EmulatorWorld world, int count)
    {
        var (google, refreshToken) = await world.SignInAsync(Alice);
        using (google)
        {
            var account = await world.AddAccountAsync(Alice, refreshToken);
            var watches = new List<(string, string)>();
            for (var i = 1; i <= count; i++)
            {
                var calendarId = (string)(await EmulatorWorld.PostAsync(google, "calendar/v3/calendars", new { summary = $"Team {i}" }))["id"]!;
                watches.Add(((string)(await world.WatchAsync(account, calendarId))["id"]!, calendarId));
            }

            return watches;
        }
    }

    /// <summary>
    /// Holds every channel opening that reaches it until <c>target</c> are in flight at the same moment, then answers
    /// them, one at a time, and every later one too. A call is in flight from its arrival until its answer begins: its
    /// caller cannot go on (and start another step) before that, so a step that starts after another ended is never
    /// counted beside it, and one that starts beside eight others is, since the calls let go stay in flight while
    /// they queue for their answer. Steps run one at a time never reach the target: after <see cref="Deadline"/> the
    /// held calls go anyway and the gate says it timed out. It records the most calls ever in flight together.
    /// </summary>
    private sealed class OpeningGate(int target)
    {
        /// <summary>Far longer than eight steps need to start, shorter than a Google call's attempt timeout (30 s).</summary>
        private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

        private readonly Lock _lock = new();
        private readonly SemaphoreSlim _answering = new(1);
        private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inFlight;
        private int _maxInFlight;
        private int _calls;
        private bool _timedOut;

        public async Task PassAsync(Func<Task> answer, CancellationToken aborted)
        {
            lock (_lock)
            {
                _calls++;
                _maxInFlight = Math.Max(_maxInFlight, ++_inFlight);
                if (_inFlight >= target)
                {
                    _opened.TrySetResult();
                }
            }

            var inFlight = true;
            try
            {
                try
                {
                    await _opened.Task.WaitAsync(Deadline, aborted);
                }
                catch (TimeoutException)
                {
                    lock (_lock)
                    {
                        _timedOut |= _opened.TrySetResult();
                    }
                }

                await _answering.WaitAsync(aborted);
                try
                {
                    Land(ref inFlight);
                    await answer();
                }
                finally
                {
                    _answering.Release();
                }
            }
            finally
            {
                Land(ref inFlight);
            }
        }

        /// <summary>Waits until the held calls are let go, and fails when that took the deadline instead of the target.</summary>
        public async Task WaitOpenedAsync()
        {
            try
            {
                await _opened.Task.WaitAsync(Deadline * 3);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"No channel opening was held, let alone {target} at once: {this}.");
            }

            var (calls, maxInFlight, _, timedOut) = Snapshot();
            Assert.False(timedOut, $"Channel openings were held {Deadline.TotalSeconds:0} s for {target} to be in flight together (the supervisor's "
                + $"limit), but at most {maxInFlight} ever were: the due steps do not run side by side (openings that reached the proxy: {calls}).");
        }

        /// <summary>At the end of the wave: every due watch opened through the proxy, and the limit was reached but never passed.</summary>
        public void AssertLimitReachedNeverPassed(int due)
        {
            var (calls, maxInFlight, _, _) = Snapshot();
            Assert.True(calls >= due, $"each of the {due} due watches opens a channel through the proxy ({this})");
            Assert.True(maxInFlight == target, $"{target} channel openings in flight together at some moment, and never more ({this})");
        }

        public override string ToString()
        {
            var (calls, maxInFlight, inFlight, _) = Snapshot();
            return $"openings that reached the proxy: {calls}, most in flight together: {maxInFlight}, in flight now: {inFlight}";
        }

        private void Land(ref bool inFlight)
        {
            if (inFlight)
            {
                inFlight = false;
                lock (_lock)
                {
                    _inFlight--;
                }
            }
        }

        private (int Calls, int MaxInFlight, int InFlight, bool TimedOut) Snapshot()
        {
            lock (_lock)
            {
                return (_calls, _maxInFlight, _inFlight, _timedOut);
            }
        }
    }
}
