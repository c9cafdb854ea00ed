//! API keys and rate-limit counters in SQLite. Every function runs inside the caller's
//! transaction; the rules (validation, key material, window arithmetic) come from
//! [`crate::ledger::access`], shared by every backend.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{from_json, not_found, to_json};
use crate::ledger::access::{self, KeyMaterial};
use crate::ledger::{ApiKey, KeyCheck, NewApiKey, RateDecision, Scope};
use crate::{Error, Result};

const KEY_COLUMNS: &str = "id, name, prefix, scopes, expires_at, revoked_at, last_used_at, created_at, supplier, \
                           locations, signing_secret";

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let scopes: String = row.get(3)?;
    let scopes = Scope::parse_list(&scopes)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?;
    let locations: Option<String> = row.get(9)?;
    Ok(ApiKey {
        id: row.get(0)?,
        name: row.get(1)?,
        prefix: row.get(2)?,
        scopes,
        expires_at: row.get(4)?,
        revoked_at: row.get(5)?,
        last_used_at: row.get(6)?,
        created_at: row.get(7)?,
        supplier: row.get(8)?,
        locations: locations.map(|text| from_json(9, &text)).transpose()?,
        signing_secret: row.get(10)?,
    })
}

fn key_where(conn: &Connection, clause: &str, param: impl rusqlite::ToSql) -> Result<Option<ApiKey>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE {clause}"))?;
    Ok(stmt.query_row([param], key_from_row).optional()?)
}

/// Stores a validated key. Its locations must exist; its hash must be new.
pub(super) fn issue(conn: &Connection, key: &NewApiKey, material: &KeyMaterial, now: i64) -> Result<ApiKey> {
    if key_where(conn, "key_hash = ?1", &material.hash)?.is_some() {
        return Err(Error::Conflict(
            "an API key was already issued from these bytes; draw fresh random bytes for every key".into(),
        ));
    }
    for code in key.locations.iter().flatten() {
        super::require_location(conn, code)?;
    }
    let locations = key.locations.as_deref().map(to_json).transpose()?;
    conn.execute(
        "INSERT INTO api_keys (name, prefix, key_hash, scopes, supplier, locations, signing_secret, expires_at,
                               created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            key.name,
            material.prefix,
            material.hash,
            Scope::join(&key.scopes),
            key.supplier,
            locations,
            key.signing_secret,
            key.expires_at,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    key_where(conn, "id = ?1", id)?.ok_or_else(|| not_found("api key", &id.to_string()))
}

/// Looks a key up by hash; a valid one is stamped as used at `now` (never moved backwards).
pub(super) fn authenticate(conn: &Connection, hash: &str, now: i64) -> Result<KeyCheck> {
    let Some(key) = key_where(conn, "key_hash = ?1", hash)? else {
        return Ok(KeyCheck::Unknown);
    };
    match key.check(now) {
        KeyCheck::Valid(mut key) => {
            if !matches!(key.last_used_at, Some(t) if t >= now) {
                conn.execute(
                    "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
                    params![key.id, now],
                )?;
                key.last_used_at = Some(now);
            }
            Ok(KeyCheck::Valid(key))
        }
        refused => Ok(refused),
    }
}

/// Every key, in the order issued.
pub(super) fn list(conn: &Connection) -> Result<Vec<ApiKey>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id"))?;
    let keys = stmt
        .query_map([], key_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(keys)
}

/// Revokes a key, keeping an earlier revocation time.
pub(super) fn revoke(conn: &Connection, id: i64, now: i64) -> Result<ApiKey> {
    conn.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    key_where(conn, "id = ?1", id)?.ok_or_else(|| not_found("api key", &id.to_string()))
}

/// Counts one request against a validated bucket in the fixed window containing `now`, after
/// pruning every window that has ended.
pub(super) fn rate_limit(
    conn: &Connection,
    bucket: &str,
    limit: u32,
    window_seconds: u32,
    now: i64,
) -> Result<RateDecision> {
    conn.prepare_cached("DELETE FROM rate_limits WHERE window_end <= ?1")?
        .execute([now])?;
    let (start, end) = access::rate_window(now, window_seconds);
    let used: u32 = conn
        .prepare_cached("SELECT count FROM rate_limits WHERE bucket = ?1 AND window_start = ?2")?
        .query_row(params![bucket, start], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    let decision = access::rate_decision(used, limit, now, end);
    if decision.allowed {
        conn.prepare_cached(
            "INSERT INTO rate_limits (bucket, window_start, window_end, count) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (bucket, window_start) DO UPDATE SET count = count + 1",
        )?
        .execute(params![bucket, start, end])?;
    }
    Ok(decision)
}
