namespace Calhook.Storage.Sqlite;

/// <summary>
/// The schema as numbered scripts. A script, once shipped, never changes: a new need is a new number.
/// <see cref="SqliteStore.MigrateAsync"/> applies the missing ones in order, each in its own transaction.
/// </summary>
internal static class SqliteMigrations
{
    public static IReadOnlyList<(int Version, string Sql)> All { get; } =
    [
        (1, """
            CREATE TABLE accounts (
                id               TEXT NOT NULL PRIMARY KEY,
                kind             TEXT NOT NULL,
                email            TEXT NOT NULL,
                subject          TEXT NULL,
                protected_secret TEXT NOT NULL,
                status           TEXT NOT NULL,
                error            TEXT NULL,
                created_at       TEXT NOT NULL
            );

            CREATE TABLE watches (
                id                   TEXT NOT NULL PRIMARY KEY,
                account_id           TEXT NOT NULL REFERENCES accounts (id),
                calendar_id          TEXT NOT NULL,
                status               TEXT NOT NULL,
                error                TEXT NULL,
                created_at           TEXT NOT NULL,
                last_notification_at TEXT NULL
            );

            CREATE TABLE channels (
                id              TEXT NOT NULL PRIMARY KEY,
                watch_id        TEXT NOT NULL REFERENCES watches (id),
                protected_token TEXT NOT NULL,
                resource_id     TEXT NULL,
                expires_at      TEXT NULL,
                created_at      TEXT NOT NULL,
                stopped_at      TEXT NULL
            );
            CREATE INDEX ix_channels_open ON channels (watch_id) WHERE stopped_at IS NULL;

            CREATE TABLE sync_state (
                watch_id     TEXT NOT NULL PRIMARY KEY,
                sync_token   TEXT NULL,
                last_sync_at TEXT NULL
            );

            CREATE TABLE snapshots (
                watch_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                json     TEXT NOT NULL,
                PRIMARY KEY (watch_id, event_id)
            ) WITHOUT ROWID;

            CREATE TABLE changes (
                sequence            INTEGER PRIMARY KEY,
                id                  TEXT NOT NULL UNIQUE,
                type                TEXT NOT NULL,
                watch_id            TEXT NOT NULL,
                calendar_id         TEXT NOT NULL,
                event_id            TEXT NOT NULL,
                recurring_event_id  TEXT NULL,
                original_start_time TEXT NULL,
                event_json          TEXT NULL,
                previous_json       TEXT NULL,
                diff_json           TEXT NOT NULL,
                detected_at         TEXT NOT NULL
            );
            CREATE INDEX ix_changes_calendar ON changes (calendar_id, sequence);
            """),
        (2, """
            -- A full list in progress: each page's snapshots (UTF-8 JSON) appended in list order, moved into
            -- snapshots by the transaction that stores the list's sync token; leftovers of a crashed attempt are deleted.
            -- No key: rows are only appended, then read once in event order (a later copy of an event wins).
            CREATE TABLE snapshot_staging (
                watch_id   TEXT NOT NULL,
                attempt_id TEXT NOT NULL,
                event_id   TEXT NOT NULL,
                json       BLOB NOT NULL
            );
            """),
        // 3: the watch's status is derived; the channel supervisor and the syncer each keep their own problem.
        // The old shared error becomes the sync's problem; the status column keeps only the lifecycle.
        (3, """
            ALTER TABLE watches ADD COLUMN channel_error_kind TEXT NULL;
            ALTER TABLE watches ADD COLUMN channel_error TEXT NULL;
            ALTER TABLE watches ADD COLUMN sync_error_kind TEXT NULL;
            ALTER TABLE watches ADD COLUMN sync_error TEXT NULL;
            UPDATE watches SET sync_error_kind = CASE status WHEN 'needs_reauth' THEN 'needs_reauth' ELSE 'error' END, sync_error = error
            WHERE error IS NOT NULL AND status IN ('failing', 'needs_reauth');
            UPDATE watches SET status = 'active' WHERE status IN ('failing', 'needs_reauth');
            UPDATE watches SET error = NULL;
            """),
        // 4: leases coordinate work between processes sharing the store (see ICalhookStore's coordination section).
        (4, """
            CREATE TABLE leases (
                name       TEXT NOT NULL PRIMARY KEY,
                holder     TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                requested  INTEGER NOT NULL DEFAULT 0
            );
            """),
        // 5: a series created by a "this and following" split names the series it was split from.
        (5, """
            ALTER TABLE changes ADD COLUMN split_from TEXT NULL;
            """),
        // 6: snapshots become a rowid table with a unique key index, and carry the full list (generation) that wrote
        // them. A full list writes its pages straight into the table under its own generation, appended in rowid
        // order with only the small key index taking random inserts; its commit makes that generation the watch's
        // current one (sync_state.generation). Rows of any other generation are invisible and deleted by the next
        // full list. Replaces snapshot_staging, whose final move of 100,000 rows dominated a large baseline.
        (6, """
            CREATE TABLE snapshots_v4 (
                watch_id   TEXT NOT NULL,
                generation TEXT NOT NULL,
                event_id   TEXT NOT NULL,
                json       TEXT NOT NULL
            );
            INSERT INTO snapshots_v4 (watch_id, generation, event_id, json) SELECT watch_id, '', event_id, json FROM snapshots;
            DROP TABLE snapshots;
            ALTER TABLE snapshots_v4 RENAME TO snapshots;
            CREATE UNIQUE INDEX ux_snapshots_key ON snapshots (watch_id, generation, event_id);
            ALTER TABLE sync_state ADD COLUMN generation TEXT NOT NULL DEFAULT '';
            DROP TABLE snapshot_staging;
            """),
        // 7: webhook delivery. Each subscription has a cursor over the change log; deliveries are its queue (one row per
        // change to deliver, removed once delivered); delivery_attempts is the attempt log.
        (7, """
            CREATE TABLE subscriptions (
                id                         TEXT NOT NULL PRIMARY KEY,
                url                        TEXT NOT NULL,
                types_json                 TEXT NULL,
                calendar_ids_json          TEXT NULL,
                ignore_paths_json          TEXT NULL,
                protected_secret           TEXT NOT NULL,
                protected_previous_secret  TEXT NULL,
                previous_secret_expires_at TEXT NULL,
                status                     TEXT NOT NULL,
                cursor                     INTEGER NOT NULL,
                created_at                 TEXT NOT NULL,
                last_success_at            TEXT NULL,
                last_error                 TEXT NULL
            );

            CREATE TABLE deliveries (
                subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
                sequence        INTEGER NOT NULL,
                calendar_id     TEXT NOT NULL,
                state           TEXT NOT NULL,
                attempts        INTEGER NOT NULL,
                next_attempt_at TEXT NOT NULL,
                lease_owner     TEXT NULL,
                lease_until     TEXT NULL,
                PRIMARY KEY (subscription_id, sequence)
            ) WITHOUT ROWID;
            CREATE INDEX ix_deliveries_queue ON deliveries (subscription_id, calendar_id, sequence) WHERE state = 'pending';
            CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';

            CREATE TABLE delivery_attempts (
                id              INTEGER PRIMARY KEY AUTOINCREMENT,
                subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
                change_id       TEXT NOT NULL,
                sequence        INTEGER NOT NULL,
                attempt         INTEGER NOT NULL,
                attempted_at    TEXT NOT NULL,
                status_code     INTEGER NULL,
                latency_ms      REAL NOT NULL,
                error           TEXT NULL,
                verdict         TEXT NOT NULL
            );
            CREATE INDEX ix_delivery_attempts_subscription ON delivery_attempts (subscription_id, id);
            """),
        // 8: calendar lists. A watch's kind (one calendar, an account's calendar list, all its calendars), the
        // all-calendars watch that made it, and why Calhook stopped it; each calendar-list watch's entry snapshots and
        // when it last read the whole list; calendar-level changes carry the list entry in calendar_json (event_id '').
        (8, """
            ALTER TABLE watches ADD COLUMN kind TEXT NOT NULL DEFAULT 'calendar';
            ALTER TABLE watches ADD COLUMN parent_watch_id TEXT NULL;
            ALTER TABLE watches ADD COLUMN stop_reason TEXT NULL;
            ALTER TABLE changes ADD COLUMN calendar_json TEXT NULL;
            CREATE TABLE calendar_entries (
                watch_id    TEXT NOT NULL,
                calendar_id TEXT NOT NULL,
                json        TEXT NOT NULL,
                PRIMARY KEY (watch_id, calendar_id)
            ) WITHOUT ROWID;
            CREATE TABLE calendar_list_state (
                watch_id          TEXT NOT NULL PRIMARY KEY,
                last_full_list_at TEXT NULL
            );
            CREATE UNIQUE INDEX ux_watches_calendar_list ON watches (account_id) WHERE kind = 'calendarList' AND status <> 'stopped';
            """),
        // 9: the request budget's windows, saved by each process so that a restart does not grant a fresh quota.
        (9, """
            CREATE TABLE budget_windows (
                instance_id   TEXT NOT NULL,
                scope         TEXT NOT NULL,
                span          TEXT NOT NULL,
                newest_bucket INTEGER NOT NULL,
                counts        TEXT NOT NULL,
                saved_at      TEXT NOT NULL,
                PRIMARY KEY (instance_id, scope, span)
            ) WITHOUT ROWID;
            CREATE INDEX ix_budget_windows_saved ON budget_windows (saved_at);
            """),
        // 10: pruning the attempt log by age (Calhook:Delivery:AttemptLogMaxAge) finds the old attempts through an index
        // instead of reading the whole log.
        (10, """
            CREATE INDEX ix_delivery_attempts_attempted_at ON delivery_attempts (attempted_at);
            """),
        // 11: a subscription's latest replay (the changes after replay_after up to replay_through, replay_total of them
        // queued again at replay_requested_at); its progress is counted from the deliveries in that range.
        (11, """
            ALTER TABLE subscriptions ADD COLUMN replay_after INTEGER NULL;
            ALTER TABLE subscriptions ADD COLUMN replay_through INTEGER NULL;
            ALTER TABLE subscriptions ADD COLUMN replay_total INTEGER NULL;
            ALTER TABLE subscriptions ADD COLUMN replay_requested_at TEXT NULL;
            """),
        // 12: snapshot sets. Each generation of migration 6 (a watch's current snapshots, or the rows of one full-list
        // attempt) becomes a snapshot_sets row, and snapshots are keyed by its integer id instead of the (watch_id,
        // generation) text that led every key: the key index a full list fills takes a quarter less WAL per row.
        // sync_state.snapshot_set names the watch's current set (NULL: nothing stored yet); rows of any other set are
        // a full list in progress or left behind, invisible, and deleted with their set by the watch's next full list.
        (12, """
            CREATE TABLE snapshot_sets (
                id       INTEGER PRIMARY KEY,
                watch_id TEXT NOT NULL,
                attempt  TEXT NOT NULL,
                UNIQUE (watch_id, attempt)
            );
            INSERT INTO snapshot_sets (watch_id, attempt) SELECT DISTINCT watch_id, generation FROM snapshots ORDER BY watch_id, generation;
            CREATE TABLE snapshots_v12 (
                set_id   INTEGER NOT NULL,
                event_id TEXT NOT NULL,
                json     TEXT NOT NULL
            );
            INSERT INTO snapshots_v12 (set_id, event_id, json)
            SELECT x.id, s.event_id, s.json FROM snapshots AS s JOIN snapshot_sets AS x ON x.watch_id = s.watch_id AND x.attempt = s.generation
            ORDER BY x.id, s.event_id;
            DROP TABLE snapshots;
            ALTER TABLE snapshots_v12 RENAME TO snapshots;
            CREATE UNIQUE INDEX ux_snapshots_key ON snapshots (set_id, event_id);
            ALTER TABLE sync_state ADD COLUMN snapshot_set INTEGER NULL;
            UPDATE sync_state SET snapshot_set = (SELECT id FROM snapshot_sets AS x WHERE x.watch_id = sync_state.watch_id AND x.attempt = sync_state.generation);
            -- A watch without a sync_state row read generation '' (the COALESCE of migration 6's readers).
            INSERT INTO sync_state (watch_id, sync_token, last_sync_at, snapshot_set)
            SELECT watch_id, NULL, NULL, id FROM snapshot_sets WHERE attempt = '' AND watch_id NOT IN (SELECT watch_id FROM sync_state);
            ALTER TABLE sync_state DROP COLUMN generation;
            """),
    ];
}
