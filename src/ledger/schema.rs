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

/// Every schema step, oldest first; the schema version is the number applied. Append only.
pub(crate) const MIGRATIONS: &[&str] = &[LEDGER_V1];

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
    use crate::ledger::tests::TempDir;
    use crate::ledger::SqliteLedger;

    const TEST_V2: &str = "CREATE TABLE channels (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
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
        assert_eq!(
            tables(&conn),
            ["items", "locations", "movements", "reservations", "stock_levels"]
        );
        // Opening again is a no-op.
        drop(SqliteLedger::open(&path).unwrap());
        assert_eq!(user_version(&conn).unwrap(), latest_version());
    }

    #[test]
    fn a_file_at_version_1_is_upgraded_by_a_newer_build() {
        let dir = TempDir::new("schema-upgrade");
        let path = dir.path().join("ledger.sqlite");
        drop(SqliteLedger::open(&path).unwrap());
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);

        let newer: Vec<&str> = MIGRATIONS.iter().copied().chain([TEST_V2]).collect();
        migrate(&mut conn, &newer).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 2);
        assert!(tables(&conn).contains(&"channels".to_owned()));
        // Applying the same list again changes nothing (and does not fail on CREATE TABLE).
        migrate(&mut conn, &newer).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 2);
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
            .chain([TEST_V2, "CREATE TABLE oops (;"])
            .collect();
        assert!(migrate(&mut conn, &broken).is_err());
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert!(
            !tables(&conn).contains(&"channels".to_owned()),
            "the whole upgrade rolls back"
        );
    }
}
