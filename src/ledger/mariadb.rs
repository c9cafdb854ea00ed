//! The ledger on MariaDB (≥ 10.6) or MySQL (≥ 8.0), for shops whose WordPress runs on several
//! web servers sharing one database.
//!
//! So far this is opening and the schema ([`schema`]): a connection with our session settings,
//! the binary collation the keys need, and the migrations. [`LedgerStore`](super::LedgerStore) on
//! it comes next (issue 9), method group by method group; until then PHP cannot select it.
//!
//! Every table name starts with the table prefix (WordPress's `$table_prefix` plus
//! `inventory_sync_`, chosen by the plugin), so the ledger can live in the shop's own database.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use super::Backoff;
use crate::{Error, Result};

mod schema;

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
    prefix: String,
    collation: &'static str,
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
        let opts = OptsBuilder::from_opts(opts).init(vec![
            "SET NAMES utf8mb4".to_owned(),
            // Refuse what does not fit instead of truncating it (WordPress relaxes only its own
            // connection's mode).
            "SET SESSION sql_mode = 'TRADITIONAL'".to_owned(),
            format!(
                "SET SESSION innodb_lock_wait_timeout = {}",
                options.lock_wait_timeout.as_secs()
            ),
        ]);
        let mut conn = Conn::new(opts).map_err(failed("cannot connect to the ledger database"))?;
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
            prefix: options.table_prefix,
            collation,
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
}

/// Maps a driver error to a ledger error saying what was being done.
fn failed(context: &'static str) -> impl FnOnce(mysql::Error) -> Error {
    move |error| Error::ledger(context, error)
}
