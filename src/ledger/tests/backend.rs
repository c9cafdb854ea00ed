//! One store test suite for every backend: what a test needs of a store beyond [`LedgerStore`]
//! ([`TestStore`]), how it opens stores ([`Backend`]), and [`store_tests!`], which runs each listed
//! test on each backend.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::TempDir;
use crate::ledger::{Backoff, LedgerStore, SqliteLedger, SqliteOptions};
use crate::Result;

/// Runs store tests on every backend. Each listed name is a function taking `&dyn Backend`;
/// `store_tests!(a, b)` makes the tests `a::sqlite` and `b::sqlite`.
///
/// The test functions stay plain functions (so rustfmt formats them), and a function left out of
/// the list is dead code, which the build refuses.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(&$crate::ledger::tests::backend::Sqlite::new());
                }
            }
        )*
    };
}

/// The tables [`TestStore::dump`] compares, in order.
pub(crate) const DUMPED_TABLES: [&str; 16] = [
    "items",
    "locations",
    "stock_levels",
    "movements",
    "reservations",
    "api_keys",
    "rate_limits",
    "security_events",
    "inbound_events",
    "listings",
    "jobs",
    "channels",
    "pacing",
    "sync_runs",
    "drift",
    "sync_state",
];

/// A store as the tests see it: the trait, plus raw access to reach and inspect states the trait
/// cannot. Tests may panic, so these do instead of returning errors.
pub(crate) trait TestStore: LedgerStore + Send + Sync {
    /// Runs raw SQL (one or more statements), to set up states the API cannot reach.
    fn execute_raw(&self, sql: &str);

    /// The first column of the first row of a query.
    fn query_i64(&self, sql: &str) -> i64;

    /// Every row of every table of [`DUMPED_TABLES`] as text, to compare whole states.
    fn dump(&self) -> Vec<String>;

    /// The store's schema version.
    fn schema_version(&self) -> i64;

    /// The schema version this build writes for this backend.
    fn latest_schema_version(&self) -> i64;
}

/// Connects to one store that several connections share, as separate PHP workers do.
pub(crate) struct Shared(Box<dyn Fn() -> Box<dyn TestStore> + Send + Sync>);

impl Shared {
    /// Opens another connection to the store; the first one creates it.
    pub(crate) fn connect(&self) -> Box<dyn TestStore> {
        (self.0)()
    }
}

/// A backend under test: opens stores for one test and removes them after it.
pub(crate) trait Backend: Sync {
    /// A new empty store with these options, private to one connection (in memory on SQLite).
    fn try_open_with(&self, backoff: &Backoff) -> Result<Box<dyn TestStore>>;

    /// A new empty store that [`Shared::connect`] opens connections to (a file on SQLite).
    /// Nothing exists until the first connection.
    fn shared(&self) -> Shared;

    /// A new empty store with the default options.
    fn open(&self) -> Box<dyn TestStore> {
        self.open_with(&Backoff::default())
    }

    /// A new empty store with these options.
    fn open_with(&self, backoff: &Backoff) -> Box<dyn TestStore> {
        self.try_open_with(backoff).unwrap()
    }
}

/// SQLite: private stores in memory, shared stores in files of one temporary directory that
/// lives as long as the test.
pub(crate) struct Sqlite {
    dir: OnceLock<TempDir>,
    files: AtomicUsize,
}

impl Sqlite {
    pub(crate) fn new() -> Self {
        Sqlite {
            dir: OnceLock::new(),
            files: AtomicUsize::new(0),
        }
    }
}

impl Backend for Sqlite {
    fn try_open_with(&self, backoff: &Backoff) -> Result<Box<dyn TestStore>> {
        let options = SqliteOptions {
            backoff: *backoff,
            ..SqliteOptions::default()
        };
        Ok(Box::new(SqliteLedger::open_in_memory_with(&options)?))
    }

    fn shared(&self) -> Shared {
        let dir = self.dir.get_or_init(|| TempDir::new("store"));
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        let path: PathBuf = dir.path().join(format!("ledger-{n}.sqlite"));
        Shared(Box::new(move || Box::new(SqliteLedger::open(&path).unwrap())))
    }
}
