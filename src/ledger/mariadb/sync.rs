//! What the sync engine keeps on MariaDB/MySQL: configured channels, pacing buckets, the sync runs
//! log, drift records, named state, and the bulk reads the planner needs (listings and open jobs
//! of many SKUs). Writes run inside the caller's transaction; inputs were validated before. The
//! decisions (the token bucket's arithmetic, when a channel may be deleted, how a run finishes,
//! how activity is bucketed) are [`channel`]'s and [`run`]'s, shared with SQLite.
//!
//! Across servers:
//! * **Pacing** creates the channel's bucket if missing, then reads it `FOR UPDATE`: callers on
//!   every server take tokens one at a time, and each token is handed out once.
//! * **Deleting a channel** locks its row first, refuses while jobs are pending or running, and
//!   then deletes only finished jobs: a job enqueued meanwhile survives instead of vanishing.
//! * **Finishing a run** reads it `FOR UPDATE`: a run is finished once.
//!
//! The planner's reads filter `sku IN (…)` on the indexes `listings (sku, channel)` and
//! `jobs (sku, status, id)` (SQLite, without them, scans per channel instead).

use mysql::{params, Row};

use super::listings;
use super::stock::{column, location_exists};
use super::Tx;
use crate::ledger::channel::{self, AllocationSettings, Bucket, ChannelConfig, ChannelInput, ChannelType, RateLimit};
use crate::ledger::plan::{next_page, not_found};
use crate::ledger::rules::{decode_list, encode_list};
use crate::ledger::run::{
    self, ActivityBucket, ActivityQuery, DriftPage, DriftQuery, DriftRecord, NewDrift, RunStatus, SyncCounts, SyncKind,
    SyncRun, SyncRunPage, SyncRunQuery,
};
use crate::ledger::{listing, Job, Listing};
use crate::Result;

// ---------------------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------------------

const CHANNEL_COLUMNS: &str = "id, `key`, kind, name, enabled, mode, weight, priority, buffer, max_quantity, \
                               zero_threshold, percent, include_incoming, include_supplier, eligible_locations, \
                               batch_size, rate_per_second, rate_burst, min_change, low_stock_level, settings, \
                               credentials, created_at, updated_at";

fn channel_from_row(mut row: Row) -> Result<ChannelConfig> {
    let kind: String = column(&mut row, 2)?;
    let mode: String = column(&mut row, 5)?;
    let eligible: String = column(&mut row, 14)?;
    Ok(ChannelConfig {
        id: column(&mut row, 0)?,
        key: column(&mut row, 1)?,
        kind: ChannelType::parse(&kind)?,
        name: column(&mut row, 3)?,
        enabled: column(&mut row, 4)?,
        allocation: AllocationSettings {
            mode: channel::mode_from_columns(&mode, column(&mut row, 6)?),
            priority: column(&mut row, 7)?,
            buffer: column(&mut row, 8)?,
            max: column(&mut row, 9)?,
            zero_threshold: column(&mut row, 10)?,
            percent: column(&mut row, 11)?,
            include_incoming: column(&mut row, 12)?,
            include_supplier: column(&mut row, 13)?,
            eligible_locations: decode_list(&eligible)?,
        },
        batch_size: column(&mut row, 15)?,
        rate: RateLimit {
            per_second: column(&mut row, 16)?,
            burst: column(&mut row, 17)?,
        },
        min_change: column(&mut row, 18)?,
        low_stock_level: column(&mut row, 19)?,
        settings: column(&mut row, 20)?,
        credentials: column(&mut row, 21)?,
        created_at: column(&mut row, 22)?,
        updated_at: column(&mut row, 23)?,
    })
}

/// The channels of `SELECT … FROM channels {clause}`.
fn channels_where(tx: &mut Tx<'_>, clause: &str, params: impl Into<mysql::Params>) -> Result<Vec<ChannelConfig>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM {{p}}channels {clause}");
    let rows: Vec<Row> = tx.exec(&sql, params)?;
    rows.into_iter().map(channel_from_row).collect()
}

/// The channel with this key.
pub(super) fn find_channel(tx: &mut Tx<'_>, key: &str) -> Result<Option<ChannelConfig>> {
    Ok(channels_where(tx, "WHERE `key` = ?", (key,))?.pop())
}

/// Every channel, by id (the order they were added).
pub(super) fn list_channels(tx: &mut Tx<'_>) -> Result<Vec<ChannelConfig>> {
    channels_where(tx, "ORDER BY id", ())
}

/// Inserts or updates a validated channel (by key). Eligible locations must exist.
pub(super) fn save_channel(tx: &mut Tx<'_>, input: &ChannelInput, now: i64) -> Result<ChannelConfig> {
    for code in &input.allocation.eligible_locations {
        if !location_exists(tx, code)? {
            return Err(not_found("location", code));
        }
    }
    let a = &input.allocation;
    let (mode, weight) = channel::mode_columns(a.mode);
    let (replace_credentials, credentials) = channel::credentials_change(input);
    tx.exec_drop(
        "INSERT INTO {p}channels (`key`, kind, name, enabled, mode, weight, priority, buffer, max_quantity,
                                  zero_threshold, percent, include_incoming, include_supplier, eligible_locations,
                                  batch_size, rate_per_second, rate_burst, min_change, low_stock_level, settings,
                                  credentials, created_at, updated_at)
         VALUES (:key, :kind, :name, :enabled, :mode, :weight, :priority, :buffer, :max_quantity, :zero_threshold,
                 :percent, :include_incoming, :include_supplier, :eligible_locations, :batch_size,
                 :rate_per_second, :rate_burst, :min_change, :low_stock_level, :settings, :credentials, :now, :now)
         ON DUPLICATE KEY UPDATE
             kind = VALUES(kind), name = VALUES(name), enabled = VALUES(enabled), mode = VALUES(mode),
             weight = VALUES(weight), priority = VALUES(priority), buffer = VALUES(buffer),
             max_quantity = VALUES(max_quantity), zero_threshold = VALUES(zero_threshold),
             percent = VALUES(percent), include_incoming = VALUES(include_incoming),
             include_supplier = VALUES(include_supplier), eligible_locations = VALUES(eligible_locations),
             batch_size = VALUES(batch_size), rate_per_second = VALUES(rate_per_second),
             rate_burst = VALUES(rate_burst), min_change = VALUES(min_change),
             low_stock_level = VALUES(low_stock_level), settings = VALUES(settings),
             credentials = IF(:replace_credentials, VALUES(credentials), credentials),
             updated_at = VALUES(updated_at)",
        params! {
            "key" => &input.key,
            "kind" => input.kind.as_str(),
            "name" => &input.name,
            "enabled" => input.enabled,
            "mode" => mode,
            "weight" => weight,
            "priority" => a.priority,
            "buffer" => a.buffer,
            "max_quantity" => a.max,
            "zero_threshold" => a.zero_threshold,
            "percent" => a.percent,
            "include_incoming" => a.include_incoming,
            "include_supplier" => a.include_supplier,
            "eligible_locations" => encode_list(&a.eligible_locations)?,
            "batch_size" => input.batch_size,
            "rate_per_second" => input.rate.per_second,
            "rate_burst" => input.rate.burst,
            "min_change" => input.min_change,
            "low_stock_level" => input.low_stock_level,
            "settings" => &input.settings,
            "credentials" => credentials,
            "now" => now,
            "replace_credentials" => replace_credentials,
        },
    )?;
    find_channel(tx, &input.key)?.ok_or_else(|| not_found("channel", &input.key))
}

/// Deletes a channel with its listings, finished jobs and pacing bucket; refused while it has
/// jobs waiting or being pushed. The channel's row is locked first, so deletions of one channel
/// take turns; a job enqueued after the check is not finished, so it is kept.
pub(super) fn delete_channel(tx: &mut Tx<'_>, key: &str) -> Result<ChannelConfig> {
    let found = channels_where(tx, "WHERE `key` = ? FOR UPDATE", (key,))?
        .pop()
        .ok_or_else(|| not_found("channel", key))?;
    let open: Option<(i64, i64)> = tx.exec_first(
        "SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED),
                CAST(COALESCE(SUM(status = 'running'), 0) AS SIGNED)
         FROM {p}jobs WHERE channel = ?",
        (key,),
    )?;
    let (pending, running) = open.unwrap_or((0, 0));
    channel::check_deletable(key, pending, running)?;
    tx.exec_drop(
        "DELETE FROM {p}jobs WHERE channel = ? AND status IN ('done', 'failed', 'dead')",
        (key,),
    )?;
    tx.exec_drop("DELETE FROM {p}listings WHERE channel = ?", (key,))?;
    tx.exec_drop("DELETE FROM {p}pacing WHERE channel = ?", (key,))?;
    tx.exec_drop("DELETE FROM {p}channels WHERE `key` = ?", (key,))?;
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// Pacing
// ---------------------------------------------------------------------------------------------

/// Takes one token from the channel's bucket ([`channel::take_token`]): returns 0 when one was
/// there, else the milliseconds to wait. The bucket is created full if missing, then read
/// `FOR UPDATE`: until this transaction ends, every other taker of this channel waits, so each
/// token is handed out once across servers.
pub(super) fn take_pacing_token(tx: &mut Tx<'_>, channel: &str, rate: f64, burst: u32, now_ms: i64) -> Result<u64> {
    let full = Bucket::full(burst, now_ms);
    tx.exec_drop(
        "INSERT INTO {p}pacing (channel, tokens, updated_ms) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE channel = channel",
        (channel, full.tokens, full.updated_ms),
    )?;
    let stored: Option<(f64, i64)> = tx.exec_first(
        "SELECT tokens, updated_ms FROM {p}pacing WHERE channel = ? FOR UPDATE",
        (channel,),
    )?;
    let stored = stored.map(|(tokens, updated_ms)| Bucket { tokens, updated_ms });
    let (left, wait) = channel::take_token(stored, rate, burst, now_ms);
    tx.exec_drop(
        "UPDATE {p}pacing SET tokens = ?, updated_ms = ? WHERE channel = ?",
        (left.tokens, left.updated_ms, channel),
    )?;
    Ok(wait)
}

// ---------------------------------------------------------------------------------------------
// Sync runs
// ---------------------------------------------------------------------------------------------

const RUN_COLUMNS: &str = "id, kind, status, skus, planned, enqueued, pushed, failed, retried, dead, drift, skipped, \
                           calls, duration_ms, error, started_at, finished_at";

fn run_from_row(mut row: Row) -> Result<SyncRun> {
    let kind: String = column(&mut row, 1)?;
    let status: String = column(&mut row, 2)?;
    Ok(SyncRun {
        id: column(&mut row, 0)?,
        kind: SyncKind::parse(&kind)?,
        status: RunStatus::parse(&status)?,
        counts: SyncCounts {
            skus: column(&mut row, 3)?,
            planned: column(&mut row, 4)?,
            enqueued: column(&mut row, 5)?,
            pushed: column(&mut row, 6)?,
            failed: column(&mut row, 7)?,
            retried: column(&mut row, 8)?,
            dead: column(&mut row, 9)?,
            drift: column(&mut row, 10)?,
            skipped: column(&mut row, 11)?,
            calls: column(&mut row, 12)?,
            duration_ms: column(&mut row, 13)?,
        },
        error: column(&mut row, 14)?,
        started_at: column(&mut row, 15)?,
        finished_at: column(&mut row, 16)?,
    })
}

/// The runs of `SELECT … FROM sync_runs {clause}`.
fn runs_where(tx: &mut Tx<'_>, clause: &str, params: impl Into<mysql::Params>) -> Result<Vec<SyncRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM {{p}}sync_runs {clause}");
    let rows: Vec<Row> = tx.exec(&sql, params)?;
    rows.into_iter().map(run_from_row).collect()
}

fn require_run(tx: &mut Tx<'_>, id: i64, lock: &str) -> Result<SyncRun> {
    runs_where(tx, &format!("WHERE id = ? {lock}"), (id,))?
        .pop()
        .ok_or_else(|| not_found("sync run", &id.to_string()))
}

/// Records the start of a run.
pub(super) fn start_run(tx: &mut Tx<'_>, kind: SyncKind, now: i64) -> Result<SyncRun> {
    tx.exec_drop(
        "INSERT INTO {p}sync_runs (kind, status, started_at) VALUES (?, 'running', ?)",
        (kind.as_str(), now),
    )?;
    let id = tx.last_insert_id()?;
    require_run(tx, id, "")
}

/// Records the end of a running run; a finished run is not changed again (it is read
/// `FOR UPDATE`, so two servers finishing one run take turns and the second is refused).
pub(super) fn finish_run(
    tx: &mut Tx<'_>,
    id: i64,
    counts: &SyncCounts,
    error: Option<&str>,
    now: i64,
) -> Result<SyncRun> {
    run::check_finishable(&require_run(tx, id, "FOR UPDATE")?)?;
    let c = counts;
    tx.exec_drop(
        "UPDATE {p}sync_runs SET status = :status, skus = :skus, planned = :planned, enqueued = :enqueued,
                                 pushed = :pushed, failed = :failed, retried = :retried, dead = :dead,
                                 drift = :drift, skipped = :skipped, calls = :calls, duration_ms = :duration_ms,
                                 error = :error, finished_at = :now
         WHERE id = :id",
        params! {
            "id" => id,
            "status" => run::finished_status(error).as_str(),
            "skus" => c.skus,
            "planned" => c.planned,
            "enqueued" => c.enqueued,
            "pushed" => c.pushed,
            "failed" => c.failed,
            "retried" => c.retried,
            "dead" => c.dead,
            "drift" => c.drift,
            "skipped" => c.skipped,
            "calls" => c.calls,
            "duration_ms" => c.duration_ms,
            "error" => error,
            "now" => now,
        },
    )?;
    require_run(tx, id, "")
}

/// A page of runs, newest first.
pub(super) fn list_runs(tx: &mut Tx<'_>, query: &SyncRunQuery, limit: u32) -> Result<SyncRunPage> {
    let mut runs = runs_where(
        tx,
        "WHERE (:kind IS NULL OR kind = :kind) AND (:status IS NULL OR status = :status) AND id < :before
         ORDER BY id DESC LIMIT :fetch",
        params! {
            "kind" => query.kind.map(SyncKind::as_str),
            "status" => query.status.map(RunStatus::as_str),
            "before" => query.before.unwrap_or(i64::MAX),
            "fetch" => i64::from(limit) + 1,
        },
    )?;
    let next_before = next_page(&mut runs, limit).map(|last| last.id);
    Ok(SyncRunPage { runs, next_before })
}

/// Runs started in the query's span, counted per fixed-width slot (non-empty slots only, by
/// slot). `DIV`: `/` would divide as decimals. `SUM` is a DECIMAL in MySQL, so cast back.
pub(super) fn activity(tx: &mut Tx<'_>, query: &ActivityQuery) -> Result<Vec<(i64, ActivityBucket)>> {
    let rows: Vec<Row> = tx.exec(
        "SELECT (started_at + :shift) DIV :bucket AS slot, COUNT(*), CAST(SUM(status = 'done') AS SIGNED),
                CAST(SUM(status = 'failed') AS SIGNED), CAST(SUM(pushed) AS SIGNED), CAST(SUM(failed + dead) AS SIGNED),
                CAST(SUM(CASE WHEN status = 'running' THEN 0 ELSE duration_ms END) AS SIGNED)
         FROM {p}sync_runs WHERE started_at >= :since AND started_at < :until AND (:kind IS NULL OR kind = :kind)
         GROUP BY slot ORDER BY slot",
        params! {
            "shift" => query.shift(),
            "bucket" => query.bucket_seconds,
            "since" => query.since,
            "until" => query.until,
            "kind" => query.kind.map(SyncKind::as_str),
        },
    )?;
    rows.into_iter()
        .map(|mut row| {
            let mut count = |i: usize| -> Result<u64> {
                let value: Option<i64> = column(&mut row, i)?;
                Ok(u64::try_from(value.unwrap_or(0)).unwrap_or(0))
            };
            let bucket = ActivityBucket::counted([count(1)?, count(2)?, count(3)?, count(4)?, count(5)?, count(6)?]);
            Ok((column(&mut row, 0)?, bucket))
        })
        .collect()
}

/// The most frequent run errors since `since`: (error, runs, last started).
pub(super) fn errors_since(tx: &mut Tx<'_>, since: i64, limit: u32) -> Result<Vec<(String, u64, i64)>> {
    let rows: Vec<(String, i64, i64)> = tx.exec(
        "SELECT error, COUNT(*), MAX(started_at) FROM {p}sync_runs
         WHERE error IS NOT NULL AND started_at >= ?
         GROUP BY error ORDER BY COUNT(*) DESC, MAX(started_at) DESC LIMIT ?",
        (since, limit),
    )?;
    Ok(rows
        .into_iter()
        .map(|(error, runs, last)| (error, u64::try_from(runs).unwrap_or(0), last))
        .collect())
}

/// Deletes finished runs started before `older_than`.
pub(super) fn prune_runs(tx: &mut Tx<'_>, older_than: i64) -> Result<usize> {
    let deleted = tx.exec_drop(
        "DELETE FROM {p}sync_runs WHERE status != 'running' AND started_at < ?",
        (older_than,),
    )?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

// ---------------------------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------------------------

const DRIFT_COLUMNS: &str = "id, channel, sku, expected, remote, repaired, run_id, recorded_at";

fn drift_from_row(mut row: Row) -> Result<DriftRecord> {
    Ok(DriftRecord {
        id: column(&mut row, 0)?,
        channel: column(&mut row, 1)?,
        sku: column(&mut row, 2)?,
        expected: column(&mut row, 3)?,
        remote: column(&mut row, 4)?,
        repaired: column(&mut row, 5)?,
        run_id: column(&mut row, 6)?,
        recorded_at: column(&mut row, 7)?,
    })
}

/// Appends validated drift records.
pub(super) fn record_drift(tx: &mut Tx<'_>, records: &[NewDrift], now: i64) -> Result<usize> {
    for d in records {
        tx.exec_drop(
            "INSERT INTO {p}drift (channel, sku, expected, remote, repaired, run_id, recorded_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            (&d.channel, &d.sku, d.expected, d.remote, d.repaired, d.run_id, now),
        )?;
    }
    Ok(records.len())
}

/// A page of drift records, newest first.
pub(super) fn list_drift(tx: &mut Tx<'_>, query: &DriftQuery, limit: u32) -> Result<DriftPage> {
    let (channel, sku) = query.filters();
    let sql = format!(
        "SELECT {DRIFT_COLUMNS} FROM {{p}}drift
         WHERE (:channel IS NULL OR channel = :channel) AND (:sku IS NULL OR sku = :sku) AND id < :before
         ORDER BY id DESC LIMIT :fetch"
    );
    let rows: Vec<Row> = tx.exec(
        &sql,
        params! {
            "channel" => channel,
            "sku" => sku,
            "before" => query.before.unwrap_or(i64::MAX),
            "fetch" => i64::from(limit) + 1,
        },
    )?;
    let mut records = rows.into_iter().map(drift_from_row).collect::<Result<Vec<_>>>()?;
    let next_before = next_page(&mut records, limit).map(|last| last.id);
    Ok(DriftPage { records, next_before })
}

/// Deletes drift records found before `older_than`.
pub(super) fn prune_drift(tx: &mut Tx<'_>, older_than: i64) -> Result<usize> {
    let deleted = tx.exec_drop("DELETE FROM {p}drift WHERE recorded_at < ?", (older_than,))?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

// ---------------------------------------------------------------------------------------------
// Named state
// ---------------------------------------------------------------------------------------------

/// A named value.
pub(super) fn state(tx: &mut Tx<'_>, name: &str) -> Result<Option<String>> {
    tx.exec_first("SELECT value FROM {p}sync_state WHERE name = ?", (name,))
}

/// Sets a named value.
pub(super) fn set_state(tx: &mut Tx<'_>, name: &str, value: &str, now: i64) -> Result<()> {
    tx.exec_drop(
        "INSERT INTO {p}sync_state (name, value, updated_at) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)",
        (name, value, now),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Bulk reads for planning
// ---------------------------------------------------------------------------------------------

/// `?, ?, …` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A page of one channel's listings, by SKU, after `after`.
pub(super) fn channel_listings(tx: &mut Tx<'_>, channel: &str, after: &str, limit: u32) -> Result<Vec<Listing>> {
    let sql = format!(
        "SELECT {} FROM {{p}}listings WHERE channel = ? AND sku > ? ORDER BY sku LIMIT ?",
        listings::COLUMNS
    );
    let rows: Vec<Row> = tx.exec(&sql, (channel, after, limit))?;
    rows.into_iter().map(listings::from_row).collect()
}

/// Items without a remote id on `channel`, by SKU, after `after`.
pub(super) fn unmapped_skus(tx: &mut Tx<'_>, channel: &str, after: &str, limit: u32) -> Result<Vec<String>> {
    tx.exec(
        "SELECT i.sku FROM {p}items i LEFT JOIN {p}listings l ON l.channel = ? AND l.sku = i.sku
         WHERE i.sku > ? AND l.remote_id IS NULL ORDER BY i.sku LIMIT ?",
        (channel, after, limit),
    )
}

/// Every listing of these SKUs (all channels), by SKU then channel within each chunk of
/// [`listing::SKUS_PER_QUERY`] (as on SQLite), on the index `listings (sku, channel)`.
pub(super) fn listings_of(tx: &mut Tx<'_>, skus: &[&str]) -> Result<Vec<Listing>> {
    let mut listings = Vec::new();
    for chunk in skus.chunks(listing::SKUS_PER_QUERY) {
        let sql = format!(
            "SELECT {} FROM {{p}}listings WHERE sku IN ({}) ORDER BY sku, channel",
            listings::COLUMNS,
            placeholders(chunk.len())
        );
        let rows: Vec<Row> = tx.exec(&sql, chunk.to_vec())?;
        for row in rows {
            listings.push(listings::from_row(row)?);
        }
    }
    Ok(listings)
}

/// Which of these SKUs are items linked to a store product (`product_id` set).
pub(super) fn linked_skus(tx: &mut Tx<'_>, skus: &[&str]) -> Result<Vec<String>> {
    let mut linked = Vec::new();
    for chunk in skus.chunks(listing::SKUS_PER_QUERY) {
        let sql = format!(
            "SELECT sku FROM {{p}}items WHERE product_id IS NOT NULL AND sku IN ({})",
            placeholders(chunk.len())
        );
        let found: Vec<String> = tx.exec(&sql, chunk.to_vec())?;
        linked.extend(found);
    }
    Ok(linked)
}

/// The pending and running jobs of these SKUs (all channels), by id, on the index
/// `jobs (sku, status, id)`.
pub(super) fn open_jobs(tx: &mut Tx<'_>, skus: &[&str]) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for chunk in skus.chunks(listing::SKUS_PER_QUERY) {
        let clause = format!(
            "WHERE sku IN ({}) AND status IN ('pending', 'running') ORDER BY id",
            placeholders(chunk.len())
        );
        jobs.extend(super::jobs::select(tx, &clause, chunk.to_vec())?);
    }
    jobs.sort_by_key(|job| job.id);
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mysql::prelude::Queryable;

    use crate::ledger::tests::TestDatabase;
    use crate::ledger::{ChannelInput, ChannelType, ItemInput, LedgerStore, MariaDbLedger, MariaDbOptions};

    const T0: i64 = 1_700_000_000;

    fn job(status: &str, key: &str) -> String {
        format!(
            "INSERT INTO jobs (channel, sku, desired, status, priority, attempts, revision, next_attempt_at,
                               idempotency_key, created_at, updated_at)
             VALUES ('c', 'A', 1, '{status}', 0, 0, 0, {T0}, '{key}', {T0}, {T0})"
        )
    }

    #[test]
    fn a_job_enqueued_while_its_channel_is_deleted_is_kept() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = MariaDbLedger::open_opts(db.opts(), &MariaDbOptions::default()).unwrap();
        let item = ItemInput {
            sku: "A".into(),
            name: "A".into(),
            ..ItemInput::default()
        };
        ledger.upsert_item(&item, T0).unwrap();
        ledger
            .save_channel(&ChannelInput::new("c", ChannelType::Shopify, "C"), T0)
            .unwrap();
        // Another server: a finished job, then one being enqueued, committed only after the
        // deletion has checked for open jobs.
        let mut other = mysql::Conn::new(db.opts()).unwrap();
        other.query_drop(job("done", "k-done")).unwrap();
        other.query_drop("START TRANSACTION").unwrap();
        other.query_drop(job("pending", "k-new")).unwrap();
        let deleted = std::thread::scope(|scope| {
            let deleting = scope.spawn(|| ledger.delete_channel("c"));
            // Long enough for the deletion to check and, where its scan meets the new row, to
            // wait for it; well within the lock wait timeout (5 s).
            std::thread::sleep(Duration::from_millis(1_500));
            other.query_drop("COMMIT").unwrap();
            deleting.join().unwrap()
        });
        assert_eq!(deleted.unwrap().key, "c");
        let left: Vec<String> = other
            .query("SELECT idempotency_key FROM jobs WHERE channel = 'c'")
            .unwrap();
        assert_eq!(left, ["k-new"], "the new job is not dropped silently");
        assert_eq!(ledger.channel("c").unwrap(), None);
    }
}
