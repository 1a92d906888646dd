using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Delivery;

/// <summary>The delivery loop keeps the attempt log within its limits (Calhook:Delivery:AttemptLogMaxPerSubscription, AttemptLogMaxAge).</summary>
public sealed class AttemptLogPruningTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_attempt_log_keeps_each_subscriptions_newest_attempts_and_ages_out_old_ones()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        await using var rig = await DeliveryRig.StartAsync(options =>
        {
            options.Settings["Calhook:Delivery:AttemptLogMaxPerSubscription"] = "3";
            options.Settings["Calhook:Delivery:AttemptLogMaxAge"] = "7.00:00:00";
            options.ConfigureServices = services => services.AddSingleton<TimeProvider>(time);
        });
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var id = await rig.SubscribeAsync(subscriber);
        var changes = await rig.CreateAsync("a@example.com", count: 5);
        await DeliveryRig.AcceptedAsync(subscriber, 5, "the five changes arrive");

        // The clock has not moved since the loop's first prune: all five attempts are in the log.
        await Polling.EventuallyAsync(() => SequencesAsync(rig, id), s => s.Count == 5, Generous, "the five attempts are logged");

        // About a minute later the loop prunes: each subscription keeps its three newest attempts.
        var kept = await Polling.EventuallyAsync(() => { time.Advance(TimeSpan.FromMinutes(1)); return SequencesAsync(rig, id); },
            s => s.Count < 5, Generous, "the next prune runs");
        Assert.Equal(changes.Skip(2).Select(c => c.Sequence), kept);
        Assert.Equal(0L, (long)(await rig.GetAsync($"/v1/subscriptions/{id}"))["backlog"]!);

        // A week on, the attempts have aged out, however few they are.
        time.Advance(TimeSpan.FromDays(7));
        await Polling.EventuallyAsync(() => { time.Advance(TimeSpan.FromMinutes(1)); return SequencesAsync(rig, id); },
            s => s.Count == 0, Generous, "the week-old attempts are pruned");
        Assert.NotNull(await rig.Store.GetSubscriptionAsync(id, CancellationToken.None));
    }

    private static async Task<List<long>> SequencesAsync(DeliveryRig rig, string subscriptionId) =>
        [.. (await rig.GetAsync($"/v1/subscriptions/{subscriptionId}/deliveries"))["items"]!.AsArray().Select(a => (long)a!["sequence"]!)];
}
