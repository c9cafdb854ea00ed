//! API keys and rate-limit counters on MariaDB/MySQL. Every function runs inside the caller's
//! transaction; the rules (validation, key material, window arithmetic) come from
//! [`crate::ledger::access`], shared by every backend.

use mysql::{params, Row};

use super::stock::{column, location_exists};
use super::Tx;
use crate::error::MySqlFailure;
use crate::ledger::access::{self, KeyMaterial};
use crate::ledger::plan::not_found;
use crate::ledger::rules::{decode_list, encode_list};
use crate::ledger::{ApiKey, KeyCheck, NewApiKey, RateDecision, Scope};
use crate::{Error, Result};

const KEY_COLUMNS: &str = "id, name, prefix, scopes, expires_at, revoked_at, last_used_at, created_at, supplier, \
                           locations, signing_secret";

fn key_from_row(mut row: Row) -> Result<ApiKey> {
    let scopes: String = column(&mut row, 3)?;
    let locations: Option<String> = column(&mut row, 9)?;
    Ok(ApiKey {
        id: column(&mut row, 0)?,
        name: column(&mut row, 1)?,
        prefix: column(&mut row, 2)?,
        scopes: Scope::parse_list(&scopes)?,
        expires_at: column(&mut row, 4)?,
        revoked_at: column(&mut row, 5)?,
        last_used_at: column(&mut row, 6)?,
        created_at: column(&mut row, 7)?,
        supplier: column(&mut row, 8)?,
        locations: locations.as_deref().map(decode_list).transpose()?,
        signing_secret: column(&mut row, 10)?,
    })
}

fn key_by_hash(tx: &mut Tx<'_>, hash: &str) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM {{p}}api_keys WHERE key_hash = ?");
    tx.exec_first::<Row>(&sql, (hash,))?.map(key_from_row).transpose()
}

fn key_by_id(tx: &mut Tx<'_>, id: i64) -> Result<ApiKey> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM {{p}}api_keys WHERE id = ?");
    tx.exec_first::<Row>(&sql, (id,))?
        .map(key_from_row)
        .transpose()?
        .ok_or_else(|| not_found("api key", &id.to_string()))
}

/// The refusal of a key drawn from bytes already used.
fn reused_bytes() -> Error {
    Error::Conflict("an API key was already issued from these bytes; draw fresh random bytes for every key".into())
}

/// Stores a validated key. Its locations must exist; its hash must be new (the UNIQUE key on
/// the hash decides when two servers issue the same one at once).
pub(super) fn issue(tx: &mut Tx<'_>, key: &NewApiKey, material: &KeyMaterial, now: i64) -> Result<ApiKey> {
    if key_by_hash(tx, &material.hash)?.is_some() {
        return Err(reused_bytes());
    }
    for code in key.locations.iter().flatten() {
        if !location_exists(tx, code)? {
            return Err(not_found("location", code));
        }
    }
    let locations = key.locations.as_deref().map(encode_list).transpose()?;
    let inserted = tx.exec_drop(
        "INSERT INTO {p}api_keys (name, prefix, key_hash, scopes, supplier, locations, signing_secret, expires_at,
                                  created_at)
         VALUES (:name, :prefix, :hash, :scopes, :supplier, :locations, :signing_secret, :expires_at, :now)",
        params! {
            "name" => &key.name,
            "prefix" => &material.prefix,
            "hash" => &material.hash,
            "scopes" => Scope::join(&key.scopes),
            "supplier" => &key.supplier,
            "locations" => locations,
            "signing_secret" => &key.signing_secret,
            "expires_at" => key.expires_at,
            "now" => now,
        },
    );
    match inserted {
        Err(error) if error.mysql_failure() == Some(MySqlFailure::DuplicateKey) => return Err(reused_bytes()),
        other => other?,
    };
    let id = tx.last_insert_id()?;
    key_by_id(tx, id)
}

/// Looks a key up by hash; a valid one is stamped as used at `now` (never moved backwards).
pub(super) fn authenticate(tx: &mut Tx<'_>, hash: &str, now: i64) -> Result<KeyCheck> {
    let Some(key) = key_by_hash(tx, hash)? else {
        return Ok(KeyCheck::Unknown);
    };
    match key.check(now) {
        KeyCheck::Valid(mut key) => {
            if !matches!(key.last_used_at, Some(t) if t >= now) {
                // GREATEST: another server may have stamped a later use meanwhile.
                tx.exec_drop(
                    "UPDATE {p}api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, ?), ?) WHERE id = ?",
                    (now, now, key.id),
                )?;
                key.last_used_at = Some(now);
            }
            Ok(KeyCheck::Valid(key))
        }
        refused => Ok(refused),
    }
}

/// Every key, in the order issued.
pub(super) fn list(tx: &mut Tx<'_>) -> Result<Vec<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM {{p}}api_keys ORDER BY id");
    let rows: Vec<Row> = tx.exec(&sql, ())?;
    rows.into_iter().map(key_from_row).collect()
}

/// Revokes a key, keeping an earlier revocation time.
pub(super) fn revoke(tx: &mut Tx<'_>, id: i64, now: i64) -> Result<ApiKey> {
    tx.exec_drop(
        "UPDATE {p}api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (now, id),
    )?;
    key_by_id(tx, id)
}

/// Counts one request against a validated bucket in the fixed window containing `now`, after
/// pruning every window that has ended. Exact across servers: the window's row is created if
/// missing, then read `FOR UPDATE`, so concurrent requests of one bucket count one at a time.
pub(super) fn rate_limit(
    tx: &mut Tx<'_>,
    bucket: &str,
    limit: u32,
    window_seconds: u32,
    now: i64,
) -> Result<RateDecision> {
    tx.exec_drop("DELETE FROM {p}rate_limits WHERE window_end <= ?", (now,))?;
    let (start, end) = access::rate_window(now, window_seconds);
    tx.exec_drop(
        "INSERT INTO {p}rate_limits (bucket, window_start, window_end, count) VALUES (?, ?, ?, 0)
         ON DUPLICATE KEY UPDATE count = count",
        (bucket, start, end),
    )?;
    let used: Option<u32> = tx.exec_first(
        "SELECT count FROM {p}rate_limits WHERE bucket = ? AND window_start = ? FOR UPDATE",
        (bucket, start),
    )?;
    let decision = access::rate_decision(used.unwrap_or(0), limit, now, end);
    if decision.allowed {
        tx.exec_drop(
            "UPDATE {p}rate_limits SET count = count + 1 WHERE bucket = ? AND window_start = ?",
            (bucket, start),
        )?;
    }
    Ok(decision)
}
