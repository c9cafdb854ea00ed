//! What the sync engine keeps in SQLite: configured channels, pacing buckets, the sync runs log,
//! drift records, named state, and the bulk reads the planner needs (listings and open jobs of
//! many SKUs). Every write runs inside the caller's (immediate) transaction; inputs were
//! validated before.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{from_json, next_page, not_found, require_location, to_json};
use crate::ledger::channel::{self, AllocationSettings, Bucket, ChannelConfig, ChannelInput, ChannelType, RateLimit};
use crate::ledger::run::{
    self, ActivityBucket, ActivityQuery, DriftPage, DriftQuery, DriftRecord, NewDrift, RunStatus, SyncCounts, SyncKind,
    SyncRun, SyncRunPage, SyncRunQuery,
};
use crate::ledger::{listing, Job, Listing};
use crate::{Error, Result};

// ---------------------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------------------

const CHANNEL_COLUMNS: &str = "id, key, kind, name, enabled, mode, weight, priority, buffer, max_quantity, \
                               zero_threshold, percent, include_incoming, include_supplier, eligible_locations, \
                               batch_size, rate_per_second, rate_burst, min_change, low_stock_level, settings, \
                               credentials, created_at, updated_at";

fn conversion(column: usize, error: Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(error))
}

fn channel_from_row(row: &Row<'_>) -> rusqlite::Result<ChannelConfig> {
    let kind: String = row.get(2)?;
    let mode: String = row.get(5)?;
    let eligible: String = row.get(14)?;
    Ok(ChannelConfig {
        id: row.get(0)?,
        key: row.get(1)?,
        kind: ChannelType::parse(&kind).map_err(|e| conversion(2, e))?,
        name: row.get(3)?,
        enabled: row.get(4)?,
        allocation: AllocationSettings {
            mode: channel::mode_from_columns(&mode, row.get(6)?),
            priority: row.get(7)?,
            buffer: row.get(8)?,
            max: row.get(9)?,
            zero_threshold: row.get(10)?,
            percent: row.get(11)?,
            include_incoming: row.get(12)?,
            include_supplier: row.get(13)?,
            eligible_locations: from_json(14, &eligible)?,
        },
        batch_size: row.get(15)?,
        rate: RateLimit {
            per_second: row.get(16)?,
            burst: row.get(17)?,
        },
        min_change: row.get(18)?,
        low_stock_level: row.get(19)?,
        settings: row.get(20)?,
        credentials: row.get(21)?,
        created_at: row.get(22)?,
        updated_at: row.get(23)?,
    })
}

/// The channel with this key.
pub(super) fn find_channel(conn: &Connection, key: &str) -> Result<Option<ChannelConfig>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE key = ?1"))?;
    Ok(stmt.query_row([key], channel_from_row).optional()?)
}

/// Every channel, by id (the order they were added).
pub(super) fn list_channels(conn: &Connection) -> Result<Vec<ChannelConfig>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY id"))?;
    let channels = stmt
        .query_map([], channel_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(channels)
}

/// Inserts or updates a validated channel (by key). Eligible locations must exist.
pub(super) fn save_channel(conn: &Connection, input: &ChannelInput, now: i64) -> Result<ChannelConfig> {
    for code in &input.allocation.eligible_locations {
        require_location(conn, code)?;
    }
    let a = &input.allocation;
    let (mode, weight) = channel::mode_columns(a.mode);
    let eligible = to_json(&a.eligible_locations)?;
    let (replace_credentials, credentials) = channel::credentials_change(input);
    conn.execute(
        "INSERT INTO channels (key, kind, name, enabled, mode, weight, priority, buffer, max_quantity, zero_threshold,
                               percent, include_incoming, include_supplier, eligible_locations, batch_size,
                               rate_per_second, rate_burst, min_change, low_stock_level, settings, credentials,
                               created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
                 ?22)
         ON CONFLICT (key) DO UPDATE SET
             kind = excluded.kind, name = excluded.name, enabled = excluded.enabled, mode = excluded.mode,
             weight = excluded.weight, priority = excluded.priority, buffer = excluded.buffer,
             max_quantity = excluded.max_quantity, zero_threshold = excluded.zero_threshold,
             percent = excluded.percent, include_incoming = excluded.include_incoming,
             include_supplier = excluded.include_supplier, eligible_locations = excluded.eligible_locations,
             batch_size = excluded.batch_size, rate_per_second = excluded.rate_per_second,
             rate_burst = excluded.rate_burst, min_change = excluded.min_change,
             low_stock_level = excluded.low_stock_level, settings = excluded.settings,
             credentials = CASE WHEN ?23 THEN excluded.credentials ELSE channels.credentials END,
             updated_at = excluded.updated_at",
        params![
            input.key,
            input.kind.as_str(),
            input.name,
            input.enabled,
            mode,
            weight,
            a.priority,
            a.buffer,
            a.max,
            a.zero_threshold,
            a.percent,
            a.include_incoming,
            a.include_supplier,
            eligible,
            input.batch_size,
            input.rate.per_second,
            input.rate.burst,
            input.min_change,
            input.low_stock_level,
            input.settings,
            credentials,
            now,
            replace_credentials,
        ],
    )?;
    find_channel(conn, &input.key)?.ok_or_else(|| not_found("channel", &input.key))
}

/// Deletes a channel with its listings, finished jobs and pacing bucket; refused while it has
/// jobs waiting or being pushed.
pub(super) fn delete_channel(conn: &Connection, key: &str) -> Result<ChannelConfig> {
    let channel = find_channel(conn, key)?.ok_or_else(|| not_found("channel", key))?;
    let (pending, running): (i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'running'), 0)
         FROM jobs WHERE channel = ?1",
        [key],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    channel::check_deletable(key, pending, running)?;
    conn.execute("DELETE FROM jobs WHERE channel = ?1", [key])?;
    conn.execute("DELETE FROM listings WHERE channel = ?1", [key])?;
    conn.execute("DELETE FROM pacing WHERE channel = ?1", [key])?;
    conn.execute("DELETE FROM channels WHERE key = ?1", [key])?;
    Ok(channel)
}

// ---------------------------------------------------------------------------------------------
// Pacing
// ---------------------------------------------------------------------------------------------

/// Takes one token from the channel's bucket ([`channel::take_token`]): returns 0 when one was
/// there, else the milliseconds to wait. Exact across connections: the caller's immediate
/// transaction holds the write lock from the read to the write.
pub(super) fn take_pacing_token(conn: &Connection, channel: &str, rate: f64, burst: u32, now_ms: i64) -> Result<u64> {
    let stored: Option<Bucket> = conn
        .prepare_cached("SELECT tokens, updated_ms FROM pacing WHERE channel = ?1")?
        .query_row([channel], |row| {
            Ok(Bucket {
                tokens: row.get(0)?,
                updated_ms: row.get(1)?,
            })
        })
        .optional()?;
    let (left, wait) = channel::take_token(stored, rate, burst, now_ms);
    conn.prepare_cached(
        "INSERT INTO pacing (channel, tokens, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (channel) DO UPDATE SET tokens = excluded.tokens, updated_ms = excluded.updated_ms",
    )?
    .execute(params![channel, left.tokens, left.updated_ms])?;
    Ok(wait)
}

// ---------------------------------------------------------------------------------------------
// Sync runs
// ---------------------------------------------------------------------------------------------

const RUN_COLUMNS: &str = "id, kind, status, skus, planned, enqueued, pushed, failed, retried, dead, drift, skipped, \
                           calls, duration_ms, error, started_at, finished_at";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<SyncRun> {
    let kind: String = row.get(1)?;
    let status: String = row.get(2)?;
    Ok(SyncRun {
        id: row.get(0)?,
        kind: SyncKind::parse(&kind).map_err(|e| conversion(1, e))?,
        status: RunStatus::parse(&status).map_err(|e| conversion(2, e))?,
        counts: SyncCounts {
            skus: row.get(3)?,
            planned: row.get(4)?,
            enqueued: row.get(5)?,
            pushed: row.get(6)?,
            failed: row.get(7)?,
            retried: row.get(8)?,
            dead: row.get(9)?,
            drift: row.get(10)?,
            skipped: row.get(11)?,
            calls: row.get(12)?,
            duration_ms: row.get(13)?,
        },
        error: row.get(14)?,
        started_at: row.get(15)?,
        finished_at: row.get(16)?,
    })
}

fn find_run(conn: &Connection, id: i64) -> Result<Option<SyncRun>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = ?1"))?;
    Ok(stmt.query_row([id], run_from_row).optional()?)
}

/// Records the start of a run.
pub(super) fn start_run(conn: &Connection, kind: SyncKind, now: i64) -> Result<SyncRun> {
    conn.execute(
        "INSERT INTO sync_runs (kind, status, started_at) VALUES (?1, 'running', ?2)",
        params![kind.as_str(), now],
    )?;
    let id = conn.last_insert_rowid();
    find_run(conn, id)?.ok_or_else(|| not_found("sync run", &id.to_string()))
}

/// Records the end of a running run; a finished run is not changed again.
pub(super) fn finish_run(
    conn: &Connection,
    id: i64,
    counts: &SyncCounts,
    error: Option<&str>,
    now: i64,
) -> Result<SyncRun> {
    let run = find_run(conn, id)?.ok_or_else(|| not_found("sync run", &id.to_string()))?;
    run::check_finishable(&run)?;
    let c = counts;
    conn.execute(
        "UPDATE sync_runs SET status = ?2, skus = ?3, planned = ?4, enqueued = ?5, pushed = ?6, failed = ?7,
                              retried = ?8, dead = ?9, drift = ?10, skipped = ?11, calls = ?12, duration_ms = ?13,
                              error = ?14, finished_at = ?15
         WHERE id = ?1",
        params![
            id,
            run::finished_status(error).as_str(),
            c.skus,
            c.planned,
            c.enqueued,
            c.pushed,
            c.failed,
            c.retried,
            c.dead,
            c.drift,
            c.skipped,
            c.calls,
            c.duration_ms,
            error,
            now
        ],
    )?;
    find_run(conn, id)?.ok_or_else(|| not_found("sync run", &id.to_string()))
}

/// A page of runs, newest first.
pub(super) fn list_runs(conn: &Connection, query: &SyncRunQuery, limit: u32) -> Result<SyncRunPage> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs
         WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR status = ?2) AND id < ?3
         ORDER BY id DESC LIMIT ?4"
    ))?;
    let mut runs = stmt
        .query_map(
            params![
                query.kind.map(SyncKind::as_str),
                query.status.map(RunStatus::as_str),
                query.before.unwrap_or(i64::MAX),
                i64::from(limit) + 1
            ],
            run_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_before = next_page(&mut runs, limit).map(|last| last.id);
    Ok(SyncRunPage { runs, next_before })
}

/// Runs started in the query's span, counted per slot (non-empty slots only).
pub(super) fn activity(conn: &Connection, query: &ActivityQuery) -> Result<Vec<(i64, ActivityBucket)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT (started_at + ?1) / ?2 AS slot, COUNT(*), SUM(status = 'done'), SUM(status = 'failed'), \
                SUM(pushed), SUM(failed + dead), SUM(CASE WHEN status = 'running' THEN 0 ELSE duration_ms END) \
         FROM sync_runs WHERE started_at >= ?3 AND started_at < ?4 AND (?5 IS NULL OR kind = ?5) \
         GROUP BY slot ORDER BY slot",
    )?;
    let rows = stmt.query_map(
        params![
            query.shift(),
            query.bucket_seconds,
            query.since,
            query.until,
            query.kind.map(SyncKind::as_str)
        ],
        |row| {
            let count =
                |i: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64) };
            let bucket = ActivityBucket::counted([count(1)?, count(2)?, count(3)?, count(4)?, count(5)?, count(6)?]);
            Ok((row.get::<_, i64>(0)?, bucket))
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The most frequent run errors since `since`.
pub(super) fn errors_since(conn: &Connection, since: i64, limit: u32) -> Result<Vec<(String, u64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT error, COUNT(*), MAX(started_at) FROM sync_runs WHERE error IS NOT NULL AND started_at >= ?1 \
         GROUP BY error ORDER BY COUNT(*) DESC, MAX(started_at) DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![since, limit], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?.max(0) as u64,
            row.get::<_, i64>(2)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes finished runs started before `older_than`.
pub(super) fn prune_runs(conn: &Connection, older_than: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM sync_runs WHERE status != 'running' AND started_at < ?1",
        [older_than],
    )?)
}

// ---------------------------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------------------------

const DRIFT_COLUMNS: &str = "id, channel, sku, expected, remote, repaired, run_id, recorded_at";

fn drift_from_row(row: &Row<'_>) -> rusqlite::Result<DriftRecord> {
    Ok(DriftRecord {
        id: row.get(0)?,
        channel: row.get(1)?,
        sku: row.get(2)?,
        expected: row.get(3)?,
        remote: row.get(4)?,
        repaired: row.get(5)?,
        run_id: row.get(6)?,
        recorded_at: row.get(7)?,
    })
}

/// Appends validated drift records.
pub(super) fn record_drift(conn: &Connection, records: &[NewDrift], now: i64) -> Result<usize> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO drift (channel, sku, expected, remote, repaired, run_id, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for d in records {
        stmt.execute(params![
            d.channel, d.sku, d.expected, d.remote, d.repaired, d.run_id, now
        ])?;
    }
    Ok(records.len())
}

/// A page of drift records, newest first.
pub(super) fn list_drift(conn: &Connection, query: &DriftQuery, limit: u32) -> Result<DriftPage> {
    let (channel, sku) = query.filters();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DRIFT_COLUMNS} FROM drift
         WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR sku = ?2) AND id < ?3
         ORDER BY id DESC LIMIT ?4"
    ))?;
    let mut records = stmt
        .query_map(
            params![channel, sku, query.before.unwrap_or(i64::MAX), i64::from(limit) + 1],
            drift_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_before = next_page(&mut records, limit).map(|last| last.id);
    Ok(DriftPage { records, next_before })
}

/// Deletes drift records found before `older_than`.
pub(super) fn prune_drift(conn: &Connection, older_than: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM drift WHERE recorded_at < ?1", [older_than])?)
}

// ---------------------------------------------------------------------------------------------
// Named state
// ---------------------------------------------------------------------------------------------

/// A named value.
pub(super) fn state(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM sync_state WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?)
}

/// Sets a named value.
pub(super) fn set_state(conn: &Connection, name: &str, value: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_state (name, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![name, value, now])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Bulk reads for planning
// ---------------------------------------------------------------------------------------------

fn placeholders(n: usize) -> String {
    let mut text = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!("?{}", i + 1));
    }
    text
}

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

const LISTING_COLUMNS: &str = "channel, sku, remote_id, last_pushed_quantity, last_pushed_at, last_seen_quantity, \
                               last_seen_at, created_at, updated_at";

/// A page of one channel's listings, by SKU, after `after`.
pub(super) fn channel_listings(conn: &Connection, channel: &str, after: &str, limit: u32) -> Result<Vec<Listing>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LISTING_COLUMNS} FROM listings WHERE channel = ?1 AND sku > ?2 ORDER BY sku LIMIT ?3"
    ))?;
    let listings = stmt
        .query_map(params![channel, after, limit], listing_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(listings)
}

/// Items without a remote id on `channel`, by SKU, after `after`.
pub(super) fn unmapped_skus(conn: &Connection, channel: &str, after: &str, limit: u32) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.sku FROM items i LEFT JOIN listings l ON l.channel = ?1 AND l.sku = i.sku \
         WHERE i.sku > ?2 AND l.remote_id IS NULL ORDER BY i.sku LIMIT ?3",
    )?;
    let skus = stmt
        .query_map(params![channel, after, limit], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(skus)
}

/// The channels a table has rows for, read as a loose index scan: one primary-key (or
/// `(channel, …)` index) search per channel, not a pass over the table. `{table}` names the table
/// (`listings`, `jobs`). Both tables are keyed by channel first and neither has an index that
/// starts with the SKU, so a `sku IN (…)` filter alone scans the whole table (every batch of a
/// queue run and every chunk of a plan did); joined to this list it is a search per (channel, SKU).
macro_rules! channels_of {
    ($table:literal) => {
        concat!(
            "WITH RECURSIVE present(channel) AS (
                 SELECT min(channel) FROM ",
            $table,
            "
                 UNION ALL
                 SELECT (SELECT min(channel) FROM ",
            $table,
            " WHERE channel > present.channel) FROM present
                 WHERE present.channel IS NOT NULL)"
        )
    };
}

/// Every listing of these SKUs (all channels), by SKU then channel.
pub(super) fn listings_of(conn: &Connection, skus: &[&str]) -> Result<Vec<Listing>> {
    let mut listings = Vec::new();
    for chunk in skus.chunks(listing::SKUS_PER_QUERY) {
        let mut stmt = conn.prepare_cached(&format!(
            "{} SELECT {} FROM present JOIN listings l ON l.channel = present.channel
             WHERE l.sku IN ({}) ORDER BY l.sku, l.channel",
            channels_of!("listings"),
            LISTING_COLUMNS_OF_L,
            placeholders(chunk.len())
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(chunk.iter()), listing_from_row)?;
        for row in rows {
            listings.push(row?);
        }
    }
    Ok(listings)
}

/// Which of these SKUs are items linked to a store product (`product_id` set).
pub(super) fn linked_skus(conn: &Connection, skus: &[&str]) -> Result<Vec<String>> {
    let mut linked = Vec::new();
    for chunk in skus.chunks(listing::SKUS_PER_QUERY) {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT sku FROM items WHERE product_id IS NOT NULL AND sku IN ({})",
            placeholders(chunk.len())
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(chunk.iter()), |row| row.get(0))?;
        for row in rows {
            linked.push(row?);
        }
    }
    Ok(linked)
}

/// [`LISTING_COLUMNS`] of the table aliased `l`.
const LISTING_COLUMNS_OF_L: &str = "l.channel, l.sku, l.remote_id, l.last_pushed_quantity, l.last_pushed_at, \
                                    l.last_seen_quantity, l.last_seen_at, l.created_at, l.updated_at";

/// The pending and running jobs of these SKUs (all channels), by id.
pub(super) fn open_jobs(conn: &Connection, skus: &[&str]) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for chunk in skus.chunks(listing::SKUS_PER_QUERY) {
        let ids: Vec<i64> = {
            let mut stmt = conn.prepare_cached(&format!(
                "{} SELECT j.id FROM present JOIN jobs j INDEXED BY jobs_pair ON j.channel = present.channel
                 WHERE j.sku IN ({}) AND j.status IN ('pending', 'running') ORDER BY j.id",
                channels_of!("jobs"),
                placeholders(chunk.len())
            ))?;
            let ids = stmt
                .query_map(rusqlite::params_from_iter(chunk.iter()), |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            ids
        };
        for id in ids {
            if let Some(job) = super::jobs::find(conn, id)? {
                jobs.push(job);
            }
        }
    }
    jobs.sort_by_key(|job| job.id);
    Ok(jobs)
}
