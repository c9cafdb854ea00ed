//! Listings on MariaDB/MySQL: (channel, SKU) → remote id and the last quantities pushed and seen.
//! Writes run inside the caller's transaction; inputs were validated before.
//!
//! On SQLite, triggers re-lane a pair's open jobs when its listing's pushed quantity changes.
//! There are no triggers here (creating one needs privileges shared hosting rarely grants): a
//! write of the pushed quantity calls [`jobs::relane`] itself. (A listing created without one, or
//! a remote id or seen quantity written, moves no lane.)

use mysql::{params, Row};

use super::stock::{column, require_item};
use super::{jobs, Tx};
use crate::error::MySqlFailure;
use crate::ledger::listing::Change;
use crate::ledger::plan::not_found;
use crate::ledger::Listing;
use crate::Result;

pub(super) const COLUMNS: &str = "channel, sku, remote_id, last_pushed_quantity, last_pushed_at, last_seen_quantity, \
                       last_seen_at, created_at, updated_at";

pub(super) fn from_row(mut row: Row) -> Result<Listing> {
    Ok(Listing {
        channel: column(&mut row, 0)?,
        sku: column(&mut row, 1)?,
        remote_id: column(&mut row, 2)?,
        last_pushed_quantity: column(&mut row, 3)?,
        last_pushed_at: column(&mut row, 4)?,
        last_seen_quantity: column(&mut row, 5)?,
        last_seen_at: column(&mut row, 6)?,
        created_at: column(&mut row, 7)?,
        updated_at: column(&mut row, 8)?,
    })
}

/// The listing of a SKU on a channel.
pub(super) fn find(tx: &mut Tx<'_>, channel: &str, sku: &str) -> Result<Option<Listing>> {
    let sql = format!("SELECT {COLUMNS} FROM {{p}}listings WHERE channel = ? AND sku = ?");
    tx.exec_first::<Row>(&sql, (channel, sku))?.map(from_row).transpose()
}

/// The listing of a channel carrying a remote id.
pub(super) fn find_by_remote_id(tx: &mut Tx<'_>, channel: &str, remote_id: &str) -> Result<Option<Listing>> {
    let sql = format!("SELECT {COLUMNS} FROM {{p}}listings WHERE channel = ? AND remote_id = ?");
    tx.exec_first::<Row>(&sql, (channel, remote_id))?
        .map(from_row)
        .transpose()
}

/// Creates the listing if needed, applies `change` and returns the listing.
pub(super) fn update(tx: &mut Tx<'_>, channel: &str, sku: &str, change: &Change<'_>, now: i64) -> Result<Listing> {
    require_item(tx, sku)?;
    // Creates the row or locks it: writers of one listing take turns from here.
    tx.exec_drop(
        "INSERT INTO {p}listings (channel, sku, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE updated_at = VALUES(updated_at)",
        (channel, sku, now, now),
    )?;
    match *change {
        Change::RemoteId(remote_id) => set_remote_id(tx, channel, sku, remote_id, now)?,
        Change::Pushed(quantity) => {
            tx.exec_drop(
                "UPDATE {p}listings SET last_pushed_quantity = ?, last_pushed_at = ? WHERE channel = ? AND sku = ?",
                (quantity, now, channel, sku),
            )?;
            jobs::relane(tx, channel, sku)?;
        }
        Change::Seen(quantity) => {
            tx.exec_drop(
                "UPDATE {p}listings SET last_seen_quantity = ?, last_seen_at = ? WHERE channel = ? AND sku = ?",
                (quantity, now, channel, sku),
            )?;
        }
    }
    find(tx, channel, sku)?.ok_or_else(|| not_found("listing", &format!("{channel} {sku}")))
}

/// Records a completed push of a known SKU (its job exists): `quantity`, and `remote_id` when
/// given, creating the listing when needed; the pair's open jobs are re-laned.
pub(super) fn record_pushed(
    tx: &mut Tx<'_>,
    channel: &str,
    sku: &str,
    quantity: i64,
    remote_id: Option<&str>,
    now: i64,
) -> Result<()> {
    tx.exec_drop(
        "INSERT INTO {p}listings (channel, sku, last_pushed_quantity, last_pushed_at, created_at, updated_at)
         VALUES (:channel, :sku, :quantity, :now, :now, :now)
         ON DUPLICATE KEY UPDATE last_pushed_quantity = VALUES(last_pushed_quantity),
             last_pushed_at = VALUES(last_pushed_at), updated_at = VALUES(updated_at)",
        params! { "channel" => channel, "sku" => sku, "quantity" => quantity, "now" => now },
    )?;
    if remote_id.is_some() {
        set_remote_id(tx, channel, sku, remote_id, now)?;
    }
    jobs::relane(tx, channel, sku)
}

/// Gives `remote_id` to the listing, taking it from any other SKU of the channel (the remote side
/// decides which SKU a remote id carries).
fn set_remote_id(tx: &mut Tx<'_>, channel: &str, sku: &str, remote_id: Option<&str>, now: i64) -> Result<()> {
    let mut tries = 0;
    loop {
        tries += 1;
        if let Some(remote_id) = remote_id {
            tx.exec_drop(
                "UPDATE {p}listings SET remote_id = NULL, updated_at = ?
                 WHERE channel = ? AND remote_id = ? AND sku != ?",
                (now, channel, remote_id, sku),
            )?;
        }
        let set = tx.exec_drop(
            "UPDATE {p}listings SET remote_id = ? WHERE channel = ? AND sku = ?",
            (remote_id, channel, sku),
        );
        match set {
            // Another server gave the id to another SKU after the clearing above and has committed
            // since (InnoDB waited for it): take the id from that SKU too.
            Err(error) if error.mysql_failure() == Some(MySqlFailure::DuplicateKey) && tries < 2 => continue,
            other => return other.map(drop),
        }
    }
}
