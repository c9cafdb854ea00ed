//! Copying an SQLite ledger into an empty MariaDB store (issue 9, the move to several servers).
//!
//! [`copy_sqlite_to_mariadb`] holds SQLite's write lock for the whole copy, so no movement lands
//! in the file meanwhile; refuses a target holding any row; copies table by table in an order the
//! foreign keys accept, rows in primary-key order, ids and every column kept (MariaDB's generated
//! columns left to the server), in multi-row INSERTs inside transactions; sets the ledger head and
//! every AUTO_INCREMENT past SQLite's; then verifies row counts, the stock invariants
//! ([`CONSISTENCY_CHECKS`]) and the max ids before it reports success. A failure after rows were
//! written empties the target again, so the copy can simply be run again.

use std::time::Instant;

use mysql::prelude::Queryable;
use mysql::{Conn, Params, TxOpts, Value};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::mariadb::schema::lock_name;
use super::{MariaDbLedger, SqliteLedger};
use crate::error::LEDGER_MOVED;
use crate::{Error, Result};

/// Every ledger table, in an order the foreign keys accept (items and locations first).
pub const COPIED_TABLES: [&str; 19] = [
    "items",
    "locations",
    "stock_levels",
    "movements",
    "reservations",
    "api_keys",
    "rate_limits",
    "security_events",
    "inbound_events",
    "listings",
    "jobs",
    "channels",
    "pacing",
    "sync_runs",
    "drift",
    "sync_state",
    "messages",
    "api_requests",
    "feeds",
];

/// Queries counting rows that break the ledger's invariants (`{p}` before each table name): on
/// hand is Σ delta and the last movement's on hand, reserved is Σ remaining of the reservations,
/// oversold says whether some location is below zero. Each names what it checks.
pub(crate) const CONSISTENCY_CHECKS: [(&str, &str); 4] = [
    (
        "on hand = Σ movement delta per (sku, location)",
        "SELECT COUNT(*) FROM {p}stock_levels s WHERE on_hand != \
         (SELECT COALESCE(SUM(delta), 0) FROM {p}movements m WHERE m.sku = s.sku AND m.location = s.location)",
    ),
    (
        "reserved = Σ reservation remaining per (sku, location)",
        "SELECT COUNT(*) FROM {p}stock_levels s WHERE reserved != \
         (SELECT COALESCE(SUM(remaining), 0) FROM {p}reservations r WHERE r.sku = s.sku AND r.location = s.location)",
    ),
    (
        "on hand = the last movement's on hand per (sku, location)",
        "SELECT COUNT(*) FROM {p}stock_levels s WHERE on_hand != (SELECT m.on_hand FROM {p}movements m \
         WHERE m.sku = s.sku AND m.location = s.location ORDER BY m.id DESC LIMIT 1)",
    ),
    (
        "oversold = some location below zero",
        "SELECT COUNT(*) FROM {p}items i WHERE oversold != \
         EXISTS (SELECT 1 FROM {p}stock_levels s WHERE s.sku = i.sku AND s.on_hand < 0)",
    ),
];

/// Most rows one INSERT carries.
const BATCH_ROWS: usize = 500;

/// An INSERT is sent once its values reach this many bytes (well under `max_allowed_packet`).
const BATCH_BYTES: usize = 4 << 20;

/// Rows per MariaDB transaction (several INSERTs).
const TRANSACTION_ROWS: usize = 20_000;

/// What a copy did.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyReport {
    /// Rows copied per table, in [`COPIED_TABLES`] order.
    pub rows: Vec<(&'static str, u64)>,
    /// How long the copy took, verification included.
    pub seconds: f64,
}

/// One table as copied: the columns to copy, the key to order by.
struct TableShape {
    columns: Vec<String>,
    order_by: String,
}

/// Copies the SQLite ledger `source` into `target`, which must hold no row ([`Error::Conflict`]
/// naming the first table that does, nothing written). See the module documentation.
///
/// With `retire_source`, a successful copy also retires the file in the same transaction
/// ([`retire`]): it stays readable, but every later write to it fails with an error saying the
/// ledger moved, so a request that opened the file before the site switched to the database
/// (and waited for the lock the copy held) cannot land a movement the database never sees.
pub fn copy_sqlite_to_mariadb(
    source: &SqliteLedger,
    target: &MariaDbLedger,
    retire_source: bool,
) -> Result<CopyReport> {
    let started = Instant::now();
    source.read_holding_write_lock(|sqlite| {
        target.with_connection(|maria, prefix| {
            let lock = lock_name(maria, prefix, "copy")?;
            let taken: Option<Option<i64>> = maria.exec_first("SELECT GET_LOCK(?, 0)", (&lock,))?;
            if taken.flatten() != Some(1) {
                return Err(Error::Conflict(
                    "another copy into this database is running; wait for it to finish".into(),
                ));
            }
            let result = copy_locked(sqlite, maria, prefix, started).and_then(|report| {
                if retire_source {
                    if let Err(error) = retire(sqlite, &target.describe()) {
                        // The file stays the ledger: empty the target, so the copy can run again.
                        let _ = empty(maria, prefix);
                        return Err(error);
                    }
                }
                Ok(report)
            });
            // Also released when the connection closes.
            let _ = maria.exec_drop("DO RELEASE_LOCK(?)", (&lock,));
            result
        })
    })
}

/// The copy itself, under the named `copy` lock: two copies into one database never interleave
/// between the empty-target check and the inserts.
fn copy_locked(sqlite: &Connection, maria: &mut Conn, prefix: &str, started: Instant) -> Result<CopyReport> {
    refuse_non_empty(maria, prefix)?;
    let copied = copy_all(sqlite, maria, prefix).and_then(|rows| {
        verify(sqlite, maria, prefix)?;
        Ok(rows)
    });
    match copied {
        Ok(rows) => Ok(CopyReport {
            rows,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(error) => {
            // Leave the target empty, so the copy can run again; the first error counts.
            let _ = empty(maria, prefix);
            Err(error)
        }
    }
}

/// Retires an SQLite ledger that was copied to `destination` (inside the copy's write
/// transaction): a trigger on every table, for every kind of write, aborts with
/// [`LEDGER_MOVED`] and where the ledger went, which [`Error`] maps to its own message. Reads go
/// on working; the file is the ledger as it was at the moment of the move.
fn retire(sqlite: &Connection, destination: &str) -> Result<()> {
    let message = format!("{LEDGER_MOVED} {destination}").replace('\'', "''");
    for table in COPIED_TABLES {
        for event in ["INSERT", "UPDATE", "DELETE"] {
            sqlite.execute_batch(&format!(
                "CREATE TRIGGER IF NOT EXISTS retired_{table}_{event} BEFORE {event} ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END;",
                event = event.to_lowercase()
            ))?;
        }
    }
    Ok(())
}

/// [`Error::Conflict`] naming the first table of the target holding a row (or the ledger head
/// past 0).
fn refuse_non_empty(maria: &mut Conn, prefix: &str) -> Result<()> {
    for table in COPIED_TABLES {
        let any: Option<i64> = maria.query_first(format!("SELECT 1 FROM `{prefix}{table}` LIMIT 1"))?;
        if any.is_some() {
            return Err(Error::Conflict(format!(
                "the target ledger is not empty: table {prefix}{table} has rows"
            )));
        }
    }
    let head: Option<i64> = maria.query_first(format!(
        "SELECT last_movement_id FROM `{prefix}ledger_head` WHERE id = 1"
    ))?;
    if head.unwrap_or(0) != 0 {
        return Err(Error::Conflict(format!(
            "the target ledger is not empty: {prefix}ledger_head counts movements"
        )));
    }
    Ok(())
}

/// Deletes every row the copy wrote (children first) and resets the ledger head.
fn empty(maria: &mut Conn, prefix: &str) -> Result<()> {
    let mut tx = maria.start_transaction(TxOpts::default())?;
    for table in COPIED_TABLES.iter().rev() {
        tx.query_drop(format!("DELETE FROM `{prefix}{table}`"))?;
    }
    tx.query_drop(format!(
        "UPDATE `{prefix}ledger_head` SET last_movement_id = 0 WHERE id = 1"
    ))?;
    tx.commit()?;
    Ok(())
}

/// The columns SQLite has for `table` (its `PRAGMA table_info`, which leaves generated columns
/// out) that MariaDB stores (not generated there), and the primary key order.
fn shape(sqlite: &Connection, maria: &mut Conn, prefix: &str, table: &str) -> Result<TableShape> {
    let mut stmt = sqlite.prepare(&format!("PRAGMA table_info({table})"))?;
    let info: Vec<(String, i64)> = stmt
        .query_map([], |row| Ok((row.get::<_, String>("name")?, row.get::<_, i64>("pk")?)))?
        .collect::<rusqlite::Result<_>>()?;
    let stored: Vec<String> = maria.exec(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND EXTRA NOT LIKE '%GENERATED%'",
        (format!("{prefix}{table}"),),
    )?;
    let mut columns = Vec::new();
    for (name, _) in &info {
        if !stored.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            return Err(Error::Ledger {
                message: format!("cannot copy {table}.{name}: the MariaDB table has no such column"),
                source: None,
            });
        }
        columns.push(name.clone());
    }
    let mut key: Vec<&(String, i64)> = info.iter().filter(|(_, pk)| *pk > 0).collect();
    key.sort_by_key(|(_, pk)| *pk);
    let order_by = if key.is_empty() {
        "rowid".to_owned()
    } else {
        key.iter()
            .map(|(name, _)| format!("\"{name}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(TableShape { columns, order_by })
}

/// A SQLite value as MariaDB takes it.
fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::NULL,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(x) => Value::Double(x),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Value::Bytes(bytes.to_vec()),
    }
}

/// Copies every table; returns the rows per table.
fn copy_all(sqlite: &Connection, maria: &mut Conn, prefix: &str) -> Result<Vec<(&'static str, u64)>> {
    let mut rows = Vec::new();
    for table in COPIED_TABLES {
        let shape = shape(sqlite, maria, prefix, table)?;
        rows.push((table, copy_table(sqlite, maria, prefix, table, &shape)?));
    }
    let last_movement: i64 = sqlite.query_row("SELECT COALESCE(MAX(id), 0) FROM movements", [], |r| r.get(0))?;
    maria.exec_drop(
        format!("UPDATE `{prefix}ledger_head` SET last_movement_id = ? WHERE id = 1"),
        (last_movement,),
    )?;
    // AUTO_INCREMENT past every id SQLite ever gave (sqlite_sequence keeps pruned ones' too).
    for table in COPIED_TABLES {
        if !has_integer_id(sqlite, table)? {
            continue;
        }
        let (seq, max): (i64, i64) = sqlite.query_row(
            &format!(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0), \
                 (SELECT COALESCE(MAX(id), 0) FROM {table})"
            ),
            [table],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let next = seq.max(max) + 1;
        maria.query_drop(format!("ALTER TABLE `{prefix}{table}` AUTO_INCREMENT = {next}"))?;
    }
    Ok(rows)
}

/// Whether the SQLite table's key is an integer `id` (an AUTO_INCREMENT column on MariaDB).
fn has_integer_id(sqlite: &Connection, table: &str) -> Result<bool> {
    Ok(sqlite.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = 'id' AND type = 'INTEGER'",
        [table],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// Copies one table's rows in key order; returns how many.
fn copy_table(sqlite: &Connection, maria: &mut Conn, prefix: &str, table: &str, shape: &TableShape) -> Result<u64> {
    let select = shape
        .columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = sqlite.prepare(&format!("SELECT {select} FROM {table} ORDER BY {}", shape.order_by))?;
    let width = shape.columns.len();
    let insert_head = format!(
        "INSERT INTO `{prefix}{table}` ({}) VALUES ",
        shape
            .columns
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let one_row = format!("({})", vec!["?"; width].join(", "));
    let mut tx = maria.start_transaction(TxOpts::default())?;
    let mut batch: Vec<Value> = Vec::new();
    let (mut in_batch, mut bytes, mut in_tx, mut total) = (0usize, 0usize, 0usize, 0u64);
    let flush = |tx: &mut mysql::Transaction<'_>, batch: &mut Vec<Value>, rows: usize| -> Result<()> {
        if rows > 0 {
            let sql = format!("{insert_head}{}", vec![one_row.as_str(); rows].join(", "));
            tx.exec_drop(sql, Params::Positional(std::mem::take(batch)))?;
        }
        Ok(())
    };
    let mut cursor = stmt.query([])?;
    while let Some(row) = cursor.next()? {
        for i in 0..width {
            let v = value(row.get_ref(i)?);
            if let Value::Bytes(b) = &v {
                bytes += b.len();
            }
            batch.push(v);
        }
        in_batch += 1;
        total += 1;
        if in_batch == BATCH_ROWS || bytes >= BATCH_BYTES {
            flush(&mut tx, &mut batch, in_batch)?;
            in_tx += in_batch;
            (in_batch, bytes) = (0, 0);
            if in_tx >= TRANSACTION_ROWS {
                tx.commit()?;
                tx = maria.start_transaction(TxOpts::default())?;
                in_tx = 0;
            }
        }
    }
    flush(&mut tx, &mut batch, in_batch)?;
    tx.commit()?;
    Ok(total)
}

/// Checks the copy: row counts and max ids per table equal, the stock invariants hold on the
/// target. An [`Error::Ledger`] says which check failed.
fn verify(sqlite: &Connection, maria: &mut Conn, prefix: &str) -> Result<()> {
    let failed = |message: String| Error::Ledger { message, source: None };
    for table in COPIED_TABLES {
        let there: i64 = sqlite.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        let here: Option<i64> = maria.query_first(format!("SELECT COUNT(*) FROM `{prefix}{table}`"))?;
        if here != Some(there) {
            return Err(failed(format!(
                "copy check failed: {table} has {there} rows in SQLite but {} in MariaDB",
                here.unwrap_or(0)
            )));
        }
        if has_integer_id(sqlite, table)? {
            let there: i64 =
                sqlite.query_row(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"), [], |r| r.get(0))?;
            let here: Option<i64> = maria.query_first(format!("SELECT COALESCE(MAX(id), 0) FROM `{prefix}{table}`"))?;
            if here != Some(there) {
                return Err(failed(format!(
                    "copy check failed: the largest {table} id is {there} in SQLite but {} in MariaDB",
                    here.unwrap_or(0)
                )));
            }
        }
    }
    // The prefix is letters, digits and underscores only (MariaDbOptions::validated).
    for (what, sql) in CONSISTENCY_CHECKS {
        let broken: Option<i64> = maria.query_first(sql.replace("{p}", prefix))?;
        if broken.unwrap_or(0) != 0 {
            return Err(failed(format!(
                "copy check failed: {what} is false for {} rows in MariaDB",
                broken.unwrap_or(0)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::ledger::tests::{TestDatabase, TestStore, LEDGER_TABLES};
    use crate::ledger::{
        ChannelInput, ChannelType, InboundEvent, InboundOutcome, ItemInput, LedgerStore, Location, MariaDbOptions,
        MovementKind::*, MovementRequest, NewApiKey, NewJob, NewMessage, Scope, SkuStock,
    };

    const T0: i64 = 1_700_000_000;

    /// An SQLite ledger holding a little of everything.
    fn populated() -> SqliteLedger {
        let ledger = SqliteLedger::open_in_memory().unwrap();
        for sku in ["A", "B", "C"] {
            let item = ItemInput {
                sku: sku.into(),
                name: format!("Item {sku} – ünïcode"),
                supplier: Some("ACME".into()),
                ..ItemInput::default()
            };
            ledger.upsert_item(&item, T0).unwrap();
        }
        for (code, priority, active) in [("WH0", 0, false), ("WH1", 1, true), ("WH2", 2, true)] {
            let location = Location {
                code: code.into(),
                name: format!("Warehouse {code}"),
                priority,
                active,
            };
            ledger.upsert_location(&location, T0).unwrap();
        }
        let at = |r: MovementRequest, location: &str| MovementRequest {
            location: Some(location.into()),
            ..r
        };
        let mut transfer = MovementRequest::new("e6", "A", Transfer, 2);
        transfer.to_location = Some("WH2".into());
        let mut reserve = MovementRequest::new("e8", "A", Reserve, 1);
        reserve.expires_at = Some(T0 + 3600);
        let requests = [
            MovementRequest::new("e1", "A", Receive, 10),
            MovementRequest::new("e2", "B", Receive, 5),
            MovementRequest::new("e3", "A", Sale, 3),
            MovementRequest::new("e4", "A", Return, 1),
            MovementRequest::new("e5", "B", Adjustment, 4),
            transfer,
            MovementRequest::new("e7", "A", Reserve, 2),
            MovementRequest::settle("e7c", "A", Commit, "e7"),
            reserve,
            MovementRequest::new("e9", "B", Reserve, 1),
            MovementRequest::settle("e9r", "B", Release, "e9"),
            MovementRequest::new("e10", "C", Incoming, 7),
            at(MovementRequest::new("e11", "C", Sale, 1), "WH2"),
        ];
        for (i, request) in requests.iter().enumerate() {
            ledger.record(request, T0 + i as i64).unwrap();
        }
        ledger
            .save_channel(&ChannelInput::new("shop", ChannelType::Shopify, "Shop"), T0)
            .unwrap();
        ledger
            .upsert_listing_remote_id("shop", "A", Some("gid://1"), T0)
            .unwrap();
        ledger.record_listing_pushed("shop", "A", 5, T0).unwrap();
        let jobs: Vec<NewJob> = ["A", "B", "C"].iter().map(|sku| NewJob::new("shop", *sku, 4)).collect();
        ledger.enqueue_jobs(&jobs, T0).unwrap();
        let claimed = ledger.claim_jobs("runner", Some("shop"), 2, 60, T0 + 1).unwrap();
        assert_eq!(claimed.len(), 2);
        ledger.complete_job(claimed[0].id, "runner", T0 + 2).unwrap();
        ledger
            .fail_job(claimed[1].id, "runner", "gone", false, None, T0 + 2)
            .unwrap();
        let message = NewMessage {
            destination: "hook".into(),
            topic: "stock.changed".into(),
            key: "A".into(),
            payload: r#"{"sku":"A"}"#.into(),
        };
        ledger.enqueue_message(&message, T0).unwrap();
        let key = NewApiKey {
            name: "erp".into(),
            scopes: [Scope::Read].into_iter().collect(),
            ..NewApiKey::default()
        };
        let secret: Vec<u8> = (0..32u8).map(|i| 3u8.wrapping_add(i.wrapping_mul(7))).collect();
        ledger.issue_api_key(&key, &secret, T0).unwrap();
        ledger.rate_limit("ip:1", 10, 60, T0).unwrap();
        ledger.take_pacing_token("shop", 2.0, 4, T0 * 1000).unwrap();
        for key in ["d1", "d2"] {
            ledger
                .record_inbound(&InboundEvent::new("shopify", key, InboundOutcome::Applied), T0)
                .unwrap();
        }
        // The newest inbound id pruned: the next id must still come after it.
        ledger.execute_raw("DELETE FROM inbound_events WHERE dedup_key = 'd2'");
        ledger
    }

    fn target(database: &TestDatabase) -> MariaDbLedger {
        MariaDbLedger::open_opts(database.opts(), &MariaDbOptions::default()).unwrap()
    }

    fn stock(ledger: &dyn TestStore) -> Vec<SkuStock> {
        let mut all = Vec::new();
        ledger
            .for_each_stock(&mut |s| {
                all.push(s.clone());
                Ok(())
            })
            .unwrap();
        all
    }

    #[test]
    fn every_ledger_table_is_copied_once() {
        let mut copied = COPIED_TABLES.to_vec();
        let mut known = LEDGER_TABLES.to_vec();
        copied.sort_unstable();
        known.sort_unstable();
        assert_eq!(copied, known);
    }

    #[test]
    fn a_populated_sqlite_ledger_copies_to_the_same_rows() {
        let Some(database) = TestDatabase::create() else { return };
        let source = populated();
        let target = target(&database);
        let report = copy_sqlite_to_mariadb(&source, &target, false).unwrap();
        let movements = source.query_i64("SELECT COUNT(*) FROM movements");
        assert!(report.rows.contains(&("movements", movements as u64)), "{report:?}");
        assert_eq!(target.dump(), source.dump());
        assert_eq!(stock(&target), stock(&source));
        assert!(!stock(&target).is_empty());
        assert_eq!(
            target.query_i64("SELECT last_movement_id FROM ledger_head"),
            source.query_i64("SELECT MAX(id) FROM movements")
        );

        // An old event replays; a new movement comes after the last.
        let again = target
            .record(&MovementRequest::new("e3", "A", Sale, 3), T0 + 100)
            .unwrap();
        assert!(again.replayed);
        let last = source.query_i64("SELECT MAX(id) FROM movements");
        let new = target
            .record(&MovementRequest::new("n1", "A", Sale, 1), T0 + 100)
            .unwrap();
        assert!(!new.replayed);
        assert!(target.query_i64("SELECT MAX(id) FROM movements") > last);
        // Ids SQLite gave and pruned are not given again.
        target
            .record_inbound(&InboundEvent::new("shopify", "d3", InboundOutcome::Applied), T0 + 100)
            .unwrap();
        assert_eq!(target.query_i64("SELECT MAX(id) FROM inbound_events"), 3);
        crate::ledger::tests::assert_consistent(&target);
    }

    #[test]
    fn a_target_that_is_not_empty_is_refused_and_left_alone() {
        let Some(database) = TestDatabase::create() else { return };
        let source = populated();
        let target = target(&database);
        let item = ItemInput {
            sku: "X".into(),
            name: "Already here".into(),
            ..ItemInput::default()
        };
        target.upsert_item(&item, T0).unwrap();
        let before = target.dump();
        let error = copy_sqlite_to_mariadb(&source, &target, true).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
        assert!(error.to_string().contains("items"), "{error}");
        assert_eq!(target.dump(), before);
        // Refused copies leave the file as it was: writable.
        source
            .record(&MovementRequest::new("after", "A", Sale, 1), T0 + 100)
            .unwrap();
    }

    #[test]
    fn a_retired_file_is_read_only_and_says_where_the_ledger_went() {
        let Some(database) = TestDatabase::create() else { return };
        let source = populated();
        let target = target(&database);
        let dump = source.dump();
        copy_sqlite_to_mariadb(&source, &target, true).unwrap();
        assert_eq!(target.dump(), dump);

        // Reads go on; every kind of write is refused, changing nothing.
        assert_eq!(source.dump(), dump);
        let sale = source.record(&MovementRequest::new("late", "A", Sale, 1), T0 + 100);
        let item = ItemInput {
            sku: "NEW".into(),
            name: "New".into(),
            ..ItemInput::default()
        };
        let writes = [
            sale.map(|_| ()),
            source.upsert_item(&item, T0 + 100).map(|_| ()),
            source.prune_inbound(T0 + 100).map(|_| ()),
        ];
        for write in writes {
            let error = write.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Ledger);
            assert!(!error.is_retryable(), "a moved file stays moved: {error}");
            let message = error.full_message();
            assert!(message.contains("the ledger moved to a database"), "{message}");
            assert!(message.contains(&target.describe()), "{message}");
        }
        assert_eq!(source.dump(), dump);
        // The database took the ledger over: the same sale lands there.
        assert!(
            !target
                .record(&MovementRequest::new("late", "A", Sale, 1), T0 + 100)
                .unwrap()
                .replayed
        );
    }

    #[test]
    fn a_copy_while_another_runs_into_the_same_database_is_refused() {
        let Some(database) = TestDatabase::create() else { return };
        let source = populated();
        let target = target(&database);
        // Another copy holds the database's copy lock (as a second admin's click would).
        let mut other = mysql::Conn::new(database.opts()).unwrap();
        let lock = lock_name(&mut other, "", "copy").unwrap();
        let taken: Option<i64> = other.exec_first("SELECT GET_LOCK(?, 0)", (&lock,)).unwrap();
        assert_eq!(taken, Some(1));
        let error = copy_sqlite_to_mariadb(&source, &target, true).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
        assert!(error.to_string().contains("another copy"), "{error}");
        assert_eq!(target.query_i64("SELECT COUNT(*) FROM items"), 0);
        // Still the ledger: not retired.
        source
            .record(&MovementRequest::new("after", "A", Sale, 1), T0 + 100)
            .unwrap();

        other.exec_drop("DO RELEASE_LOCK(?)", (&lock,)).unwrap();
        copy_sqlite_to_mariadb(&source, &target, true).unwrap();
        assert_eq!(target.dump(), source.dump());
    }
}
