//! One ledger connection per file per PHP process, kept across requests.
//!
//! A php-fpm worker serves thousands of requests, and each used to open the SQLite file anew:
//! opening costs a few milliseconds (the schema read, the `-wal` and `-shm` files made again
//! because the last connection's close had checkpointed and removed them, every statement
//! compiled again), more than the work of a webhook. `InventorySync\Ledger` objects opened on the
//! same path with the same options share one [`SqliteLedger`] held here for the life of the
//! process, like a persistent database connection.
//!
//! A file that was removed or replaced since (another inode at the path, as after a restore) is
//! opened afresh; so is one opened with other options. At most [`MAX_OPEN`] files are kept, the
//! least recently used given up first. Every store call is its own transaction, so nothing of a
//! request is left pending in a kept connection.
//!
//! A ledger on a MariaDB/MySQL server is kept the same way, per server, settings and options
//! ([`open_server`]); a kept connection the server closed meanwhile (its `wait_timeout`) is
//! connected again by the ledger at its next statement.

use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::ledger::{MariaDbLedger, MariaDbOptions, ServerSettings, SqliteLedger, SqliteOptions};
use crate::Result;

/// Files kept open per process.
pub const MAX_OPEN: usize = 8;

struct Kept {
    path: String,
    options: SqliteOptions,
    /// (device, inode) of the file when it was opened.
    file: (u64, u64),
    store: Arc<SqliteLedger>,
    last_used: u64,
}

struct Pool {
    kept: Vec<Kept>,
    uses: u64,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    kept: Vec::new(),
    uses: 0,
});

/// The (device, inode) of the file at `path`, if there is one.
fn file_id(path: &str) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The ledger at `path` opened with `options`: the one this process already holds when it is
/// still the same file, else a new connection (kept for the next request).
pub fn open(path: &str, options: &SqliteOptions) -> Result<Arc<SqliteLedger>> {
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    pool.uses += 1;
    let now = pool.uses;
    let current = file_id(path);
    if let Some(kept) = pool
        .kept
        .iter_mut()
        .find(|k| k.path == path && &k.options == options && Some(k.file) == current)
    {
        kept.last_used = now;
        return Ok(kept.store.clone());
    }
    let store = Arc::new(SqliteLedger::open_with(path, options)?);
    pool.kept.retain(|k| !(k.path == path && &k.options == options));
    if let Some(file) = file_id(path) {
        if pool.kept.len() >= MAX_OPEN {
            if let Some(oldest) = pool
                .kept
                .iter()
                .enumerate()
                .min_by_key(|(_, k)| k.last_used)
                .map(|(i, _)| i)
            {
                pool.kept.swap_remove(oldest);
            }
        }
        pool.kept.push(Kept {
            path: path.to_string(),
            options: options.clone(),
            file,
            store: store.clone(),
            last_used: now,
        });
    }
    Ok(store)
}

struct KeptServer {
    url: String,
    settings: ServerSettings,
    options: MariaDbOptions,
    store: Arc<MariaDbLedger>,
}

/// The database ledgers this process keeps, least recently used first.
static SERVERS: Mutex<Vec<KeptServer>> = Mutex::new(Vec::new());

/// The ledger on the server `url` and `settings` name, opened with `options`: the one this
/// process already holds, else a new connection (kept for the next request; at most
/// [`MAX_OPEN`] are kept).
pub fn open_server(url: &str, settings: &ServerSettings, options: &MariaDbOptions) -> Result<Arc<MariaDbLedger>> {
    let mut kept = SERVERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = kept
        .iter()
        .position(|k| k.url == url && &k.settings == settings && &k.options == options)
    {
        let hit = kept.remove(i);
        let store = hit.store.clone();
        kept.push(hit);
        return Ok(store);
    }
    let store = Arc::new(MariaDbLedger::open_server(url, settings, options)?);
    if kept.len() >= MAX_OPEN {
        kept.remove(0);
    }
    kept.push(KeptServer {
        url: url.to_string(),
        settings: settings.clone(),
        options: options.clone(),
        store: store.clone(),
    });
    Ok(store)
}

/// How many files this process keeps open.
#[cfg(test)]
fn kept() -> usize {
    POOL.lock().unwrap_or_else(PoisonError::into_inner).kept.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ItemInput, LedgerStore};

    #[test]
    fn the_same_file_is_shared_and_a_replaced_one_is_opened_again() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("inventory-sync-pool-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("ledger.sqlite").to_string_lossy().to_string();
        let options = SqliteOptions::default();
        let a = open(&path, &options)?;
        let b = open(&path, &options)?;
        assert!(Arc::ptr_eq(&a, &b), "one connection for the same file and options");
        a.upsert_item(
            &ItemInput {
                sku: "A".into(),
                name: "A".into(),
                ..ItemInput::default()
            },
            1,
        )?;
        assert!(b.get_item("A")?.is_some());

        let other = SqliteOptions {
            busy_timeout: std::time::Duration::from_secs(1),
            ..SqliteOptions::default()
        };
        assert!(
            !Arc::ptr_eq(&a, &open(&path, &other)?),
            "other options, another connection"
        );

        // The file is replaced (a restore): the next open sees the new one, not the old inode.
        drop((a, b));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
        let fresh = open(&path, &options)?;
        assert!(fresh.get_item("A")?.is_none(), "a new, empty ledger");
        assert!(kept() <= MAX_OPEN);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
