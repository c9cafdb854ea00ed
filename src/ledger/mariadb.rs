//! The ledger on MariaDB (≥ 10.6) or MySQL (≥ 8.0), for shops whose WordPress runs on several
//! web servers sharing one database.
//!
//! Opening sets our session settings, finds the binary collation the keys need and migrates
//! ([`schema`]). [`LedgerStore`] is implemented method group by method group (issue 9), each in
//! a submodule as on SQLite: `stock` (items, locations, movements), `keys` (API keys, rate
//! limits), `logs` (the security log), `requests` (API request metrics), `inbound` (the
//! inbound events log), `listings`, `messages` (the outbox) and `sync` (channels, pacing, sync
//! runs, drift, named state, the planner's bulk reads) so far; the other methods (the jobs and
//! feeds) answer "not available on MariaDB yet", and PHP cannot select this backend until all
//! are done.
//!
//! How SQLite's guarantees hold on InnoDB:
//! * **One movement writer at a time.** Every transaction that writes movements or locations
//!   first takes the single row of `{p}ledger_head` `FOR UPDATE` (SQLite's `BEGIN IMMEDIATE`),
//!   and gives movements the ids after its `last_movement_id`: ids become visible in increasing
//!   order, which [`LedgerStore::skus_changed_since`] relies on.
//! * **Idempotency** comes from `UNIQUE (event_id, leg)`: the check before writing is the fast
//!   replay path; a duplicate key on insert (1062) undoes the entry and replays it.
//! * **Guarded reservations** read the stock level and the reservation `FOR UPDATE`.
//! * **Claims** of outbox messages select due rows `FOR UPDATE SKIP LOCKED`: senders on several
//!   servers take disjoint messages without waiting for each other.
//! * **Read-decide-write** steps (a pacing bucket, a rate-limit window, finishing a sync run,
//!   deleting a channel) read their row `FOR UPDATE` first, creating it if it must exist.
//! * **Transient failures** (deadlock 1213, lock wait timeout 1205, a lost connection) roll the
//!   transaction back and run it again, up to [`WRITE_TRIES`] times, in [`MariaDbLedger::write`];
//!   after that the error is a retryable [`Error::Ledger`].
//! * **Consistent reads**: reads run in a read-only transaction with a consistent snapshot.
//!
//! Every table name starts with the table prefix (WordPress's `$table_prefix` plus
//! `inventory_sync_`, chosen by the plugin), so the ledger can live in the shop's own database.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mysql::prelude::{FromRow, Queryable};
use mysql::{AccessMode, Conn, IsolationLevel, Opts, OptsBuilder, Params, Transaction, TxOpts};

use super::message::{Message, MessagePage, MessageQuery, NewMessage};
use super::{channel, listing, rules, run};
use super::{
    ActivityBucket, ActivityQuery, ChannelConfig, ChannelInput, DriftPage, DriftQuery, NewDrift, SyncCounts, SyncKind,
    SyncRun, SyncRunPage, SyncRunQuery,
};
use super::{
    ApiKey, Backoff, ChangedSkus, ClearJobs, Completion, HistoryPage, HistoryQuery, InboundEvent, InboundPage,
    InboundQuery, InboundRecord, IssuedApiKey, Item, ItemInput, ItemPage, ItemQuery, Job, JobCounts, JobPage, JobQuery,
    JobRef, KeyCheck, LedgerStore, Listing, Location, MovementOutcome, MovementRequest, NewApiKey, NewJob,
    RateDecision, SecurityEvent, SecurityPage, SecurityQuery, SecurityRecord, SkuStock,
};
use super::{ApiRequest, Feed, FeedUpdate, RequestBucket, RouteStats};
use crate::error::MySqlFailure;
use crate::{Error, Result};

mod inbound;
mod keys;
mod listings;
mod logs;
mod messages;
mod requests;
mod schema;
mod stock;
mod sync;
#[cfg(test)]
mod test_store;

/// How many times a write transaction runs before a transient failure (deadlock, lock wait
/// timeout, lost connection) is returned to the caller.
const WRITE_TRIES: u32 = 3;

/// Prepared statements kept per connection (recording runs about fifteen distinct ones).
const STATEMENT_CACHE_SIZE: usize = 128;

/// The longest table prefix accepted (MySQL names are at most 64 characters; the longest table
/// name of ours is 15).
pub const MAX_TABLE_PREFIX_CHARS: usize = 40;

/// How a MariaDB/MySQL ledger is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MariaDbOptions {
    /// Prepended to every table name: ASCII letters, digits and `_`, at most
    /// [`MAX_TABLE_PREFIX_CHARS`]. May be empty (a database of its own).
    pub table_prefix: String,
    /// How long a statement waits for another connection's row lock before failing
    /// (`innodb_lock_wait_timeout`, whole seconds, at least 1). Default: 5 seconds.
    pub lock_wait_timeout: Duration,
    /// How failed pushes back off and when they die. Default: [`Backoff::default`].
    pub backoff: Backoff,
}

impl Default for MariaDbOptions {
    fn default() -> Self {
        MariaDbOptions {
            table_prefix: String::new(),
            lock_wait_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
        }
    }
}

impl MariaDbOptions {
    fn validated(&self) -> Result<MariaDbOptions> {
        let prefix = &self.table_prefix;
        if prefix.chars().count() > MAX_TABLE_PREFIX_CHARS
            || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::validation(
                "table_prefix",
                format!("use at most {MAX_TABLE_PREFIX_CHARS} ASCII letters, digits or underscores"),
            ));
        }
        if self.lock_wait_timeout.as_secs() < 1 {
            return Err(Error::validation("lock_wait_timeout", "must be at least 1 second"));
        }
        Ok(MariaDbOptions {
            backoff: self.backoff.validated()?,
            ..self.clone()
        })
    }
}

/// The ledger in a MariaDB or MySQL database. One connection, guarded by a mutex, so the value
/// can be shared between threads; open one per process or thread for parallelism.
pub struct MariaDbLedger {
    conn: Mutex<Conn>,
    /// How to connect again when the connection is lost.
    opts: Opts,
    prefix: String,
    collation: &'static str,
    backoff: Backoff,
}

impl std::fmt::Debug for MariaDbLedger {
    // The connection would print its options, password included.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaDbLedger")
            .field("prefix", &self.prefix)
            .field("collation", &self.collation)
            .finish_non_exhaustive()
    }
}

impl MariaDbLedger {
    /// Connects to the database named in `url` (`mysql://user:password@host:port/database`, or
    /// `mysql://user@localhost/database?socket=/path/to/mysqld.sock`), brings the schema up to
    /// date, and refuses a schema written by a newer build (leaving it untouched).
    pub fn open(url: &str, options: &MariaDbOptions) -> Result<Self> {
        // The URL carries the password: it is never part of a message.
        let opts = Opts::from_url(url).map_err(|e| Error::validation("url", e.to_string()))?;
        Self::open_opts(opts, options)
    }

    /// [`MariaDbLedger::open`] with connection options built by the caller.
    pub fn open_opts(opts: Opts, options: &MariaDbOptions) -> Result<Self> {
        let options = options.validated()?;
        let opts: Opts = OptsBuilder::from_opts(opts)
            .stmt_cache_size(STATEMENT_CACHE_SIZE)
            .init(vec![
                "SET NAMES utf8mb4".to_owned(),
                // Refuse what does not fit instead of truncating it (WordPress relaxes only its own
                // connection's mode).
                "SET SESSION sql_mode = 'TRADITIONAL'".to_owned(),
                format!(
                    "SET SESSION innodb_lock_wait_timeout = {}",
                    options.lock_wait_timeout.as_secs()
                ),
            ])
            .into();
        let mut conn = Conn::new(opts.clone()).map_err(failed("cannot connect to the ledger database"))?;
        let database: Option<String> = conn
            .query_first("SELECT DATABASE()")
            .map_err(failed("cannot read the database name"))?
            .flatten();
        if database.is_none() {
            return Err(Error::validation("url", "name the database (mysql://…/database)"));
        }
        let collation = schema::binary_collation(&mut conn)?;
        schema::migrate(&mut conn, &options.table_prefix, collation, schema::MIGRATIONS)?;
        Ok(MariaDbLedger {
            conn: Mutex::new(conn),
            opts,
            prefix: options.table_prefix,
            collation,
            backoff: options.backoff,
        })
    }

    /// The schema version of the database (the number of [`schema`] steps applied).
    pub fn schema_version(&self) -> Result<i64> {
        schema::version(&mut self.lock(), &self.prefix)
    }

    /// The collation of every text column: `utf8mb4_nopad_bin` on MariaDB, `utf8mb4_0900_bin`
    /// on MySQL 8 (both compare by bytes, so SKUs are case-sensitive and sort as on SQLite).
    pub fn collation(&self) -> &'static str {
        self.collation
    }

    /// The connection. Transactions roll back when their guard is dropped, so a panic while the
    /// connection was held leaves none open, and a poisoned lock is safe to take over.
    fn lock(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` in a READ COMMITTED write transaction, committed only if `work` succeeds.
    /// A deadlock, a lock wait timeout or a lost connection rolls it back (reconnecting for the
    /// last) and runs `work` again, up to [`WRITE_TRIES`] times in all; then the error is
    /// returned, retryable ([`Error::is_retryable`]). So `work` must only touch the database.
    fn write<T>(&self, mut work: impl FnMut(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let opts = TxOpts::default().set_isolation_level(Some(IsolationLevel::ReadCommitted));
        let mut tries = 0;
        loop {
            tries += 1;
            let result = conn
                .start_transaction(opts)
                .map_err(Error::from)
                .and_then(|tx| self.run(tx, &mut work));
            let failure = match &result {
                Err(error) => error.mysql_failure().filter(|f| f.is_transient()),
                Ok(_) => None,
            };
            match failure {
                Some(failure) if tries < WRITE_TRIES => {
                    if failure == MySqlFailure::LostConnection {
                        self.reconnect(&mut conn)?;
                    }
                }
                Some(_) => return result.map_err(|e| gave_up(e, tries)),
                None => return result,
            }
        }
    }

    /// Runs `work` in a read-only transaction with a consistent snapshot (REPEATABLE READ), so
    /// it sees one state however many statements it runs.
    fn read<T>(&self, work: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let opts = TxOpts::default()
            .set_isolation_level(Some(IsolationLevel::RepeatableRead))
            .set_with_consistent_snapshot(true)
            .set_access_mode(Some(AccessMode::ReadOnly));
        // A connection lost while idle shows at the first statement: connect again, once.
        let error = match conn.start_transaction(opts) {
            Ok(tx) => return self.run(tx, work),
            Err(error) => error,
        };
        if MySqlFailure::of(&error) != MySqlFailure::LostConnection {
            return Err(error.into());
        }
        self.reconnect(&mut conn)?;
        let tx = conn.start_transaction(opts)?;
        self.run(tx, work)
    }

    /// Runs `work` in a transaction just started; commits it if `work` succeeds, else rolls it
    /// back (dropping it).
    fn run<T>(&self, tx: Transaction<'_>, work: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut tx = Tx {
            inner: tx,
            prefix: &self.prefix,
        };
        let value = work(&mut tx)?;
        tx.inner.commit()?;
        Ok(value)
    }

    /// Replaces a lost connection with a new one (session settings included).
    fn reconnect(&self, conn: &mut Conn) -> Result<()> {
        *conn = Conn::new(self.opts.clone()).map_err(failed("cannot connect to the ledger database again"))?;
        Ok(())
    }
}

/// A transient failure that outlasted [`WRITE_TRIES`] runs; still retryable later.
fn gave_up(error: Error, tries: u32) -> Error {
    match error {
        Error::Ledger { message, source } => Error::Ledger {
            message: format!("{message} ({tries} tries)"),
            source,
        },
        other => other,
    }
}

/// A transaction and the table prefix: statements are written with `{p}` before every table
/// name, replaced here.
pub(super) struct Tx<'a> {
    inner: Transaction<'a>,
    prefix: &'a str,
}

impl Tx<'_> {
    /// The statement with the table prefix in place of `{p}`.
    fn sql(&self, template: &str) -> String {
        template.replace("{p}", self.prefix)
    }

    /// Runs a statement; returns the number of rows it changed.
    fn exec_drop(&mut self, template: &str, params: impl Into<Params>) -> Result<u64> {
        let sql = self.sql(template);
        self.inner.exec_drop(sql, params)?;
        Ok(self.inner.affected_rows())
    }

    /// The first row of a query, if any.
    fn exec_first<T: FromRow>(&mut self, template: &str, params: impl Into<Params>) -> Result<Option<T>> {
        let sql = self.sql(template);
        Ok(self.inner.exec_first(sql, params)?)
    }

    /// Every row of a query.
    fn exec<T: FromRow>(&mut self, template: &str, params: impl Into<Params>) -> Result<Vec<T>> {
        let sql = self.sql(template);
        Ok(self.inner.exec(sql, params)?)
    }

    /// The id the last INSERT gave its row.
    fn last_insert_id(&self) -> Result<i64> {
        self.inner
            .last_insert_id()
            .and_then(|id| i64::try_from(id).ok())
            .ok_or_else(|| Error::Ledger {
                message: "the database did not say which id it gave a new row".into(),
                source: None,
            })
    }

    /// Runs statements that take no parameters and return no rows (savepoints).
    fn query_drop(&mut self, sql: &str) -> Result<()> {
        Ok(self.inner.query_drop(sql)?)
    }
}

/// What a method not yet implemented on MariaDB answers.
fn not_yet(method: &str) -> Error {
    Error::Ledger {
        message: format!("{method} is not available on MariaDB yet (issue 9)"),
        source: None,
    }
}

/// The methods live in submodules by group (`stock`, `keys`, `logs`, `requests`, `inbound`,
/// `listings`, `messages`, `sync`); the others (the jobs and feeds) answer "not available on
/// MariaDB yet" until their step of issue 9.
impl LedgerStore for MariaDbLedger {
    fn upsert_item(&self, item: &ItemInput, now: i64) -> Result<Item> {
        let item = item.validated()?;
        self.write(|tx| stock::upsert_item(tx, &item, now))
    }

    fn get_item(&self, sku: &str) -> Result<Option<Item>> {
        self.read(|tx| stock::find_item(tx, sku.trim()))
    }

    fn list_items(&self, query: &ItemQuery) -> Result<ItemPage> {
        let limit = super::rules::page_limit(query.limit)?;
        self.read(|tx| stock::list_items(tx, query, limit))
    }

    fn upsert_location(&self, location: &Location, now: i64) -> Result<Location> {
        let location = location.validated()?;
        self.write(|tx| stock::upsert_location(tx, &location, now))
    }

    fn list_locations(&self) -> Result<Vec<Location>> {
        self.read(stock::all_locations)
    }

    fn record(&self, request: &MovementRequest, now: i64) -> Result<MovementOutcome> {
        let request = request.validated()?;
        self.write(|tx| stock::record(tx, &request, now))
    }

    fn record_batch(&self, requests: &[MovementRequest], now: i64) -> Result<Vec<Result<MovementOutcome>>> {
        super::rules::batch_size(requests.len())?;
        self.write(|tx| stock::record_batch(tx, requests, now))
    }

    fn stock(&self, sku: &str) -> Result<SkuStock> {
        let sku = sku.trim();
        self.read(|tx| {
            stock::require_item(tx, sku)?;
            stock::sku_stock(tx, sku)
        })
    }

    fn stock_many(&self, skus: &[&str]) -> Result<Vec<SkuStock>> {
        self.read(|tx| stock::stock_many(tx, skus))
    }

    fn for_each_stock(&self, visit: &mut dyn FnMut(&SkuStock) -> Result<()>) -> Result<()> {
        self.read(|tx| stock::each_stock(tx, visit))
    }

    fn history(&self, query: &HistoryQuery) -> Result<HistoryPage> {
        let limit = super::rules::page_limit(query.limit)?;
        self.read(|tx| stock::history(tx, query, limit))
    }

    fn units_sold_since(&self, sku: &str, since: i64) -> Result<i64> {
        let sku = sku.trim();
        self.read(|tx| stock::units_sold_since(tx, sku, since))
    }

    fn expire_reservations(&self, now: i64) -> Result<Vec<MovementOutcome>> {
        self.write(|tx| stock::expire_reservations(tx, now))
    }

    fn skus_changed_since(&self, after: i64) -> Result<ChangedSkus> {
        self.read(|tx| stock::skus_changed_since(tx, after))
    }

    fn find_event(&self, event_id: &str) -> Result<Option<MovementOutcome>> {
        self.read(|tx| stock::find_event(tx, event_id.trim()))
    }

    fn issue_api_key(&self, key: &NewApiKey, secret_bytes: &[u8], now: i64) -> Result<IssuedApiKey> {
        let (key, material) = super::access::prepare_issue(key, secret_bytes, now)?;
        let stored = self.write(|tx| keys::issue(tx, &key, &material, now))?;
        Ok(IssuedApiKey {
            key: stored,
            plaintext: material.plaintext,
        })
    }

    fn authenticate_api_key(&self, plaintext: &str, now: i64) -> Result<KeyCheck> {
        match super::access::presented_key_hash(plaintext) {
            Some(hash) => self.write(|tx| keys::authenticate(tx, &hash, now)),
            None => Ok(KeyCheck::Unknown),
        }
    }

    fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.read(keys::list)
    }

    fn revoke_api_key(&self, id: i64, now: i64) -> Result<ApiKey> {
        self.write(|tx| keys::revoke(tx, id, now))
    }

    fn rate_limit(&self, bucket: &str, limit: u32, window_seconds: u32, now: i64) -> Result<RateDecision> {
        let bucket = super::access::validate_rate_limit(bucket, limit, window_seconds)?;
        self.write(|tx| keys::rate_limit(tx, &bucket, limit, window_seconds, now))
    }

    fn record_security(&self, event: &SecurityEvent, now: i64) -> Result<SecurityRecord> {
        let event = event.validated()?;
        self.write(|tx| logs::record_security(tx, &event, now))
    }

    fn list_security(&self, query: &SecurityQuery) -> Result<SecurityPage> {
        self.read(|tx| logs::list_security(tx, query))
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
        let hours = self.read(|tx| requests::hourly(tx, query.since, query.until))?;
        Ok(super::requests::fill_buckets(&query, &hours))
    }

    fn api_routes(&self, since: i64, until: i64) -> Result<Vec<RouteStats>> {
        super::run::check_span(since, until)?;
        self.read(|tx| requests::by_route(tx, since, until))
    }

    fn prune_api_requests(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| requests::prune(tx, older_than))
    }

    fn record_inbound(&self, event: &InboundEvent, now: i64) -> Result<InboundRecord> {
        let event = event.validated()?;
        self.write(|tx| inbound::record(tx, &event, now))
    }

    fn find_inbound(&self, provider: &str, dedup_key: &str) -> Result<Option<InboundRecord>> {
        self.read(|tx| inbound::find(tx, provider.trim(), dedup_key.trim()))
    }

    fn list_inbound(&self, query: &InboundQuery) -> Result<InboundPage> {
        self.read(|tx| inbound::list(tx, query))
    }

    fn prune_inbound(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| inbound::prune(tx, older_than))
    }

    fn listing(&self, channel: &str, sku: &str) -> Result<Option<Listing>> {
        self.read(|tx| listings::find(tx, channel.trim(), sku.trim()))
    }

    fn listing_by_remote_id(&self, channel: &str, remote_id: &str) -> Result<Option<Listing>> {
        self.read(|tx| listings::find_by_remote_id(tx, channel.trim(), remote_id.trim()))
    }

    fn upsert_listing_remote_id(&self, channel: &str, sku: &str, remote_id: Option<&str>, now: i64) -> Result<Listing> {
        let (channel, sku) = (listing::channel(channel)?, rules::sku("sku", sku)?);
        let remote_id = listing::remote_id(remote_id)?;
        let change = listing::Change::RemoteId(remote_id.as_deref());
        self.write(|tx| listings::update(tx, &channel, &sku, &change, now))
    }

    fn record_listing_pushed(&self, channel: &str, sku: &str, quantity: i64, now: i64) -> Result<Listing> {
        let (channel, sku) = (listing::channel(channel)?, rules::sku("sku", sku)?);
        let change = listing::Change::Pushed(listing::pushed_quantity(quantity)?);
        self.write(|tx| listings::update(tx, &channel, &sku, &change, now))
    }

    fn record_listing_seen(&self, channel: &str, sku: &str, quantity: i64, now: i64) -> Result<Listing> {
        let (channel, sku) = (listing::channel(channel)?, rules::sku("sku", sku)?);
        let change = listing::Change::Seen(listing::seen_quantity(quantity)?);
        self.write(|tx| listings::update(tx, &channel, &sku, &change, now))
    }

    fn enqueue_jobs(&self, _jobs: &[NewJob], _now: i64) -> Result<Vec<JobRef>> {
        Err(not_yet("enqueue_jobs"))
    }

    fn claim_jobs(
        &self,
        _owner: &str,
        _channel: Option<&str>,
        _limit: u32,
        _claim_seconds: u32,
        _now: i64,
    ) -> Result<Vec<Job>> {
        Err(not_yet("claim_jobs"))
    }

    fn complete_job(&self, _id: i64, _owner: &str, _now: i64) -> Result<Job> {
        Err(not_yet("complete_job"))
    }

    fn complete_jobs(&self, _ids: &[i64], _owner: &str, _now: i64) -> Result<Vec<Result<Job>>> {
        Err(not_yet("complete_jobs"))
    }

    fn complete_pushed(&self, _completions: &[Completion], _owner: &str, _now: i64) -> Result<Vec<Result<Job>>> {
        Err(not_yet("complete_pushed"))
    }

    fn fail_job(
        &self,
        _id: i64,
        _owner: &str,
        _error: &str,
        _retryable: bool,
        _retry_after_seconds: Option<u32>,
        _now: i64,
    ) -> Result<Job> {
        Err(not_yet("fail_job"))
    }

    fn release_claims(&self, _owner: &str, _now: i64) -> Result<usize> {
        Err(not_yet("release_claims"))
    }

    fn jobs_held_by(&self, _owner: &str, _after_id: i64, _limit: u32) -> Result<Vec<Job>> {
        Err(not_yet("jobs_held_by"))
    }

    fn extend_claims(&self, _owner: &str, _claim_seconds: u32, _now: i64) -> Result<usize> {
        Err(not_yet("extend_claims"))
    }

    fn begin_feed(
        &self,
        _channel: &str,
        _job_ids: &[i64],
        _from: &str,
        _claim_seconds: u32,
        _now: i64,
    ) -> Result<Feed> {
        Err(not_yet("begin_feed"))
    }

    fn update_feed(&self, _id: i64, _update: &FeedUpdate, _now: i64) -> Result<Feed> {
        Err(not_yet("update_feed"))
    }

    fn get_feed(&self, _id: i64) -> Result<Option<Feed>> {
        Err(not_yet("get_feed"))
    }

    fn live_feeds(&self, _channel: Option<&str>) -> Result<Vec<Feed>> {
        Err(not_yet("live_feeds"))
    }

    fn recent_feeds(&self, _channel: Option<&str>, _limit: u32) -> Result<Vec<Feed>> {
        Err(not_yet("recent_feeds"))
    }

    fn feeds_started_since(&self, _channel: &str, _since: i64) -> Result<u32> {
        Err(not_yet("feeds_started_since"))
    }

    fn get_job(&self, _id: i64) -> Result<Option<Job>> {
        Err(not_yet("get_job"))
    }

    fn retry_job(&self, _id: i64, _now: i64) -> Result<Job> {
        Err(not_yet("retry_job"))
    }

    fn retry_all(&self, _channel: Option<&str>, _now: i64) -> Result<usize> {
        Err(not_yet("retry_all"))
    }

    fn clear_jobs(&self, _filter: &ClearJobs) -> Result<usize> {
        Err(not_yet("clear_jobs"))
    }

    fn list_jobs(&self, _query: &JobQuery) -> Result<JobPage> {
        Err(not_yet("list_jobs"))
    }

    fn job_counts(&self, _channel: Option<&str>) -> Result<JobCounts> {
        Err(not_yet("job_counts"))
    }

    fn prune_done_jobs(&self, _older_than: i64) -> Result<usize> {
        Err(not_yet("prune_done_jobs"))
    }

    fn save_channel(&self, input: &ChannelInput, now: i64) -> Result<ChannelConfig> {
        let valid = input.validated()?;
        self.write(|tx| sync::save_channel(tx, &valid, now))
    }

    fn channel(&self, key: &str) -> Result<Option<ChannelConfig>> {
        self.read(|tx| sync::find_channel(tx, key.trim()))
    }

    fn list_channels(&self) -> Result<Vec<ChannelConfig>> {
        self.read(sync::list_channels)
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
        self.read(|tx| sync::listings_of(tx, skus))
    }

    fn linked_skus(&self, skus: &[&str]) -> Result<Vec<String>> {
        self.read(|tx| sync::linked_skus(tx, skus))
    }

    fn open_jobs(&self, skus: &[&str]) -> Result<Vec<Job>> {
        self.read(|tx| sync::open_jobs(tx, skus))
    }

    fn channel_listings(&self, channel: &str, after: Option<&str>, limit: u32) -> Result<Vec<Listing>> {
        let channel = listing::channel(channel)?;
        let limit = rules::page_limit(limit)?;
        self.read(|tx| sync::channel_listings(tx, &channel, after.unwrap_or(""), limit))
    }

    fn unmapped_skus(&self, channel: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        let channel = listing::channel(channel)?;
        let limit = rules::page_limit(limit)?;
        self.read(|tx| sync::unmapped_skus(tx, &channel, after.unwrap_or(""), limit))
    }

    fn start_sync_run(&self, kind: SyncKind, now: i64) -> Result<SyncRun> {
        self.write(|tx| sync::start_run(tx, kind, now))
    }

    fn finish_sync_run(&self, id: i64, counts: &SyncCounts, error: Option<&str>, now: i64) -> Result<SyncRun> {
        let error = run::error_text(error);
        self.write(|tx| sync::finish_run(tx, id, counts, error.as_deref(), now))
    }

    fn list_sync_runs(&self, query: &SyncRunQuery) -> Result<SyncRunPage> {
        let limit = rules::page_limit(query.limit)?;
        self.read(|tx| sync::list_runs(tx, query, limit))
    }

    fn sync_activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityBucket>> {
        run::activity(query, |q| self.read(|tx| sync::activity(tx, q)))
    }

    fn sync_activity_by_hour(&self, query: &ActivityQuery) -> Result<Vec<ActivityBucket>> {
        run::activity_by_hour(query, |q| self.read(|tx| sync::activity(tx, q)))
    }

    fn sync_errors(&self, since: i64, limit: u32) -> Result<Vec<(String, u64, i64)>> {
        let limit = run::errors_limit(limit)?;
        self.read(|tx| sync::errors_since(tx, since, limit))
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
        self.read(|tx| sync::list_drift(tx, query, limit))
    }

    fn prune_drift(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| sync::prune_drift(tx, older_than))
    }

    fn sync_state(&self, name: &str) -> Result<Option<String>> {
        let name = run::state_name(name)?;
        self.read(|tx| sync::state(tx, &name))
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
        let owner = super::message::claim_args(owner, limit, claim_seconds)?;
        self.write(|tx| messages::claim(tx, &owner, limit, claim_seconds, now))
    }

    fn complete_message(&self, id: i64, owner: &str, now: i64) -> Result<Message> {
        let owner = super::job::owner(owner)?;
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
        let owner = super::job::owner(owner)?;
        let error = super::job::error_text(error)?;
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
        self.read(|tx| messages::find_by_key(tx, key))
    }

    fn list_messages(&self, query: &MessageQuery) -> Result<MessagePage> {
        let limit = rules::page_limit(query.limit)?;
        self.read(|tx| messages::list(tx, query, limit))
    }

    fn prune_done_messages(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| messages::prune_done(tx, older_than))
    }
}

/// Maps a driver error to a ledger error saying what was being done.
fn failed(context: &'static str) -> impl FnOnce(mysql::Error) -> Error {
    move |error| Error::ledger(context, error)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use mysql::prelude::Queryable;

    use super::*;
    use crate::ledger::tests::TestDatabase;
    use crate::ledger::{MovementKind, MovementRequest};

    const T0: i64 = 1_700_000_000;

    /// A ledger on a new database with item A and location WH1, waiting at most 1 s for a row
    /// lock.
    fn ledger(db: &TestDatabase) -> MariaDbLedger {
        let options = MariaDbOptions {
            lock_wait_timeout: Duration::from_secs(1),
            ..MariaDbOptions::default()
        };
        let ledger = MariaDbLedger::open_opts(db.opts(), &options).unwrap();
        let item = ItemInput {
            sku: "A".into(),
            name: "Item A".into(),
            ..ItemInput::default()
        };
        ledger.upsert_item(&item, T0).unwrap();
        let location = Location {
            code: "WH1".into(),
            name: "Warehouse".into(),
            priority: 1,
            active: true,
        };
        ledger.upsert_location(&location, T0).unwrap();
        ledger
    }

    fn receive(event_id: &str) -> MovementRequest {
        MovementRequest::new(event_id, "A", MovementKind::Receive, 1)
    }

    /// Another connection holding the movement lock.
    fn blocker(db: &TestDatabase) -> Conn {
        let mut blocker = Conn::new(db.opts()).unwrap();
        blocker.query_drop("START TRANSACTION").unwrap();
        blocker.query_drop("SELECT * FROM ledger_head FOR UPDATE").unwrap();
        blocker
    }

    #[test]
    fn a_lock_held_past_the_timeout_is_tried_three_times_then_a_retryable_error() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = ledger(&db);
        let mut blocker = blocker(&db);
        let started = Instant::now();
        let error = ledger.record(&receive("e"), T0).unwrap_err();
        let waited = started.elapsed();
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("busy"), "{error}");
        assert!(error.to_string().contains("(3 tries)"), "{error}");
        assert!(waited >= Duration::from_secs(3), "three waits of 1 s, not {waited:?}");
        blocker.query_drop("ROLLBACK").unwrap();
        assert!(!ledger.record(&receive("e"), T0).unwrap().replayed);
        assert_eq!(ledger.stock("A").unwrap().on_hand, 1);
    }

    #[test]
    fn a_writer_waits_for_another_writers_lock_within_the_timeout() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = ledger(&db);
        let mut blocker = blocker(&db);
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            blocker.query_drop("COMMIT").unwrap();
        });
        assert!(!ledger.record(&receive("waited"), T0).unwrap().replayed);
        release.join().unwrap();
        assert_eq!(ledger.stock("A").unwrap().on_hand, 1);
    }

    #[test]
    fn a_lost_connection_is_replaced_and_the_work_done_once() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = ledger(&db);
        let mut admin = Conn::new(db.opts()).unwrap();
        let mut kill = || {
            let id = ledger.lock().connection_id();
            admin.query_drop(format!("KILL {id}")).unwrap();
            id
        };
        let killed = kill();
        assert!(!ledger.record(&receive("after-kill"), T0).unwrap().replayed);
        assert_ne!(ledger.lock().connection_id(), killed, "a new connection");
        let killed = kill();
        assert_eq!(ledger.stock("A").unwrap().on_hand, 1, "a read connects again too");
        assert_ne!(ledger.lock().connection_id(), killed);
        kill();
        assert!(ledger.record(&receive("after-kill"), T0).unwrap().replayed);
        assert_eq!(ledger.history(&HistoryQuery::default()).unwrap().movements.len(), 1);
    }

    #[test]
    fn methods_of_later_steps_say_they_are_not_available_yet() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = ledger(&db);
        let error = ledger.get_job(1).unwrap_err();
        assert_eq!(error.kind(), crate::error::ErrorKind::Ledger);
        assert!(!error.is_retryable());
        assert_eq!(
            error.to_string(),
            "ledger: get_job is not available on MariaDB yet (issue 9)"
        );
    }
}
