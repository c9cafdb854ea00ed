//! The inbound events log on MariaDB/MySQL. Writes run inside the caller's transaction; reads in
//! a read transaction; validation happened before.
//!
//! A delivery is logged once per (provider, dedup key) because `UNIQUE (provider, dedup_key)`
//! refuses the second insert (1062): that decides, not a read before the write, so deliveries
//! arriving at once on several servers are logged once.

use mysql::{params, Row};

use super::stock::column;
use super::Tx;
use crate::error::MySqlFailure;
use crate::ledger::plan::{next_page, not_found};
use crate::ledger::rules::{self, decode_list, encode_list};
use crate::ledger::{InboundEvent, InboundOutcome, InboundPage, InboundQuery, InboundRecord};
use crate::Result;

const COLUMNS: &str =
    "id, provider, dedup_key, topic, outcome, summary, recorded, replayed, failed, unknown_skus, received_at";

fn from_row(mut row: Row) -> Result<InboundRecord> {
    let outcome: String = column(&mut row, 4)?;
    let unknown_skus: String = column(&mut row, 9)?;
    Ok(InboundRecord {
        id: column(&mut row, 0)?,
        provider: column(&mut row, 1)?,
        dedup_key: column(&mut row, 2)?,
        topic: column(&mut row, 3)?,
        outcome: InboundOutcome::parse(&outcome)?,
        summary: column(&mut row, 5)?,
        recorded: column(&mut row, 6)?,
        replayed: column(&mut row, 7)?,
        failed: column(&mut row, 8)?,
        unknown_skus: decode_list(&unknown_skus)?,
        received_at: column(&mut row, 10)?,
        duplicate: false,
    })
}

/// The record of a (provider, dedup key).
pub(super) fn find(tx: &mut Tx<'_>, provider: &str, dedup_key: &str) -> Result<Option<InboundRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM {{p}}inbound_events WHERE provider = ? AND dedup_key = ?");
    tx.exec_first::<Row>(&sql, (provider, dedup_key))?
        .map(from_row)
        .transpose()
}

/// Logs a validated inbound event unless its (provider, dedup key) is already logged; then the
/// stored record comes back with `duplicate: true`.
pub(super) fn record(tx: &mut Tx<'_>, event: &InboundEvent, now: i64) -> Result<InboundRecord> {
    let inserted = tx.exec_drop(
        "INSERT INTO {p}inbound_events (provider, dedup_key, topic, outcome, summary, recorded, replayed, failed,
                                        unknown_skus, received_at)
         VALUES (:provider, :dedup_key, :topic, :outcome, :summary, :recorded, :replayed, :failed, :unknown_skus,
                 :now)",
        params! {
            "provider" => &event.provider,
            "dedup_key" => &event.dedup_key,
            "topic" => &event.topic,
            "outcome" => event.outcome.as_str(),
            "summary" => &event.summary,
            "recorded" => event.recorded,
            "replayed" => event.replayed,
            "failed" => event.failed,
            "unknown_skus" => encode_list(&event.unknown_skus)?,
            "now" => now,
        },
    );
    match inserted {
        // Only the statement is undone; the other delivery has committed (InnoDB waited for it),
        // so READ COMMITTED sees its row.
        Err(error) if error.mysql_failure() == Some(MySqlFailure::DuplicateKey) => {
            let existing = find(tx, &event.provider, &event.dedup_key)?
                .ok_or_else(|| not_found("inbound event", &event.dedup_key))?;
            return Ok(InboundRecord {
                duplicate: true,
                ..existing
            });
        }
        other => other?,
    };
    let id = tx.last_insert_id()?;
    let sql = format!("SELECT {COLUMNS} FROM {{p}}inbound_events WHERE id = ?");
    tx.exec_first::<Row>(&sql, (id,))?
        .map(from_row)
        .transpose()?
        .ok_or_else(|| not_found("inbound event", &id.to_string()))
}

/// A page of inbound events, newest first.
pub(super) fn list(tx: &mut Tx<'_>, query: &InboundQuery) -> Result<InboundPage> {
    let limit = rules::page_limit(query.limit)?;
    let provider = query.provider.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let sql = format!(
        "SELECT {COLUMNS} FROM {{p}}inbound_events
         WHERE (:provider IS NULL OR provider = :provider) AND (:outcome IS NULL OR outcome = :outcome)
           AND id < :before
         ORDER BY id DESC LIMIT :fetch"
    );
    let rows: Vec<Row> = tx.exec(
        &sql,
        params! {
            "provider" => provider,
            "outcome" => query.outcome.map(InboundOutcome::as_str),
            "before" => query.before.unwrap_or(i64::MAX),
            "fetch" => i64::from(limit) + 1,
        },
    )?;
    let mut records = rows.into_iter().map(from_row).collect::<Result<Vec<_>>>()?;
    let next_before = next_page(&mut records, limit).map(|last| last.id);
    Ok(InboundPage { records, next_before })
}

/// Deletes inbound events received before `older_than`.
pub(super) fn prune(tx: &mut Tx<'_>, older_than: i64) -> Result<usize> {
    let deleted = tx.exec_drop("DELETE FROM {p}inbound_events WHERE received_at < ?", (older_than,))?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
