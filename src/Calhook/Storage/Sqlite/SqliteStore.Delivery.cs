using System.Text.Json;
using Calhook.Changes;
using Microsoft.Data.Sqlite;

namespace Calhook.Storage.Sqlite;

// Webhook subscriptions, their delivery queues and the attempt log. On SQLite one instance owns the file, so leases
// only matter across a restart (ReleaseDeliveryLeasesAsync); the same queries hold for several instances.
internal sealed partial class SqliteStore
{
    private const string SubscriptionColumns = """
        s.id, s.url, s.types_json, s.calendar_ids_json, s.ignore_paths_json, s.protected_secret, s.protected_previous_secret,
        s.previous_secret_expires_at, s.status, s.cursor, s.created_at, s.last_success_at, s.last_error,
        (SELECT COUNT(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.state = 'pending'),
        s.replay_after, s.replay_through, s.replay_total, s.replay_requested_at,
        (SELECT COUNT(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.state = 'pending'
            AND d.sequence > s.replay_after AND d.sequence <= s.replay_through),
        (SELECT COUNT(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.state = 'failed'
            AND d.sequence > s.replay_after AND d.sequence <= s.replay_through)
        """;

    private const string AttemptColumns = "id, subscription_id, change_id, sequence, attempt, attempted_at, status_code, latency_ms, error, verdict";

    // A pending delivery that is the head of its (subscription, calendar) queue, of a subscription that is not disabled.
    private const string LeasableHead = """
        d.state = 'pending'
        AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id AND e.calendar_id = d.calendar_id
                        AND e.state = 'pending' AND e.sequence < d.sequence)
        AND (SELECT status FROM subscriptions s WHERE s.id = d.subscription_id) <> 'disabled'
        """;

    public Task<SubscriptionRecord> AddSubscriptionAsync(SubscriptionRecord subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        return WriteAsync(async (connection, transaction) =>
        {
            var cursor = await LastSequenceAsync(connection, transaction, cancellationToken);
            await using var command = Command(connection, transaction, """
                INSERT INTO subscriptions (id, url, types_json, calendar_ids_json, ignore_paths_json, protected_secret,
                    protected_previous_secret, previous_secret_expires_at, status, cursor, created_at, last_success_at, last_error)
                VALUES ($id, $url, $types, $calendars, $ignore, $secret, NULL, NULL, $status, $cursor, $created, NULL, NULL);
                """);
            command.Parameters.AddWithValue("$id", subscription.Id);
            command.Parameters.AddWithValue("$url", subscription.Url);
            command.Parameters.AddWithValue("$types", StoreText.ListJson(subscription.Types));
            command.Parameters.AddWithValue("$calendars", StoreText.ListJson(subscription.CalendarIds));
            command.Parameters.AddWithValue("$ignore", StoreText.ListJson(subscription.IgnorePaths));
            command.Parameters.AddWithValue("$secret", subscription.ProtectedSecret);
            command.Parameters.AddWithValue("$status", StoreText.SubscriptionStatusText(subscription.Status));
            command.Parameters.AddWithValue("$cursor", cursor);
            command.Parameters.AddWithValue("$created", StoreText.Time(subscription.CreatedAt));
            await command.ExecuteNonQueryAsync(cancellationToken);
            return subscription with { Cursor = cursor, ProtectedPreviousSecret = null, PreviousSecretExpiresAt = null, Backlog = 0 };
        }, cancellationToken);
    }

    public async Task<SubscriptionRecord?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        var found = await ReadSubscriptionsAsync("WHERE s.id = $id", subscriptionId, cancellationToken);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<SubscriptionRecord>> ListSubscriptionsAsync(CancellationToken cancellationToken) =>
        ReadSubscriptionsAsync("", null, cancellationToken);

    private async Task<IReadOnlyList<SubscriptionRecord>> ReadSubscriptionsAsync(string where, string? id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {SubscriptionColumns} FROM subscriptions s {where} ORDER BY s.created_at, s.id;");
        if (id is not null)
        {
            command.Parameters.AddWithValue("$id", id);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var subscriptions = new List<SubscriptionRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            subscriptions.Add(new SubscriptionRecord(
                reader.GetString(0), reader.GetString(1), StoreText.ParseList(NullableString(reader, 2)), StoreText.ParseList(NullableString(reader, 3)),
                StoreText.ParseList(NullableString(reader, 4)), reader.GetString(5), NullableString(reader, 6), NullableTime(reader, 7),
                StoreText.ParseSubscriptionStatus(reader.GetString(8)), reader.GetInt64(9), StoreText.ParseTime(reader.GetString(10)),
                NullableTime(reader, 11), NullableString(reader, 12), reader.GetInt64(13),
                reader.IsDBNull(14) ? null : new ReplayProgress(reader.GetInt64(14), reader.GetInt64(15), reader.GetInt32(16),
                    StoreText.ParseTime(reader.GetString(17)), reader.GetInt64(18), reader.GetInt64(19))));
        }

        return subscriptions;
    }

    public Task<bool> DeleteSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            // The foreign keys cascade to the deliveries and the attempt log.
            await using var command = Command(connection, transaction, "DELETE FROM subscriptions WHERE id = $id;");
            command.Parameters.AddWithValue("$id", subscriptionId);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    public Task<bool> RotateSubscriptionSecretAsync(string subscriptionId, string protectedSecret, DateTimeOffset previousExpiresAt, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                UPDATE subscriptions SET protected_previous_secret = protected_secret, previous_secret_expires_at = $until,
                    protected_secret = $secret
                WHERE id = $id;
                """);
            command.Parameters.AddWithValue("$id", subscriptionId);
            command.Parameters.AddWithValue("$secret", protectedSecret);
            command.Parameters.AddWithValue("$until", StoreText.Time(previousExpiresAt));
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    public Task<bool> EnableSubscriptionAsync(string subscriptionId, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                UPDATE subscriptions SET status = 'active' WHERE id = $id;
                UPDATE deliveries SET attempts = 0, next_attempt_at = $now WHERE subscription_id = $id AND state = 'pending';
                """);
            command.Parameters.AddWithValue("$id", subscriptionId);
            command.Parameters.AddWithValue("$now", StoreText.Time(now));
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    public Task<int> ScheduleDeliveriesAsync(IReadOnlyList<DeliverySchedule> schedules, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);

        // Grouped: a schedule follows a commit, usually with more syncs committing; they share one transaction and fsync.
        return WriteGroupedAsync(async (connection, transaction) =>
        {
            await using var advance = Command(connection, transaction, "UPDATE subscriptions SET cursor = $new WHERE id = $id AND cursor = $expected;");
            var advanceId = advance.Parameters.Add("$id", SqliteType.Text);
            var advanceNew = advance.Parameters.Add("$new", SqliteType.Integer);
            var advanceExpected = advance.Parameters.Add("$expected", SqliteType.Integer);
            await using var insert = InsertDeliveryCommand(connection, transaction, dueAt, replay: false);
            var queued = 0;
            foreach (var schedule in schedules)
            {
                advanceId.Value = schedule.SubscriptionId;
                advanceNew.Value = schedule.NewCursor;
                advanceExpected.Value = schedule.ExpectedCursor;
                if (await advance.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    continue;
                }

                queued += await InsertDeliveriesAsync(insert, schedule.SubscriptionId, schedule.Deliveries, cancellationToken);
            }

            return queued;
        }, cancellationToken);
    }

    public Task<int> ReplayDeliveriesAsync(string subscriptionId, long after, IReadOnlyList<ScheduledDelivery> deliveries, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var insert = InsertDeliveryCommand(connection, transaction, dueAt, replay: true);
            var count = await InsertDeliveriesAsync(insert, subscriptionId, deliveries, cancellationToken);
            await using var record = Command(connection, transaction, """
                UPDATE subscriptions SET replay_after = $after, replay_through = $through, replay_total = $total, replay_requested_at = $at
                WHERE id = $id;
                """);
            record.Parameters.AddWithValue("$id", subscriptionId);
            record.Parameters.AddWithValue("$after", after);
            record.Parameters.AddWithValue("$through", deliveries.Count == 0 ? after : deliveries.Max(d => d.Sequence));
            record.Parameters.AddWithValue("$total", count);
            record.Parameters.AddWithValue("$at", StoreText.Time(dueAt));
            await record.ExecuteNonQueryAsync(cancellationToken);
            return count;
        }, cancellationToken);
    }

    private static SqliteCommand InsertDeliveryCommand(SqliteConnection connection, SqliteTransaction transaction, DateTimeOffset dueAt, bool replay)
    {
        // A replay requeues a row whatever its state; a schedule never touches a row that exists.
        var conflict = replay
            ? "DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at"
            : "DO NOTHING";
        var insert = Command(connection, transaction, $"""
            INSERT INTO deliveries (subscription_id, sequence, calendar_id, state, attempts, next_attempt_at, lease_owner, lease_until)
            SELECT $id, $seq, $calendar, 'pending', 0, $due, NULL, NULL WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = $id)
            ON CONFLICT (subscription_id, sequence) {conflict};
            """);
        insert.Parameters.Add("$id", SqliteType.Text);
        insert.Parameters.Add("$seq", SqliteType.Integer);
        insert.Parameters.Add("$calendar", SqliteType.Text);
        insert.Parameters.AddWithValue("$due", StoreText.Time(dueAt));
        return insert;
    }

    private static async Task<int> InsertDeliveriesAsync(SqliteCommand insert, string subscriptionId, IReadOnlyList<ScheduledDelivery> deliveries, CancellationToken cancellationToken)
    {
        var count = 0;
        insert.Parameters["$id"].Value = subscriptionId;
        foreach (var delivery in deliveries)
        {
            insert.Parameters["$seq"].Value = delivery.Sequence;
            insert.Parameters["$calendar"].Value = delivery.CalendarId;
            count += await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return count;
    }

    public Task<IReadOnlyList<DeliveryLease>> LeaseDueDeliveriesAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return WriteGroupedAsync<IReadOnlyList<DeliveryLease>>(async (connection, transaction) =>
        {
            var nowText = StoreText.Time(now);
            var picked = new List<(string SubscriptionId, long Sequence, int Attempt)>();
            await using (var select = Command(connection, transaction, $"""
                SELECT d.subscription_id, d.sequence, d.attempts FROM deliveries d
                WHERE {LeasableHead} AND d.next_attempt_at <= $now AND (d.lease_until IS NULL OR d.lease_until <= $now)
                ORDER BY d.next_attempt_at, d.sequence LIMIT $limit;
                """))
            {
                select.Parameters.AddWithValue("$now", nowText);
                select.Parameters.AddWithValue("$limit", limit);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    picked.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2) + 1));
                }
            }

            if (picked.Count == 0)
            {
                return [];
            }

            await using var lease = Command(connection, transaction, """
                UPDATE deliveries SET lease_owner = $owner, lease_until = $until WHERE subscription_id = $id AND sequence = $seq;
                """);
            lease.Parameters.AddWithValue("$owner", owner);
            lease.Parameters.AddWithValue("$until", StoreText.Time(leaseUntil));
            var leaseId = lease.Parameters.Add("$id", SqliteType.Text);
            var leaseSequence = lease.Parameters.Add("$seq", SqliteType.Integer);
            await using var read = Command(connection, transaction, $"SELECT {ChangeColumns} FROM changes WHERE sequence = $seq;");
            var readSequence = read.Parameters.Add("$seq", SqliteType.Integer);
            var leases = new List<DeliveryLease>(picked.Count);
            foreach (var (subscriptionId, sequence, attempt) in picked)
            {
                leaseId.Value = subscriptionId;
                leaseSequence.Value = sequence;
                await lease.ExecuteNonQueryAsync(cancellationToken);
                readSequence.Value = sequence;
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    leases.Add(new DeliveryLease(subscriptionId, sequence, attempt, ReadChange(reader)));
                }
            }

            return leases;
        }, cancellationToken);
    }

    public Task CompleteDeliveryAsync(DeliveryCompletion completion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var attempt = completion.Attempt;

        // Grouped: the attempts that finish together (one per calendar in flight) share one transaction and one fsync.
        return WriteGroupedAsync<bool>(async (connection, transaction) =>
        {
            var at = StoreText.Time(attempt.AttemptedAt);
            var (delivery, subscription) = attempt.Verdict switch
            {
                DeliveryVerdict.Delivered => (
                    "DELETE FROM deliveries WHERE subscription_id = $id AND sequence = $seq;",
                    // A success supersedes the last error of an active subscription; a failing or disabled one keeps
                    // the error that made it so until a person enables it. The last success is kept to the second: a
                    // success within a second of the recorded one leaves the row alone (see LastSuccessResolution).
                    "UPDATE subscriptions SET last_success_at = $at, last_error = CASE status WHEN 'active' THEN NULL ELSE last_error END " +
                    "WHERE id = $id AND (last_success_at IS NULL OR last_success_at < $recent OR (status = 'active' AND last_error IS NOT NULL));"),
                DeliveryVerdict.RetryLater => (
                    "UPDATE deliveries SET attempts = $attempt, next_attempt_at = $next, lease_owner = NULL, lease_until = NULL WHERE subscription_id = $id AND sequence = $seq;",
                    // Unchanged errors (a subscriber down answers the same to every attempt) leave the row alone.
                    "UPDATE subscriptions SET last_error = $error WHERE id = $id AND last_error IS NOT $error;"),
                DeliveryVerdict.Failed => (
                    "UPDATE deliveries SET state = 'failed', attempts = $attempt, lease_owner = NULL, lease_until = NULL WHERE subscription_id = $id AND sequence = $seq;",
                    "UPDATE subscriptions SET last_error = $error, status = CASE status WHEN 'disabled' THEN status ELSE 'failing' END WHERE id = $id;"),
                DeliveryVerdict.Disabled => (
                    "UPDATE deliveries SET attempts = $attempt, next_attempt_at = $at, lease_owner = NULL, lease_until = NULL WHERE subscription_id = $id AND sequence = $seq;",
                    "UPDATE subscriptions SET last_error = $error, status = 'disabled' WHERE id = $id;"),
                _ => throw new ArgumentOutOfRangeException(nameof(completion), attempt.Verdict, "Unknown delivery verdict."),
            };

            await using var command = Command(connection, transaction, $"""
                INSERT INTO delivery_attempts (subscription_id, change_id, sequence, attempt, attempted_at, status_code, latency_ms, error, verdict)
                SELECT $id, $change, $seq, $attempt, $at, $status, $latency, $error, $verdict WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = $id);
                {delivery}
                {subscription}
                """);
            command.Parameters.AddWithValue("$id", attempt.SubscriptionId);
            command.Parameters.AddWithValue("$change", attempt.ChangeId);
            command.Parameters.AddWithValue("$seq", attempt.Sequence);
            command.Parameters.AddWithValue("$attempt", attempt.Attempt);
            command.Parameters.AddWithValue("$at", at);
            command.Parameters.AddWithValue("$recent", StoreText.Time(attempt.AttemptedAt - StoreText.LastSuccessResolution));
            command.Parameters.AddWithValue("$status", (object?)attempt.StatusCode ?? DBNull.Value);
            command.Parameters.AddWithValue("$latency", attempt.LatencyMs);
            command.Parameters.AddWithValue("$error", (object?)attempt.Error ?? DBNull.Value);
            command.Parameters.AddWithValue("$verdict", StoreText.VerdictText(attempt.Verdict));
            command.Parameters.AddWithValue("$next", StoreText.TimeOrNull(completion.NextAttemptAt));
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task ReleaseDeliveryLeasesAsync(string owner, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $owner;");
            command.Parameters.AddWithValue("$owner", owner);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public async Task<DateTimeOffset?> GetNextDeliveryDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // A leased head becomes leasable again when its lease ends (its holder died); otherwise when it is due.
        await using var command = Command(connection, null, $"""
            SELECT MIN(CASE WHEN d.lease_until IS NOT NULL AND d.lease_until > d.next_attempt_at THEN d.lease_until ELSE d.next_attempt_at END)
            FROM deliveries d WHERE {LeasableHead};
            """);
        return await command.ExecuteScalarAsync(cancellationToken) is string text ? StoreText.ParseTime(text) : null;
    }

    public async Task<IReadOnlyList<DeliveryAttemptRecord>> ListDeliveryAttemptsAsync(string subscriptionId, long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT {AttemptColumns} FROM delivery_attempts WHERE subscription_id = $id AND id > $after ORDER BY id LIMIT $limit;
            """);
        command.Parameters.AddWithValue("$id", subscriptionId);
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadAttemptsAsync(command, cancellationToken);
    }

    private static async Task<IReadOnlyList<DeliveryAttemptRecord>> ReadAttemptsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var attempts = new List<DeliveryAttemptRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            attempts.Add(new DeliveryAttemptRecord(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt32(4),
                StoreText.ParseTime(reader.GetString(5)), reader.IsDBNull(6) ? null : reader.GetInt32(6), reader.GetDouble(7),
                NullableString(reader, 8), StoreText.ParseVerdict(reader.GetString(9))));
        }

        return attempts;
    }

    public async Task<IReadOnlyList<DeliveryAttemptRecord>> ListLatestDeliveryAttemptsAsync(string subscriptionId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT {AttemptColumns} FROM delivery_attempts WHERE subscription_id = $id ORDER BY id DESC LIMIT $limit;
            """);
        command.Parameters.AddWithValue("$id", subscriptionId);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadAttemptsAsync(command, cancellationToken);
    }

    /// <summary>The age half of <see cref="PruneDeliveryAttemptsAsync"/>: found through ix_delivery_attempts_attempted_at.</summary>
    internal const string PruneAttemptsByAgeSql = "DELETE FROM delivery_attempts WHERE attempted_at < $before;";

    /// <summary>
    /// The count half of <see cref="PruneDeliveryAttemptsAsync"/>. Per subscription, the id of its $keep-th newest
    /// attempt is the oldest one kept; found once per subscription through ix_delivery_attempts_subscription, so the cost
    /// follows what is kept and deleted. MATERIALIZED makes "once" true: without it SQLite folds the CTE into the join
    /// and looks the floor up again for every attempt in the log. A minute into the e2e bench (the warm-up's attempts
    /// logged) that held the write lock for about 250 ms, every webhook of that quarter second late; 2 s with a million kept.
    /// </summary>
    internal const string PruneAttemptsByCountSql = """
        WITH floors AS MATERIALIZED (
            SELECT s.id AS subscription_id,
                   (SELECT k.id FROM delivery_attempts k WHERE k.subscription_id = s.id ORDER BY k.id DESC LIMIT 1 OFFSET $keep - 1) AS floor
            FROM subscriptions s)
        DELETE FROM delivery_attempts WHERE id IN (
            SELECT a.id FROM floors f JOIN delivery_attempts a ON a.subscription_id = f.subscription_id AND a.id < f.floor);
        """;

    public Task<int> PruneDeliveryAttemptsAsync(int keepPerSubscription, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keepPerSubscription);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, PruneAttemptsByAgeSql + "\n" + PruneAttemptsByCountSql);
            command.Parameters.AddWithValue("$before", StoreText.Time(olderThan));
            command.Parameters.AddWithValue("$keep", keepPerSubscription);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public async Task<long> GetLastSequenceBeforeAsync(DateTimeOffset time, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT COALESCE(MAX(sequence), 0) FROM changes WHERE detected_at < $at;");
        command.Parameters.AddWithValue("$at", StoreText.Time(time));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
