using Calhook.Changes;

namespace Calhook.Storage;

/// <summary>
/// Calhook's one seam: everything durable. SQLite is the default implementation; PostgreSQL is the other.
/// Each method is one transaction.
/// </summary>
public interface ICalhookStore
{
    /// <summary>Creates or upgrades the schema. Idempotent; called once at start-up.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    // Accounts ---------------------------------------------------------------------------------------------

    Task AddAccountAsync(AccountRecord account, CancellationToken cancellationToken);

    Task<AccountRecord?> GetAccountAsync(string accountId, CancellationToken cancellationToken);

    Task SetAccountStatusAsync(string accountId, AccountStatus status, string? error, CancellationToken cancellationToken);

    // Watches ----------------------------------------------------------------------------------------------

    Task AddWatchAsync(WatchRecord watch, CancellationToken cancellationToken);

    Task<WatchRecord?> GetWatchAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>
    /// The watch and its sync state (<see cref="GetSyncStateAsync"/>) in one read, or null when there is no such watch:
    /// what a sync reads as it starts, under its lease.
    /// </summary>
    Task<(WatchRecord Watch, SyncState State)?> GetWatchForSyncAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>All watches that are not stopped.</summary>
    Task<IReadOnlyList<WatchRecord>> ListWatchesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stops the watch (one statement): it reads as <c>Stopped</c> from then on and leaves <see cref="ListWatchesAsync"/>.
    /// Its problems are kept. An unknown id changes nothing.
    /// </summary>
    Task StopWatchAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>
    /// Records each watch's last notification time, all in one transaction: one commit (one fsync) for however many
    /// watches were pinged since the last flush. Unknown ids change nothing.
    /// </summary>
    Task RecordNotificationsAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> latest, CancellationToken cancellationToken);

    // Channels ---------------------------------------------------------------------------------------------

    /// <summary>Records a channel before (or as) it is opened with Google.</summary>
    Task AddChannelAsync(ChannelRecord channel, CancellationToken cancellationToken);

    /// <summary>Sets Google's resource id and expiry once the watch call returned.</summary>
    Task ConfirmChannelAsync(string channelId, string resourceId, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    Task<ChannelRecord?> GetChannelAsync(string channelId, CancellationToken cancellationToken);

    /// <summary>Channels not yet stopped, of every watch.</summary>
    Task<IReadOnlyList<ChannelRecord>> ListOpenChannelsAsync(CancellationToken cancellationToken);

    Task MarkChannelStoppedAsync(string channelId, DateTimeOffset at, CancellationToken cancellationToken);

    // Sync and the change log ------------------------------------------------------------------------------

    /// <summary>The sync token of a watch (null before the baseline) and its last sync time.</summary>
    Task<SyncState> GetSyncStateAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>The stored snapshots (Google's event JSON) of the given events; missing ids are absent.</summary>
    Task<IReadOnlyDictionary<string, string>> GetSnapshotsAsync(string watchId, IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken);

    /// <summary>The ids of every stored snapshot of a watch (for the full resync after a 410).</summary>
    Task<IReadOnlyList<string>> ListSnapshotIdsAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: writes the snapshots, appends the changes with the next sequences, and stores the next
    /// sync token. Returns the appended changes with their sequences. Either all of it happens or none. Every field of
    /// a change (including <see cref="NewChange.SplitFrom"/>) reads back from <see cref="ReadChangesAsync"/> as committed.
    /// When the watch was stopped because its calendar was removed (a <see cref="CommitCalendarListAsync"/> stop), it
    /// writes nothing and returns no change: <c>calendar.removed</c> stays the calendar's last change.
    /// The fence (invariant 5 across processes): the first write stores the next token only where the watch's stored
    /// token is still <see cref="SyncCommit.ExpectedSyncToken"/> (null: before the baseline), atomically with the
    /// check; when it is not (another sync committed since this one read it), nothing at all is written and
    /// <see cref="SyncSupersededException"/> is thrown.
    /// </summary>
    Task<IReadOnlyList<Change>> CommitSyncAsync(SyncCommit commit, CancellationToken cancellationToken);

    /// <summary>Changes with sequence greater than <see cref="ChangeQuery.After"/>, in order.</summary>
    Task<IReadOnlyList<Change>> ReadChangesAsync(ChangeQuery query, CancellationToken cancellationToken);

    /// <summary>The highest sequence in the log, 0 when empty.</summary>
    Task<long> GetLastSequenceAsync(CancellationToken cancellationToken);

    // Watch health (appended) --------------------------------------------------------------------------

    /// <summary>
    /// Sets (or with null clears) the channel supervisor's problem with a watch. Only the supervisor writes it, so a
    /// working sync never hides a channel that cannot be opened, and the other way round.
    /// </summary>
    Task SetChannelProblemAsync(string watchId, WatchProblem? problem, CancellationToken cancellationToken);

    /// <summary>Sets (or with null clears) the syncer's problem with a watch. Only the syncer writes it.</summary>
    Task SetSyncProblemAsync(string watchId, WatchProblem? problem, CancellationToken cancellationToken);

    /// <summary>
    /// A channel of the watch is open: clears the channel problem and ends <c>starting</c> once the baseline is in
    /// too. A stopped watch stays stopped.
    /// </summary>
    Task RecordChannelOpenedAsync(string watchId, CancellationToken cancellationToken);

    // Full lists (baseline and resync), staged page by page -------------------------------------------------

    /// <summary>Deletes the staged rows every earlier full-list attempt of the watch left behind (a crash, a failure).</summary>
    Task ClearStagingAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>
    /// Stages snapshot rows of a full-list attempt (a batch of pages), in their own short transaction; a later row of
    /// an event wins over an earlier one, in the batch and across batches. <paramref name="final"/> marks the list's
    /// last batch, which the list's commit follows at once: a store may leave making it durable to that commit.
    /// </summary>
    Task StageSnapshotsAsync(string watchId, string attemptId, IReadOnlyList<StagedSnapshot> rows, bool final, CancellationToken cancellationToken);

    /// <summary>The stored snapshots of the given events as UTF-8 bytes; missing ids are absent.</summary>
    Task<IReadOnlyDictionary<string, byte[]>> GetSnapshotBytesAsync(string watchId, IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: moves the attempt's staged rows into the snapshots, then forgets <see cref="FullSyncCommit.Forgotten"/>,
    /// appends the changes, stores the sync token and deletes the attempt's staging. Either all of it happens or none.
    /// For a watch stopped because its calendar was removed, it only discards the attempt's staging and returns no change.
    /// Fenced as <see cref="CommitSyncAsync"/> on <see cref="FullSyncCommit.ExpectedSyncToken"/>: a superseded list
    /// only discards the attempt's staged rows (no snapshot, change or token) and throws <see cref="SyncSupersededException"/>.
    /// </summary>
    Task<IReadOnlyList<Change>> CommitFullSyncAsync(FullSyncCommit commit, CancellationToken cancellationToken);

    // Calendar lists (calendar-level changes, all-calendars watches) ----------------------------------------

    /// <summary>
    /// One transaction: the account's calendar-list watch (<see cref="WatchKind.CalendarList"/>, not stopped), or, when
    /// it has none, a new one with id <paramref name="newWatchId"/>, status <c>starting</c>, an empty calendar id and an
    /// empty sync state. At most one such watch per account exists at a time, however many callers race.
    /// </summary>
    Task<(WatchRecord Watch, bool Created)> EnsureCalendarListWatchAsync(string accountId, string newWatchId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>A calendar-list watch's sync token (from its sync state) and when it last committed a whole list.</summary>
    Task<CalendarListState> GetCalendarListStateAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>The stored calendar list entries of a calendar-list watch (calendar id → Google's entry JSON).</summary>
    Task<IReadOnlyDictionary<string, string>> GetCalendarEntriesAsync(string watchId, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: when <see cref="CalendarListCommit.FullList"/>, deletes every stored entry of the watch and
    /// records the time as its last whole list; writes the entries (null JSON deletes); stops each watch in
    /// <see cref="CalendarListCommit.Stops"/> (status stopped, the reason read back as its error); appends the
    /// calendar-level changes after the last sequence (event id empty, the entry as <see cref="Change.Calendar"/>);
    /// and, when a next sync token is given, stores it with the sync time and ends the watch's <c>starting</c>.
    /// Returns the appended changes. Either all of it happens or none. With a next sync token it is fenced as
    /// <see cref="CommitSyncAsync"/> on <see cref="CalendarListCommit.ExpectedSyncToken"/> (superseded: nothing written,
    /// <see cref="SyncSupersededException"/>); without one (a removal found by an event watch) it is not fenced.
    /// </summary>
    Task<IReadOnlyList<Change>> CommitCalendarListAsync(CalendarListCommit commit, CancellationToken cancellationToken);

    // Delivery (webhook subscriptions, their queues and the attempt log) -----------------------------------
    //
    // Each subscription has a cursor over the change log: changes up to it have been turned into delivery rows (or
    // skipped by its filters). A change committed after the cursor is picked up by the next ScheduleDeliveriesAsync,
    // so nothing is lost between "committed" and "scheduled". A delivery row is pending until its attempt succeeds,
    // gives up (failed) or the subscription is deleted. Per (subscription, calendar) only the pending row with the
    // lowest sequence may be leased: that keeps log order per calendar for each subscriber.

    /// <summary>
    /// One transaction: stores the subscription with its cursor set to the current last sequence of the change log
    /// (whatever <see cref="SubscriptionRecord.Cursor"/> says), so it receives exactly the changes appended after it.
    /// Returns the stored record.
    /// </summary>
    Task<SubscriptionRecord> AddSubscriptionAsync(SubscriptionRecord subscription, CancellationToken cancellationToken);

    /// <summary>
    /// The subscription with its backlog (pending deliveries) and its latest replay's progress (of the deliveries that
    /// replay queued, with sequences after its start up to its end: how many are pending, how many failed), or null.
    /// </summary>
    Task<SubscriptionRecord?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    /// <summary>Every subscription (oldest first) with its backlog and latest replay, as <see cref="GetSubscriptionAsync"/>.</summary>
    Task<IReadOnlyList<SubscriptionRecord>> ListSubscriptionsAsync(CancellationToken cancellationToken);

    /// <summary>One transaction: deletes the subscription, its deliveries and its attempt log. False when unknown.</summary>
    Task<bool> DeleteSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the secret: <paramref name="protectedSecret"/> becomes current, the old current one becomes the previous
    /// secret until <paramref name="previousExpiresAt"/>. False when unknown.
    /// </summary>
    Task<bool> RotateSubscriptionSecretAsync(string subscriptionId, string protectedSecret, DateTimeOffset previousExpiresAt, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: sets the subscription <c>active</c> (from <c>disabled</c> or <c>failing</c>) and makes its pending deliveries due at <paramref name="now"/>
    /// with their attempt count reset (the disabled time does not use up retries). False when unknown.
    /// </summary>
    Task<bool> EnableSubscriptionAsync(string subscriptionId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction for all schedules: for each whose subscription still has cursor
    /// <see cref="DeliverySchedule.ExpectedCursor"/>, moves the cursor to <see cref="DeliverySchedule.NewCursor"/> and inserts
    /// its deliveries as pending, due at <paramref name="dueAt"/> (a row that already exists is kept). A schedule whose
    /// cursor moved meanwhile (another instance) or whose subscription is gone is skipped. Returns how many rows were queued.
    /// </summary>
    Task<int> ScheduleDeliveriesAsync(IReadOnlyList<DeliverySchedule> schedules, DateTimeOffset dueAt, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: (re)queues the given deliveries of a subscription as pending with no attempts made, due at
    /// <paramref name="dueAt"/>, whether they were delivered, failed or are still pending (replay), and records this
    /// replay as the subscription's latest (<see cref="SubscriptionRecord.Replay"/>): after <paramref name="after"/>,
    /// through the highest sequence given (<paramref name="after"/> when none), the count queued, at
    /// <paramref name="dueAt"/>. Every delivery must have a sequence above <paramref name="after"/>. Returns the count;
    /// 0, recording nothing, when the subscription is unknown.
    /// </summary>
    Task<int> ReplayDeliveriesAsync(string subscriptionId, long after, IReadOnlyList<ScheduledDelivery> deliveries, DateTimeOffset dueAt, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: leases up to <paramref name="limit"/> deliveries that are due at <paramref name="now"/>, not leased
    /// (or whose lease ended), of subscriptions that are not disabled, and that are the head (lowest pending sequence) of
    /// their (subscription, calendar) queue. Each is marked leased by <paramref name="owner"/> until
    /// <paramref name="leaseUntil"/>, so other instances skip it. Returned oldest due first, with their change.
    /// </summary>
    Task<IReadOnlyList<DeliveryLease>> LeaseDueDeliveriesAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: appends the attempt to the log and applies its verdict: <c>Delivered</c> removes the delivery
    /// and records the success time (<c>last_success_at</c>), and clears the subscription's last error when it is
    /// <c>active</c> (a failing or disabled subscription keeps its error, the reason a person must look, until it is
    /// enabled; a failing subscription stays failing until enabled); <c>RetryLater</c> keeps it pending until
    /// <see cref="DeliveryCompletion.NextAttemptAt"/>; <c>Failed</c> keeps it as failed (no longer blocking its queue) and
    /// marks the subscription failing; <c>Disabled</c> keeps it pending and disables the subscription. The lease is
    /// released. Nothing happens when the subscription is gone.
    /// </summary>
    Task CompleteDeliveryAsync(DeliveryCompletion completion, CancellationToken cancellationToken);

    /// <summary>Releases every lease held by <paramref name="owner"/> (an instance starting again takes its own work back at once).</summary>
    Task ReleaseDeliveryLeasesAsync(string owner, CancellationToken cancellationToken);

    /// <summary>The earliest time a delivery that <see cref="LeaseDueDeliveriesAsync"/> could lease becomes due, or null when none waits.</summary>
    Task<DateTimeOffset?> GetNextDeliveryDueAsync(CancellationToken cancellationToken);

    /// <summary>A page of the subscription's attempt log, attempts with id greater than <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<DeliveryAttemptRecord>> ListDeliveryAttemptsAsync(string subscriptionId, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>The highest sequence of a change detected before <paramref name="time"/>, 0 when none.</summary>
    Task<long> GetLastSequenceBeforeAsync(DateTimeOffset time, CancellationToken cancellationToken);

    // Delivery: the attempt log for people (dashboard) and its pruning ------------------------------------

    /// <summary>
    /// The newest <paramref name="limit"/> attempts of the subscription's attempt log, newest first (highest id first).
    /// Empty when the subscription is unknown or has no attempts. A read; no transaction needed beyond one snapshot.
    /// </summary>
    Task<IReadOnlyList<DeliveryAttemptRecord>> ListLatestDeliveryAttemptsAsync(string subscriptionId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction over every subscription's attempt log: deletes the attempts made before
    /// <paramref name="olderThan"/>, and of each subscription all but its <paramref name="keepPerSubscription"/> newest
    /// attempts (by id). Deliveries, cursors and subscriptions are untouched: only the log shrinks, oldest first, so the
    /// attempts left are always the newest ones. Returns how many attempts were deleted.
    /// </summary>
    Task<int> PruneDeliveryAttemptsAsync(int keepPerSubscription, DateTimeOffset olderThan, CancellationToken cancellationToken);

    // Accounts administration (dashboard, accounts API) ---------------------------------------------------

    /// <summary>Every account that is not <see cref="AccountStatus.Removed"/>, oldest first.</summary>
    Task<IReadOnlyList<AccountRecord>> ListAccountsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: replaces the account's protected secret (a new refresh token), sets it <c>Active</c> and
    /// clears its error. Returns false, changing nothing, when the account does not exist or is removed.
    /// </summary>
    Task<bool> ReauthorizeAccountAsync(string accountId, string protectedSecret, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: marks the account <see cref="AccountStatus.Removed"/> and every watch of it stopped; returns the
    /// ids of the watches it stopped (their channels are the caller's to stop). An unknown or already removed account
    /// changes nothing and returns null.
    /// </summary>
    Task<IReadOnlyList<string>?> RemoveAccountAsync(string accountId, CancellationToken cancellationToken);

    // Coordination between instances (leases) -------------------------------------------------------------
    //
    // A lease is a named, expiring right to do one piece of work: `sync:{watchId}` (one sync of a calendar at a time,
    // invariant 5, docs/architecture.md) and `channels` (the instance that opens and renews push channels). Its holder keeps it by taking it
    // again before it expires; when the holder dies it simply expires and another instance takes it. Times are the
    // callers' clocks, so instances sharing a store need clocks that agree to well within a lease's time to live.
    // SQLite implements the same rows: one process then always gets its leases, and two processes on one file
    // coordinate like instances on PostgreSQL.

    /// <summary>
    /// One transaction: takes the lease <paramref name="name"/> for <paramref name="holder"/> until
    /// <paramref name="now"/> + <paramref name="timeToLive"/>, when nobody holds it, when its holder let it expire
    /// (before <paramref name="now"/>), or when <paramref name="holder"/> holds it already (then it is extended).
    /// Otherwise it records that the lease was asked for (see <see cref="ReleaseLeaseAsync"/>) and returns false.
    /// A new holder starts with no request recorded.
    /// </summary>
    Task<bool> TryAcquireLeaseAsync(string name, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="TryAcquireLeaseAsync"/>, and when the lease is taken, in the same transaction the release of the lease
    /// <paramref name="releaseName"/> held by <paramref name="releaseHolder"/> (nothing when another holds it or none
    /// does). A sync starting under its lease clears the watch's pending ping this way (one call where two would do).
    /// </summary>
    Task<bool> TryAcquireLeaseReleasingAsync(string name, string holder, DateTimeOffset now, TimeSpan timeToLive, string releaseName, string releaseHolder, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="TryAcquireLeaseAsync"/> for each of <paramref name="names"/> (distinct) with the same holder, in one
    /// transaction; returns how many were taken or extended. The pending pings of many watches are written this way.
    /// </summary>
    Task<int> TryAcquireLeasesAsync(IReadOnlyCollection<string> names, string holder, DateTimeOffset now, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>
    /// One transaction: gives up the lease when <paramref name="holder"/> holds it. Returns true when another holder
    /// asked for it while it was held (its work should run once more); false when nobody asked or the lease was not
    /// this holder's (any more).
    /// </summary>
    Task<bool> ReleaseLeaseAsync(string name, string holder, CancellationToken cancellationToken);

    /// <summary>
    /// The names starting with <paramref name="prefix"/> of leases that expired before <paramref name="now"/> without
    /// being released: their holder died or stalled while doing the work, which must be done again by someone.
    /// </summary>
    Task<IReadOnlyList<string>> ListExpiredLeasesAsync(string prefix, DateTimeOffset now, CancellationToken cancellationToken);

    // The request budget's windows (Google's quota as Calhook spends it), saved by each process every few seconds and
    // at shutdown, and read back at start-up, so that a restart does not grant a fresh minute and day of requests.

    /// <summary>
    /// One transaction: saves each window (replacing the one saved before for the same instance, scope and window)
    /// and forgets the windows saved before <paramref name="forgetBefore"/>.
    /// </summary>
    Task SaveBudgetWindowsAsync(IReadOnlyList<BudgetWindowRecord> windows, DateTimeOffset forgetBefore, CancellationToken cancellationToken);

    /// <summary>Every saved window of every instance, saved at or after <paramref name="since"/>.</summary>
    Task<IReadOnlyList<BudgetWindowRecord>> ListBudgetWindowsAsync(DateTimeOffset since, CancellationToken cancellationToken);
}
