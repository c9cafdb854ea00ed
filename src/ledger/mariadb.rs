//! The ledger on MariaDB (≥ 10.6) or MySQL (≥ 8.0), for shops whose WordPress runs on several
//! web servers sharing one database.
//!
//! Opening sets our session settings, finds the binary collation the keys need and migrates
//! ([`schema`]). [`LedgerStore`] is implemented method group by method group (issue 9), each in
//! a submodule as on SQLite: `stock` (items, locations, movements), `keys` (API keys, rate
//! limits), `logs` (the security log), `requests` (API request metrics), `inbound` (the
//! inbound events log), `listings`, `jobs` and `feeds` (the outbox of pushes), `messages` (the
//! message outbox) and `sync` (channels, pacing, sync runs, drift, named state, the planner's
//! bulk reads): every method of the trait.
//!
//! How SQLite's guarantees hold on InnoDB:
//! * **One movement writer at a time.** Every transaction that writes movements or locations
//!   first takes the single row of `{p}ledger_head` `FOR UPDATE` (SQLite's `BEGIN IMMEDIATE`),
//!   and gives movements the ids after its `last_movement_id`: ids become visible in increasing
//!   order, which [`LedgerStore::skus_changed_since`] relies on.
//! * **Idempotency** comes from `UNIQUE (event_id, leg)`: the check before writing is the fast
//!   replay path; a duplicate key on insert (1062) undoes the entry and replays it.
//! * **Guarded reservations** read the stock level and the reservation `FOR UPDATE`.
//! * **Claims** of jobs and messages lock the due rows they take `FOR UPDATE SKIP LOCKED`:
//!   runners on several servers take disjoint rows without waiting for each other. Servers without SKIP
//!   LOCKED (or [`MariaDbOptions::serialise_claims`]) claim one at a time under a named lock
//!   (`GET_LOCK`) with a plain `FOR UPDATE` ([`Claims`]). A claim holder's result reads its row
//!   `FOR UPDATE`, so it cannot race a re-claim.
//! * **Job lanes** (the claim order) are kept by the code, not triggers: one SQL expression sets
//!   them when a job is written pending and when its listing's pushed quantity changes.
//! * **Read-decide-write** steps (a pacing bucket, a rate-limit window, finishing a sync run,
//!   deleting a channel) read their row `FOR UPDATE` first, creating it if it must exist.
//! * **Transient failures** (deadlock 1213, lock wait timeout 1205, a connection lost before
//!   `COMMIT`) roll the transaction back and run it again, up to [`WRITE_TRIES`] times, in
//!   [`MariaDbLedger::write`]; after that the error is a retryable [`Error::Ledger`]. A
//!   connection lost *during* `COMMIT` is not run again (the commit may have landed, and claims,
//!   enqueues or rate-limit counts are not idempotent): the retryable error says the outcome is
//!   unknown.
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
use crate::error::{MySqlFailure, NamedLockBusy};
use crate::{Error, Result};
pub use server::{ServerSettings, TlsMode};

mod feeds;
mod inbound;
mod jobs;
mod keys;
mod listings;
mod logs;
mod messages;
mod requests;
pub(super) mod schema;
pub mod server;
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
    /// Claim outbox jobs and messages one claimer at a time under a named lock (`GET_LOCK`),
    /// with a plain `FOR UPDATE`, instead of `FOR UPDATE SKIP LOCKED`. Servers without SKIP
    /// LOCKED (MariaDB < 10.6, MySQL < 8.0.1) get this anyway; set it to force that path (the
    /// tests do). Default: false.
    pub serialise_claims: bool,
}

impl Default for MariaDbOptions {
    fn default() -> Self {
        MariaDbOptions {
            table_prefix: String::new(),
            lock_wait_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
            serialise_claims: false,
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
    /// How claims keep claimers apart.
    claims: Claims,
    /// The name of the claim lock ([`Claims::NamedLock`]).
    claim_lock: String,
    /// How long a claim waits for the claim lock, in seconds (the lock wait timeout).
    claim_lock_seconds: u64,
}

impl std::fmt::Debug for MariaDbLedger {
    // The connection would print its options, password included.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaDbLedger")
            .field("prefix", &self.prefix)
            .field("collation", &self.collation)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl MariaDbLedger {
    /// Connects to the database named in `url` (`mysql://user:password@host:port/database`, or
    /// `mysql://user@localhost/database?socket=/path/to/mysqld.sock`), brings the schema up to
    /// date, and refuses a schema written by a newer build (leaving it untouched).
    pub fn open(url: &str, options: &MariaDbOptions) -> Result<Self> {
        let settings = ServerSettings {
            tls: TlsMode::Disabled,
            ..ServerSettings::default()
        };
        Self::open_opts(server::connection_opts(url, &settings)?, options)
    }

    /// Connects to the server that `url` and `settings` name together
    /// ([`server::connection_opts`]: a WordPress site's `DB_*` settings over `mysql://`, say),
    /// as [`MariaDbLedger::open`] does. With [`TlsMode::Preferred`] a server that offers no TLS
    /// is connected to in plain.
    pub fn open_server(url: &str, settings: &ServerSettings, options: &MariaDbOptions) -> Result<Self> {
        let opts = server::connection_opts(url, settings)?;
        Self::open_with(opts, options, settings.tls == TlsMode::Preferred)
    }

    /// [`MariaDbLedger::open`] with connection options built by the caller.
    pub fn open_opts(opts: Opts, options: &MariaDbOptions) -> Result<Self> {
        Self::open_with(opts, options, false)
    }

    /// Opens on `opts`; `tls_optional`: without TLS when the server offers none.
    fn open_with(opts: Opts, options: &MariaDbOptions, tls_optional: bool) -> Result<Self> {
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
                // What every write transaction runs at, set once instead of before each
                // ([`MariaDbLedger::write`]); reads ask for their snapshot themselves.
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED".to_owned(),
            ])
            .into();
        let (mut conn, opts) = match Conn::new(opts.clone()) {
            Ok(conn) => (conn, opts),
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)) if tls_optional => {
                let plain = server::without_tls(&opts);
                let conn = Conn::new(plain.clone()).map_err(failed("cannot connect to the ledger database"))?;
                (conn, plain)
            }
            Err(error) => return Err(failed("cannot connect to the ledger database")(error)),
        };
        let database: Option<String> = conn
            .query_first("SELECT DATABASE()")
            .map_err(failed("cannot read the database name"))?
            .flatten();
        if database.is_none() {
            return Err(Error::validation("url", "name the database (mysql://…/database)"));
        }
        let collation = schema::binary_collation(&mut conn)?;
        schema::migrate(&mut conn, &options.table_prefix, collation, schema::MIGRATIONS)?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .map_err(failed("cannot read the server's version"))?;
        let claims = if options.serialise_claims || !supports_skip_locked(&version.unwrap_or_default()) {
            Claims::NamedLock
        } else {
            Claims::SkipLocked
        };
        let claim_lock = schema::lock_name(&mut conn, &options.table_prefix, "claim")?;
        Ok(MariaDbLedger {
            conn: Mutex::new(conn),
            opts,
            prefix: options.table_prefix,
            collation,
            backoff: options.backoff,
            claims,
            claim_lock,
            claim_lock_seconds: options.lock_wait_timeout.as_secs(),
        })
    }

    /// Where the ledger is, without the password: `mysql://user@host:port/database`.
    pub fn describe(&self) -> String {
        server::describe(&self.opts)
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
    /// A deadlock, a lock wait timeout or a connection lost before `COMMIT` rolls it back
    /// (reconnecting for the last) and runs `work` again, up to [`WRITE_TRIES`] times in all; then
    /// the error is returned, retryable ([`Error::is_retryable`]). So `work` must only touch the
    /// database. A connection lost *during* `COMMIT` is not run again: the commit may have
    /// landed, and not every write is idempotent (claims, enqueues, rate-limit counts); the
    /// error, retryable, says the outcome is unknown ([`after_attempt`]).
    fn write<T>(&self, mut work: impl FnMut(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        // READ COMMITTED is the session's level (set when connecting): no round trip to set it.
        let opts = TxOpts::default();
        let mut tries = 0;
        loop {
            tries += 1;
            let result = match conn.start_transaction(opts) {
                Ok(tx) => self.run(tx, &mut work),
                Err(error) => Err((Stage::Work, error.into())),
            };
            let (stage, error) = match result {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            match after_attempt(error.mysql_failure(), stage, tries) {
                Next::Return => return Err(error),
                Next::Again { reconnect } => {
                    if reconnect {
                        self.reconnect(&mut conn)?;
                    }
                }
                Next::GiveUp => return Err(gave_up(error, tries)),
                Next::Unknown => {
                    // For the next call; if the server is still away, that call says so.
                    let _ = self.reconnect(&mut conn);
                    return Err(outcome_unknown(error));
                }
            }
        }
    }

    /// [`MariaDbLedger::write`] for a claim, which `work` makes as `claims` says: under the claim
    /// lock when claims take turns ([`Claims::NamedLock`]). The lock is taken inside the
    /// transaction (so a run again on a new connection takes it again) and released after it
    /// ended.
    fn claim_write<T>(&self, mut work: impl FnMut(&mut Tx<'_>, Claims) -> Result<T>) -> Result<T> {
        let claims = self.claims;
        if claims == Claims::SkipLocked {
            return self.write(|tx| work(tx, claims));
        }
        let result = self.write(|tx| {
            tx.take_named_lock(&self.claim_lock, "claim", self.claim_lock_seconds)?;
            work(tx, claims)
        });
        // Held once (see `take_named_lock`); a connection lost on the way released it already.
        let _ = self.lock().exec_drop("DO RELEASE_LOCK(?)", (&self.claim_lock,));
        result
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
            Ok(tx) => return self.run(tx, work).map_err(|(_, error)| error),
            Err(error) => error,
        };
        if MySqlFailure::of(&error) != MySqlFailure::LostConnection {
            return Err(error.into());
        }
        self.reconnect(&mut conn)?;
        let tx = conn.start_transaction(opts)?;
        self.run(tx, work).map_err(|(_, error)| error)
    }

    /// The connection itself and the table prefix, for a bulk copy into this store
    /// ([`copy_sqlite_to_mariadb`](super::copy::copy_sqlite_to_mariadb)), which runs its own
    /// transactions. Nothing is retried here.
    pub(super) fn with_connection<T>(&self, work: impl FnOnce(&mut Conn, &str) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        work(&mut conn, &self.prefix)
    }

    /// Runs `work` in a transaction just started; commits it if `work` succeeds, else rolls it
    /// back (dropping it). A failure says at which [`Stage`] it happened.
    fn run<T>(
        &self,
        tx: Transaction<'_>,
        work: impl FnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> std::result::Result<T, (Stage, Error)> {
        let mut tx = Tx {
            inner: tx,
            prefix: &self.prefix,
        };
        let value = work(&mut tx).map_err(|error| (Stage::Work, error))?;
        tx.inner.commit().map_err(|error| (Stage::Commit, error.into()))?;
        Ok(value)
    }

    /// Replaces a lost connection with a new one (session settings included).
    fn reconnect(&self, conn: &mut Conn) -> Result<()> {
        *conn = Conn::new(self.opts.clone()).map_err(failed("cannot connect to the ledger database again"))?;
        Ok(())
    }
}

/// How claims (of outbox jobs and messages) keep two claimers from taking one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claims {
    /// A claim locks the rows it selects `FOR UPDATE SKIP LOCKED`: claimers on several servers
    /// take disjoint rows without waiting for each other.
    SkipLocked,
    /// For servers without SKIP LOCKED: claims take turns under a named lock (`GET_LOCK`) and
    /// lock their rows with a plain `FOR UPDATE`. Still exact, only serialised.
    NamedLock,
}

impl Claims {
    /// The locking clause that ends a claim's selects.
    pub(super) fn clause(self) -> &'static str {
        match self {
            Claims::SkipLocked => "FOR UPDATE SKIP LOCKED",
            Claims::NamedLock => "FOR UPDATE",
        }
    }
}

/// Whether a server (its `VERSION()`) knows `FOR UPDATE SKIP LOCKED`: MariaDB from 10.6, MySQL
/// from 8.0.1.
fn supports_skip_locked(version: &str) -> bool {
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let mut next = || numbers.next().unwrap_or(0);
    let (major, minor, patch) = (next(), next(), next());
    if version.contains("MariaDB") {
        (major, minor) >= (10, 6)
    } else {
        (major, minor, patch) >= (8, 0, 1)
    }
}

/// Where a write transaction failed: while its statements ran (or it started), or at `COMMIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Work,
    Commit,
}

/// What [`MariaDbLedger::write`] does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Return the error as it is (not transient: bad input, a conflict, a broken schema).
    Return,
    /// Run the transaction again, on a new connection if the old one was lost.
    Again { reconnect: bool },
    /// Return the error, retryable, saying how many tries were made.
    GiveUp,
    /// The connection was lost during `COMMIT`: whether the transaction was committed is
    /// unknown, so it must not run again here. Return a retryable error saying so.
    Unknown,
}

/// The decision after attempt number `tries` of a write failed with `failure` (the driver
/// error's class, `None` for the crate's own errors) at `stage`. Deadlocks and lock wait
/// timeouts roll the transaction back, also at `COMMIT`, so running it again is safe; a
/// connection lost before `COMMIT` took the uncommitted transaction with it. Only a connection
/// lost during `COMMIT` leaves the outcome open.
fn after_attempt(failure: Option<MySqlFailure>, stage: Stage, tries: u32) -> Next {
    match failure {
        Some(MySqlFailure::LostConnection) if stage == Stage::Commit => Next::Unknown,
        Some(failure) if failure.is_transient() && tries < WRITE_TRIES => Next::Again {
            reconnect: failure == MySqlFailure::LostConnection,
        },
        Some(failure) if failure.is_transient() => Next::GiveUp,
        _ => Next::Return,
    }
}

/// A connection lost during `COMMIT`: still retryable (the driver error stays the source), the
/// message says the write may have been applied.
fn outcome_unknown(error: Error) -> Error {
    match error {
        Error::Ledger { message, source } => Error::Ledger {
            message: format!(
                "{message} during COMMIT: the outcome of the write is unknown (it may have been applied); \
                 repeat it only if it is idempotent"
            ),
            source,
        },
        other => other,
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

    /// Takes the named lock `name` (`GET_LOCK`) for this connection, waiting up to `seconds`;
    /// [`NamedLockBusy`] if others held it all along. `GET_LOCK` counts nested takes, so a lock
    /// this connection holds already (a transaction run again) is not taken twice.
    fn take_named_lock(&mut self, name: &str, purpose: &'static str, seconds: u64) -> Result<()> {
        let taken: Option<Option<i64>> = self.inner.exec_first(
            "SELECT IF(IS_USED_LOCK(?) <=> CONNECTION_ID(), 1, GET_LOCK(?, ?))",
            (name, name, seconds),
        )?;
        match taken.flatten() {
            Some(1) => Ok(()),
            _ => Err(NamedLockBusy { purpose, seconds }.into()),
        }
    }

    /// Runs statements that take no parameters and return no rows (savepoints).
    fn query_drop(&mut self, sql: &str) -> Result<()> {
        Ok(self.inner.query_drop(sql)?)
    }
}

/// The methods live in submodules by group (`stock`, `keys`, `logs`, `requests`, `inbound`,
/// `listings`, `jobs`, `feeds`, `messages`, `sync`).
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

    fn enqueue_jobs(&self, new_jobs: &[NewJob], now: i64) -> Result<Vec<JobRef>> {
        let valid = super::job::validated_batch(new_jobs)?;
        self.write(|tx| jobs::enqueue_all(tx, &valid, now))
    }

    fn claim_jobs(
        &self,
        owner: &str,
        channel: Option<&str>,
        limit: u32,
        claim_seconds: u32,
        now: i64,
    ) -> Result<Vec<Job>> {
        let owner = super::job::owner(owner)?;
        let channel = channel.map(listing::channel).transpose()?;
        super::job::claim_limits(limit, claim_seconds)?;
        self.claim_write(|tx, claims| {
            jobs::claim(
                tx,
                claims,
                &owner,
                channel.as_deref(),
                limit,
                claim_seconds,
                &self.backoff,
                now,
            )
        })
    }

    fn complete_job(&self, id: i64, owner: &str, now: i64) -> Result<Job> {
        let owner = super::job::owner(owner)?;
        self.write(|tx| jobs::complete(tx, id, &owner, now))
    }

    fn complete_jobs(&self, ids: &[i64], owner: &str, now: i64) -> Result<Vec<Result<Job>>> {
        let owner = super::job::owner(owner)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let completions: Vec<(i64, Option<&str>)> = ids.iter().map(|&id| (id, None)).collect();
        self.write(|tx| jobs::complete_all(tx, &completions, &owner, now))
    }

    fn complete_pushed(&self, completions: &[Completion], owner: &str, now: i64) -> Result<Vec<Result<Job>>> {
        let owner = super::job::owner(owner)?;
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        let remote_ids = super::job::remote_ids(completions)?;
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
        let owner = super::job::owner(owner)?;
        let error = super::job::error_text(error)?;
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
        let owner = super::job::owner(owner)?;
        self.write(|tx| jobs::release(tx, &owner, now))
    }

    fn jobs_held_by(&self, owner: &str, after_id: i64, limit: u32) -> Result<Vec<Job>> {
        let owner = super::job::owner(owner)?;
        super::job::claim_limits(limit, 1)?;
        self.read(|tx| jobs::held_by(tx, &owner, after_id, limit))
    }

    fn extend_claims(&self, owner: &str, claim_seconds: u32, now: i64) -> Result<usize> {
        let owner = super::job::owner(owner)?;
        super::job::claim_limits(1, claim_seconds)?;
        self.write(|tx| feeds::extend_claims(tx, &owner, claim_seconds, now))
    }

    fn begin_feed(&self, channel: &str, job_ids: &[i64], from: &str, claim_seconds: u32, now: i64) -> Result<Feed> {
        let channel = listing::channel(channel)?;
        let from = super::job::owner(from)?;
        super::job::claim_limits(1, claim_seconds)?;
        self.write(|tx| feeds::begin(tx, &channel, job_ids, &from, claim_seconds, now))
    }

    fn update_feed(&self, id: i64, update: &FeedUpdate, now: i64) -> Result<Feed> {
        self.write(|tx| feeds::update(tx, id, update, now))
    }

    fn get_feed(&self, id: i64) -> Result<Option<Feed>> {
        self.read(|tx| feeds::find(tx, id))
    }

    fn live_feeds(&self, channel: Option<&str>) -> Result<Vec<Feed>> {
        self.read(|tx| feeds::live(tx, channel))
    }

    fn recent_feeds(&self, channel: Option<&str>, limit: u32) -> Result<Vec<Feed>> {
        let limit = super::feed::recent_limit(limit)?;
        self.read(|tx| feeds::recent(tx, channel, limit))
    }

    fn feeds_started_since(&self, channel: &str, since: i64) -> Result<u32> {
        self.read(|tx| feeds::created_since(tx, channel, since))
    }

    fn get_job(&self, id: i64) -> Result<Option<Job>> {
        self.read(|tx| jobs::find(tx, id))
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
        self.read(|tx| jobs::list(tx, query, limit))
    }

    fn job_counts(&self, channel: Option<&str>) -> Result<JobCounts> {
        let channel = channel.map(listing::channel).transpose()?;
        self.read(|tx| jobs::counts(tx, channel.as_deref()))
    }

    fn prune_done_jobs(&self, older_than: i64) -> Result<usize> {
        self.write(|tx| jobs::prune_done(tx, older_than))
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
        self.claim_write(|tx, claims| messages::claim(tx, claims, &owner, limit, claim_seconds, now))
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
    use crate::ledger::tests::{TestDatabase, TestStore};
    use crate::ledger::{MovementKind, MovementRequest, NewJob};

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
    fn only_a_connection_lost_during_commit_leaves_the_outcome_unknown() {
        use MySqlFailure::*;
        let cases = [
            (None, Stage::Work, 1, Next::Return),
            (None, Stage::Commit, 1, Next::Return),
            (Some(DuplicateKey), Stage::Work, 1, Next::Return),
            (Some(Other), Stage::Commit, 1, Next::Return),
            (Some(Deadlock), Stage::Work, 1, Next::Again { reconnect: false }),
            (Some(Deadlock), Stage::Commit, 2, Next::Again { reconnect: false }),
            (Some(LockWaitTimeout), Stage::Work, 2, Next::Again { reconnect: false }),
            (Some(LockWaitTimeout), Stage::Work, WRITE_TRIES, Next::GiveUp),
            (Some(LostConnection), Stage::Work, 1, Next::Again { reconnect: true }),
            (Some(LostConnection), Stage::Work, WRITE_TRIES, Next::GiveUp),
            (Some(LostConnection), Stage::Commit, 1, Next::Unknown),
            (Some(LostConnection), Stage::Commit, WRITE_TRIES, Next::Unknown),
        ];
        for (failure, stage, tries, next) in cases {
            assert_eq!(
                after_attempt(failure, stage, tries),
                next,
                "{failure:?} {stage:?} try {tries}"
            );
        }
    }

    #[test]
    fn a_connection_lost_during_commit_is_not_run_again_and_says_the_outcome_is_unknown() {
        let Some(db) = TestDatabase::create() else { return };
        let ledger = ledger(&db);
        let mut runs = 0;
        let error = ledger
            .write(|tx| {
                runs += 1;
                tx.exec_drop(
                    "INSERT INTO {p}sync_state (name, value, updated_at) VALUES ('cursor', 'x', 0)",
                    (),
                )?;
                // The server drops a connection idle past wait_timeout: the COMMIT that follows
                // the sleep finds it gone.
                tx.query_drop("SET SESSION wait_timeout = 1")?;
                std::thread::sleep(Duration::from_millis(2500));
                Ok(())
            })
            .unwrap_err();
        assert_eq!(runs, 1, "not run again: {error}");
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("outcome of the write is unknown"), "{error}");
        // The ledger connects again for the next call (here the server had rolled back).
        assert!(!ledger.record(&receive("after"), T0).unwrap().replayed);
        assert_eq!(
            ledger.query_i64("SELECT COUNT(*) FROM sync_state"),
            0,
            "the server rolled the transaction back"
        );
    }

    #[test]
    fn skip_locked_is_known_from_mariadb_10_6_and_mysql_8_0_1() {
        let cases = [
            ("10.11.19-MariaDB-0+deb12u1", true),
            ("10.6.0-MariaDB", true),
            ("11.4.2-MariaDB-log", true),
            ("10.5.23-MariaDB", false),
            ("10.3.39-MariaDB-0+deb10u1", false),
            ("8.0.36", true),
            ("8.0.1-dmr", true),
            ("8.0.0-dmr", false),
            ("8.4.0", true),
            ("5.7.44-log", false),
            ("", false),
        ];
        for (version, expected) in cases {
            assert_eq!(supports_skip_locked(version), expected, "{version}");
        }
    }

    #[test]
    fn serialised_claims_take_turns_under_the_claim_lock() {
        let Some(db) = TestDatabase::create() else { return };
        assert_eq!(ledger(&db).claims, Claims::SkipLocked, "this server knows SKIP LOCKED");
        let options = MariaDbOptions {
            lock_wait_timeout: Duration::from_secs(1),
            serialise_claims: true,
            ..MariaDbOptions::default()
        };
        let ledger = MariaDbLedger::open_opts(db.opts(), &options).unwrap();
        assert_eq!(ledger.claims, Claims::NamedLock);
        ledger.enqueue_jobs(&[NewJob::new("c", "A", 1)], T0).unwrap();
        let mut other = Conn::new(db.opts()).unwrap();
        let lock = ledger.claim_lock.clone();
        let taken: Option<i64> = other.exec_first("SELECT GET_LOCK(?, 0)", (&lock,)).unwrap();
        assert_eq!(taken, Some(1));
        // Another server's claim holds the lock: claims wait for it, then say the ledger is busy.
        let error = ledger.claim_jobs("r", None, 10, 60, T0).unwrap_err();
        assert!(error.is_retryable() && error.to_string().contains("busy"), "{error}");
        let error = ledger.claim_messages("r", 10, 60, T0).unwrap_err();
        assert!(error.is_retryable() && error.to_string().contains("busy"), "{error}");
        other.exec_drop("DO RELEASE_LOCK(?)", (&lock,)).unwrap();
        assert_eq!(ledger.claim_jobs("r", None, 10, 60, T0).unwrap().len(), 1);
        // Released after the claim.
        let free: Option<i64> = other.exec_first("SELECT IS_FREE_LOCK(?)", (&lock,)).unwrap();
        assert_eq!(free, Some(1));
    }
}
