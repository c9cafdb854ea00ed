//! The sync log: one record per sync run (queue run, incremental or full sync, reconciliation,
//! pull) with its counts, the drift reconciliation found, and a small key/value state for cursors.
//! Plain values shared by every backend.
//!
//! **Drift** is kept in its own log ([`DriftRecord`]: channel, SKU, expected, remote, repaired,
//! the run that found it) rather than only as a count: the dashboard shows which listings drifted
//! and the owner can see whether a channel keeps drifting. What a channel showed is also recorded
//! on its listing (`record_listing_seen`), which the planner reads.

use super::listing;
use super::rules;
use super::MAX_QUANTITY;
use crate::{Error, Result};

/// Longest error text kept on a run, in characters (longer texts are cut).
pub const MAX_RUN_ERROR_CHARS: usize = 2000;

/// Longest sync state name, in characters.
pub const MAX_STATE_NAME_CHARS: usize = 100;

/// Longest sync state value, in characters.
pub const MAX_STATE_VALUE_CHARS: usize = 4000;

/// What a sync run did. The string forms (`as_str`, `parse`) are what PHP and the logs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncKind {
    /// A queue run: claimed jobs pushed to channels.
    Queue,
    /// SKUs changed since the last incremental sync re-planned.
    Incremental,
    /// Every SKU re-planned.
    Full,
    /// Readable channels compared with what they should show, drift repaired.
    Reconcile,
    /// A primary source's levels applied.
    Pull,
}

impl SyncKind {
    /// Every kind, in a fixed order.
    pub const ALL: [SyncKind; 5] = [
        SyncKind::Queue,
        SyncKind::Incremental,
        SyncKind::Full,
        SyncKind::Reconcile,
        SyncKind::Pull,
    ];

    /// The kind's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Queue => "queue",
            SyncKind::Incremental => "incremental",
            SyncKind::Full => "full",
            SyncKind::Reconcile => "reconcile",
            SyncKind::Pull => "pull",
        }
    }

    /// Parses a kind name (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        SyncKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = SyncKind::ALL.iter().map(|k| k.as_str()).collect();
                Error::validation(
                    "kind",
                    format!("unknown sync kind {text:?}; expected one of {}", names.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for SyncKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run counted. Each kind fills the counts that apply to it and leaves the others 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncCounts {
    /// SKUs looked at.
    pub skus: u64,
    /// Jobs the plan asked for.
    pub planned: u64,
    /// Jobs created or changed in the outbox by them (the rest already carried the value).
    pub enqueued: u64,
    /// Quantities delivered to channels (applied or accepted).
    pub pushed: u64,
    /// Pushes that failed (retried + dead).
    pub failed: u64,
    /// Failed pushes back in line with backoff.
    pub retried: u64,
    /// Failed pushes given up (permanent failure or attempt limit).
    pub dead: u64,
    /// Listings found showing another number than expected.
    pub drift: u64,
    /// SKUs skipped (unknown SKUs in a pull, listings a channel does not have, …).
    pub skipped: u64,
    /// HTTP calls made to channels or sources.
    pub calls: u64,
    /// How long the run took, in milliseconds (measured by the caller).
    pub duration_ms: u64,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Started, not finished (still going, or its process stopped).
    Running,
    /// Finished without an error.
    Done,
    /// Finished with an error (see [`SyncRun::error`]); its counts say how far it got.
    Failed,
}

impl RunStatus {
    /// The status's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
        }
    }

    /// Parses a status name (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "running" => Ok(RunStatus::Running),
            "done" => Ok(RunStatus::Done),
            "failed" => Ok(RunStatus::Failed),
            _ => Err(Error::validation(
                "status",
                format!("unknown run status {text:?}; expected running, done or failed"),
            )),
        }
    }
}

/// One sync run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    /// Increases with every run; the paging cursor.
    pub id: i64,
    /// What the run did.
    pub kind: SyncKind,
    /// Where it is.
    pub status: RunStatus,
    /// What it counted (zeros while running).
    pub counts: SyncCounts,
    /// Why it failed, or what went wrong on the way (a channel that could not be built, …).
    pub error: Option<String>,
    /// When it started (unix seconds).
    pub started_at: i64,
    /// When it finished (unix seconds).
    pub finished_at: Option<i64>,
}

/// Which runs to show: newest first, before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRunQuery {
    /// Only this kind.
    pub kind: Option<SyncKind>,
    /// Only this status.
    pub status: Option<RunStatus>,
    /// Only runs with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1–[`MAX_PAGE`](super::MAX_PAGE).
    pub limit: u32,
}

impl Default for SyncRunQuery {
    fn default() -> Self {
        SyncRunQuery {
            kind: None,
            status: None,
            before: None,
            limit: 50,
        }
    }
}

/// A page of runs, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRunPage {
    /// The runs.
    pub runs: Vec<SyncRun>,
    /// Pass as [`SyncRunQuery::before`] for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// Which runs to count, in buckets of a fixed width: `[since, until)`, slots aligned to the
/// site's local midnight (or hour) by `offset_seconds` (the site's UTC offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    /// First instant counted (unix seconds).
    pub since: i64,
    /// First instant not counted (unix seconds), after `since`.
    pub until: i64,
    /// Bucket width in seconds: 3,600 (hour), 86,400 (day), 604,800 (week), or [`MONTH`] for
    /// calendar months of the site's time.
    pub bucket_seconds: i64,
    /// The site's offset from UTC in seconds (−14 h … +14 h): buckets start at local midnight.
    pub offset_seconds: i64,
    /// Only this kind of run.
    pub kind: Option<SyncKind>,
}

/// Checks a span `[since, until)` of unix seconds: `until` after `since`, both ≥ 0.
pub fn check_span(since: i64, until: i64) -> Result<()> {
    if since < 0 || until <= since {
        return Err(Error::validation(
            "until",
            "must be after since (both unix seconds ≥ 0)",
        ));
    }
    Ok(())
}

/// Most buckets one query may ask for.
pub const MAX_ACTIVITY_BUCKETS: i64 = 2000;

/// `bucket_seconds` for calendar months (the mean Gregorian month; only a marker: months are
/// counted by the calendar, from the 1st at local midnight).
pub const MONTH: i64 = 2_629_746;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month) of a day counted from 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month)
}

impl ActivityQuery {
    /// The query checked, or a validation error naming the field.
    pub fn validated(&self) -> Result<ActivityQuery> {
        if ![3_600, 86_400, 604_800, MONTH].contains(&self.bucket_seconds) {
            return Err(Error::validation("bucket", "must be hour, day, week or month"));
        }
        if self.offset_seconds.abs() > 14 * 3_600 {
            return Err(Error::validation("offset", "must be within ±14 hours"));
        }
        check_span(self.since, self.until)?;
        if (self.until - self.since) / self.bucket_seconds > MAX_ACTIVITY_BUCKETS {
            return Err(Error::validation(
                "since",
                format!("at most {MAX_ACTIVITY_BUCKETS} buckets"),
            ));
        }
        Ok(self.clone())
    }

    /// What is added to an instant before dividing it into fixed-width slots: the site's offset,
    /// and for weeks 4 days less, so that weeks start on Monday (1970-01-01 was a Thursday).
    pub fn shift(&self) -> i64 {
        if self.bucket_seconds == 604_800 {
            self.offset_seconds - 4 * 86_400
        } else {
            self.offset_seconds
        }
    }

    /// The slot (bucket number) of an instant; for months, year × 12 + month − 1.
    pub fn slot(&self, at: i64) -> i64 {
        if self.bucket_seconds == MONTH {
            let (year, month) = civil_from_days((at + self.offset_seconds).div_euclid(86_400));
            return year * 12 + month - 1;
        }
        (at + self.shift()).div_euclid(self.bucket_seconds)
    }

    /// When a slot starts (unix seconds): local midnight, Monday for weeks, the 1st for months.
    pub fn slot_start(&self, slot: i64) -> i64 {
        if self.bucket_seconds == MONTH {
            let (year, month) = (slot.div_euclid(12), slot.rem_euclid(12) + 1);
            return days_from_civil(year, month, 1) * 86_400 - self.offset_seconds;
        }
        slot * self.bucket_seconds - self.shift()
    }
}

/// The runs started in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityBucket {
    /// When the bucket starts (unix seconds; local midnight for days).
    pub start: i64,
    /// Runs started.
    pub runs: u64,
    /// Of those, finished well.
    pub done: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Quantities pushed to channels.
    pub pushed: u64,
    /// Pushes that failed (retried or dead).
    pub push_failures: u64,
    /// Sum of the finished runs' durations (ms): the average is this over `done + failed`.
    pub duration_ms: u64,
}

impl ActivityBucket {
    /// A bucket counted by a store, before its start is known: runs, done, failed, pushed, push
    /// failures, duration (ms), in the order the stores' queries select them.
    pub(crate) fn counted([runs, done, failed, pushed, push_failures, duration_ms]: [u64; 6]) -> ActivityBucket {
        ActivityBucket {
            start: 0,
            runs,
            done,
            failed,
            pushed,
            push_failures,
            duration_ms,
        }
    }

    /// Adds another bucket's counts to this one.
    pub fn add(&mut self, other: &ActivityBucket) {
        self.runs += other.runs;
        self.done += other.done;
        self.failed += other.failed;
        self.pushed += other.pushed;
        self.push_failures += other.push_failures;
        self.duration_ms += other.duration_ms;
    }
}

/// Every bucket of `query`, oldest first, empty ones included; `counted` holds the non-empty
/// ones by slot (as the store grouped them).
pub fn fill_activity(query: &ActivityQuery, counted: &[(i64, ActivityBucket)]) -> Vec<ActivityBucket> {
    let counted: std::collections::HashMap<i64, &ActivityBucket> = counted.iter().map(|(s, b)| (*s, b)).collect();
    let (first, last) = (query.slot(query.since), query.slot(query.until - 1));
    (first..=last)
        .map(|slot| ActivityBucket {
            start: query.slot_start(slot),
            ..counted.get(&slot).map(|b| (*b).clone()).unwrap_or_default()
        })
        .collect()
}

/// What a store answers for [`LedgerStore::sync_activity`](super::LedgerStore::sync_activity),
/// given `count`, which counts the runs of a query of fixed-width buckets per slot with one
/// `GROUP BY` (non-empty slots only, by slot): the query checked, calendar months counted per day
/// and the days added into their months (months differ in length), every bucket filled.
pub(crate) fn activity(
    query: &ActivityQuery,
    count: impl FnOnce(&ActivityQuery) -> Result<Vec<(i64, ActivityBucket)>>,
) -> Result<Vec<ActivityBucket>> {
    let query = query.validated()?;
    let counted = if query.bucket_seconds == MONTH {
        let days = ActivityQuery {
            bucket_seconds: 86_400,
            ..query.clone()
        };
        let mut months: Vec<(i64, ActivityBucket)> = Vec::new();
        for (day, bucket) in count(&days)? {
            let month = query.slot(days.slot_start(day));
            match months.last_mut() {
                Some((slot, total)) if *slot == month => total.add(&bucket),
                _ => months.push((month, bucket)),
            }
        }
        months
    } else {
        count(&query)?
    };
    Ok(fill_activity(&query, &counted))
}

/// What a store answers for
/// [`LedgerStore::sync_activity_by_hour`](super::LedgerStore::sync_activity_by_hour), given
/// `count` as for [`activity`]: the query checked (hours only), the hours counted and added into
/// the 24 hours of the site's day (`start` = the hour).
pub(crate) fn activity_by_hour(
    query: &ActivityQuery,
    count: impl FnOnce(&ActivityQuery) -> Result<Vec<(i64, ActivityBucket)>>,
) -> Result<Vec<ActivityBucket>> {
    let query = query.validated()?;
    if query.bucket_seconds != 3_600 {
        return Err(Error::validation("bucket", "must be hour"));
    }
    let mut hours: Vec<ActivityBucket> = (0..24)
        .map(|hour| ActivityBucket {
            start: hour,
            ..ActivityBucket::default()
        })
        .collect();
    for (slot, bucket) in count(&query)? {
        hours[usize::try_from(slot.rem_euclid(24)).unwrap_or(0)].add(&bucket);
    }
    Ok(hours)
}

/// Checks how many error texts [`LedgerStore::sync_errors`](super::LedgerStore::sync_errors) is
/// asked for (1–100).
pub(crate) fn errors_limit(limit: u32) -> Result<u32> {
    if !(1..=100).contains(&limit) {
        return Err(Error::validation("limit", "must be 1–100"));
    }
    Ok(limit)
}

/// Refuses finishing a run that is not running (a run is finished once).
pub(crate) fn check_finishable(run: &SyncRun) -> Result<()> {
    if run.status != RunStatus::Running {
        return Err(Error::Conflict(format!(
            "sync run #{} is already {}",
            run.id,
            run.status.as_str()
        )));
    }
    Ok(())
}

/// The status a run finishes with: failed when it reports an error (as cleaned by
/// [`error_text`]), else done.
pub(crate) fn finished_status(error: Option<&str>) -> RunStatus {
    if error.is_some() {
        RunStatus::Failed
    } else {
        RunStatus::Done
    }
}

/// Drift records checked and normalised for one call: at most
/// [`MAX_ENQUEUE`](super::job::MAX_ENQUEUE), each as [`NewDrift::validated`] with its place
/// (`drift[2].expected`).
pub(crate) fn validated_drift(records: &[NewDrift]) -> Result<Vec<NewDrift>> {
    let most = super::job::MAX_ENQUEUE;
    if records.len() > most {
        return Err(Error::validation(
            "drift",
            format!("at most {most} records per call, got {}", records.len()),
        ));
    }
    records
        .iter()
        .enumerate()
        .map(|(i, record)| record.validated(&format!("drift[{i}].")))
        .collect()
}

/// A listing found showing another number than it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDrift {
    /// The channel key.
    pub channel: String,
    /// The SKU.
    pub sku: String,
    /// What the channel should show (its allocation).
    pub expected: i64,
    /// What it showed.
    pub remote: i64,
    /// Whether a job to repair it was enqueued.
    pub repaired: bool,
    /// The run that found it.
    pub run_id: Option<i64>,
}

impl NewDrift {
    /// The record checked and normalised, or a validation error naming the field, prefixed with
    /// `prefix` (`drift[3].`).
    pub(crate) fn validated(&self, prefix: &str) -> Result<NewDrift> {
        let named = |error: Error| match error {
            Error::Validation { field, message } => Error::validation(format!("{prefix}{field}"), message),
            other => other,
        };
        Ok(NewDrift {
            channel: listing::channel(&self.channel).map_err(named)?,
            sku: rules::sku("sku", &self.sku).map_err(named)?,
            expected: rules::in_range("expected", self.expected, 0, MAX_QUANTITY).map_err(named)?,
            remote: rules::in_range("remote", self.remote, -MAX_QUANTITY, MAX_QUANTITY).map_err(named)?,
            repaired: self.repaired,
            run_id: self.run_id,
        })
    }
}

/// One drift record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftRecord {
    /// Increases with every record; the paging cursor.
    pub id: i64,
    /// The channel key.
    pub channel: String,
    /// The SKU.
    pub sku: String,
    /// What the channel should have shown.
    pub expected: i64,
    /// What it showed.
    pub remote: i64,
    /// Whether a repair job was enqueued.
    pub repaired: bool,
    /// The run that found it.
    pub run_id: Option<i64>,
    /// When it was found (unix seconds).
    pub recorded_at: i64,
}

/// Which drift records to show: newest first, before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftQuery {
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this SKU.
    pub sku: Option<String>,
    /// Only records with an id below this.
    pub before: Option<i64>,
    /// Page size, 1–[`MAX_PAGE`](super::MAX_PAGE).
    pub limit: u32,
}

impl DriftQuery {
    /// The channel and SKU filters as the stores apply them: trimmed, and none when empty.
    pub(crate) fn filters(&self) -> (Option<&str>, Option<&str>) {
        fn filter(value: &Option<String>) -> Option<&str> {
            value.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        (filter(&self.channel), filter(&self.sku))
    }
}

impl Default for DriftQuery {
    fn default() -> Self {
        DriftQuery {
            channel: None,
            sku: None,
            before: None,
            limit: 50,
        }
    }
}

/// A page of drift records, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftPage {
    /// The records.
    pub records: Vec<DriftRecord>,
    /// Pass as [`DriftQuery::before`] for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// A run's error text as kept: trimmed, control characters (but line breaks) as spaces, cut to
/// [`MAX_RUN_ERROR_CHARS`]; empty means none.
pub(crate) fn error_text(value: Option<&str>) -> Option<String> {
    let cleaned: String = value?
        .trim()
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let cleaned = super::access::redact_keys(cleaned.trim()).into_owned();
    if cleaned.is_empty() {
        return None;
    }
    if cleaned.chars().count() <= MAX_RUN_ERROR_CHARS {
        return Some(cleaned);
    }
    let mut cut: String = cleaned.chars().take(MAX_RUN_ERROR_CHARS - 1).collect();
    cut.push('…');
    Some(cut)
}

/// A sync state name: trimmed, 1–100 characters, single line.
pub(crate) fn state_name(value: &str) -> Result<String> {
    rules::required("name", value, MAX_STATE_NAME_CHARS)
}

/// A sync state value: at most 4000 characters, kept as given.
pub(crate) fn state_value(value: &str) -> Result<String> {
    let chars = value.chars().count();
    if chars > MAX_STATE_VALUE_CHARS {
        return Err(Error::validation(
            "value",
            format!("must be at most {MAX_STATE_VALUE_CHARS} characters, got {chars}"),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_parse_and_print() {
        for kind in SyncKind::ALL {
            assert_eq!(SyncKind::parse(kind.as_str()).unwrap(), kind);
        }
        for status in [RunStatus::Running, RunStatus::Done, RunStatus::Failed] {
            assert_eq!(RunStatus::parse(status.as_str()).unwrap(), status);
        }
        assert!(SyncKind::parse("nightly").is_err());
        assert!(RunStatus::parse("lost").is_err());
    }

    #[test]
    fn drift_and_state_inputs_are_checked() {
        let drift = NewDrift {
            channel: " shop ".into(),
            sku: " A ".into(),
            expected: 3,
            remote: -1,
            repaired: true,
            run_id: None,
        };
        let valid = drift.validated("").unwrap();
        assert_eq!((valid.channel.as_str(), valid.sku.as_str()), ("shop", "A"));
        let field = |d: NewDrift| match d.validated("drift[1].") {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(NewDrift {
                expected: -1,
                ..drift.clone()
            }),
            "drift[1].expected"
        );
        assert_eq!(
            field(NewDrift {
                channel: "".into(),
                ..drift.clone()
            }),
            "drift[1].channel"
        );
        assert_eq!(
            field(NewDrift {
                sku: "".into(),
                ..drift
            }),
            "drift[1].sku"
        );
        assert!(state_name(" ").is_err());
        assert!(state_value(&"x".repeat(MAX_STATE_VALUE_CHARS + 1)).is_err());
        assert_eq!(error_text(Some("  ")), None);
        assert_eq!(error_text(Some(" a\u{0}b ")).as_deref(), Some("a b"));
    }
}
