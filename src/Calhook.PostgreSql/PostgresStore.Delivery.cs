using System.Text;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Calhook.PostgreSql;

// Webhook subscriptions, their delivery queues and the attempt log: the same rows and rules as SQLite
// (StoreText.Delivery.cs), made safe for several instances at once:
// - a cursor moves only from the value its scheduler read (UPDATE … WHERE cursor = expected: the row lock makes a
//   second instance's update find the moved cursor and skip), so a change is queued once per subscription;
// - leasing picks the due queue heads with FOR UPDATE SKIP LOCKED and marks them leased in the same statement, so two
//   instances leasing at once never take the same delivery, and a delivery leased by another instance is skipped
//   until its lease ends (its holder died).
internal sealed partial class PostgresStore
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

    // Per subscription, the attempt time of the last success this process wrote into the subscription's row; removed
    // when this process records a failure. Bounded by the number of subscriptions.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _successesRecorded = new(StringComparer.Ordinal);

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
            // The counter names the last committed change: every change after it is delivered to the new subscription.
            await using var command = Command(connection, transaction, """
                INSERT INTO subscriptions (id, url, types_json, calendar_ids_json, ignore_paths_json, protected_secret,
                    protected_previous_secret, previous_secret_expires_at, status, cursor, created_at, last_success_at, last_error)
                SELECT @id, @url, @types, @calendars, @ignore, @secret, NULL, NULL, @status, last, @created, NULL, NULL
                FROM change_sequence WHERE id = 1
                RETURNING cursor;
                """);
            command.Parameters.AddWithValue("id", subscription.Id);
            command.Parameters.AddWithValue("url", subscription.Url);
            Text(command, "types", ListJson(subscription.Types));
            Text(command, "calendars", ListJson(subscription.CalendarIds));
            Text(command, "ignore", ListJson(subscription.IgnorePaths));
            command.Parameters.AddWithValue("secret", subscription.ProtectedSecret);
            command.Parameters.AddWithValue("status", StoreText.SubscriptionStatusText(subscription.Status));
            command.Parameters.AddWithValue("created", StoreText.Time(subscription.CreatedAt));
            var cursor = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            return subscription with { Cursor = cursor, ProtectedPreviousSecret = null, PreviousSecretExpiresAt = null, Backlog = 0 };
        }, cancellationToken);
    }

    public async Task<SubscriptionRecord?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        var found = await ReadSubscriptionsAsync("WHERE s.id = @id", subscriptionId, cancellationToken);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<SubscriptionRecord>> ListSubscriptionsAsync(CancellationToken cancellationToken) =>
        ReadSubscriptionsAsync("", null, cancellationToken);

    private async Task<IReadOnlyList<SubscriptionRecord>> ReadSubscriptionsAsync(string where, string? id, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {SubscriptionColumns} FROM subscriptions s {where} ORDER BY s.created_at, s.id;");
        if (id is not null)
        {
            command.Parameters.AddWithValue("id", id);
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
            await using var command = Command(connection, transaction, "DELETE FROM subscriptions WHERE id = @id;");
            command.Parameters.AddWithValue("id", subscriptionId);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    public Task<bool> RotateSubscriptionSecretAsync(string subscriptionId, string protectedSecret, DateTimeOffset previousExpiresAt, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                UPDATE subscriptions SET protected_previous_secret = protected_secret, previous_secret_expires_at = @until,
                    protected_secret = @secret
                WHERE id = @id;
                """);
            command.Parameters.AddWithValue("id", subscriptionId);
            command.Parameters.AddWithValue("secret", protectedSecret);
            command.Parameters.AddWithValue("until", StoreText.Time(previousExpiresAt));
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    public Task<bool> EnableSubscriptionAsync(string subscriptionId, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var enable = Command(connection, transaction, "UPDATE subscriptions SET status = 'active' WHERE id = @id;");
            enable.Parameters.AddWithValue("id", subscriptionId);
            if (await enable.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }

            await using var due = Command(connection, transaction,
                "UPDATE deliveries SET attempts = 0, next_attempt_at = @now WHERE subscription_id = @id AND state = 'pending';");
            due.Parameters.AddWithValue("id", subscriptionId);
            due.Parameters.AddWithValue("now", StoreText.Time(now));
            await due.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);

    public Task<int> ScheduleDeliveriesAsync(IReadOnlyList<DeliverySchedule> schedules, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return WriteAsync(async (connection, transaction) =>
        {
            var queued = 0;
            foreach (var schedule in schedules)
            {
                // Another instance that moved this cursor first holds its row until it commits; this update then finds
                // the cursor moved and skips the schedule, so every change is queued once.
                await using var advance = Command(connection, transaction, "UPDATE subscriptions SET cursor = @new WHERE id = @id AND cursor = @expected;");
                advance.Parameters.AddWithValue("id", schedule.SubscriptionId);
                advance.Parameters.AddWithValue("new", schedule.NewCursor);
                advance.Parameters.AddWithValue("expected", schedule.ExpectedCursor);
                if (await advance.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    continue;
                }

                queued += await InsertDeliveriesAsync(connection, transaction, schedule.SubscriptionId, schedule.Deliveries, dueAt, replay: false, cancellationToken);
            }

            return queued;
        }, cancellationToken);
    }

    public Task<int> ReplayDeliveriesAsync(string subscriptionId, long after, IReadOnlyList<ScheduledDelivery> deliveries, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        return WriteAsync(async (connection, transaction) =>
        {
            var count = await InsertDeliveriesAsync(connection, transaction, subscriptionId, deliveries, dueAt, replay: true, cancellationToken);
            await using var record = Command(connection, transaction, """
                UPDATE subscriptions SET replay_after = @after, replay_through = @through, replay_total = @total, replay_requested_at = @at
                WHERE id = @id;
                """);
            record.Parameters.AddWithValue("id", subscriptionId);
            record.Parameters.AddWithValue("after", after);
            record.Parameters.AddWithValue("through", deliveries.Count == 0 ? after : deliveries.Max(d => d.Sequence));
            record.Parameters.AddWithValue("total", count);
            record.Parameters.AddWithValue("at", StoreText.Time(dueAt));
            await record.ExecuteNonQueryAsync(cancellationToken);
            return count;
        }, cancellationToken);
    }

    /// <summary>Inserts the deliveries in one statement (the rows travel as arrays); a replay requeues rows that exist.</summary>
    private static async Task<int> InsertDeliveriesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string subscriptionId, IReadOnlyList<ScheduledDelivery> deliveries,
        DateTimeOffset dueAt, bool replay, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return 0;
        }

        // One statement may touch a row once: a sequence named twice counts once.
        var unique = deliveries.DistinctBy(d => d.Sequence).ToArray();
        var conflict = replay
            ? "DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at"
            : "DO NOTHING";
        await using var insert = Command(connection, transaction, $"""
            INSERT INTO deliveries (subscription_id, sequence, calendar_id, state, attempts, next_attempt_at, lease_owner, lease_until)
            SELECT @id, s, c, 'pending', 0, @due, NULL, NULL FROM unnest(@seqs, @calendars) AS x(s, c)
            WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = @id)
            ON CONFLICT (subscription_id, sequence) {conflict};
            """);
        insert.Parameters.AddWithValue("id", subscriptionId);
        insert.Parameters.AddWithValue("due", StoreText.Time(dueAt));
        insert.Parameters.AddWithValue("seqs", unique.Select(d => d.Sequence).ToArray());
        insert.Parameters.AddWithValue("calendars", unique.Select(d => d.CalendarId).ToArray());
        return await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<IReadOnlyList<DeliveryLease>> LeaseDueDeliveriesAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return WriteAsync<IReadOnlyList<DeliveryLease>>(async (connection, transaction) =>
        {
            // SKIP LOCKED: a head another instance is leasing right now is left to it. A row leased and committed
            // meanwhile is re-checked after locking (read committed), finds its lease running and drops out.
            await using var command = Command(connection, transaction, $"""
                WITH picked AS (
                    SELECT d.subscription_id, d.sequence FROM deliveries d
                    WHERE {LeasableHead} AND d.next_attempt_at <= @now AND (d.lease_until IS NULL OR d.lease_until <= @now)
                    ORDER BY d.next_attempt_at, d.sequence LIMIT @limit
                    FOR UPDATE OF d SKIP LOCKED),
                leased AS (
                    UPDATE deliveries d SET lease_owner = @owner, lease_until = @until FROM picked p
                    WHERE d.subscription_id = p.subscription_id AND d.sequence = p.sequence
                    RETURNING d.subscription_id, d.sequence, d.attempts, d.next_attempt_at)
                SELECT l.subscription_id, l.attempts + 1, {PrefixedChangeColumns("c")}
                FROM leased l JOIN changes c ON c.sequence = l.sequence
                ORDER BY l.next_attempt_at, l.sequence;
                """);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("now", StoreText.Time(now));
            command.Parameters.AddWithValue("until", StoreText.Time(leaseUntil));
            command.Parameters.AddWithValue("limit", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var leases = new List<DeliveryLease>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var change = ReadChange(reader, 2);
                leases.Add(new DeliveryLease(reader.GetString(0), change.Sequence, reader.GetInt32(1), change));
            }

            return leases;
        }, cancellationToken);
    }

    // Verdicts waiting to be written; whoever holds the gate writes all of them (up to MaxGroupedVerdicts) in one batch.
    private readonly System.Collections.Concurrent.ConcurrentQueue<QueuedVerdict> _verdicts = new();
    private readonly SemaphoreSlim _verdictGate = new(1, 1);

    /// <summary>Most verdicts one batch carries; the rest go in the next.</summary>
    private const int MaxGroupedVerdicts = 64;

    /// <summary>
    /// Grouped: the verdicts recorded while a batch of them is being written go together in the next batch, one round
    /// trip and one implicit transaction for all of them (the attempts of a busy instance finish a few at a time, one
    /// per calendar in flight). Whoever takes the gate writes every verdict queued, its own included, and a caller
    /// returns once its own is committed; a batch that fails fails each of its callers (the delivery's lease then
    /// runs out and it is attempted again). A lone verdict costs what it cost before: one round trip.
    /// </summary>
    public async Task CompleteDeliveryAsync(DeliveryCompletion completion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completion);
        if (!Enum.IsDefined(completion.Attempt.Verdict))
        {
            throw new ArgumentOutOfRangeException(nameof(completion), completion.Attempt.Verdict, "Unknown delivery verdict.");
        }

        var mine = new QueuedVerdict(completion);
        _verdicts.Enqueue(mine);

        // Not cancelled while queued: the verdict is written by whoever holds the gate, which is never long (one round trip).
        await _verdictGate.WaitAsync(CancellationToken.None);
        try
        {
            // An earlier holder of the gate may have written this verdict already.
            while (!mine.Written.Task.IsCompleted)
            {
                await WriteVerdictsAsync();
            }
        }
        finally
        {
            _verdictGate.Release();
        }

        await mine.Written.Task;
    }

    private async Task WriteVerdictsAsync()
    {
        var batch = new List<QueuedVerdict>();
        while (batch.Count < MaxGroupedVerdicts && _verdicts.TryDequeue(out var next))
        {
            batch.Add(next);
        }

        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(CancellationToken.None);
            await using var command = Command(connection, null, "");
            var sql = new StringBuilder();
            var successes = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].WritesSuccess = AddVerdict(command, sql, i, batch[i].Completion, successes);
            }

            command.CommandText = sql.ToString();
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception exception)
        {
            foreach (var verdict in batch)
            {
                verdict.Written.TrySetException(exception);
            }

            return;
        }

        foreach (var verdict in batch)
        {
            if (verdict.WritesSuccess)
            {
                _successesRecorded[verdict.Completion.Attempt.SubscriptionId] = verdict.Completion.Attempt.AttemptedAt;
            }

            verdict.Written.TrySetResult();
        }
    }

    /// <summary>
    /// The verdict's three statements (attempt log, delivery, subscription) with parameters suffixed <paramref name="i"/>;
    /// true when they write the subscription's last success. <paramref name="successes"/> holds the subscriptions whose
    /// last success this batch already writes.
    /// </summary>
    private bool AddVerdict(NpgsqlCommand command, StringBuilder sql, int i, DeliveryCompletion completion, HashSet<string> successes)
    {
        var attempt = completion.Attempt;
        // A success within a second of one this process recorded, with no failure recorded since, would match nothing
        // in the subscription's row (see below), yet the statement still queued on that one hot row behind every
        // attempt's lock; it is left out, as is a second success of one subscription in the same batch. Another
        // instance's error is then cleared by this one's next success a second later at most.
        var recorded = attempt.Verdict == DeliveryVerdict.Delivered
            && (!successes.Add(attempt.SubscriptionId)
                || (_successesRecorded.TryGetValue(attempt.SubscriptionId, out var last)
                    && attempt.AttemptedAt >= last && attempt.AttemptedAt - last < StoreText.LastSuccessResolution));
        if (attempt.Verdict != DeliveryVerdict.Delivered)
        {
            _successesRecorded.TryRemove(attempt.SubscriptionId, out _);
            successes.Remove(attempt.SubscriptionId);
        }

        var (delivery, subscription) = attempt.Verdict switch
        {
            DeliveryVerdict.Delivered => (
                "DELETE FROM deliveries WHERE subscription_id = @id AND sequence = @seq;",
                // A success supersedes the last error of an active subscription; a failing or disabled one keeps
                // the error that made it so until a person enables it. The last success is kept to the second: a
                // success within a second of the recorded one leaves the row alone, so the attempts of a busy
                // subscription do not all queue on its one row (each update locks it until commit).
                recorded ? "" :
                "UPDATE subscriptions SET last_success_at = @at, last_error = CASE status WHEN 'active' THEN NULL ELSE last_error END " +
                "WHERE id = @id AND (last_success_at IS NULL OR last_success_at < @recent OR (status = 'active' AND last_error IS NOT NULL));"),
            DeliveryVerdict.RetryLater => (
                "UPDATE deliveries SET attempts = @attempt, next_attempt_at = @next, lease_owner = NULL, lease_until = NULL WHERE subscription_id = @id AND sequence = @seq;",
                // Unchanged errors (a subscriber down answers the same to every attempt) leave the row alone.
                "UPDATE subscriptions SET last_error = @error WHERE id = @id AND last_error IS DISTINCT FROM @error;"),
            DeliveryVerdict.Failed => (
                "UPDATE deliveries SET state = 'failed', attempts = @attempt, lease_owner = NULL, lease_until = NULL WHERE subscription_id = @id AND sequence = @seq;",
                "UPDATE subscriptions SET last_error = @error, status = CASE status WHEN 'disabled' THEN status ELSE 'failing' END WHERE id = @id;"),
            DeliveryVerdict.Disabled => (
                "UPDATE deliveries SET attempts = @attempt, next_attempt_at = @at, lease_owner = NULL, lease_until = NULL WHERE subscription_id = @id AND sequence = @seq;",
                "UPDATE subscriptions SET last_error = @error, status = 'disabled' WHERE id = @id;"),
            _ => throw new ArgumentOutOfRangeException(nameof(completion), attempt.Verdict, "Unknown delivery verdict."),
        };

        var statements = $"""
            INSERT INTO delivery_attempts (subscription_id, change_id, sequence, attempt, attempted_at, status_code, latency_ms, error, verdict)
            SELECT @id, @change, @seq, @attempt, @at, @status, @latency, @error, @verdict WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = @id);
            {delivery}
            {subscription}

            """;
        var suffix = "_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        sql.Append(ParameterName().Replace(statements, "$0" + suffix));
        command.Parameters.AddWithValue("id" + suffix, attempt.SubscriptionId);
        command.Parameters.AddWithValue("change" + suffix, attempt.ChangeId);
        command.Parameters.AddWithValue("seq" + suffix, attempt.Sequence);
        command.Parameters.AddWithValue("attempt" + suffix, attempt.Attempt);
        command.Parameters.AddWithValue("at" + suffix, StoreText.Time(attempt.AttemptedAt));
        command.Parameters.AddWithValue("recent" + suffix, StoreText.Time(attempt.AttemptedAt - StoreText.LastSuccessResolution));
        command.Parameters.Add(new NpgsqlParameter("status" + suffix, NpgsqlDbType.Integer) { Value = (object?)attempt.StatusCode ?? DBNull.Value });
        command.Parameters.AddWithValue("latency" + suffix, attempt.LatencyMs);
        Text(command, "error" + suffix, attempt.Error);
        command.Parameters.AddWithValue("verdict" + suffix, StoreText.VerdictText(attempt.Verdict));
        Text(command, "next" + suffix, completion.NextAttemptAt is { } next ? StoreText.Time(next) : null);
        return attempt.Verdict == DeliveryVerdict.Delivered && !recorded;
    }

    /// <summary>A named parameter in SQL (each verdict of a batch gets its own names).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"@\w+")]
    private static partial System.Text.RegularExpressions.Regex ParameterName();

    private sealed class QueuedVerdict(DeliveryCompletion completion)
    {
        public DeliveryCompletion Completion { get; } = completion;

        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Whether the batch writes the subscription's last success for this verdict.</summary>
        public bool WritesSuccess { get; set; }
    }

    public Task ReleaseDeliveryLeasesAsync(string owner, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = @owner;");
            command.Parameters.AddWithValue("owner", owner);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public async Task<DateTimeOffset?> GetNextDeliveryDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // A leased head becomes leasable again when its lease ends (its holder died); otherwise when it is due.
        await using var command = Command(connection, null, $"""
            SELECT MIN(CASE WHEN d.lease_until IS NOT NULL AND d.lease_until > d.next_attempt_at THEN d.lease_until ELSE d.next_attempt_at END)
            FROM deliveries d WHERE {LeasableHead};
            """);
        return await command.ExecuteScalarAsync(cancellationToken) is string text ? StoreText.ParseTime(text) : null;
    }

    public async Task<IReadOnlyList<DeliveryAttemptRecord>> ListDeliveryAttemptsAsync(string subscriptionId, long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT {AttemptColumns} FROM delivery_attempts WHERE subscription_id = @id AND id > @after ORDER BY id LIMIT @limit;
            """);
        command.Parameters.AddWithValue("id", subscriptionId);
        command.Parameters.AddWithValue("after", afterId);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAttemptsAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<DeliveryAttemptRecord>> ListLatestDeliveryAttemptsAsync(string subscriptionId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT {AttemptColumns} FROM delivery_attempts WHERE subscription_id = @id ORDER BY id DESC LIMIT @limit;
            """);
        command.Parameters.AddWithValue("id", subscriptionId);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAttemptsAsync(command, cancellationToken);
    }

    /// <summary>The age half of <see cref="PruneDeliveryAttemptsAsync"/>: found through ix_delivery_attempts_attempted_at.</summary>
    internal const string PruneAttemptsByAgeSql = """DELETE FROM delivery_attempts WHERE attempted_at COLLATE "C" < @before;""";

    public Task<int> PruneDeliveryAttemptsAsync(int keepPerSubscription, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keepPerSubscription);
        return WriteAsync(async (connection, transaction) =>
        {
            // Per subscription, the id of its keepPerSubscription-th newest attempt is the oldest one kept; found once
            // per subscription through ix_delivery_attempts_subscription, so the cost follows what is kept and deleted.
            // The old ones go first, through ix_delivery_attempts_attempted_at (one condition per statement, so each
            // can use its index). Two instances pruning at once delete the same rows; the second finds them gone.
            await using var command = Command(connection, transaction, PruneAttemptsByAgeSql + """

                WITH floors AS MATERIALIZED (
                    SELECT s.id AS subscription_id,
                           (SELECT k.id FROM delivery_attempts k WHERE k.subscription_id = s.id ORDER BY k.id DESC OFFSET (@keep - 1) LIMIT 1) AS floor
                    FROM subscriptions s)
                DELETE FROM delivery_attempts a USING floors f
                WHERE a.subscription_id = f.subscription_id AND a.id < f.floor;
                """);
            command.Parameters.AddWithValue("before", StoreText.Time(olderThan));
            command.Parameters.AddWithValue("keep", keepPerSubscription);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private static async Task<IReadOnlyList<DeliveryAttemptRecord>> ReadAttemptsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
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

    public async Task<long> GetLastSequenceBeforeAsync(DateTimeOffset time, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, null, """SELECT COALESCE(MAX(sequence), 0) FROM changes WHERE detected_at COLLATE "C" < @at;""");
        command.Parameters.AddWithValue("at", StoreText.Time(time));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static string? ListJson(IReadOnlyList<string>? values) => StoreText.ListJson(values) as string;

    private static string PrefixedChangeColumns(string alias) =>
        string.Join(", ", ChangeColumns.Split(", ").Select(column => $"{alias}.{column}"));

    /// <summary>A text parameter that may be null (typed, so PostgreSQL never has to guess).</summary>
    private static void Text(NpgsqlCommand command, string name, string? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });
}
