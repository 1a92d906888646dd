using System.Diagnostics;
using Calhook.Accounts;
using Calhook.Changes;
using Calhook.Coordination;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Delivery;

/// <summary>
/// The webhook loop: turns new changes into each subscription's deliveries, leases the due ones and sends them,
/// records every attempt. All state is in the store; this loop keeps none that a restart would miss. It wakes on a
/// commit (<see cref="ChangeNotifier"/>), on a finished attempt or an API call (<see cref="Wake"/>), and when the
/// next retry is due; it never polls.
/// </summary>
internal sealed partial class DeliverySender : BackgroundService
{
    /// <summary>How many changes one scheduling pass reads at a time.</summary>
    private const int SchedulePage = 500;

    /// <summary>The longest the loop sleeps with nothing due (a safety net: every change of state wakes it anyway).</summary>
    private static readonly TimeSpan IdleWait = TimeSpan.FromMinutes(1);

    /// <summary>How often the attempt log is pruned at most.</summary>
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);

    private readonly ICalhookStore _store;
    private readonly ChangeNotifier _notifier;
    private readonly SecretProtector _protector;
    private readonly WebhookClient _client;
    private readonly RetryPolicy _policy;
    private readonly DeliveryOptions _options;
    private readonly DeliveryMetrics _metrics;
    private readonly CommitTraces _traces;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _leaseDuration;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private DateTimeOffset _nextPruneAt = DateTimeOffset.MinValue;
    private SubscriptionCache _subscriptions = new(0, new(StringComparer.Ordinal));
    private long _subscriptionChanges;

    public DeliverySender(
        ICalhookStore store, ChangeNotifier notifier, SecretProtector protector, WebhookClient client, RetryPolicy policy,
        DeliveryOptions options, DeliveryMetrics metrics, TimeProvider time, ILogger<DeliverySender> logger,
        IOptions<CoordinationOptions> coordination, CommitTraces traces)
    {
        _store = store;
        _notifier = notifier;
        _protector = protector;
        _client = client;
        _policy = policy;
        _options = options;
        _metrics = metrics;
        _traces = traces;
        _time = time;
        _logger = logger;
        // A lease outlives the attempt it covers by the coordination lease time to live, so no other instance takes a
        // delivery that is still in flight, and a dead instance's deliveries move to the others that long after its
        // last attempt could have ended.
        _leaseDuration = options.AttemptTimeout + coordination.Value.LeaseTimeToLive;
    }

    /// <summary>
    /// A subscription's secret, status or existence changed through this process. Attempts stop signing with what the
    /// loop's last pass read (it may predate the change) and read the subscription from the store until the next pass
    /// has read them all again; a secret rotated without overlap therefore never signs a webhook sent after the
    /// rotation answered.
    /// </summary>
    public void SubscriptionChanged()
    {
        Interlocked.Increment(ref _subscriptionChanges);
        Wake();
    }

    /// <summary>Makes the loop look again at once (a subscription created, enabled or replayed; an attempt finished).</summary>
    public void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Attempts this instance had in flight when it stopped (or crashed) are its own: take them back at once.
        await _store.ReleaseDeliveryLeasesAsync(_options.InstanceId, stoppingToken);

        while (!stoppingToken.IsCancellationRequested)
        {
            // Take both signals before reading the store, so a commit or a finished attempt meanwhile still wakes us.
            var nextCommit = _notifier.NextCommit;
            var wake = Volatile.Read(ref _wake).Task;
            TimeSpan wait;
            try
            {
                await ScheduleNewChangesAsync(stoppingToken);
                await PruneAttemptLogAsync(stoppingToken);
                var free = _options.MaxConcurrentAttempts - Volatile.Read(ref _inFlight);
                var leased = 0;
                if (free > 0)
                {
                    var now = _time.GetUtcNow();
                    var leases = await _store.LeaseDueDeliveriesAsync(_options.InstanceId, now, now + _leaseDuration, free, stoppingToken);
                    foreach (var lease in leases)
                    {
                        Interlocked.Increment(ref _inFlight);
                        _ = AttemptAsync(lease, stoppingToken);
                    }

                    leased = leases.Count;
                    if (leased == free)
                    {
                        continue; // there may be more due; the slots are full now, so the next pass only schedules
                    }
                }

                // With every slot busy, only a finished attempt (Wake) or a commit matters.
                var due = free > 0 ? await _store.GetNextDeliveryDueAsync(stoppingToken) : null;
                wait = due is { } at ? at - _time.GetUtcNow() : IdleWait;
                if (wait > IdleWait)
                {
                    wait = IdleWait;
                }
                else if (wait <= TimeSpan.Zero)
                {
                    if (leased > 0)
                    {
                        continue;
                    }

                    // Due but not leasable yet (a lease ending within the clock's resolution): look again shortly.
                    wait = TimeSpan.FromMilliseconds(10);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception error)
            {
                // The store may be briefly unavailable (locked, disk full); nothing is lost, the next pass resumes.
                Log.LoopFailed(_logger, error);
                wait = TimeSpan.FromSeconds(1);
            }

            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var delay = Task.Delay(wait, _time, delayCancel.Token);
            await Task.WhenAny(nextCommit, wake, delay);
            await delayCancel.CancelAsync();
        }
    }

    /// <summary>
    /// Turns the changes after each subscription's cursor into its deliveries (those its filters want) and moves the
    /// cursors past them, in one store transaction per page: a change is either behind a cursor with its delivery
    /// queued, or ahead of it and picked up by the next pass.
    /// </summary>
    private async Task ScheduleNewChangesAsync(CancellationToken cancellationToken)
    {
        // The count of changes is taken before the read: a change made while it runs makes this cache stale at once.
        var changesSeen = Interlocked.Read(ref _subscriptionChanges);
        var subscriptions = await _store.ListSubscriptionsAsync(cancellationToken);
        Volatile.Write(ref _subscriptions, new SubscriptionCache(changesSeen, subscriptions.ToDictionary(s => s.Id, StringComparer.Ordinal)));
        if (subscriptions.Count == 0)
        {
            return;
        }

        var cursors = subscriptions.ToDictionary(s => s.Id, s => s.Cursor, StringComparer.Ordinal);
        var after = cursors.Values.Min();
        while (true)
        {
            var changes = await _store.ReadChangesAsync(new ChangeQuery(after, SchedulePage), cancellationToken);
            if (changes.Count == 0)
            {
                return;
            }

            var last = changes[^1].Sequence;
            var schedules = new List<DeliverySchedule>();
            foreach (var subscription in subscriptions)
            {
                var cursor = cursors[subscription.Id];
                if (cursor >= last)
                {
                    continue;
                }

                var wanted = changes
                    .Where(change => change.Sequence > cursor && SubscriptionFilter.Wants(subscription, change))
                    .Select(change => new ScheduledDelivery(change.Sequence, change.CalendarId))
                    .ToList();
                schedules.Add(new DeliverySchedule(subscription.Id, cursor, last, wanted));
                cursors[subscription.Id] = last;
            }

            await _store.ScheduleDeliveriesAsync(schedules, _time.GetUtcNow(), cancellationToken);
            if (changes.Count < SchedulePage)
            {
                return;
            }

            after = last;
        }
    }

    /// <summary>
    /// Keeps the attempt log within <see cref="DeliveryOptions.AttemptLogMaxPerSubscription"/> and
    /// <see cref="DeliveryOptions.AttemptLogMaxAge"/>: at start, then at most once per <see cref="PruneInterval"/> (the
    /// loop passes at least once per <see cref="IdleWait"/>, so old attempts age out with nothing else going on).
    /// </summary>
    private async Task PruneAttemptLogAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (now < _nextPruneAt)
        {
            return;
        }

        _nextPruneAt = now + PruneInterval;
        var pruned = await _store.PruneDeliveryAttemptsAsync(_options.AttemptLogMaxPerSubscription, now - _options.AttemptLogMaxAge, cancellationToken);
        if (pruned > 0)
        {
            Log.AttemptLogPruned(_logger, pruned);
        }
    }

    /// <summary>One attempt of a leased delivery, from signing to recording its verdict. Never throws.</summary>
    private async Task AttemptAsync(DeliveryLease lease, CancellationToken stoppingToken)
    {
        try
        {
            var cache = Volatile.Read(ref _subscriptions);
            var cached = cache.Changes == Interlocked.Read(ref _subscriptionChanges) ? cache.ById.GetValueOrDefault(lease.SubscriptionId) : null;
            var subscription = cached ?? await _store.GetSubscriptionAsync(lease.SubscriptionId, stoppingToken);
            if (subscription is null)
            {
                return; // deleted meanwhile; its rows went with it
            }

            // The attempt continues the trace of the commit that appended its change when this process made it (else,
            // the loop running without an ambient activity, it starts a trace of its own).
            using var activity = CalhookTelemetry.Source.StartActivity("calhook.deliver", ActivityKind.Client, _traces.Find(lease.Sequence));
            activity?.SetTag("calhook.subscription_id", subscription.Id);
            activity?.SetTag("calhook.change_id", lease.Change.Id);
            activity?.SetTag("calhook.sequence", lease.Sequence);
            activity?.SetTag("calhook.attempt", lease.Attempt);

            var now = _time.GetUtcNow();
            var message = WebhookMessage.Create(lease.Change, Secrets(subscription, now), now);
            var result = await _client.SendAsync(new Uri(subscription.Url), message, stoppingToken);

            var next = result.Succeeded || result.StatusCode == 410 ? null : _policy.NextAttemptAt(lease.Attempt, result.RetryAfter);
            var verdict = result.Succeeded ? DeliveryVerdict.Delivered
                : result.StatusCode == 410 ? DeliveryVerdict.Disabled
                : next is null ? DeliveryVerdict.Failed
                : DeliveryVerdict.RetryLater;
            var attempt = new DeliveryAttemptRecord(0, subscription.Id, lease.Change.Id, lease.Sequence, lease.Attempt, now,
                result.StatusCode, result.Latency.TotalMilliseconds, result.Error, verdict);

            // Recorded even while stopping: the attempt happened, and its verdict must not be repeated needlessly.
            await _store.CompleteDeliveryAsync(new DeliveryCompletion(_options.InstanceId, attempt, next), CancellationToken.None);
            _metrics.Attempted(verdict, result.Latency);
            if (verdict == DeliveryVerdict.Delivered)
            {
                _metrics.Acknowledged(now + result.Latency - lease.Change.DetectedAt);
            }

            if (activity is not null)
            {
                activity.SetTag("http.response.status_code", result.StatusCode);
                activity.SetTag("calhook.outcome", DeliveryMetrics.OutcomeName(verdict));
                if (!result.Succeeded)
                {
                    activity.SetStatus(ActivityStatusCode.Error, result.Error);
                }
            }

            LogAttempt(subscription.Id, lease, result, verdict, next);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping mid-attempt: the lease is released when this instance starts again.
        }
        catch (Exception error)
        {
            // A bug or the store failing: the lease runs out and the delivery is tried again; nothing is lost.
            Log.AttemptCrashed(_logger, lease.SubscriptionId, lease.Sequence, error);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            Wake();
        }
    }

    /// <summary>The current secret, and the previous one while its rotation overlap lasts.</summary>
    private List<string> Secrets(SubscriptionRecord subscription, DateTimeOffset now)
    {
        var secrets = new List<string>(2) { _protector.UnprotectWebhookSecret(subscription.ProtectedSecret) };
        if (subscription.ProtectedPreviousSecret is { } previous && subscription.PreviousSecretExpiresAt > now)
        {
            secrets.Add(_protector.UnprotectWebhookSecret(previous));
        }

        return secrets;
    }

    private void LogAttempt(string subscriptionId, DeliveryLease lease, AttemptResult result, DeliveryVerdict verdict, DateTimeOffset? next)
    {
        switch (verdict)
        {
            case DeliveryVerdict.Delivered:
                Log.Delivered(_logger, lease.Change.Id, subscriptionId, lease.Attempt, result.StatusCode, result.Latency.TotalMilliseconds);
                break;
            case DeliveryVerdict.RetryLater:
                Log.WillRetry(_logger, lease.Change.Id, subscriptionId, lease.Attempt, result.Error, next);
                break;
            case DeliveryVerdict.Failed:
                Log.GaveUp(_logger, lease.Change.Id, subscriptionId, lease.Attempt, result.Error);
                break;
            default:
                Log.Disabled(_logger, subscriptionId, lease.Change.Id);
                break;
        }
    }

    /// <summary>The subscriptions as a pass of the loop read them, and how many changes <see cref="SubscriptionChanged"/> had counted before.</summary>
    private sealed record SubscriptionCache(long Changes, Dictionary<string, SubscriptionRecord> ById);
}
