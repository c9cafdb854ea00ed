//! One store test suite for every backend: what a test needs of a store beyond [`LedgerStore`]
//! ([`TestStore`]), how it opens stores ([`Backend`]), and [`store_tests!`], which runs each listed
//! test on each backend.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use super::TempDir;
use crate::ledger::{Backoff, LedgerStore, MariaDbLedger, MariaDbOptions, SqliteLedger, SqliteOptions};
use crate::Result;

/// Runs store tests on backends. Each listed name is a function taking `&dyn Backend`;
/// `store_tests!(a, b)` makes the tests `a::sqlite` and `b::sqlite`, and
/// `store_tests!([sqlite, mariadb]: a, b)` also `a::mariadb` and `b::mariadb` (a list moves to
/// MariaDB with the step of issue 9 that implements its methods there).
///
/// The test functions stay plain functions (so rustfmt formats them), and a function left out of
/// the list is dead code, which the build refuses.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        store_tests!([sqlite]: $($name),*);
    };
    ($backends:tt: $($name:ident),* $(,)?) => {
        $( store_tests!(@one $name $backends); )*
    };
    (@one $name:ident [$($backend:ident),+]) => {
        mod $name {
            $(
                #[test]
                fn $backend() {
                    $crate::ledger::tests::backend::$backend::run(super::$name);
                }
            )+
        }
    };
}

/// Every table of the ledger, without the prefix (a schema version table aside), by name.
pub(crate) const LEDGER_TABLES: [&str; 19] = [
    "api_keys",
    "api_requests",
    "channels",
    "drift",
    "feeds",
    "inbound_events",
    "items",
    "jobs",
    "listings",
    "locations",
    "messages",
    "movements",
    "pacing",
    "rate_limits",
    "reservations",
    "security_events",
    "stock_levels",
    "sync_runs",
    "sync_state",
];

/// The tables [`TestStore::dump`] compares, in order: the copied tables up to `sync_state`.
pub(crate) const DUMPED_TABLES: &[&str] = crate::ledger::copy::COPIED_TABLES.split_at(16).0;

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

    /// How many cases a property test runs here, given how many it runs on SQLite (a store
    /// costs more to create on a server).
    fn property_cases(&self, on_sqlite: u32) -> u32 {
        on_sqlite
    }

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

/// Runs a store test on SQLite.
pub(crate) mod sqlite {
    /// Runs `test` on a new [`Sqlite`](super::Sqlite) backend.
    pub(crate) fn run(test: fn(&dyn super::Backend)) {
        test(&super::Sqlite::new());
    }
}

/// Runs a store test on MariaDB.
pub(crate) mod mariadb {
    /// Runs `test` on a new [`MariaDb`](super::MariaDb) backend; without a test server, says
    /// "skipped" and returns, unless one is required (then it fails).
    pub(crate) fn run(test: fn(&dyn super::Backend)) {
        if let Some(server) = super::test_server() {
            test(&super::MariaDb::new(server, false));
        }
    }
}

/// Runs a store test on MariaDB with claims taking turns under a named lock (`GET_LOCK`), as on
/// servers without SKIP LOCKED ([`MariaDbOptions::serialise_claims`]).
pub(crate) mod mariadb_get_lock {
    /// Runs `test` on a new [`MariaDb`](super::MariaDb) backend whose stores serialise claims;
    /// skipped as [`super::mariadb::run`] is.
    pub(crate) fn run(test: fn(&dyn super::Backend)) {
        if let Some(server) = super::test_server() {
            test(&super::MariaDb::new(server, true));
        }
    }
}

/// MariaDB: every store a database of its own ([`TestDatabase`]), dropped after the test.
pub(crate) struct MariaDb {
    server: mysql::Opts,
    databases: Mutex<Vec<TestDatabase>>,
    /// [`MariaDbOptions::serialise_claims`] of every store opened.
    serialise_claims: bool,
}

impl MariaDb {
    fn new(server: mysql::Opts, serialise_claims: bool) -> Self {
        MariaDb {
            server,
            databases: Mutex::new(Vec::new()),
            serialise_claims,
        }
    }

    fn options(&self, backoff: &Backoff) -> MariaDbOptions {
        MariaDbOptions {
            backoff: *backoff,
            serialise_claims: self.serialise_claims,
            ..MariaDbOptions::default()
        }
    }

    /// A new empty database, kept until the test ends; how to connect to it.
    fn database(&self) -> mysql::Opts {
        let database = TestDatabase::create_on(self.server.clone());
        let opts = database.opts();
        self.databases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(database);
        opts
    }
}

impl Backend for MariaDb {
    fn try_open_with(&self, backoff: &Backoff) -> Result<Box<dyn TestStore>> {
        Ok(Box::new(MariaDbLedger::open_opts(
            self.database(),
            &self.options(backoff),
        )?))
    }

    fn property_cases(&self, on_sqlite: u32) -> u32 {
        on_sqlite / 4
    }

    fn shared(&self) -> Shared {
        let opts = self.database();
        let options = self.options(&Backoff::default());
        Shared(Box::new(move || {
            Box::new(MariaDbLedger::open_opts(opts.clone(), &options).unwrap())
        }))
    }
}

/// Where the MariaDB store tests find their server: `INVENTORY_SYNC_TEST_MYSQL`, a URL such as
/// `mysql://root@localhost/?socket=/path/mysqld.sock` (`./build.sh test` starts one and sets it).
const TEST_SERVER_VARIABLE: &str = "INVENTORY_SYNC_TEST_MYSQL";

/// Set to 1 where a MariaDB must be present (`./build.sh test`, so CI): its absence then fails the
/// tests instead of skipping them.
const REQUIRE_VARIABLE: &str = "INVENTORY_SYNC_REQUIRE_MARIADB";

/// The test server's URL from the two variables' values: `Ok(None)` to skip, `Err` to fail.
fn test_server_url(url: Option<String>, require: Option<String>) -> std::result::Result<Option<String>, String> {
    match url.filter(|u| !u.trim().is_empty()) {
        Some(url) => Ok(Some(url)),
        None if require.as_deref().map(str::trim) == Some("1") => Err(format!(
            "{REQUIRE_VARIABLE}=1 but {TEST_SERVER_VARIABLE} is unset: no MariaDB to test against \
             (./build.sh test starts one)"
        )),
        None => Ok(None),
    }
}

/// The test server, or `None` (after saying so) when there is none and none is required.
fn test_server() -> Option<mysql::Opts> {
    let url = test_server_url(
        std::env::var(TEST_SERVER_VARIABLE).ok(),
        std::env::var(REQUIRE_VARIABLE).ok(),
    )
    .unwrap_or_else(|message| panic!("{message}"));
    let Some(url) = url else {
        eprintln!("skipped: no MariaDB ({TEST_SERVER_VARIABLE} unset)");
        return None;
    };
    Some(mysql::Opts::from_url(&url).unwrap_or_else(|e| panic!("{TEST_SERVER_VARIABLE}: {e}")))
}

/// A database of its own for one test, `t_<pid>_<n>` (created with WordPress's usual
/// case-insensitive default collation, which the ledger must not inherit), dropped with this.
pub(crate) struct TestDatabase {
    admin: mysql::Conn,
    name: String,
    opts: mysql::Opts,
}

impl TestDatabase {
    /// A new empty database on the test server; `None` when the tests are skipped. Fails the test
    /// when the server named is not there.
    pub(crate) fn create() -> Option<Self> {
        Some(Self::create_on(test_server()?))
    }

    /// A new empty database on this server.
    fn create_on(server: mysql::Opts) -> Self {
        use mysql::prelude::Queryable;
        static DATABASES: AtomicUsize = AtomicUsize::new(0);
        let mut admin = mysql::Conn::new(server.clone())
            .unwrap_or_else(|e| panic!("cannot connect to the test MariaDB ({TEST_SERVER_VARIABLE}): {e}"));
        let name = format!("t_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
        ] {
            admin.query_drop(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let opts = mysql::OptsBuilder::from_opts(server).db_name(Some(&name)).into();
        TestDatabase { admin, name, opts }
    }

    /// How to connect to this database.
    pub(crate) fn opts(&self) -> mysql::Opts {
        self.opts.clone()
    }

    /// The database's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        use mysql::prelude::Queryable;
        let dropped = self.admin.query_drop(format!("DROP DATABASE IF EXISTS {}", self.name));
        if let Err(e) = dropped {
            // Not a panic: this may run while a failed test is already unwinding.
            eprintln!("cannot drop the test database {}: {e}", self.name);
        }
    }
}

#[test]
fn mariadb_tests_skip_only_where_no_server_is_required() {
    let url = || Some("mysql://root@localhost/?socket=/s".to_owned());
    let cases = [
        (None, None, Ok(None)),
        (Some(" ".to_owned()), Some("0".to_owned()), Ok(None)),
        (url(), None, Ok(url())),
        (url(), Some("1".to_owned()), Ok(url())),
        (None, Some("1".to_owned()), Err("INVENTORY_SYNC_REQUIRE_MARIADB=1")),
        (
            Some(String::new()),
            Some("1".to_owned()),
            Err("INVENTORY_SYNC_REQUIRE_MARIADB=1"),
        ),
    ];
    for (given, require, expected) in cases {
        let got = test_server_url(given.clone(), require.clone());
        match (&got, expected) {
            (Ok(got), Ok(expected)) => assert_eq!(got, &expected, "{given:?} {require:?}"),
            (Err(message), Err(text)) => assert!(message.starts_with(text), "{message}"),
            _ => panic!("{given:?} {require:?}: {got:?}"),
        }
    }
}
