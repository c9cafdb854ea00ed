//! Listings in SQLite: (channel, SKU) → remote id and the last quantities pushed and seen.
//! Every write runs inside the caller's transaction; inputs were validated before.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{execute_cached, not_found, require_item};
use crate::ledger::listing::Change;
use crate::ledger::Listing;
use crate::Result;

const LISTING_COLUMNS: &str = "channel, sku, remote_id, last_pushed_quantity, last_pushed_at, last_seen_quantity, \
                               last_seen_at, created_at, updated_at";

fn listing_from_row(row: &Row<'_>) -> rusqlite::Result<Listing> {
    Ok(Listing {
        channel: row.get(0)?,
        sku: row.get(1)?,
        remote_id: row.get(2)?,
        last_pushed_quantity: row.get(3)?,
        last_pushed_at: row.get(4)?,
        last_seen_quantity: row.get(5)?,
        last_seen_at: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

/// The listing of a SKU on a channel.
pub(super) fn find(conn: &Connection, channel: &str, sku: &str) -> Result<Option<Listing>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LISTING_COLUMNS} FROM listings WHERE channel = ?1 AND sku = ?2"
    ))?;
    Ok(stmt.query_row([channel, sku], listing_from_row).optional()?)
}

/// The listing of a channel carrying a remote id.
pub(super) fn find_by_remote_id(conn: &Connection, channel: &str, remote_id: &str) -> Result<Option<Listing>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LISTING_COLUMNS} FROM listings WHERE channel = ?1 AND remote_id = ?2"
    ))?;
    Ok(stmt.query_row([channel, remote_id], listing_from_row).optional()?)
}

/// Creates the listing if needed, applies `change` and returns the listing.
pub(super) fn update(conn: &Connection, channel: &str, sku: &str, change: Change<'_>, now: i64) -> Result<Listing> {
    require_item(conn, sku)?;
    execute_cached(
        conn,
        "INSERT INTO listings (channel, sku, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (channel, sku) DO UPDATE SET updated_at = excluded.updated_at",
        params![channel, sku, now],
    )?;
    match change {
        Change::RemoteId(remote_id) => {
            if let Some(remote_id) = remote_id {
                // The remote side decides which SKU a remote id carries: take it from any other.
                execute_cached(
                    conn,
                    "UPDATE listings SET remote_id = NULL, updated_at = ?4
                     WHERE channel = ?1 AND remote_id = ?2 AND sku != ?3",
                    params![channel, remote_id, sku, now],
                )?;
            }
            execute_cached(
                conn,
                "UPDATE listings SET remote_id = ?3 WHERE channel = ?1 AND sku = ?2",
                params![channel, sku, remote_id],
            )?;
        }
        Change::Pushed(quantity) => {
            execute_cached(
                conn,
                "UPDATE listings SET last_pushed_quantity = ?3, last_pushed_at = ?4 WHERE channel = ?1 AND sku = ?2",
                params![channel, sku, quantity, now],
            )?;
        }
        Change::Seen(quantity) => {
            execute_cached(
                conn,
                "UPDATE listings SET last_seen_quantity = ?3, last_seen_at = ?4 WHERE channel = ?1 AND sku = ?2",
                params![channel, sku, quantity, now],
            )?;
        }
    }
    find(conn, channel, sku)?.ok_or_else(|| not_found("listing", &format!("{channel} {sku}")))
}
