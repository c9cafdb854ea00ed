//! [`LedgerStore`] on an SQLite file: the embedded default.
//!
//! Several PHP workers share the file, so: WAL mode (readers never block the writer), a busy
//! timeout (writers queue instead of failing), `synchronous=NORMAL` (durable at checkpoints, safe
//! against corruption), foreign keys on, and `BEGIN IMMEDIATE` for every write so the idempotency
//! check and the write it guards happen under one lock. Transactions roll back unless committed.
//!
//! The stock ledger's SQL is here; the SQL of what the workers share around it lives in
//! submodules: `keys` (API keys, rate-limit counters), `logs` (security and inbound events logs),
//! `listings`, `jobs` (the outbox). Their trait methods below validate first, then run one of those in a transaction.

use std::cell::Cell;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::message::{self, Message, MessagePage, MessageQuery, NewMessage};
use super::plan::{self, Locations, Plan, Reservation};
pub(crate) use super::plan::{next_page, not_found};
use super::rules::{self, Leg, Quantities};
use super::schema;
use super::{access, channel, job, listing, run};
use super::{
    ActivityBucket, ActivityQuery, ChannelConfig, ChannelInput, DriftPage, DriftQuery, NewDrift, SyncCounts, SyncKind,
    SyncRun, SyncRunPage, SyncRunQuery,
};
use super::{
    AlertThresholds, ApiKey, Backoff, ChangedSkus, ClearJobs, Completion, HistoryPage, HistoryQuery, InboundEvent,
    InboundPage, InboundQuery, InboundRecord, IssuedApiKey, Item, ItemInput, ItemPage, ItemQuery, Job, JobCounts,
    JobPage, JobQuery, JobRef, KeyCheck, LedgerStore, Listing, Location, LocationStock, Movement, MovementKind,
    MovementOutcome, MovementRequest, NewApiKey, NewJob, RateDecision, SecurityEvent, SecurityPage, SecurityQuery,
    SecurityRecord, SkuStock,
};
use super::{ApiRequest, Feed, FeedUpdate, RequestBucket, RouteStats};
use crate::error::ErrorKind;
use crate::{Error, Result};

mod feeds;
mod jobs;
mod keys;
mod listings;
mod logs;
mod messages;
mod requests;
mod sync;
#[cfg(test)]
mod test_store;

/// Prepared statements kept per connection. Recording a movement runs about a dozen distinct
/// statements; rusqlite's default of 16 would let the other queries evict them, and compiling a
/// statement costs more than running it.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// How an SQLite ledger is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a writer waits for another writer's lock before failing with a retryable
    /// [`Error::Ledger`]. Default: 5 seconds.
    pub busy_timeout: Duration,
    /// How failed pushes back off and when they die. Default: [`Backoff::default`].
    pub backoff: Backoff,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
        }
    }
}

/// The ledger in an SQLite file (or in memory, for tests). One connection, guarded by a mutex, so
/// the value can be shared between threads; open one per process or thread for parallelism.
#[derive(Debug)]
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    backoff: Backoff,
    busy_timeout: Duration,
}

thread_local! {
    /// Until when the connection in use on this thread may wait for another writer's lock (set
    /// each time a ledger's connection is taken: [`SqliteLedger::lock`]).
    static BUSY_UNTIL: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// SQLite's busy handler: waits in short sleeps until [`BUSY_UNTIL`]. Our write transactions last
/// well under a millisecond, but SQLite's own handler (`busy_timeout`) sleeps 1, 2, 5, 10, 15,
/// 20, 25 … ms between tries, so two PHP workers taking a webhook each at once cost the second
/// one several milliseconds of sleep; here it tries again after 50 µs, backing off to 1 ms.
fn wait_for_lock(tries: i32) -> bool {
    let until = BUSY_UNTIL
        .with(Cell::get)
        .unwrap_or_else(|| Instant::now() + SqliteOptions::default().busy_timeout);
    let now = Instant::now();
    if now >= until {
        return false;
    }
    let pause = match tries {
        0..=19 => Duration::from_micros(50),
        20..=59 => Duration::from_micros(250),
        _ => Duration::from_millis(1),
    };
    std::thread::sleep(pause.min(until - now));
    true
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger file at `path` with default options. The parent
    /// directory must exist: the plugin chooses and prepares the location.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens (creating if needed) the ledger file at `path`, brings its schema up to date, and
    /// refuses a file written by a newer build (leaving it untouched).
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self> {
        let path = path.as_ref();
        let context = || format!("cannot open the ledger file {}", path.display());
        let conn = Connection::open(path).map_err(|e| Error::ledger(context(), e))?;
        Self::configure(conn, options).map_err(|e| with_context(e, &context()))
    }

    /// A private in-memory ledger (tests, previews). Nothing is persisted.
    pub fn open_in_memory() -> Result<Self> {
        Self::open_in_memory_with(&SqliteOptions::default())
    }

    /// A private in-memory ledger with these options (tests, previews). Nothing is persisted.
    pub fn open_in_memory_with(options: &SqliteOptions) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|e| Error::ledger("cannot open an in-memory ledger", e))?;
        Self::configure(conn, options)
    }

    fn configure(mut conn: Connection, options: &SqliteOptions) -> Result<Self> {
        let backoff = options.backoff.validated()?;
        conn.busy_handler(Some(wait_for_lock))?;
        BUSY_UNTIL.with(|until| until.set(Some(Instant::now() + options.busy_timeout)));
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Statement journals (a multi-row write inside a transaction, e.g. a batch claim or an
        // update that fires the lane triggers) stay in memory: by default they spill to a
        // temporary file past 64 KiB and every later statement of the connection writes its
        // journal there, a system call per page. They hold one statement's pages at most.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Switching a fresh file to WAL needs an exclusive lock, and SQLite answers "busy" at
        // once (without waiting) when another process is doing the same; every step here is
        // idempotent, so retry until the busy timeout.
        retry_while_busy(options.busy_timeout, || {
            // Before anything can write to it: a newer file stays exactly as it is.
            schema::refuse_newer(&conn, schema::MIGRATIONS)?;
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
            schema::migrate(&mut conn, schema::MIGRATIONS)
        })?;
        Ok(SqliteLedger {
            conn: Mutex::new(conn),
            backoff,
            busy_timeout: options.busy_timeout,
        })
    }

    /// The journal mode in effect (`wal` for a file, `memory` in memory), for the health page.
    pub fn journal_mode(&self) -> Result<String> {
        Ok(self.lock().query_row("PRAGMA journal_mode", [], |row| row.get(0))?)
    }

    /// The connection. A panic while it was held cannot leave a transaction open (transactions
    /// roll back when dropped), so a poisoned lock is safe to take over.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        BUSY_UNTIL.with(|until| until.set(Some(Instant::now() + self.busy_timeout)));
        conn
    }

    /// Runs `work` in an immediate (write) transaction, committed only if `work` succeeds.
    fn write<T>(&self, work: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&mut tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `work` on the connection inside an immediate transaction that only reads: SQLite's
    /// write lock is held throughout, so no other connection writes to the file meanwhile (for
    /// [`copy_sqlite_to_mariadb`](super::copy::copy_sqlite_to_mariadb)).
    pub(super) fn read_holding_write_lock<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.write(|tx| work(tx))
    }

    /// Runs `work` in a read transaction, so it sees one consistent state.
    fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        work(&tx)
    }
}

/// Runs `step` again while it fails because the file is busy, until `timeout` has passed.
fn retry_while_busy<T>(timeout: Duration, mut step: impl FnMut() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    loop {
        match step() {
            Err(error) if error.is_retryable() && started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

/// Prefixes a store error with what was being done.
fn with_context(error: Error, context: &str) -> Error {
    match error {
        Error::Ledger { message, source } => Error::Ledger {
            message: format!("{context}: {message}"),
            source,
        },
        other => other,
    }
}

impl LedgerStore for SqliteLedger {
    fn upsert_item(&self, item: &ItemInput, now: i64) -> Result<Item> {
        let item = item.validated()?;
        self.write(|tx| {
            save_item(tx, &item, now)?;
            find_item(tx, &item.sku)?.ok_or_else(|| not_found("sku", &item.sku))
        })
    }

    fn get_item(&self, sku: &str) -> Result<Option<Item>> {
        find_item(&self.lock(), sku.trim())
    }

    fn list_items(&self, query: &ItemQuery) -> Result<ItemPage> {
        let limit = rules::page_limit(query.limit)?;
        let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let after = query.after.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM items
             WHERE (?1 IS NULL OR sku > ?1)
               AND (?2 IS NULL OR substr(sku, 1, length(?2)) = ?2
                    OR lower(substr(name, 1, length(?2))) = lower(?2))
             ORDER BY sku LIMIT ?3"
        ))?;
        let mut items = stmt
            .query_map(params![after, search, i64::from(limit) + 1], item_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let next_after = next_page(&mut items, limit).map(|last| last.sku.clone());
        Ok(ItemPage { items, next_after })
    }

    fn upsert_location(&self, location: &Location, now: i64) -> Result<Location> {
        let location = location.validated()?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO locations (code, name, priority, active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, priority = excluded.priority,
                     active = excluded.active, updated_at = excluded.updated_at",
                params![location.code, location.name, location.priority, location.active, now],
            )?;
            Ok(location)
        })
    }

    fn list_locations(&self) -> Result<Vec<Location>> {
        all_locations(&self.lock())
    }

    fn record(&self, request: &MovementRequest, now: i64) -> Result<MovementOutcome> {
        let request = request.validated()?;
        self.write(|tx| record_in(tx, &mut Locations::default(), &request, now))
    }

    fn record_batch(&self, requests: &[MovementRequest], now: i64) -> Result<Vec<Result<MovementOutcome>>> {
        rules::batch_size(requests.len())?;
        self.write(|tx| {
            let mut locations = Locations::default();
            requests
                .iter()
                .map(|request| record_in_savepoint(tx, &mut locations, request, now))
                .collect()
        })
    }

    fn stock(&self, sku: &str) -> Result<SkuStock> {
        let sku = sku.trim();
        self.read(|conn| {
            require_item(conn, sku)?;
            sku_stock(conn, sku)
        })
    }

    fn stock_many(&self, skus: &[&str]) -> Result<Vec<SkuStock>> {
        self.read(|conn| {
            let mut stocks = Vec::with_capacity(skus.len());
            for sku in skus.iter().map(|s| s.trim()) {
                if item_exists(conn, sku)? {
                    stocks.push(sku_stock(conn, sku)?);
                }
            }
            Ok(stocks)
        })
    }

    fn for_each_stock(&self, visit: &mut dyn FnMut(&SkuStock) -> Result<()>) -> Result<()> {
        self.read(|conn| each_stock(conn, visit))
    }

    fn history(&self, query: &HistoryQuery) -> Result<HistoryPage> {
        let limit = rules::page_limit(query.limit)?;
        let sku = query.sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let before = query.before.unwrap_or(i64::MAX);
        let fetch = i64::from(limit) + 1; // one more than asked, to know whether a next page exists
        let conn = self.lock();
        let mut movements = match sku {
            Some(sku) => movements_where(
                &conn,
                "sku = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                params![sku, before, fetch],
            )?,
            None => movements_where(&conn, "id < ?1 ORDER BY id DESC LIMIT ?2", params![before, fetch])?,
        };
        let next_before = next_page(&mut movements, limit).map(|last| last.id);
        Ok(HistoryPage { movements, next_before })
    }

    fn units_sold_since(&self, sku: &str, since: i64) -> Result<i64> {
        let sku = sku.trim();
        self.read(|conn| {
            require_item(conn, sku)?;
            Ok(conn.query_row(
                "SELECT COALESCE(SUM(CASE kind WHEN 'sale' THEN quantity WHEN 'commit' THEN quantity
                                               WHEN 'return' THEN -quantity ELSE 0 END), 0)
                 FROM movements WHERE sku = ?1 AND recorded_at >= ?2",
                params![sku, since],
                |row| row.get(0),
            )?)
        })
    }

    fn expire_reservations(&self, now: i64) -> Result<Vec<MovementOutcome>> {
        self.write(|tx| {
            let due = due_reservations(tx, now)?;
            let mut locations = Locations::default();
            let mut outcomes = Vec::with_capacity(due.len());
            for (id, sku, location) in due {
                let release = plan::expiry_release(id, sku, location);
                let outcome = record_in(tx, &mut locations, &release, now)?;
                if !outcome.replayed {
                    outcomes.push(outcome);
                }
            }
            Ok(outcomes)
        })
    }

    fn skus_changed_since(&self, after: i64) -> Result<ChangedSkus> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT sku, MAX(id) FROM movements WHERE id > ?1 GROUP BY sku ORDER BY sku")?;
        let rows = stmt
            .query_map([after], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let cursor = rows.iter().map(|(_, id)| *id).fold(after, i64::max);
        Ok(ChangedSkus {
            skus: rows.into_iter().map(|(sku, _)| sku).collect(),
            cursor,
        })
    }

    fn find_event(&self, event_id: &str) -> Result<Option<MovementOutcome>> {
        let movements = event_movements(&self.lock(), event_id.trim())?;
        Ok((!movements.is_empty()).then(|| MovementOutcome::from_movements(movements, true)))
    }

    fn issue_api_key(&self, key: &NewApiKey, secret_bytes: &[u8], now: i64) -> Result<IssuedApiKey> {
        let (key, material) = access::prepare_issue(key, secret_bytes, now)?;
        let stored = self.write(|tx| keys::issue(tx, &key, &material, now))?;
        Ok(IssuedApiKey {
            key: stored,
            plaintext: material.plaintext,
        })
    }

    fn authenticate_api_key(&self, plaintext: &str, now: i64) -> Result<KeyCheck> {
        match access::presented_key_hash(plaintext) {
            Some(hash) => self.write(|tx| keys::authenticate(tx, &hash, now)),
            None => Ok(KeyCheck::Unknown),
        }
    }

    fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        keys::list(&self.lock())
    }

    fn revoke_api_key(&self, id: i64, now: i64) -> Result<ApiKey> {
        self.write(|tx| keys::revoke(tx, id, now))
    }

    fn rate_limit(&self, bucket: &str, limit: u32, window_seconds: u32, now: i64) -> Result<RateDecision> {
        let bucket = access::validate_rate_limit(bucket, limit, window_seconds)?;
        self.write(|tx| keys::rate_limit(tx, &bucket, limit, window_seconds, now))
    }

    fn record_security(&self, event: &SecurityEvent, now: i64) -> Result<SecurityRecord> {
        let event = event.validated()?;
        self.write(|tx| logs::record_security(tx, &event, now))
    }

    fn list_security(&self, query: &SecurityQuery) -> Result<SecurityPage> {
        logs::list_security(&self.lock(), query)
    }

    fn prune_security(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| logs::prune_security(tx, older_than))
    }

    fn record_api_request(&self, request: &ApiRequest, now: i64) -> Result<()> {
        let request = request.validated()?;
        self.write(|tx| requests::record(tx, &request, now))
    }

    fn api_activity(&self, query: &ActivityQuery) -> Result<Vec<RequestBucket>> {
        let query = query.validated()?;
        let hours = requests::hourly(&self.lock(), query.since, query.until)?;
        Ok(crate::ledger::requests::fill_buckets(&query, &hours))
    }

    fn api_routes(&self, since: i64, until: i64) -> Result<Vec<RouteStats>> {
        run::check_span(since, until)?;
        requests::by_route(&self.lock(), since, until)
    }

    fn prune_api_requests(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| requests::prune(tx, older_than))
    }

    fn record_inbound(&self, event: &InboundEvent, now: i64) -> Result<InboundRecord> {
        let event = event.validated()?;
        self.write(|tx| logs::record_inbound(tx, &event, now))
    }

    fn find_inbound(&self, provider: &str, dedup_key: &str) -> Result<Option<InboundRecord>> {
        logs::find_inbound(&self.lock(), provider.trim(), dedup_key.trim())
    }

    fn list_inbound(&self, query: &InboundQuery) -> Result<InboundPage> {
        logs::list_inbound(&self.lock(), query)
    }

    fn prune_inbound(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| logs::prune_inbound(tx, older_than))
    }

    fn listing(&self, channel: &str, sku: &str) -> Result<Option<Listing>> {
        listings::find(&self.lock(), channel.trim(), sku.trim())
    }

    fn listing_by_remote_id(&self, channel: &str, remote_id: &str) -> Result<Option<Listing>> {
        listings::find_by_remote_id(&self.lock(), channel.trim(), remote_id.trim())
    }

    fn upsert_listing_remote_id(&self, channel: &str, sku: &str, remote_id: Option<&str>, now: i64) -> Result<Listing> {
        let (channel, sku) = (listing::channel(channel)?, rules::sku("sku", sku)?);
        let remote_id = listing::remote_id(remote_id)?;
        let change = listing::Change::RemoteId(remote_id.as_deref());
        self.write(|tx| listings::update(tx, &channel, &sku, change, now))
    }

    fn record_listing_pushed(&self, channel: &str, sku: &str, quantity: i64, now: i64) -> Result<Listing> {
        let (channel, sku) = (listing::channel(channel)?, rules::sku("sku", sku)?);
        let change = listing::Change::Pushed(listing::pushed_quantity(quantity)?);
        self.write(|tx| listings::update(tx, &channel, &sku, change, now))
    }

    fn record_listing_seen(&self, channel: &str, sku: &str, quantity: i64, now: i64) -> Result<Listing> {
        let (channel, sku) = (listing::channel(channel)?, rules::sku("sku", sku)?);
        let change = listing::Change::Seen(listing::seen_quantity(quantity)?);
        self.write(|tx| listings::update(tx, &channel, &sku, change, now))
    }

    fn enqueue_jobs(&self, new_jobs: &[NewJob], now: i64) -> Result<Vec<JobRef>> {
        let valid = job::validated_batch(new_jobs)?;
        self.write(|tx| {
            let mut ids = jobs::NewIds::default();
            valid.iter().map(|new| jobs::enqueue(tx, new, &mut ids, now)).collect()
        })
    }

    fn claim_jobs(
        &self,
        owner: &str,
        channel: Option<&str>,
        limit: u32,
        claim_seconds: u32,
        now: i64,
    ) -> Result<Vec<Job>> {
        let owner = job::owner(owner)?;
        let channel = channel.map(listing::channel).transpose()?;
        job::claim_limits(limit, claim_seconds)?;
        self.write(|tx| jobs::claim(tx, &owner, channel.as_deref(), limit, claim_seconds, &self.backoff, now))
    }

    fn complete_job(&self, id: i64, owner: &str, now: i64) -> Result<Job> {
        let owner = job::owner(owner)?;
        self.write(|tx| jobs::complete(tx, id, &owner, now))
    }

    fn complete_jobs(&self, ids: &[i64], owner: &str, now: i64) -> Result<Vec<Result<Job>>> {
        let owner = job::owner(owner)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let completions: Vec<(i64, Option<&str>)> = ids.iter().map(|&id| (id, None)).collect();
        self.write(|tx| jobs::complete_all(tx, &completions, &owner, now))
    }

    fn complete_pushed(&self, completions: &[Completion], owner: &str, now: i64) -> Result<Vec<Result<Job>>> {
        let owner = job::owner(owner)?;
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        let remote_ids = job::remote_ids(completions)?;
        let completions: Vec<(i64, Option<&str>)> = completions
            .iter()
            .zip(&remote_ids)
            .map(|(c, remote_id)| (c.id, remote_id.as_deref()))
            .collect();
        self.write(|tx| jobs::complete_all(tx, &completions, &owner, now))
    }

    fn fail_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retryable: bool,
        retry_after_seconds: Option<u32>,
        now: i64,
    ) -> Result<Job> {
        let owner = job::owner(owner)?;
        let error = job::error_text(error)?;
        self.write(|tx| {
            jobs::fail(
                tx,
                id,
                &owner,
                &error,
                retryable,
                retry_after_seconds,
                &self.backoff,
                now,
            )
        })
    }

    fn release_claims(&self, owner: &str, now: i64) -> Result<usize> {
        let owner = job::owner(owner)?;
        self.write(|tx| jobs::release(tx, &owner, now))
    }

    fn jobs_held_by(&self, owner: &str, after_id: i64, limit: u32) -> Result<Vec<Job>> {
        let owner = job::owner(owner)?;
        job::claim_limits(limit, 1)?;
        self.read(|conn| jobs::held_by(conn, &owner, after_id, limit))
    }

    fn extend_claims(&self, owner: &str, claim_seconds: u32, now: i64) -> Result<usize> {
        let owner = job::owner(owner)?;
        job::claim_limits(1, claim_seconds)?;
        self.write(|tx| feeds::extend_claims(tx, &owner, claim_seconds, now))
    }

    fn begin_feed(&self, channel: &str, job_ids: &[i64], from: &str, claim_seconds: u32, now: i64) -> Result<Feed> {
        let channel = listing::channel(channel)?;
        let from = job::owner(from)?;
        job::claim_limits(1, claim_seconds)?;
        self.write(|tx| feeds::begin(tx, &channel, job_ids, &from, claim_seconds, now))
    }

    fn update_feed(&self, id: i64, update: &FeedUpdate, now: i64) -> Result<Feed> {
        self.write(|tx| feeds::update(tx, id, update, now))
    }

    fn get_feed(&self, id: i64) -> Result<Option<Feed>> {
        feeds::find(&self.lock(), id)
    }

    fn live_feeds(&self, channel: Option<&str>) -> Result<Vec<Feed>> {
        self.read(|conn| feeds::live(conn, channel))
    }

    fn recent_feeds(&self, channel: Option<&str>, limit: u32) -> Result<Vec<Feed>> {
        let limit = super::feed::recent_limit(limit)?;
        self.read(|conn| feeds::recent(conn, channel, limit))
    }

    fn feeds_started_since(&self, channel: &str, since: i64) -> Result<u32> {
        self.read(|conn| feeds::created_since(conn, channel, since))
    }

    fn get_job(&self, id: i64) -> Result<Option<Job>> {
        jobs::find(&self.lock(), id)
    }

    fn retry_job(&self, id: i64, now: i64) -> Result<Job> {
        self.write(|tx| jobs::retry(tx, id, now))
    }

    fn retry_all(&self, channel: Option<&str>, now: i64) -> Result<usize> {
        let channel = channel.map(listing::channel).transpose()?;
        self.write(|tx| jobs::retry_all(tx, channel.as_deref(), now))
    }

    fn clear_jobs(&self, filter: &ClearJobs) -> Result<usize> {
        let filter = filter.validated()?;
        self.write(|tx| jobs::clear(tx, &filter))
    }

    fn list_jobs(&self, query: &JobQuery) -> Result<JobPage> {
        let limit = rules::page_limit(query.limit)?;
        jobs::list(&self.lock(), query, limit)
    }

    fn job_counts(&self, channel: Option<&str>) -> Result<JobCounts> {
        let channel = channel.map(listing::channel).transpose()?;
        jobs::counts(&self.lock(), channel.as_deref())
    }

    fn prune_done_jobs(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| jobs::prune_done(tx, older_than))
    }

    fn save_channel(&self, input: &ChannelInput, now: i64) -> Result<ChannelConfig> {
        let valid = input.validated()?;
        self.write(|tx| sync::save_channel(tx, &valid, now))
    }

    fn channel(&self, key: &str) -> Result<Option<ChannelConfig>> {
        sync::find_channel(&self.lock(), key.trim())
    }

    fn list_channels(&self) -> Result<Vec<ChannelConfig>> {
        sync::list_channels(&self.lock())
    }

    fn delete_channel(&self, key: &str) -> Result<ChannelConfig> {
        let key = channel::key(key)?;
        self.write(|tx| sync::delete_channel(tx, &key))
    }

    fn take_pacing_token(&self, channel: &str, rate_per_second: f64, burst: u32, now_ms: i64) -> Result<u64> {
        let Some(channel) = channel::pacing_channel(channel, rate_per_second)? else {
            return Ok(0);
        };
        self.write(|tx| sync::take_pacing_token(tx, &channel, rate_per_second, burst, now_ms))
    }

    fn listings_of(&self, skus: &[&str]) -> Result<Vec<Listing>> {
        self.read(|conn| sync::listings_of(conn, skus))
    }

    fn linked_skus(&self, skus: &[&str]) -> Result<Vec<String>> {
        self.read(|conn| sync::linked_skus(conn, skus))
    }

    fn open_jobs(&self, skus: &[&str]) -> Result<Vec<Job>> {
        self.read(|conn| sync::open_jobs(conn, skus))
    }

    fn channel_listings(&self, channel: &str, after: Option<&str>, limit: u32) -> Result<Vec<Listing>> {
        let channel = listing::channel(channel)?;
        let limit = rules::page_limit(limit)?;
        sync::channel_listings(&self.lock(), &channel, after.unwrap_or(""), limit)
    }

    fn unmapped_skus(&self, channel: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        let channel = listing::channel(channel)?;
        let limit = rules::page_limit(limit)?;
        sync::unmapped_skus(&self.lock(), &channel, after.unwrap_or(""), limit)
    }

    fn start_sync_run(&self, kind: SyncKind, now: i64) -> Result<SyncRun> {
        self.write(|tx| sync::start_run(tx, kind, now))
    }

    fn finish_sync_run(&self, id: i64, counts: &SyncCounts, error: Option<&str>, now: i64) -> Result<SyncRun> {
        let error = run::error_text(error);
        self.write(|tx| sync::finish_run(tx, id, counts, error.as_deref(), now))
    }

    fn sync_activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityBucket>> {
        run::activity(query, |q| sync::activity(&self.lock(), q))
    }

    fn sync_activity_by_hour(&self, query: &ActivityQuery) -> Result<Vec<ActivityBucket>> {
        run::activity_by_hour(query, |q| sync::activity(&self.lock(), q))
    }

    fn sync_errors(&self, since: i64, limit: u32) -> Result<Vec<(String, u64, i64)>> {
        let limit = run::errors_limit(limit)?;
        sync::errors_since(&self.lock(), since, limit)
    }

    fn list_sync_runs(&self, query: &SyncRunQuery) -> Result<SyncRunPage> {
        let limit = rules::page_limit(query.limit)?;
        sync::list_runs(&self.lock(), query, limit)
    }

    fn prune_sync_runs(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| sync::prune_runs(tx, older_than))
    }

    fn record_drift(&self, records: &[NewDrift], now: i64) -> Result<usize> {
        let valid = run::validated_drift(records)?;
        self.write(|tx| sync::record_drift(tx, &valid, now))
    }

    fn list_drift(&self, query: &DriftQuery) -> Result<DriftPage> {
        let limit = rules::page_limit(query.limit)?;
        sync::list_drift(&self.lock(), query, limit)
    }

    fn prune_drift(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| sync::prune_drift(tx, older_than))
    }

    fn sync_state(&self, name: &str) -> Result<Option<String>> {
        sync::state(&self.lock(), &run::state_name(name)?)
    }

    fn set_sync_state(&self, name: &str, value: &str, now: i64) -> Result<()> {
        let (name, value) = (run::state_name(name)?, run::state_value(value)?);
        self.write(|tx| sync::set_state(tx, &name, &value, now))
    }

    fn enqueue_message(&self, message: &NewMessage, now: i64) -> Result<(Message, bool)> {
        let message = message.validated()?;
        self.write(|tx| messages::enqueue(tx, &message, now))
    }

    fn claim_messages(&self, owner: &str, limit: u32, claim_seconds: u32, now: i64) -> Result<Vec<Message>> {
        let owner = message::claim_args(owner, limit, claim_seconds)?;
        self.write(|tx| messages::claim(tx, &owner, limit, claim_seconds, now))
    }

    fn complete_message(&self, id: i64, owner: &str, now: i64) -> Result<Message> {
        let owner = job::owner(owner)?;
        self.write(|tx| messages::complete(tx, id, &owner, now))
    }

    fn fail_message(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retryable: bool,
        retry_after_seconds: Option<u32>,
        now: i64,
    ) -> Result<Message> {
        let owner = job::owner(owner)?;
        let error = job::error_text(error)?;
        self.write(|tx| {
            messages::fail(
                tx,
                id,
                &owner,
                &error,
                retryable,
                retry_after_seconds,
                &self.backoff,
                now,
            )
        })
    }

    fn retry_message(&self, id: i64, now: i64) -> Result<Message> {
        self.write(|tx| messages::retry(tx, id, now))
    }

    fn find_message(&self, key: &str) -> Result<Option<Message>> {
        messages::find_by_key(&self.lock(), key)
    }

    fn list_messages(&self, query: &MessageQuery) -> Result<MessagePage> {
        let limit = rules::page_limit(query.limit)?;
        messages::list(&self.lock(), query, limit)
    }

    fn prune_done_messages(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| messages::prune_done(tx, older_than))
    }
}

/// A list of texts as stored: a JSON array.
fn to_json(list: &[String]) -> Result<String> {
    rules::encode_list(list)
}

/// A stored JSON array of texts, read from column `column`.
fn from_json(column: usize, text: &str) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e)))
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------
//
// Every statement here goes through the connection's statement cache (`prepare_cached`): a batch
// runs the same dozen statements hundreds of times, and compiling SQL costs more than running it.

/// Runs a cached statement that takes no parameters (the savepoint statements).
fn run_cached(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Runs a statement through the connection's statement cache (so neither it nor the triggers it
/// fires are compiled again); returns the number of rows changed.
fn execute_cached(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// One batch entry: validated, then recorded inside a savepoint so a refusal undoes only itself.
/// A storage failure ends the whole batch (the caller's transaction rolls everything back).
///
/// The savepoint is SQL run through cached statements rather than `Transaction::savepoint`,
/// which formats and compiles its `SAVEPOINT` / `RELEASE` text anew for every entry.
fn record_in_savepoint(
    conn: &Connection,
    locations: &mut Locations,
    request: &MovementRequest,
    now: i64,
) -> Result<Result<MovementOutcome>> {
    let request = match request.validated() {
        Ok(request) => request,
        Err(error) => return Ok(Err(error)),
    };
    run_cached(conn, "SAVEPOINT batch_entry")?;
    match record_in(conn, locations, &request, now) {
        Ok(outcome) => {
            run_cached(conn, "RELEASE batch_entry")?;
            Ok(Ok(outcome))
        }
        Err(error) if error.kind() == ErrorKind::Ledger => Err(error),
        Err(error) => {
            // Undo whatever the refused request had written (a transfer's first leg), then close
            // the savepoint; the batch goes on.
            run_cached(conn, "ROLLBACK TO batch_entry")?;
            run_cached(conn, "RELEASE batch_entry")?;
            Ok(Err(error))
        }
    }
}

/// Records a validated request inside the caller's write transaction. The idempotency check
/// runs here, under the write lock, so a concurrent duplicate cannot slip between check and write.
fn record_in(
    conn: &Connection,
    locations: &mut Locations,
    request: &MovementRequest,
    now: i64,
) -> Result<MovementOutcome> {
    let recorded = event_movements(conn, &request.event_id)?;
    if let Some(replay) = plan::replay(request, recorded, || reservation(conn, &request.event_id))? {
        return Ok(replay);
    }
    require_item(conn, &request.sku)?;
    let plan = plan(conn, locations, request)?;
    // The outcome is built from the rows as written, not read back: the same values, one query
    // fewer per movement.
    let mut movements = Vec::with_capacity(if plan.destination.is_some() { 2 } else { 1 });
    movements.push(write_leg(conn, request, Leg::Source, &plan.source, &plan, now)?);
    if let Some(destination) = &plan.destination {
        movements.push(write_leg(conn, request, Leg::Destination, destination, &plan, now)?);
    }
    match (&plan.settles, request.kind) {
        (Some(settled), _) => settle_reservation(conn, settled, request, plan.quantity, now)?,
        (None, MovementKind::Reserve) => open_reservation(conn, request, &plan, now)?,
        (None, _) => {}
    }
    // Only rewrite the item when its flag changes: an unchanged row then costs no page write.
    conn.prepare_cached(
        "UPDATE items SET oversold = EXISTS (SELECT 1 FROM stock_levels WHERE sku = ?1 AND on_hand < 0)
         WHERE sku = ?1 AND oversold IS NOT (EXISTS (SELECT 1 FROM stock_levels WHERE sku = ?1 AND on_hand < 0))",
    )?
    .execute([&request.sku])?;
    Ok(MovementOutcome::from_movements(movements, false))
}

fn plan(conn: &Connection, locations: &mut Locations, request: &MovementRequest) -> Result<Plan> {
    if request.kind.settles_reservation() {
        let id = request.reservation.as_deref().unwrap_or_default();
        return plan::plan_settlement(reservation(conn, id)?, request);
    }
    plan::plan_movement(locations.get(|| all_locations(conn))?, request)
}

/// Applies the request to one stock level and appends its movement row; returns the row as
/// written.
fn write_leg(
    conn: &Connection,
    request: &MovementRequest,
    leg: Leg,
    location: &str,
    plan: &Plan,
    now: i64,
) -> Result<Movement> {
    let sku = request.sku.as_str();
    let before = stock_level(conn, sku, location)?;
    let (after, delta) = plan::apply_leg(request, leg, location, plan.quantity, before)?;
    conn.prepare_cached(
        "INSERT INTO stock_levels (sku, location, on_hand, reserved, incoming, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (sku, location) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved,
             incoming = excluded.incoming, updated_at = excluded.updated_at",
    )?
    .execute(params![
        sku,
        location,
        after.on_hand,
        after.reserved,
        after.incoming,
        now
    ])?;
    // The id is the one the INSERT below is given.
    let mut movement = plan::movement(0, request, location, plan.quantity, (after, delta), now);
    conn.prepare_cached(
        "INSERT INTO movements (event_id, leg, sku, location, kind, quantity, delta, on_hand, reserved, incoming,
                                reservation, origin, reference, note, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        movement.event_id,
        leg.number(),
        movement.sku,
        movement.location,
        movement.kind.as_str(),
        movement.quantity,
        movement.delta,
        movement.on_hand,
        movement.reserved,
        movement.incoming,
        movement.reservation,
        movement.origin,
        movement.reference,
        movement.note,
        movement.recorded_at
    ])?;
    // The connection is ours alone (behind the mutex) and no trigger inserts rows, so this is
    // the id the INSERT above was given.
    movement.id = conn.last_insert_rowid();
    Ok(movement)
}

fn open_reservation(conn: &Connection, request: &MovementRequest, plan: &Plan, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO reservations (id, sku, location, quantity, remaining, status, expires_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4, 'open', ?5, ?6, ?6)",
    )?
    .execute(params![
        request.event_id,
        request.sku,
        plan.source,
        plan.quantity,
        request.expires_at,
        now
    ])?;
    Ok(())
}

fn settle_reservation(
    conn: &Connection,
    held: &Reservation,
    request: &MovementRequest,
    quantity: i64,
    now: i64,
) -> Result<()> {
    let (remaining, status) = plan::settled(held, request, quantity);
    conn.prepare_cached("UPDATE reservations SET remaining = ?2, status = ?3, updated_at = ?4 WHERE id = ?1")?
        .execute(params![held.id, remaining, status, now])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

const ITEM_COLUMNS: &str = "sku, name, product_id, alert_critical, alert_low, alert_warning, lead_time_days, moq, \
                            pack_size, supplier, oversold, created_at, updated_at";

/// The movement columns in [`movement_from_row`]'s order; a macro so that `concat!` builds the
/// hot path's statements at compile time instead of formatting them for every movement.
macro_rules! movement_columns {
    () => {
        "id, event_id, sku, location, kind, quantity, delta, on_hand, reserved, incoming, reservation, origin, \
         reference, note, recorded_at"
    };
}

const MOVEMENT_COLUMNS: &str = movement_columns!();

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<Item> {
    let thresholds = match (row.get(3)?, row.get(4)?, row.get(5)?) {
        (Some(critical), Some(low), Some(warning)) => Some(AlertThresholds { critical, low, warning }),
        _ => None,
    };
    Ok(Item {
        sku: row.get(0)?,
        name: row.get(1)?,
        product_id: row.get(2)?,
        thresholds,
        lead_time_days: row.get(6)?,
        moq: row.get(7)?,
        pack_size: row.get(8)?,
        supplier: row.get(9)?,
        oversold: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}

fn movement_from_row(row: &Row<'_>) -> rusqlite::Result<Movement> {
    let kind: String = row.get(4)?;
    let kind = MovementKind::parse(&kind)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Movement {
        id: row.get(0)?,
        event_id: row.get(1)?,
        sku: row.get(2)?,
        location: row.get(3)?,
        kind,
        quantity: row.get(5)?,
        delta: row.get(6)?,
        on_hand: row.get(7)?,
        reserved: row.get(8)?,
        incoming: row.get(9)?,
        reservation: row.get(10)?,
        origin: row.get(11)?,
        reference: row.get(12)?,
        note: row.get(13)?,
        recorded_at: row.get(14)?,
    })
}

fn save_item(conn: &Connection, item: &ItemInput, now: i64) -> Result<()> {
    let t = item.thresholds;
    conn.prepare_cached(
        "INSERT INTO items (sku, name, product_id, alert_critical, alert_low, alert_warning, lead_time_days, moq,
                            pack_size, supplier, oversold, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?11)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, product_id = excluded.product_id,
             alert_critical = excluded.alert_critical, alert_low = excluded.alert_low,
             alert_warning = excluded.alert_warning, lead_time_days = excluded.lead_time_days,
             moq = excluded.moq, pack_size = excluded.pack_size, supplier = excluded.supplier,
             updated_at = excluded.updated_at",
    )?
    .execute(params![
        item.sku,
        item.name,
        item.product_id,
        t.map(|t| t.critical),
        t.map(|t| t.low),
        t.map(|t| t.warning),
        item.lead_time_days,
        item.moq,
        item.pack_size,
        item.supplier,
        now
    ])?;
    Ok(())
}

fn find_item(conn: &Connection, sku: &str) -> Result<Option<Item>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE sku = ?1"))?;
    Ok(stmt.query_row([sku], item_from_row).optional()?)
}

fn item_exists(conn: &Connection, sku: &str) -> Result<bool> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM items WHERE sku = ?1")?;
    Ok(stmt.exists([sku])?)
}

fn require_item(conn: &Connection, sku: &str) -> Result<()> {
    if item_exists(conn, sku)? {
        Ok(())
    } else {
        Err(not_found("sku", sku))
    }
}

fn require_location(conn: &Connection, code: &str) -> Result<Location> {
    let mut stmt = conn.prepare_cached("SELECT code, name, priority, active FROM locations WHERE code = ?1")?;
    stmt.query_row([code], |row| {
        Ok(Location {
            code: row.get(0)?,
            name: row.get(1)?,
            priority: row.get(2)?,
            active: row.get(3)?,
        })
    })
    .optional()?
    .ok_or_else(|| not_found("location", code))
}

/// Every location, ordered by priority, then code.
fn all_locations(conn: &Connection) -> Result<Vec<Location>> {
    let mut stmt = conn.prepare_cached("SELECT code, name, priority, active FROM locations ORDER BY priority, code")?;
    let locations = stmt
        .query_map([], |row| {
            Ok(Location {
                code: row.get(0)?,
                name: row.get(1)?,
                priority: row.get(2)?,
                active: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(locations)
}

fn stock_level(conn: &Connection, sku: &str, location: &str) -> Result<Quantities> {
    let mut stmt =
        conn.prepare_cached("SELECT on_hand, reserved, incoming FROM stock_levels WHERE sku = ?1 AND location = ?2")?;
    let level = stmt
        .query_row([sku, location], |row| {
            Ok(Quantities {
                on_hand: row.get(0)?,
                reserved: row.get(1)?,
                incoming: row.get(2)?,
            })
        })
        .optional()?;
    Ok(level.unwrap_or_default())
}

fn sku_stock(conn: &Connection, sku: &str) -> Result<SkuStock> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.location, l.active, s.on_hand, s.reserved, s.incoming
         FROM stock_levels s JOIN locations l ON l.code = s.location
         WHERE s.sku = ?1 ORDER BY l.priority, l.code",
    )?;
    let levels = stmt
        .query_map([sku], |row| {
            let q = Quantities {
                on_hand: row.get(2)?,
                reserved: row.get(3)?,
                incoming: row.get(4)?,
            };
            Ok(LocationStock {
                location: row.get(0)?,
                active: row.get(1)?,
                on_hand: q.on_hand,
                reserved: q.reserved,
                incoming: q.incoming,
                available: q.available(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(SkuStock::from_levels(sku.to_owned(), levels))
}

/// [`LedgerStore::for_each_stock`]: two scans in SKU order merged here — the items (their
/// primary key index) and the stock levels (their primary key: no join, no sort) — with the
/// locations (a handful) read once. A location's position in priority-then-code order is its
/// levels' sort key, so each SKU's levels come out in [`sku_stock`]'s order. One [`SkuStock`] and
/// one buffer of levels serve every SKU: once they have grown, a SKU costs no allocation.
fn each_stock(conn: &Connection, visit: &mut dyn FnMut(&SkuStock) -> Result<()>) -> Result<()> {
    let locations = all_locations(conn)?;
    let mut items = conn.prepare_cached("SELECT sku FROM items ORDER BY sku")?;
    let mut items = items.query([])?;
    let mut levels = conn
        .prepare_cached("SELECT sku, location, on_hand, reserved, incoming FROM stock_levels ORDER BY sku, location")?;
    let mut rows = levels.query([])?;
    let mut row = rows.next()?;
    let mut stock = SkuStock::from_levels(String::new(), Vec::new());
    // The current SKU's levels: (location position, quantities).
    let mut found: Vec<(usize, Quantities)> = Vec::new();
    while let Some(item) = items.next()? {
        let sku = item.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        found.clear();
        while let Some(level) = row {
            // Both scans run in the same (binary) order, so the bytes compare as SQLite sorts.
            match level
                .get_ref(0)?
                .as_bytes()
                .map_err(rusqlite::Error::from)?
                .cmp(sku.as_bytes())
            {
                // A level of a later SKU: this one has no more.
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Equal => {
                    let code = level.get_ref(1)?.as_bytes().map_err(rusqlite::Error::from)?;
                    // Like `sku_stock`'s join, a level counts only at a known location (the
                    // foreign key makes every location known).
                    if let Some(position) = locations.iter().position(|l| l.code.as_bytes() == code) {
                        let quantities = Quantities {
                            on_hand: level.get(2)?,
                            reserved: level.get(3)?,
                            incoming: level.get(4)?,
                        };
                        found.push((position, quantities));
                    }
                }
                // A level without its item: the foreign key rules it out; skip it.
                std::cmp::Ordering::Less => {}
            }
            row = rows.next()?;
        }
        found.sort_unstable_by_key(|(position, _)| *position);
        plan::fill(&mut stock, sku, &found, &locations);
        visit(&stock)?;
    }
    Ok(())
}

/// The movements of one event, source leg first (empty when the event is new).
fn event_movements(conn: &Connection, event_id: &str) -> Result<Vec<Movement>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        movement_columns!(),
        " FROM movements WHERE event_id = ?1 ORDER BY leg"
    ))?;
    let movements = stmt
        .query_map([event_id], movement_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(movements)
}

/// Movements selected by a `WHERE` clause (with its ordering and limit).
fn movements_where(conn: &Connection, clause: &str, params: impl rusqlite::Params) -> Result<Vec<Movement>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {MOVEMENT_COLUMNS} FROM movements WHERE {clause}"))?;
    let movements = stmt
        .query_map(params, movement_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(movements)
}

fn reservation(conn: &Connection, id: &str) -> Result<Option<Reservation>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, sku, location, remaining, status, expires_at FROM reservations WHERE id = ?1")?;
    let found = stmt
        .query_row([id], |row| {
            Ok(Reservation {
                id: row.get(0)?,
                sku: row.get(1)?,
                location: row.get(2)?,
                remaining: row.get(3)?,
                status: row.get(4)?,
                expires_at: row.get(5)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// Open reservations due at `now`: (id, sku, location), oldest due first.
fn due_reservations(conn: &Connection, now: i64) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, sku, location FROM reservations WHERE remaining > 0 AND expires_at <= ?1 ORDER BY expires_at, id",
    )?;
    let due = stmt
        .query_map([now], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(due)
}
