//! The SQLite schema and its forward-only migrations.
//!
//! The schema version is `PRAGMA user_version`: the number of steps of [`MIGRATIONS`] applied.
//! Opening a file applies the missing steps in one immediate transaction (so two processes
//! opening a fresh file at once migrate it once). A file whose version is newer than this build
//! knows is refused and left untouched: an older extension must not write into a newer ledger.
//!
//! To change the schema, append a step to [`MIGRATIONS`]; never edit a step that has shipped.

use rusqlite::{Connection, TransactionBehavior};

use crate::{Error, Result};

/// Version 1: the stock ledger.
const LEDGER_V1: &str = r#"
CREATE TABLE items (
    sku            TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    product_id     INTEGER,
    alert_critical INTEGER,
    alert_low      INTEGER,
    alert_warning  INTEGER,
    lead_time_days INTEGER,
    moq            INTEGER,
    pack_size      INTEGER,
    supplier       TEXT,
    oversold       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX items_product ON items (product_id) WHERE product_id IS NOT NULL;

CREATE TABLE locations (
    code       TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    priority   INTEGER NOT NULL,
    active     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE stock_levels (
    sku        TEXT NOT NULL REFERENCES items (sku),
    location   TEXT NOT NULL REFERENCES locations (code),
    on_hand    INTEGER NOT NULL,
    reserved   INTEGER NOT NULL CHECK (reserved >= 0),
    incoming   INTEGER NOT NULL CHECK (incoming >= 0),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (sku, location)
) WITHOUT ROWID;

-- Append-only. A transfer is two rows (leg 0 at the source, leg 1 at the destination) sharing
-- one event_id; UNIQUE (event_id, leg) is what makes an event impossible to record twice.
CREATE TABLE movements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL,
    leg         INTEGER NOT NULL CHECK (leg IN (0, 1)),
    sku         TEXT NOT NULL REFERENCES items (sku),
    location    TEXT NOT NULL REFERENCES locations (code),
    kind        TEXT NOT NULL,
    quantity    INTEGER NOT NULL,
    delta       INTEGER NOT NULL,
    on_hand     INTEGER NOT NULL,
    reserved    INTEGER NOT NULL,
    incoming    INTEGER NOT NULL,
    reservation TEXT,
    origin      TEXT,
    reference   TEXT,
    note        TEXT,
    recorded_at INTEGER NOT NULL,
    UNIQUE (event_id, leg)
);
CREATE INDEX movements_sku ON movements (sku, id);
CREATE INDEX movements_sku_time ON movements (sku, recorded_at);
CREATE TRIGGER movements_no_update BEFORE UPDATE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END;
CREATE TRIGGER movements_no_delete BEFORE DELETE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END;

-- One row per reserve movement (id = its event_id). Invariant: stock_levels.reserved equals the
-- sum of `remaining` of the reservations at that (sku, location).
CREATE TABLE reservations (
    id         TEXT PRIMARY KEY NOT NULL,
    sku        TEXT NOT NULL REFERENCES items (sku),
    location   TEXT NOT NULL REFERENCES locations (code),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= quantity),
    status     TEXT NOT NULL CHECK (status IN ('open', 'released', 'committed', 'expired')),
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX reservations_due ON reservations (expires_at) WHERE remaining > 0;
"#;

/// Version 2: what the REST API and the channels share between workers — API keys, rate-limit
/// counters, the security and inbound events logs, listings. New tables only.
const ACCESS_AND_LOGS_V2: &str = r#"
-- Keys are stored as the hex SHA-256 of the whole key, never the key. `scopes` is
-- space-separated (`read write`); `locations` a JSON array of codes, NULL for every location.
-- `signing_secret` is kept in the clear because verifying a signature needs it.
CREATE TABLE api_keys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    key_hash       TEXT NOT NULL UNIQUE,
    scopes         TEXT NOT NULL,
    supplier       TEXT,
    locations      TEXT,
    signing_secret TEXT,
    expires_at     INTEGER,
    revoked_at     INTEGER,
    last_used_at   INTEGER,
    created_at     INTEGER NOT NULL
);

-- One row per (bucket, fixed window); rows whose window has ended are deleted by the next call.
CREATE TABLE rate_limits (
    bucket       TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (bucket, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_limits_end ON rate_limits (window_end);

-- AUTOINCREMENT: ids are paging cursors and must not be reused after pruning.
CREATE TABLE security_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    route       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    key_prefix  TEXT,
    remote_addr TEXT,
    detail      TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX security_events_reason ON security_events (reason, id);
CREATE INDEX security_events_time ON security_events (recorded_at);

-- UNIQUE (provider, dedup_key) makes a delivery impossible to log twice. `unknown_skus` is a
-- JSON array.
CREATE TABLE inbound_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    provider     TEXT NOT NULL,
    dedup_key    TEXT NOT NULL,
    topic        TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'ignored', 'rejected', 'partial')),
    summary      TEXT NOT NULL,
    recorded     INTEGER NOT NULL CHECK (recorded >= 0),
    replayed     INTEGER NOT NULL CHECK (replayed >= 0),
    failed       INTEGER NOT NULL CHECK (failed >= 0),
    unknown_skus TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    UNIQUE (provider, dedup_key)
);
CREATE INDEX inbound_events_provider ON inbound_events (provider, id);
CREATE INDEX inbound_events_outcome ON inbound_events (outcome, id);
CREATE INDEX inbound_events_time ON inbound_events (received_at);

-- (channel, SKU) → remote id and the last quantities pushed and seen. A remote id belongs to
-- at most one SKU per channel.
CREATE TABLE listings (
    channel              TEXT NOT NULL,
    sku                  TEXT NOT NULL REFERENCES items (sku),
    remote_id            TEXT,
    last_pushed_quantity INTEGER,
    last_pushed_at       INTEGER,
    last_seen_quantity   INTEGER,
    last_seen_at         INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (channel, sku)
) WITHOUT ROWID;
CREATE UNIQUE INDEX listings_remote ON listings (channel, remote_id) WHERE remote_id IS NOT NULL;
"#;

/// Version 3: the outbox — jobs pushing one SKU's quantity to one channel. New table only.
const OUTBOX_V3: &str = r#"
-- One row per push job (see ledger/job.rs). AUTOINCREMENT: ids are paging cursors, part of the
-- idempotency key and the "newest job of a (channel, sku)" order, so they are never reused.
-- claim_owner and claim_expires_at are set exactly while running.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel          TEXT NOT NULL,
    sku              TEXT NOT NULL REFERENCES items (sku),
    desired          INTEGER NOT NULL CHECK (desired >= 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'dead')),
    priority         INTEGER NOT NULL CHECK (priority IN (0, 1)),
    attempts         INTEGER NOT NULL CHECK (attempts >= 0),
    revision         INTEGER NOT NULL CHECK (revision >= 0),
    next_attempt_at  INTEGER NOT NULL,
    claim_owner      TEXT,
    claim_expires_at INTEGER,
    last_error       TEXT,
    idempotency_key  TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK ((status = 'running') = (claim_owner IS NOT NULL AND claim_expires_at IS NOT NULL))
);
-- Coalescing's backstop: at most one pending and one running job per (channel, sku).
CREATE UNIQUE INDEX jobs_one_pending ON jobs (channel, sku) WHERE status = 'pending';
CREATE UNIQUE INDEX jobs_one_running ON jobs (channel, sku) WHERE status = 'running';
CREATE INDEX jobs_due ON jobs (status, next_attempt_at);
CREATE INDEX jobs_claims ON jobs (claim_owner) WHERE claim_owner IS NOT NULL;
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_channel ON jobs (channel, status, id);
CREATE INDEX jobs_pair ON jobs (channel, sku, id);
CREATE INDEX jobs_finished ON jobs (status, updated_at) WHERE status IN ('done', 'failed');
"#;

/// Version 4: the sync engine — configured channels, pacing buckets, the sync runs log, drift
/// found by reconciliation, and cursors. New tables only.
const SYNC_V4: &str = r#"
-- Channels as configured (see ledger/channel.rs). credentials is sealed text, opaque here.
CREATE TABLE channels (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    key                 TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('woocommerce_local', 'woocommerce_remote', 'shopify', 'ebay',
                                                      'amazon', 'webhook')),
    name                TEXT NOT NULL,
    enabled             INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    mode                TEXT NOT NULL CHECK (mode IN ('shared', 'partitioned')),
    weight              INTEGER NOT NULL CHECK (weight >= 0),
    priority            INTEGER NOT NULL,
    buffer              INTEGER NOT NULL CHECK (buffer >= 0),
    max_quantity        INTEGER CHECK (max_quantity >= 0),
    zero_threshold      INTEGER NOT NULL CHECK (zero_threshold >= 0),
    percent             INTEGER CHECK (percent BETWEEN 0 AND 100),
    include_incoming    INTEGER NOT NULL CHECK (include_incoming IN (0, 1)),
    include_supplier    INTEGER NOT NULL CHECK (include_supplier IN (0, 1)),
    eligible_locations  TEXT NOT NULL,
    batch_size          INTEGER NOT NULL CHECK (batch_size >= 1),
    rate_per_second     REAL NOT NULL CHECK (rate_per_second >= 0),
    rate_burst          INTEGER NOT NULL CHECK (rate_burst >= 0),
    min_change          INTEGER NOT NULL CHECK (min_change >= 0),
    low_stock_level     INTEGER NOT NULL CHECK (low_stock_level >= 0),
    settings            TEXT NOT NULL,
    credentials         TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- One token bucket per channel key, shared by every runner process: tokens may go below zero
-- (reserved by runners waiting for their turn).
CREATE TABLE pacing (
    channel    TEXT PRIMARY KEY NOT NULL,
    tokens     REAL NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('queue', 'incremental', 'full', 'reconcile', 'pull')),
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    skus        INTEGER NOT NULL DEFAULT 0,
    planned     INTEGER NOT NULL DEFAULT 0,
    enqueued    INTEGER NOT NULL DEFAULT 0,
    pushed      INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    retried     INTEGER NOT NULL DEFAULT 0,
    dead        INTEGER NOT NULL DEFAULT 0,
    drift       INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    calls       INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX sync_runs_kind ON sync_runs (kind, id);
CREATE INDEX sync_runs_started ON sync_runs (started_at);

CREATE TABLE drift (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,
    sku         TEXT NOT NULL,
    expected    INTEGER NOT NULL,
    remote      INTEGER NOT NULL,
    repaired    INTEGER NOT NULL CHECK (repaired IN (0, 1)),
    run_id      INTEGER,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX drift_channel ON drift (channel, id);
CREATE INDEX drift_sku ON drift (sku, id);
CREATE INDEX drift_recorded ON drift (recorded_at);

-- Small named values the sync engine keeps between runs (the incremental cursor, …).
CREATE TABLE sync_state (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Step 5: the message outbox (signed messages to partners, such as a supplier's orders).
const MESSAGES_V5: &str = r#"
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    destination      TEXT NOT NULL,
    topic            TEXT NOT NULL,
    key              TEXT NOT NULL UNIQUE,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    claim_owner      TEXT,
    claim_expires_at INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX messages_due ON messages (status, next_attempt_at);
CREATE INDEX messages_destination ON messages (destination, id);
"#;

/// Step 6: the claim order of the outbox as a stored column, so a claim reads the queue through
/// an index instead of sorting the whole backlog. `lane` is 0 for zero-stock pushes and drops
/// (desired 0, or below the quantity last pushed to the listing), 1 for priority jobs, 2 for the
/// others. Triggers keep it exact whenever a job is created, its desired quantity or priority
/// changes, it becomes pending again, or its listing's last pushed quantity changes.
const JOB_LANES_V6: &str = r#"
ALTER TABLE jobs ADD COLUMN lane INTEGER NOT NULL DEFAULT 2 CHECK (lane IN (0, 1, 2));
UPDATE jobs SET lane = CASE
    WHEN desired = 0
      OR desired < (SELECT l.last_pushed_quantity FROM listings l WHERE l.channel = jobs.channel AND l.sku = jobs.sku)
    THEN 0 WHEN priority THEN 1 ELSE 2 END;

-- The claim order: per channel, and across channels.
CREATE INDEX jobs_claim_channel ON jobs (channel, lane, created_at, id) WHERE status = 'pending';
CREATE INDEX jobs_claim_all ON jobs (lane, created_at, id) WHERE status = 'pending';
-- Running jobs by claim expiry (settling and re-claiming expired claims).
CREATE INDEX jobs_running_expiry ON jobs (claim_expires_at) WHERE status = 'running';

CREATE TRIGGER jobs_lane_insert AFTER INSERT ON jobs
BEGIN
    UPDATE jobs SET lane = CASE
        WHEN desired = 0
          OR desired < (SELECT l.last_pushed_quantity FROM listings l WHERE l.channel = jobs.channel AND l.sku = jobs.sku)
        THEN 0 WHEN priority THEN 1 ELSE 2 END
    WHERE id = NEW.id;
END;

CREATE TRIGGER jobs_lane_update AFTER UPDATE OF desired, priority, status ON jobs
WHEN NEW.status = 'pending'
BEGIN
    UPDATE jobs SET lane = CASE
        WHEN desired = 0
          OR desired < (SELECT l.last_pushed_quantity FROM listings l WHERE l.channel = jobs.channel AND l.sku = jobs.sku)
        THEN 0 WHEN priority THEN 1 ELSE 2 END
    WHERE id = NEW.id;
END;

CREATE TRIGGER listings_lane_insert AFTER INSERT ON listings
BEGIN
    UPDATE jobs SET lane = CASE WHEN desired = 0 OR desired < NEW.last_pushed_quantity THEN 0
                                WHEN priority THEN 1 ELSE 2 END
    WHERE channel = NEW.channel AND sku = NEW.sku AND status IN ('pending', 'running');
END;

CREATE TRIGGER listings_lane_update AFTER UPDATE OF last_pushed_quantity ON listings
BEGIN
    UPDATE jobs SET lane = CASE WHEN desired = 0 OR desired < NEW.last_pushed_quantity THEN 0
                                WHEN priority THEN 1 ELSE 2 END
    WHERE channel = NEW.channel AND sku = NEW.sku AND status IN ('pending', 'running');
END;

CREATE TRIGGER listings_lane_delete AFTER DELETE ON listings
BEGIN
    UPDATE jobs SET lane = CASE WHEN desired = 0 THEN 0 WHEN priority THEN 1 ELSE 2 END
    WHERE channel = OLD.channel AND sku = OLD.sku AND status IN ('pending', 'running');
END;
"#;

/// Version 7: inbound API request metrics ([`crate::ledger::requests`]): one counter row per
/// (hour, route, method) with the status classes, the summed and the longest duration, and the
/// latency histogram (`h0` ≤ 5 ms … `h10` ≤ 10 s, `h11` slower).
const API_REQUESTS_V7: &str = r#"
CREATE TABLE api_requests (
    hour          INTEGER NOT NULL,
    route         TEXT NOT NULL,
    method        TEXT NOT NULL,
    requests      INTEGER NOT NULL DEFAULT 0,
    client_errors INTEGER NOT NULL DEFAULT 0,
    server_errors INTEGER NOT NULL DEFAULT 0,
    total_us      INTEGER NOT NULL DEFAULT 0,
    max_us        INTEGER NOT NULL DEFAULT 0,
    h0 INTEGER NOT NULL DEFAULT 0, h1 INTEGER NOT NULL DEFAULT 0, h2 INTEGER NOT NULL DEFAULT 0,
    h3 INTEGER NOT NULL DEFAULT 0, h4 INTEGER NOT NULL DEFAULT 0, h5 INTEGER NOT NULL DEFAULT 0,
    h6 INTEGER NOT NULL DEFAULT 0, h7 INTEGER NOT NULL DEFAULT 0, h8 INTEGER NOT NULL DEFAULT 0,
    h9 INTEGER NOT NULL DEFAULT 0, h10 INTEGER NOT NULL DEFAULT 0, h11 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, route, method)
) WITHOUT ROWID;
"#;

/// Version 8: feeds ([`crate::ledger::feed`]), bulk submissions a channel processes
/// asynchronously; their jobs stay claimed under `feed:<id>` until the feed is settled.
const FEEDS_V8: &str = r#"
CREATE TABLE feeds (
    id                INTEGER PRIMARY KEY,
    channel           TEXT NOT NULL,
    state             TEXT NOT NULL
                      CHECK (state IN ('submitting', 'submitted', 'done', 'failed', 'cancelled', 'abandoned')),
    remote_id         TEXT,
    messages          INTEGER NOT NULL CHECK (messages >= 0),
    processing_status TEXT,
    created_at        INTEGER NOT NULL,
    submitted_at      INTEGER,
    next_poll_at      INTEGER NOT NULL,
    polls             INTEGER NOT NULL DEFAULT 0,
    applied           INTEGER NOT NULL DEFAULT 0,
    refused           INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    finished_at       INTEGER
);
CREATE INDEX feeds_channel ON feeds (channel, id);
CREATE INDEX feeds_live ON feeds (channel, next_poll_at) WHERE state IN ('submitting', 'submitted');
"#;

/// Every schema step, oldest first; the schema version is the number applied. Append only.
pub(crate) const MIGRATIONS: &[&str] = &[
    LEDGER_V1,
    ACCESS_AND_LOGS_V2,
    OUTBOX_V3,
    SYNC_V4,
    MESSAGES_V5,
    JOB_LANES_V6,
    API_REQUESTS_V7,
    FEEDS_V8,
];

/// The schema version this build writes.
#[cfg(test)]
pub(crate) fn latest_version() -> i64 {
    version_of(MIGRATIONS)
}

fn version_of(migrations: &[&str]) -> i64 {
    i64::try_from(migrations.len()).unwrap_or(i64::MAX)
}

/// The file's schema version.
pub(crate) fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Refuses a file written by a newer build, before anything touches it.
pub(crate) fn refuse_newer(conn: &Connection, migrations: &[&str]) -> Result<()> {
    let found = user_version(conn)?;
    let known = version_of(migrations);
    if found > known {
        return Err(Error::Ledger {
            message: format!(
                "the ledger's schema version is {found} but this build knows only up to {known}; \
                 update the extension (the file was left untouched)"
            ),
            source: None,
        });
    }
    Ok(())
}

/// Brings the file up to `migrations` (the real list, or a longer one in tests): applies the
/// missing steps and sets `user_version`, all in one immediate transaction.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    refuse_newer(conn, migrations)?;
    if user_version(conn)? == version_of(migrations) {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read under the write lock: another process may have migrated in the meantime.
    refuse_newer(&tx, migrations)?;
    let current = usize::try_from(user_version(&tx)?).unwrap_or(0);
    for step in migrations.iter().skip(current) {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", version_of(migrations))?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tests::{TempDir, TestStore};
    use crate::ledger::SqliteLedger;

    /// A step a later build might add, to test upgrades past the current version.
    const TEST_NEXT: &str = "CREATE TABLE future_things (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Every row of `table` as text, in a stable order.
    fn rows(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2")).unwrap();
        let columns = stmt.column_count();
        stmt.query_map([], |row| {
            let values: Vec<String> = (0..columns)
                .map(|i| row.get_ref(i).map(|v| format!("{v:?}")))
                .collect::<rusqlite::Result<_>>()?;
            Ok(values.join(" | "))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    #[test]
    fn a_fresh_file_gets_the_latest_version() {
        let dir = TempDir::new("schema-fresh");
        let path = dir.path().join("ledger.sqlite");
        drop(SqliteLedger::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), latest_version());
        assert_eq!(tables(&conn), crate::ledger::tests::LEDGER_TABLES);
        // Opening again is a no-op.
        drop(SqliteLedger::open(&path).unwrap());
        assert_eq!(user_version(&conn).unwrap(), latest_version());
    }

    #[test]
    fn a_file_at_the_latest_version_is_upgraded_by_a_newer_build() {
        let dir = TempDir::new("schema-upgrade");
        let path = dir.path().join("ledger.sqlite");
        drop(SqliteLedger::open(&path).unwrap());
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), latest_version());

        let newer: Vec<&str> = MIGRATIONS.iter().copied().chain([TEST_NEXT]).collect();
        migrate(&mut conn, &newer).unwrap();
        assert_eq!(user_version(&conn).unwrap(), latest_version() + 1);
        assert!(tables(&conn).contains(&"future_things".to_owned()));
        // Applying the same list again changes nothing (and does not fail on CREATE TABLE).
        migrate(&mut conn, &newer).unwrap();
        assert_eq!(user_version(&conn).unwrap(), latest_version() + 1);
    }

    /// A ledger written by the version-1 build: its exact schema and the rows it wrote for a
    /// receive, a sale, a transfer and an open reservation.
    const V1_DATA: &str = "
        INSERT INTO items (sku, name, supplier, oversold, created_at, updated_at)
            VALUES ('A', 'Item A', 'Acme', 0, 1700000000, 1700000000);
        INSERT INTO locations VALUES ('WH1', 'Main', 1, 1, 1700000000, 1700000000),
                                     ('WH2', 'Overflow', 2, 1, 1700000000, 1700000000);
        INSERT INTO movements (event_id, leg, sku, location, kind, quantity, delta, on_hand, reserved, incoming,
                               reservation, origin, reference, note, recorded_at) VALUES
            ('s0', 0, 'A', 'WH1', 'receive', 10, 10, 10, 0, 0, NULL, NULL, NULL, NULL, 1700000001),
            ('sale-1', 0, 'A', 'WH1', 'sale', 3, -3, 7, 0, 0, NULL, 'shopify', 'order 7', NULL, 1700000002),
            ('t1', 0, 'A', 'WH1', 'transfer', 2, -2, 5, 0, 0, NULL, NULL, NULL, NULL, 1700000003),
            ('t1', 1, 'A', 'WH2', 'transfer', 2, 2, 2, 0, 0, NULL, NULL, NULL, NULL, 1700000003),
            ('r1', 0, 'A', 'WH1', 'reserve', 4, 0, 5, 4, 0, 'r1', NULL, NULL, NULL, 1700000004);
        INSERT INTO stock_levels VALUES ('A', 'WH1', 5, 4, 0, 1700000004), ('A', 'WH2', 2, 0, 0, 1700000003);
        INSERT INTO reservations VALUES ('r1', 'A', 'WH1', 4, 4, 'open', 1700000100, 1700000004, 1700000004);
    ";

    #[test]
    fn a_version_1_file_is_upgraded_with_its_data_intact() {
        use crate::ledger::{LedgerStore, MovementKind, MovementRequest, NewApiKey, Scope};
        let dir = TempDir::new("schema-v1");
        let path = dir.path().join("ledger.sqlite");
        let v1_tables = ["items", "locations", "movements", "reservations", "stock_levels"];
        let before: Vec<Vec<String>> = {
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
                .unwrap();
            migrate(&mut conn, &MIGRATIONS[..1]).unwrap();
            conn.execute_batch(V1_DATA).unwrap();
            assert_eq!(user_version(&conn).unwrap(), 1);
            v1_tables.iter().map(|t| rows(&conn, t)).collect()
        };
        assert!(before.iter().all(|rows| !rows.is_empty()));

        let ledger = SqliteLedger::open(&path).unwrap();
        assert_eq!(ledger.query_i64("PRAGMA user_version"), latest_version());
        let stock = ledger.stock("A").unwrap();
        assert_eq!((stock.on_hand, stock.reserved, stock.available), (7, 4, 3));
        let sale = ledger.find_event("sale-1").unwrap().unwrap();
        assert_eq!(
            (
                sale.movements[0].kind,
                sale.movements[0].on_hand,
                sale.movements[0].reference.as_deref()
            ),
            (MovementKind::Sale, 7, Some("order 7"))
        );
        assert_eq!(ledger.find_event("t1").unwrap().unwrap().movements.len(), 2);
        {
            let conn = Connection::open(&path).unwrap();
            let after: Vec<Vec<String>> = v1_tables.iter().map(|t| rows(&conn, t)).collect();
            assert_eq!(after, before, "the upgrade must not touch version-1 data");
        }

        // The old data and the new tables work together.
        let replay = ledger
            .record(
                &MovementRequest::new("sale-1", "A", MovementKind::Sale, 3).at("WH1"),
                1_700_000_200,
            )
            .unwrap();
        assert!(replay.replayed);
        let commit = MovementRequest::settle("c1", "A", MovementKind::Commit, "r1");
        assert_eq!(ledger.record(&commit, 1_700_000_200).unwrap().levels[0].on_hand, 1);
        let key = NewApiKey {
            name: "ERP".into(),
            scopes: [Scope::Write].into_iter().collect(),
            locations: Some(vec!["WH2".into()]),
            ..NewApiKey::default()
        };
        let secret: Vec<u8> = (1..=32).collect();
        let issued = ledger.issue_api_key(&key, &secret, 1_700_000_200).unwrap();
        assert!(ledger
            .authenticate_api_key(&issued.plaintext, 1_700_000_201)
            .unwrap()
            .valid()
            .is_some());
        let listing = ledger
            .record_listing_pushed("shopify:mystore.myshopify.com", "A", 1, 1_700_000_202)
            .unwrap();
        assert_eq!(listing.last_pushed_quantity, Some(1));
    }

    /// What the version-2 build added on top of [`V1_DATA`]: a key, a rate-limit window, a
    /// refusal, an inbound event and a listing.
    const V2_DATA: &str = "
        INSERT INTO api_keys (name, prefix, key_hash, scopes, supplier, locations, signing_secret, expires_at,
                              revoked_at, last_used_at, created_at)
            VALUES ('ERP', 'isk_abcd', 'ab12', 'read write', 'Acme', '[\"WH1\"]', NULL, NULL, NULL, 1700000010,
                    1700000005);
        INSERT INTO rate_limits VALUES ('key:1', 1700000000, 1700000060, 3);
        INSERT INTO security_events (route, reason, key_prefix, remote_addr, detail, recorded_at)
            VALUES ('/stock', 'unknown_key', 'isk_zzzz', '203.0.113.9', 'no such key', 1700000006);
        INSERT INTO inbound_events (provider, dedup_key, topic, outcome, summary, recorded, replayed, failed,
                                    unknown_skus, received_at)
            VALUES ('shopify', 'd-1', 'orders/create', 'applied', '1 movement', 1, 0, 0, '[]', 1700000007);
        INSERT INTO listings VALUES ('shopify:demo.myshopify.com', 'A', 'gid://1', 9, 1700000008, 8, 1700000009,
                                     1700000008, 1700000009);
    ";

    #[test]
    fn a_version_2_file_is_upgraded_with_its_data_intact() {
        use crate::ledger::{JobStatus, LedgerStore, NewJob};
        let dir = TempDir::new("schema-v2");
        let path = dir.path().join("ledger.sqlite");
        let v2_tables = [
            "items",
            "locations",
            "movements",
            "reservations",
            "stock_levels",
            "api_keys",
            "rate_limits",
            "security_events",
            "inbound_events",
            "listings",
        ];
        let before: Vec<Vec<String>> = {
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
                .unwrap();
            migrate(&mut conn, &MIGRATIONS[..2]).unwrap();
            conn.execute_batch(V1_DATA).unwrap();
            conn.execute_batch(V2_DATA).unwrap();
            assert_eq!(user_version(&conn).unwrap(), 2);
            assert!(!tables(&conn).contains(&"jobs".to_owned()));
            v2_tables.iter().map(|t| rows(&conn, t)).collect()
        };
        assert!(before.iter().all(|rows| !rows.is_empty()));

        let ledger = SqliteLedger::open(&path).unwrap();
        assert_eq!(ledger.query_i64("PRAGMA user_version"), latest_version());
        {
            let conn = Connection::open(&path).unwrap();
            let after: Vec<Vec<String>> = v2_tables.iter().map(|t| rows(&conn, t)).collect();
            assert_eq!(after, before, "the upgrade must not touch version-2 data");
            assert!(rows(&conn, "jobs").is_empty());
        }
        assert_eq!(ledger.stock("A").unwrap().on_hand, 7);
        assert!(ledger.find_inbound("shopify", "d-1").unwrap().is_some());

        // The outbox works on the old data: a drop below the listing's last push (9) is claimed,
        // and completing it updates that listing, keeping its remote id and what it last showed.
        let channel = "shopify:demo.myshopify.com";
        let job = &ledger
            .enqueue_jobs(&[NewJob::new(channel, "A", 3)], 1_700_000_300)
            .unwrap()[0];
        let claimed = ledger.claim_jobs("runner", None, 10, 60, 1_700_000_300).unwrap();
        assert_eq!(claimed.len(), 1);
        let done = ledger.complete_job(job.id, "runner", 1_700_000_301).unwrap();
        assert_eq!(done.status, JobStatus::Done);
        let listing = ledger.listing(channel, "A").unwrap().unwrap();
        assert_eq!(
            (
                listing.remote_id.as_deref(),
                listing.last_pushed_quantity,
                listing.last_seen_quantity,
                listing.created_at
            ),
            (Some("gid://1"), Some(3), Some(8), 1_700_000_008)
        );
    }

    #[test]
    fn a_newer_file_is_refused_and_left_untouched() {
        let dir = TempDir::new("schema-newer");
        let path = dir.path().join("ledger.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let error = SqliteLedger::open(&path).unwrap_err();
        assert_eq!(error.kind(), crate::error::ErrorKind::Ledger);
        assert!(error.to_string().contains("schema version is 99"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "the file must be left untouched");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(tables(&conn), ["future"]);
    }

    #[test]
    fn a_failing_step_leaves_the_file_at_its_old_version() {
        let dir = TempDir::new("schema-failing");
        let path = dir.path().join("ledger.sqlite");
        drop(SqliteLedger::open(&path).unwrap());
        let mut conn = Connection::open(&path).unwrap();
        let broken: Vec<&str> = MIGRATIONS
            .iter()
            .copied()
            .chain([TEST_NEXT, "CREATE TABLE oops (;"])
            .collect();
        assert!(migrate(&mut conn, &broken).is_err());
        assert_eq!(user_version(&conn).unwrap(), latest_version());
        assert!(
            !tables(&conn).contains(&"future_things".to_owned()),
            "the whole upgrade rolls back"
        );
    }
}
