namespace Calhook.PostgreSql;

/// <summary>
/// The PostgreSQL schema as numbered scripts, the counterpart of the SQLite ones. A script, once shipped, never
/// changes: a new need is a new number. <see cref="PostgresStore.MigrateAsync"/> applies the missing ones in order
/// under an advisory lock, each in its own transaction.
/// </summary>
/// <remarks>
/// Times are ISO-8601 UTC text with 7 fractional digits, as in SQLite: they round-trip to the tick (timestamptz
/// keeps microseconds) and sort as text in time order.
/// </remarks>
internal static class PostgresMigrations
{
    public static IReadOnlyList<(int Version, string Sql)> All { get; } =
    [
        (1, """
            CREATE TABLE accounts (
                id               text NOT NULL PRIMARY KEY,
                kind             text NOT NULL,
                email            text NOT NULL,
                subject          text NULL,
                protected_secret text NOT NULL,
                status           text NOT NULL,
                error            text NULL,
                created_at       text NOT NULL
            );

            CREATE TABLE watches (
                id                   text NOT NULL PRIMARY KEY,
                account_id           text NOT NULL REFERENCES accounts (id),
                calendar_id          text NOT NULL,
                status               text NOT NULL,
                created_at           text NOT NULL,
                last_notification_at text NULL,
                channel_error_kind   text NULL,
                channel_error        text NULL,
                sync_error_kind      text NULL,
                sync_error           text NULL
            );

            CREATE TABLE channels (
                id              text NOT NULL PRIMARY KEY,
                watch_id        text NOT NULL REFERENCES watches (id),
                protected_token text NOT NULL,
                resource_id     text NULL,
                expires_at      text NULL,
                created_at      text NOT NULL,
                stopped_at      text NULL
            );
            CREATE INDEX ix_channels_open ON channels (watch_id) WHERE stopped_at IS NULL;

            CREATE TABLE sync_state (
                watch_id     text NOT NULL PRIMARY KEY,
                sync_token   text NULL,
                last_sync_at text NULL
            );

            CREATE TABLE snapshots (
                watch_id text NOT NULL,
                event_id text NOT NULL,
                json     text NOT NULL,
                PRIMARY KEY (watch_id, event_id)
            );

            -- A full list in progress, page by page; `id` orders the rows (a later copy of an event wins).
            CREATE TABLE snapshot_staging (
                id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                watch_id   text NOT NULL,
                attempt_id text NOT NULL,
                event_id   text NOT NULL,
                json       bytea NOT NULL
            );
            CREATE INDEX ix_snapshot_staging_attempt ON snapshot_staging (watch_id, attempt_id);

            -- The last sequence handed out. A committing transaction takes the next ones by updating this one row,
            -- which it then holds locked until it commits: commits that append changes are serialized in sequence
            -- order, so a reader never sees sequence n+1 before n (see docs/architecture.md).
            CREATE TABLE change_sequence (
                id   integer NOT NULL PRIMARY KEY CHECK (id = 1),
                last bigint NOT NULL
            );
            INSERT INTO change_sequence (id, last) VALUES (1, 0);

            CREATE TABLE changes (
                sequence            bigint NOT NULL PRIMARY KEY,
                id                  text NOT NULL UNIQUE,
                type                text NOT NULL,
                watch_id            text NOT NULL,
                calendar_id         text NOT NULL,
                event_id            text NOT NULL,
                recurring_event_id  text NULL,
                original_start_time text NULL,
                event_json          text NULL,
                previous_json       text NULL,
                diff_json           text NOT NULL,
                detected_at         text NOT NULL
            );
            CREATE INDEX ix_changes_calendar ON changes (calendar_id, sequence);

            CREATE TABLE leases (
                name       text NOT NULL PRIMARY KEY,
                holder     text NOT NULL,
                expires_at text NOT NULL,
                requested  boolean NOT NULL DEFAULT false
            );

            -- The ASP.NET Core Data Protection key ring, shared by every instance.
            CREATE TABLE data_protection_keys (
                name text NOT NULL PRIMARY KEY,
                xml  text NOT NULL
            );
            """),

        // 2: a series created by a "this and following" split names the series it was split from.
        (2, """
            ALTER TABLE changes ADD COLUMN split_from text NULL;
            """),

        // 3: webhook delivery, as SQLite's migration 7. Each subscription has a cursor over the change log; deliveries
        // are its queue (one row per change to deliver, removed once delivered); delivery_attempts is the attempt log.
        // Ids and times compare bytewise (COLLATE "C"), whatever the database's collation, as in SQLite.
        (3, """
            CREATE TABLE subscriptions (
                id                         text COLLATE "C" NOT NULL PRIMARY KEY,
                url                        text NOT NULL,
                types_json                 text NULL,
                calendar_ids_json          text NULL,
                ignore_paths_json          text NULL,
                protected_secret           text NOT NULL,
                protected_previous_secret  text NULL,
                previous_secret_expires_at text COLLATE "C" NULL,
                status                     text NOT NULL,
                cursor                     bigint NOT NULL,
                created_at                 text COLLATE "C" NOT NULL,
                last_success_at            text NULL,
                last_error                 text NULL
            );

            CREATE TABLE deliveries (
                subscription_id text COLLATE "C" NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
                sequence        bigint NOT NULL,
                calendar_id     text NOT NULL,
                state           text NOT NULL,
                attempts        integer NOT NULL,
                next_attempt_at text COLLATE "C" NOT NULL,
                lease_owner     text NULL,
                lease_until     text COLLATE "C" NULL,
                PRIMARY KEY (subscription_id, sequence)
            );
            CREATE INDEX ix_deliveries_queue ON deliveries (subscription_id, calendar_id, sequence) WHERE state = 'pending';
            CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
            CREATE INDEX ix_deliveries_owner ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;

            CREATE TABLE delivery_attempts (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                subscription_id text COLLATE "C" NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
                change_id       text NOT NULL,
                sequence        bigint NOT NULL,
                attempt         integer NOT NULL,
                attempted_at    text NOT NULL,
                status_code     integer NULL,
                latency_ms      double precision NOT NULL,
                error           text NULL,
                verdict         text NOT NULL
            );
            CREATE INDEX ix_delivery_attempts_subscription ON delivery_attempts (subscription_id, id);
            CREATE INDEX ix_changes_detected ON changes (detected_at COLLATE "C");
            """),

        // 4: calendar lists (as SQLite's 8): a watch's kind, the all-calendars watch that made it and why Calhook
        // stopped it; each calendar-list watch's entries and last whole list; calendar-level changes' list entry.
        (4, """
            ALTER TABLE watches ADD COLUMN kind text NOT NULL DEFAULT 'calendar';
            ALTER TABLE watches ADD COLUMN parent_watch_id text NULL;
            ALTER TABLE watches ADD COLUMN stop_reason text NULL;
            ALTER TABLE changes ADD COLUMN calendar_json text NULL;
            CREATE TABLE calendar_entries (
                watch_id    text NOT NULL,
                calendar_id text NOT NULL,
                json        text NOT NULL,
                PRIMARY KEY (watch_id, calendar_id)
            );
            CREATE TABLE calendar_list_state (
                watch_id          text NOT NULL PRIMARY KEY,
                last_full_list_at text NULL
            );
            CREATE UNIQUE INDEX ux_watches_calendar_list ON watches (account_id) WHERE kind = 'calendarList' AND status <> 'stopped';
            """),
        // 5: the request budget's windows, as SQLite's migration 9.
        (5, """
            CREATE TABLE budget_windows (
                instance_id   text NOT NULL,
                scope         text NOT NULL,
                span          text NOT NULL,
                newest_bucket bigint NOT NULL,
                counts        text NOT NULL,
                saved_at      text NOT NULL,
                PRIMARY KEY (instance_id, scope, span)
            );
            CREATE INDEX ix_budget_windows_saved ON budget_windows (saved_at);
            """),

        // 6 (as SQLite's 10): pruning the attempt log by age finds the old attempts through an index instead of reading
        // the whole log. Times compare bytewise, so the index is on the "C" collation the prune compares with.
        (6, """
            CREATE INDEX ix_delivery_attempts_attempted_at ON delivery_attempts (attempted_at COLLATE "C");
            """),

        // 7 (as SQLite's 11): a subscription's latest replay; its progress is counted from the deliveries in its range.
        (7, """
            ALTER TABLE subscriptions ADD COLUMN replay_after bigint NULL;
            ALTER TABLE subscriptions ADD COLUMN replay_through bigint NULL;
            ALTER TABLE subscriptions ADD COLUMN replay_total integer NULL;
            ALTER TABLE subscriptions ADD COLUMN replay_requested_at text NULL;
            """),
    ];

    /// <summary>The newest version this build knows.</summary>
    public static int Latest => All[^1].Version;
}
