//! The MariaDB/MySQL schema and its forward-only migrations.
//!
//! This list is its own: step 1 is the final shape of every SQLite table (SQLite's history is not
//! replayed), translated: `BIGINT AUTO_INCREMENT` ids (persistent counters on MariaDB ≥ 10.2.4 and
//! MySQL 8, so a pruned id is never handed out again), `VARCHAR` keys sized from the `MAX_*`
//! limits (every key under InnoDB's 3072 bytes), one binary collation for every text column, plain
//! indexes where SQLite has partial ones, and no triggers (creating one needs privileges shared
//! hosting rarely grants; the code keeps the movements append-only and the job lanes exact).
//! "One pending and one running job per (channel, sku)" is a UNIQUE index on a generated column
//! that is 1 for such a job and NULL otherwise (NULLs never collide).
//!
//! The version is a row of `{p}schema`. DDL commits implicitly in MySQL, so a migration cannot be
//! one transaction as on SQLite: it runs under the named lock `GET_LOCK` (one server migrates,
//! the others wait, then find the work done), every statement is idempotent, and the version is
//! written after each step. A database whose version is newer than this build knows is refused
//! before anything is written.
//!
//! In the statements, `{p}` is the table prefix. To change the schema, append a step; never edit
//! a step that has shipped.

use mysql::prelude::Queryable;
use mysql::Conn;
use sha2::{Digest, Sha256};

use super::failed;
use crate::{Error, Result};

/// One idempotent schema change.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ddl {
    /// `CREATE TABLE IF NOT EXISTS …`, with its indexes; the table options (InnoDB, utf8mb4, the
    /// binary collation) are appended.
    Table(&'static str),
    /// An index added to an existing table, unless `information_schema` already lists it
    /// (MySQL has no `CREATE INDEX IF NOT EXISTS`). For the steps after the first; the tests
    /// apply one.
    #[cfg_attr(not(test), allow(dead_code))]
    Index {
        /// The table, without the prefix.
        table: &'static str,
        /// The index name.
        name: &'static str,
        /// `INDEX name (columns)` or `UNIQUE INDEX name (columns)`.
        definition: &'static str,
    },
    /// A row the code relies on, written unless present: `INSERT … ON DUPLICATE KEY UPDATE`
    /// that changes nothing when the key exists.
    Row(&'static str),
}

/// A migration step: changes applied in order, then the version is bumped.
pub(super) type Step = &'static [Ddl];

/// Version 1: every table of the SQLite schema at its version 8, and the movement lock.
const LEDGER_V1: Step = &[
    // The movement lock, as SQLite's `BEGIN IMMEDIATE`: every transaction that writes movements
    // (or locations) takes this one row `FOR UPDATE` first, and assigns movement ids as
    // `last_movement_id + 1` under it. So ids become visible in increasing order (a reader
    // following them as a cursor never skips one), expiry runs once across servers, and the
    // locations a batch read stay true until it commits.
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}ledger_head (
            id               TINYINT NOT NULL PRIMARY KEY CHECK (id = 1),
            last_movement_id BIGINT NOT NULL
        )",
    ),
    Ddl::Row("INSERT INTO {p}ledger_head (id, last_movement_id) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = id"),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}items (
            sku            VARCHAR(100) NOT NULL PRIMARY KEY,
            name           VARCHAR(200) NOT NULL,
            product_id     BIGINT,
            alert_critical BIGINT,
            alert_low      BIGINT,
            alert_warning  BIGINT,
            lead_time_days BIGINT,
            moq            BIGINT,
            pack_size      BIGINT,
            supplier       VARCHAR(200),
            oversold       TINYINT NOT NULL DEFAULT 0,
            created_at     BIGINT NOT NULL,
            updated_at     BIGINT NOT NULL,
            INDEX items_product (product_id)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}locations (
            code       VARCHAR(50) NOT NULL PRIMARY KEY,
            name       VARCHAR(200) NOT NULL,
            priority   BIGINT NOT NULL,
            active     TINYINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}stock_levels (
            sku        VARCHAR(100) NOT NULL,
            location   VARCHAR(50) NOT NULL,
            on_hand    BIGINT NOT NULL,
            reserved   BIGINT NOT NULL CHECK (reserved >= 0),
            incoming   BIGINT NOT NULL CHECK (incoming >= 0),
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (sku, location),
            FOREIGN KEY (sku) REFERENCES {p}items (sku),
            FOREIGN KEY (location) REFERENCES {p}locations (code)
        )",
    ),
    // Append-only (kept so by the code: no triggers). A transfer is two rows (leg 0 at the
    // source, leg 1 at the destination) sharing one event_id; UNIQUE (event_id, leg) is what
    // makes an event impossible to record twice. Event ids are up to 200 characters, the
    // ledger's own (`ledger:expire:<reservation>`) a few more.
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}movements (
            id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            event_id    VARCHAR(255) NOT NULL,
            leg         TINYINT NOT NULL CHECK (leg IN (0, 1)),
            sku         VARCHAR(100) NOT NULL,
            location    VARCHAR(50) NOT NULL,
            kind        VARCHAR(20) NOT NULL,
            quantity    BIGINT NOT NULL,
            delta       BIGINT NOT NULL,
            on_hand     BIGINT NOT NULL,
            reserved    BIGINT NOT NULL,
            incoming    BIGINT NOT NULL,
            reservation VARCHAR(255),
            origin      VARCHAR(100),
            reference   VARCHAR(200),
            note        TEXT,
            recorded_at BIGINT NOT NULL,
            UNIQUE INDEX movements_event (event_id, leg),
            INDEX movements_sku (sku, id),
            INDEX movements_sku_time (sku, recorded_at),
            FOREIGN KEY (sku) REFERENCES {p}items (sku),
            FOREIGN KEY (location) REFERENCES {p}locations (code)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}reservations (
            id         VARCHAR(255) NOT NULL PRIMARY KEY,
            sku        VARCHAR(100) NOT NULL,
            location   VARCHAR(50) NOT NULL,
            quantity   BIGINT NOT NULL CHECK (quantity > 0),
            remaining  BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= quantity),
            status     VARCHAR(10) NOT NULL CHECK (status IN ('open', 'released', 'committed', 'expired')),
            expires_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            INDEX reservations_due (expires_at),
            FOREIGN KEY (sku) REFERENCES {p}items (sku),
            FOREIGN KEY (location) REFERENCES {p}locations (code)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}api_keys (
            id             BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            name           VARCHAR(100) NOT NULL,
            prefix         VARCHAR(20) NOT NULL,
            key_hash       VARCHAR(64) NOT NULL,
            scopes         TEXT NOT NULL,
            supplier       VARCHAR(200),
            locations      TEXT,
            signing_secret VARCHAR(256),
            expires_at     BIGINT,
            revoked_at     BIGINT,
            last_used_at   BIGINT,
            created_at     BIGINT NOT NULL,
            UNIQUE INDEX api_keys_hash (key_hash)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}rate_limits (
            bucket       VARCHAR(200) NOT NULL,
            window_start BIGINT NOT NULL,
            window_end   BIGINT NOT NULL,
            count        BIGINT NOT NULL CHECK (count >= 0),
            PRIMARY KEY (bucket, window_start),
            INDEX rate_limits_end (window_end)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}security_events (
            id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            route       VARCHAR(200) NOT NULL,
            reason      VARCHAR(50) NOT NULL,
            key_prefix  VARCHAR(20),
            remote_addr VARCHAR(100),
            detail      TEXT NOT NULL,
            recorded_at BIGINT NOT NULL,
            INDEX security_events_reason (reason, id),
            INDEX security_events_time (recorded_at)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}inbound_events (
            id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            provider     VARCHAR(50) NOT NULL,
            dedup_key    VARCHAR(255) NOT NULL,
            topic        VARCHAR(100),
            outcome      VARCHAR(10) NOT NULL
                         CHECK (outcome IN ('applied', 'duplicate', 'ignored', 'rejected', 'partial')),
            summary      TEXT NOT NULL,
            recorded     BIGINT NOT NULL CHECK (recorded >= 0),
            replayed     BIGINT NOT NULL CHECK (replayed >= 0),
            failed       BIGINT NOT NULL CHECK (failed >= 0),
            unknown_skus TEXT NOT NULL,
            received_at  BIGINT NOT NULL,
            UNIQUE INDEX inbound_events_dedup (provider, dedup_key),
            INDEX inbound_events_outcome (outcome, id),
            INDEX inbound_events_provider (provider, id),
            INDEX inbound_events_time (received_at)
        )",
    ),
    // A NULL remote id never collides, as with SQLite's partial unique index.
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}listings (
            channel              VARCHAR(200) NOT NULL,
            sku                  VARCHAR(100) NOT NULL,
            remote_id            VARCHAR(200),
            last_pushed_quantity BIGINT,
            last_pushed_at       BIGINT,
            last_seen_quantity   BIGINT,
            last_seen_at         BIGINT,
            created_at           BIGINT NOT NULL,
            updated_at           BIGINT NOT NULL,
            PRIMARY KEY (channel, sku),
            UNIQUE INDEX listings_remote (channel, remote_id),
            INDEX listings_sku (sku, channel),
            FOREIGN KEY (sku) REFERENCES {p}items (sku)
        )",
    ),
    // lane: 0 drops and zero stock, 1 priority, 2 the rest (kept by the code, not triggers).
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}jobs (
            id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            channel          VARCHAR(200) NOT NULL,
            sku              VARCHAR(100) NOT NULL,
            desired          BIGINT NOT NULL CHECK (desired >= 0),
            status           VARCHAR(10) NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'dead')),
            priority         TINYINT NOT NULL CHECK (priority IN (0, 1)),
            attempts         BIGINT NOT NULL CHECK (attempts >= 0),
            revision         BIGINT NOT NULL CHECK (revision >= 0),
            next_attempt_at  BIGINT NOT NULL,
            claim_owner      VARCHAR(100),
            claim_expires_at BIGINT,
            last_error       TEXT,
            idempotency_key  VARCHAR(100) NOT NULL,
            created_at       BIGINT NOT NULL,
            updated_at       BIGINT NOT NULL,
            lane             TINYINT NOT NULL DEFAULT 2 CHECK (lane IN (0, 1, 2)),
            pending_pair     TINYINT AS (IF(status = 'pending', 1, NULL)) STORED,
            running_pair     TINYINT AS (IF(status = 'running', 1, NULL)) STORED,
            CHECK ((status = 'running') = (claim_owner IS NOT NULL AND claim_expires_at IS NOT NULL)),
            UNIQUE INDEX jobs_one_pending (channel, sku, pending_pair),
            UNIQUE INDEX jobs_one_running (channel, sku, running_pair),
            INDEX jobs_claim_channel (status, channel, lane, created_at, id),
            INDEX jobs_claim_all (status, lane, created_at, id),
            INDEX jobs_running_expiry (status, claim_expires_at),
            INDEX jobs_claims (claim_owner),
            INDEX jobs_channel (channel, status, id),
            INDEX jobs_due (status, next_attempt_at),
            INDEX jobs_finished (status, updated_at),
            INDEX jobs_pair (channel, sku, id),
            INDEX jobs_sku (sku, status, id),
            INDEX jobs_status (status, id),
            FOREIGN KEY (sku) REFERENCES {p}items (sku)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}channels (
            id                  BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            `key`               VARCHAR(200) NOT NULL,
            kind                VARCHAR(20) NOT NULL CHECK (kind IN ('woocommerce_local', 'woocommerce_remote',
                                                                     'shopify', 'ebay', 'amazon', 'webhook')),
            name                VARCHAR(200) NOT NULL,
            enabled             TINYINT NOT NULL CHECK (enabled IN (0, 1)),
            mode                VARCHAR(12) NOT NULL CHECK (mode IN ('shared', 'partitioned')),
            weight              BIGINT NOT NULL CHECK (weight >= 0),
            priority            BIGINT NOT NULL,
            buffer              BIGINT NOT NULL CHECK (buffer >= 0),
            max_quantity        BIGINT CHECK (max_quantity >= 0),
            zero_threshold      BIGINT NOT NULL CHECK (zero_threshold >= 0),
            percent             BIGINT CHECK (percent BETWEEN 0 AND 100),
            include_incoming    TINYINT NOT NULL CHECK (include_incoming IN (0, 1)),
            include_supplier    TINYINT NOT NULL CHECK (include_supplier IN (0, 1)),
            eligible_locations  TEXT NOT NULL,
            batch_size          BIGINT NOT NULL CHECK (batch_size >= 1),
            rate_per_second     DOUBLE NOT NULL CHECK (rate_per_second >= 0),
            rate_burst          BIGINT NOT NULL CHECK (rate_burst >= 0),
            min_change          BIGINT NOT NULL CHECK (min_change >= 0),
            low_stock_level     BIGINT NOT NULL CHECK (low_stock_level >= 0),
            settings            MEDIUMTEXT NOT NULL,
            credentials         MEDIUMTEXT,
            created_at          BIGINT NOT NULL,
            updated_at          BIGINT NOT NULL,
            UNIQUE INDEX channels_key (`key`)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}pacing (
            channel    VARCHAR(200) NOT NULL PRIMARY KEY,
            tokens     DOUBLE NOT NULL,
            updated_ms BIGINT NOT NULL
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}sync_runs (
            id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            kind        VARCHAR(12) NOT NULL CHECK (kind IN ('queue', 'incremental', 'full', 'reconcile', 'pull')),
            status      VARCHAR(10) NOT NULL CHECK (status IN ('running', 'done', 'failed')),
            skus        BIGINT NOT NULL DEFAULT 0,
            planned     BIGINT NOT NULL DEFAULT 0,
            enqueued    BIGINT NOT NULL DEFAULT 0,
            pushed      BIGINT NOT NULL DEFAULT 0,
            failed      BIGINT NOT NULL DEFAULT 0,
            retried     BIGINT NOT NULL DEFAULT 0,
            dead        BIGINT NOT NULL DEFAULT 0,
            drift       BIGINT NOT NULL DEFAULT 0,
            skipped     BIGINT NOT NULL DEFAULT 0,
            calls       BIGINT NOT NULL DEFAULT 0,
            duration_ms BIGINT NOT NULL DEFAULT 0,
            error       TEXT,
            started_at  BIGINT NOT NULL,
            finished_at BIGINT,
            INDEX sync_runs_kind (kind, id),
            INDEX sync_runs_started (started_at)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}drift (
            id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            channel     VARCHAR(200) NOT NULL,
            sku         VARCHAR(100) NOT NULL,
            expected    BIGINT NOT NULL,
            remote      BIGINT NOT NULL,
            repaired    TINYINT NOT NULL CHECK (repaired IN (0, 1)),
            run_id      BIGINT,
            recorded_at BIGINT NOT NULL,
            INDEX drift_channel (channel, id),
            INDEX drift_recorded (recorded_at),
            INDEX drift_sku (sku, id)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}sync_state (
            name       VARCHAR(100) NOT NULL PRIMARY KEY,
            value      TEXT NOT NULL,
            updated_at BIGINT NOT NULL
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}messages (
            id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            destination      VARCHAR(200) NOT NULL,
            topic            VARCHAR(200) NOT NULL,
            `key`            VARCHAR(200) NOT NULL,
            payload          MEDIUMTEXT NOT NULL,
            status           VARCHAR(10) NOT NULL CHECK (status IN ('pending', 'running', 'done', 'dead')),
            attempts         BIGINT NOT NULL DEFAULT 0,
            next_attempt_at  BIGINT NOT NULL,
            claim_owner      VARCHAR(100),
            claim_expires_at BIGINT,
            last_error       TEXT,
            created_at       BIGINT NOT NULL,
            updated_at       BIGINT NOT NULL,
            UNIQUE INDEX messages_key (`key`),
            INDEX messages_destination (destination, id),
            INDEX messages_due (status, next_attempt_at)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}api_requests (
            hour          BIGINT NOT NULL,
            route         VARCHAR(200) NOT NULL,
            method        VARCHAR(10) NOT NULL,
            requests      BIGINT NOT NULL DEFAULT 0,
            client_errors BIGINT NOT NULL DEFAULT 0,
            server_errors BIGINT NOT NULL DEFAULT 0,
            total_us      BIGINT NOT NULL DEFAULT 0,
            max_us        BIGINT NOT NULL DEFAULT 0,
            h0 BIGINT NOT NULL DEFAULT 0, h1 BIGINT NOT NULL DEFAULT 0, h2 BIGINT NOT NULL DEFAULT 0,
            h3 BIGINT NOT NULL DEFAULT 0, h4 BIGINT NOT NULL DEFAULT 0, h5 BIGINT NOT NULL DEFAULT 0,
            h6 BIGINT NOT NULL DEFAULT 0, h7 BIGINT NOT NULL DEFAULT 0, h8 BIGINT NOT NULL DEFAULT 0,
            h9 BIGINT NOT NULL DEFAULT 0, h10 BIGINT NOT NULL DEFAULT 0, h11 BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (hour, route, method)
        )",
    ),
    Ddl::Table(
        "CREATE TABLE IF NOT EXISTS {p}feeds (
            id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            channel           VARCHAR(200) NOT NULL,
            state             VARCHAR(12) NOT NULL
                              CHECK (state IN ('submitting', 'submitted', 'done', 'failed', 'cancelled', 'abandoned')),
            remote_id         VARCHAR(500),
            messages          BIGINT NOT NULL CHECK (messages >= 0),
            processing_status VARCHAR(500),
            created_at        BIGINT NOT NULL,
            submitted_at      BIGINT,
            next_poll_at      BIGINT NOT NULL,
            polls             BIGINT NOT NULL DEFAULT 0,
            applied           BIGINT NOT NULL DEFAULT 0,
            refused           BIGINT NOT NULL DEFAULT 0,
            last_error        TEXT,
            finished_at       BIGINT,
            INDEX feeds_channel (channel, id),
            INDEX feeds_live (channel, state, next_poll_at)
        )",
    ),
];

/// Every schema step, oldest first; the schema version is the number applied. Append only.
pub(super) const MIGRATIONS: &[Step] = &[LEDGER_V1];

/// How long a server waits for another one's migration before giving up.
const MIGRATION_LOCK_SECONDS: u32 = 30;

fn version_of(migrations: &[Step]) -> i64 {
    i64::try_from(migrations.len()).unwrap_or(i64::MAX)
}

/// The schema version this build writes.
#[cfg(test)]
pub(super) fn latest_version() -> i64 {
    version_of(MIGRATIONS)
}

/// The binary utf8mb4 collation of this server, without trailing-space padding where it has one:
/// `utf8mb4_nopad_bin` (MariaDB), `utf8mb4_0900_bin` (MySQL 8), else `utf8mb4_bin`.
pub(super) fn binary_collation(conn: &mut Conn) -> Result<&'static str> {
    let available: Vec<String> = conn
        .query(
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS
             WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
        )
        .map_err(failed("cannot list the server's collations"))?;
    Ok(["utf8mb4_nopad_bin", "utf8mb4_0900_bin"]
        .into_iter()
        .find(|c| available.iter().any(|a| a == c))
        .unwrap_or("utf8mb4_bin"))
}

/// The database's schema version: 0 before the first migration.
pub(super) fn version(conn: &mut Conn, prefix: &str) -> Result<i64> {
    let table = format!("{prefix}schema");
    let exists: Option<i64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (&table,),
        )
        .map_err(failed("cannot read the schema version"))?;
    if exists.unwrap_or(0) == 0 {
        return Ok(0);
    }
    let version: Option<i64> = conn
        .query_first(format!("SELECT version FROM `{table}` WHERE id = 1"))
        .map_err(failed("cannot read the schema version"))?;
    Ok(version.unwrap_or(0))
}

/// Refuses a database written by a newer build, before anything touches it.
fn refuse_newer(found: i64, migrations: &[Step]) -> Result<()> {
    let known = version_of(migrations);
    if found > known {
        return Err(Error::Ledger {
            message: format!(
                "the ledger's schema version is {found} but this build knows only up to {known}; \
                 update the extension (the database was left untouched)"
            ),
            source: None,
        });
    }
    Ok(())
}

/// Brings the database up to `migrations` (the real list, or a longer one in tests) under the
/// migration lock, step by step, each step's version written after it.
pub(super) fn migrate(conn: &mut Conn, prefix: &str, collation: &str, migrations: &[Step]) -> Result<()> {
    let found = version(conn, prefix)?;
    refuse_newer(found, migrations)?;
    if found == version_of(migrations) {
        return Ok(());
    }
    let lock = lock_name(conn, prefix, "migrate")?;
    let taken: Option<Option<i64>> = conn
        .exec_first("SELECT GET_LOCK(?, ?)", (&lock, MIGRATION_LOCK_SECONDS))
        .map_err(failed("cannot take the migration lock"))?;
    if taken.flatten() != Some(1) {
        return Err(Error::Ledger {
            message: format!(
                "another server kept the ledger's migration lock for {MIGRATION_LOCK_SECONDS} s; try again"
            ),
            source: None,
        });
    }
    let result = migrate_locked(conn, prefix, collation, migrations);
    // Also released when the connection closes; a failure to release is not the caller's concern.
    let _ = conn.exec_drop("DO RELEASE_LOCK(?)", (&lock,));
    result
}

fn migrate_locked(conn: &mut Conn, prefix: &str, collation: &str, migrations: &[Step]) -> Result<()> {
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS `{prefix}schema` (
            id      TINYINT NOT NULL PRIMARY KEY,
            version BIGINT NOT NULL
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}"
    ))
    .map_err(failed("cannot create the schema version table"))?;
    // Read again under the lock: another server may have migrated in the meantime.
    let found = version(conn, prefix)?;
    refuse_newer(found, migrations)?;
    let done = usize::try_from(found).unwrap_or(0);
    for (index, step) in migrations.iter().enumerate().skip(done) {
        for ddl in step.iter() {
            apply(conn, prefix, collation, ddl)?;
        }
        let reached = version_of(&migrations[..=index]);
        conn.exec_drop(
            format!(
                "INSERT INTO `{prefix}schema` (id, version) VALUES (1, ?)
                 ON DUPLICATE KEY UPDATE version = VALUES(version)"
            ),
            (reached,),
        )
        .map_err(failed("cannot write the schema version"))?;
    }
    Ok(())
}

fn apply(conn: &mut Conn, prefix: &str, collation: &str, ddl: &Ddl) -> Result<()> {
    let context = "cannot apply a schema step";
    match ddl {
        Ddl::Table(sql) => conn
            .query_drop(format!(
                "{} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}",
                sql.replace("{p}", prefix)
            ))
            .map_err(failed(context)),
        Ddl::Index {
            table,
            name,
            definition,
        } => {
            let table = format!("{prefix}{table}");
            let exists: Option<i64> = conn
                .exec_first(
                    "SELECT COUNT(*) FROM information_schema.STATISTICS
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?",
                    (&table, name),
                )
                .map_err(failed(context))?;
            if exists.unwrap_or(0) > 0 {
                return Ok(());
            }
            conn.query_drop(format!("ALTER TABLE `{table}` ADD {definition}"))
                .map_err(failed(context))
        }
        Ddl::Row(sql) => conn.query_drop(sql.replace("{p}", prefix)).map_err(failed(context)),
    }
}

/// The name of the ledger's named lock for `purpose` (`migrate`, `claim`, `copy`). `GET_LOCK` names are
/// server-wide and at most 64 characters, so the name holds a digest of the database and the
/// prefix.
pub(in crate::ledger) fn lock_name(conn: &mut Conn, prefix: &str, purpose: &str) -> Result<String> {
    let database: Option<String> = conn
        .query_first("SELECT DATABASE()")
        .map_err(failed("cannot read the database name"))?
        .flatten();
    let digest = Sha256::digest(format!("{}\0{prefix}", database.unwrap_or_default()));
    Ok(format!("inventory_sync_{purpose}_{}", &hex::encode(digest)[..32]))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use mysql::prelude::Queryable;

    use super::*;
    use crate::error::ErrorKind;
    use crate::ledger::tests::TestDatabase;
    use crate::ledger::{MariaDbLedger, MariaDbOptions, MAX_TABLE_PREFIX_CHARS};

    /// A step a later build might add: a table, and an index on an existing one.
    const TEST_NEXT: Step = &[
        Ddl::Table(
            "CREATE TABLE IF NOT EXISTS {p}future_things (
                id   BIGINT NOT NULL PRIMARY KEY,
                name VARCHAR(50) NOT NULL
            )",
        ),
        Ddl::Index {
            table: "items",
            name: "items_future",
            definition: "INDEX items_future (name)",
        },
    ];

    fn options(prefix: &str) -> MariaDbOptions {
        MariaDbOptions {
            table_prefix: prefix.into(),
            ..MariaDbOptions::default()
        }
    }

    fn open(db: &TestDatabase, prefix: &str) -> crate::Result<MariaDbLedger> {
        MariaDbLedger::open_opts(db.opts(), &options(prefix))
    }

    /// Every string the query returns, one per row.
    fn strings(ledger: &MariaDbLedger, sql: &str) -> Vec<String> {
        ledger.lock().query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn count(ledger: &MariaDbLedger, sql: &str) -> i64 {
        let n: Option<i64> = ledger.lock().query_first(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        n.unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// The tables whose names start with `prefix` (LIKE's `_` escaped), sorted.
    fn tables(ledger: &MariaDbLedger, prefix: &str) -> Vec<String> {
        strings(
            ledger,
            &format!(
                "SELECT TABLE_NAME FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '{}%' ORDER BY TABLE_NAME",
                prefix.replace('_', "\\_")
            ),
        )
    }

    fn expected_tables(prefix: &str) -> Vec<String> {
        let mut all: Vec<String> = crate::ledger::tests::LEDGER_TABLES
            .iter()
            .map(|t| format!("{prefix}{t}"))
            .collect();
        all.push(format!("{prefix}schema"));
        all.push(format!("{prefix}ledger_head"));
        all.sort();
        all
    }

    #[test]
    fn a_fresh_database_reaches_the_latest_version_with_binary_keys_and_no_triggers() {
        let started = Instant::now();
        let Some(db) = TestDatabase::create() else { return };
        let created = started.elapsed();
        let ledger = open(&db, "").unwrap();
        let migrated = started.elapsed() - created;
        eprintln!(
            "MariaDB: CREATE DATABASE {} took {created:?}, opening it (the schema's DDL) {migrated:?}",
            db.name()
        );
        assert_eq!(ledger.schema_version().unwrap(), latest_version());
        assert_eq!(tables(&ledger, ""), expected_tables(""));
        // The database's default is case-insensitive; no text column may have inherited it.
        assert!(
            ["utf8mb4_nopad_bin", "utf8mb4_0900_bin"].contains(&ledger.collation()),
            "{}",
            ledger.collation()
        );
        let collations = strings(
            &ledger,
            "SELECT DISTINCT COLLATION_NAME FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL",
        );
        assert_eq!(collations, [ledger.collation()]);
        assert_eq!(
            count(
                &ledger,
                "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
            ),
            0
        );
        assert_eq!(
            count(
                &ledger,
                "SELECT COUNT(*) FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = DATABASE() AND ENGINE != 'InnoDB'"
            ),
            0
        );
    }

    #[test]
    fn migrating_again_is_a_no_op_and_every_step_is_idempotent() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = open(&db, "").unwrap();
        let before = tables(&ledger, "");
        drop(ledger);
        let ledger = open(&db, "").unwrap();
        assert_eq!(ledger.schema_version().unwrap(), latest_version());
        assert_eq!(tables(&ledger, ""), before);

        // A newer build's list: applied once, then again with nothing to do.
        let newer: Vec<Step> = MIGRATIONS.iter().copied().chain([TEST_NEXT]).collect();
        let collation = ledger.collation();
        migrate(&mut ledger.lock(), "", collation, &newer).unwrap();
        assert_eq!(ledger.schema_version().unwrap(), latest_version() + 1);
        let index = "SELECT COUNT(*) FROM information_schema.STATISTICS
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' AND INDEX_NAME = 'items_future'";
        assert_eq!(count(&ledger, index), 1);
        migrate(&mut ledger.lock(), "", collation, &newer).unwrap();
        // DDL commits as it goes, so a step may have been cut off after some of its statements:
        // with the version written back, the whole step runs again over what it already did.
        ledger.lock().query_drop("UPDATE `schema` SET version = 1").unwrap();
        migrate(&mut ledger.lock(), "", collation, &newer).unwrap();
        assert_eq!(ledger.schema_version().unwrap(), latest_version() + 1);
        assert_eq!(count(&ledger, index), 1);
        assert!(tables(&ledger, "").contains(&"future_things".to_owned()));
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_untouched() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = open(&db, "").unwrap();
        let newer = latest_version() + 1;
        ledger
            .lock()
            .query_drop(format!(
                "UPDATE `schema` SET version = {newer}; DROP TABLE sync_state; \
                 CREATE TABLE future (x INT) ENGINE=InnoDB"
            ))
            .unwrap();
        let before = tables(&ledger, "");
        let error = open(&db, "").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Ledger);
        assert!(
            error.to_string().contains(&format!(
                "schema version is {newer} but this build knows only up to {}",
                latest_version()
            )),
            "{error}"
        );
        // Nothing was created or changed: not even the table a migration would have restored.
        assert_eq!(tables(&ledger, ""), before);
        assert_eq!(ledger.schema_version().unwrap(), newer);
    }

    #[test]
    fn servers_migrating_at_once_build_one_schema() {
        const SERVERS: usize = 4;
        let Some(db) = TestDatabase::create() else { return };
        let barrier = std::sync::Barrier::new(SERVERS);
        let opened: Vec<crate::Result<MariaDbLedger>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..SERVERS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        open(&db, "")
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for ledger in &opened {
            let ledger = ledger.as_ref().unwrap();
            assert_eq!(ledger.schema_version().unwrap(), latest_version());
        }
        let ledger = opened[0].as_ref().unwrap();
        assert_eq!(tables(ledger, ""), expected_tables(""));
        assert_eq!(count(ledger, "SELECT COUNT(*) FROM `schema`"), 1);
    }

    #[test]
    fn the_table_prefix_is_honoured_and_checked() {
        let Some(db) = TestDatabase::create() else { return };
        let site = open(&db, "wp_inventory_sync_").unwrap();
        let other = open(&db, "wp2_inventory_sync_").unwrap();
        assert_eq!(site.schema_version().unwrap(), latest_version());
        assert_eq!(other.schema_version().unwrap(), latest_version());
        assert_eq!(
            tables(&site, "wp_inventory_sync_"),
            expected_tables("wp_inventory_sync_")
        );
        assert_eq!(
            tables(&site, "wp2_inventory_sync_"),
            expected_tables("wp2_inventory_sync_")
        );
        assert_eq!(
            count(
                &site,
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
            ),
            2 * expected_tables("").len() as i64,
            "nothing without a prefix"
        );
        // Foreign keys point at the tables of their own prefix.
        assert_eq!(
            strings(
                &site,
                "SELECT DISTINCT REFERENCED_TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'wp2%' AND REFERENCED_TABLE_NAME IS NOT NULL
                 ORDER BY 1"
            ),
            ["wp2_inventory_sync_items", "wp2_inventory_sync_locations"]
        );
        for bad in ["wp-", "wp_`x", "a b", &"p".repeat(MAX_TABLE_PREFIX_CHARS + 1)] {
            let error = open(&db, bad).unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field, .. } if field == "table_prefix"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn skus_are_case_sensitive_keys_sorted_by_bytes() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = open(&db, "").unwrap();
        let skus = ["b", "A", "Ä-1", "a", "10", "B", "A "];
        for sku in skus {
            ledger
                .lock()
                .exec_drop(
                    "INSERT INTO items (sku, name, created_at, updated_at) VALUES (?, 'x', 0, 0)",
                    (sku,),
                )
                .unwrap_or_else(|e| panic!("{sku:?} collides with another SKU: {e}"));
        }
        assert_eq!(
            strings(&ledger, "SELECT sku FROM items ORDER BY sku"),
            ["10", "A", "A ", "B", "a", "b", "Ä-1"]
        );
        assert_eq!(strings(&ledger, "SELECT sku FROM items WHERE sku = 'a'"), ["a"]);
        assert_eq!(strings(&ledger, "SELECT sku FROM items WHERE sku = 'A'"), ["A"]);
        let error = ledger
            .lock()
            .exec_drop(
                "INSERT INTO items (sku, name, created_at, updated_at) VALUES (?, 'x', 0, 0)",
                ("a",),
            )
            .unwrap_err();
        assert!(error.to_string().contains("Duplicate entry"), "{error}");
    }

    #[test]
    fn a_bad_url_or_a_missing_database_is_refused() {
        let error = MariaDbLedger::open("postgres://x@localhost/db", &MariaDbOptions::default()).unwrap_err();
        assert!(
            matches!(&error, Error::Validation { field, .. } if field == "url"),
            "{error}"
        );
        let Some(db) = TestDatabase::create() else { return };
        let no_database: mysql::Opts = mysql::OptsBuilder::from_opts(db.opts()).db_name(None::<String>).into();
        let error = MariaDbLedger::open_opts(no_database, &MariaDbOptions::default()).unwrap_err();
        assert!(
            matches!(&error, Error::Validation { field, .. } if field == "url"),
            "{error}"
        );
    }
}
