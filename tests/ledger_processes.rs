//! Several PHP workers share one ledger file. This test plays them with real processes: it
//! re-executes its own binary as worker processes (selected by an environment variable) that
//! record interleaved events, 20% of them duplicated across workers, into one SQLite file, and
//! then checks that every event counted exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use inventory_sync::ledger::{
    HistoryQuery, ItemInput, LedgerStore, Location, MovementKind, MovementRequest, SqliteLedger,
};

/// Set in a child process: the worker's number.
const WORKER_ENV: &str = "INVENTORY_SYNC_LEDGER_WORKER";
/// Set in a child process: the ledger file.
const FILE_ENV: &str = "INVENTORY_SYNC_LEDGER_FILE";
/// The test both processes run: the parent spawns, the children work.
const TEST_NAME: &str = "processes_share_one_ledger_and_count_each_event_once";

const WORKERS: u64 = 4;
const EVENTS: u64 = 400;
const SKUS: [&str; 3] = ["A", "B", "C"];
const LOCATIONS: [&str; 2] = ["WH1", "WH2"];
const NOW: i64 = 1_700_000_000;

/// SplitMix64: every process derives the same events from their numbers.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Event `n`: a receive, sale, return, transfer or reservation of 1–5 units. The pre-stock is
/// large, so every reservation succeeds in any order and the totals do not depend on timing.
fn event(n: u64) -> MovementRequest {
    let r = mix(n);
    let kind = [
        MovementKind::Receive,
        MovementKind::Sale,
        MovementKind::Return,
        MovementKind::Transfer,
        MovementKind::Reserve,
    ][(r % 5) as usize];
    let from = ((r >> 16) % 2) as usize;
    let request = MovementRequest::new(
        format!("ev-{n}"),
        SKUS[((r >> 8) % 3) as usize],
        kind,
        1 + ((r >> 24) % 5) as i64,
    )
    .at(LOCATIONS[from])
    .with_origin(format!("test-{}", n % 7));
    match kind {
        MovementKind::Transfer => request.to(LOCATIONS[1 - from]),
        _ => request,
    }
}

/// Whether event `n` is also delivered to the worker after its owner (one in five is).
fn duplicated(n: u64) -> bool {
    mix(n ^ 0xD0D0) % 5 == 0
}

/// Worker `w`'s deliveries: its own events plus the duplicated ones of the previous worker,
/// shuffled, so duplicates reach two processes at about the same time.
fn deliveries(w: u64) -> Vec<MovementRequest> {
    let mut mine: Vec<(u64, u64)> = (0..EVENTS)
        .filter(|n| n % WORKERS == w || (n % WORKERS == (w + WORKERS - 1) % WORKERS && duplicated(*n)))
        .map(|n| (mix(n ^ (w << 32)), n))
        .collect();
    mine.sort();
    mine.into_iter().map(|(_, n)| event(n)).collect()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("inventory-sync-processes-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn processes_share_one_ledger_and_count_each_event_once() {
    match std::env::var(WORKER_ENV) {
        Ok(worker) => run_worker(worker.parse().unwrap(), Path::new(&std::env::var(FILE_ENV).unwrap())),
        Err(_) => run_parent(),
    }
}

fn run_parent() {
    let dir = TempDir::new();
    let file = dir.0.join("ledger.sqlite");
    let ledger = SqliteLedger::open(&file).unwrap();
    for (priority, code) in LOCATIONS.iter().enumerate() {
        let location = Location {
            code: (*code).into(),
            name: (*code).into(),
            priority: priority as i64,
            active: true,
        };
        ledger.upsert_location(&location, NOW).unwrap();
    }
    for sku in SKUS {
        ledger
            .upsert_item(
                &ItemInput {
                    sku: sku.into(),
                    name: format!("Item {sku}"),
                    ..ItemInput::default()
                },
                NOW,
            )
            .unwrap();
        for code in LOCATIONS {
            let stock =
                MovementRequest::new(format!("stock-{sku}-{code}"), sku, MovementKind::Receive, 10_000).at(code);
            ledger.record(&stock, NOW).unwrap();
        }
    }

    let children: Vec<_> = (0..WORKERS)
        .map(|w| {
            Command::new(std::env::current_exe().unwrap())
                .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
                .env(WORKER_ENV, w.to_string())
                .env(FILE_ENV, &file)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(dir.0.join("go"), b"").unwrap();
    let mut first_records = 0;
    for (w, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "worker {w} failed: {:?}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let counted = std::fs::read_to_string(dir.0.join(format!("worker-{w}.txt"))).unwrap();
        first_records += counted.trim().parse::<usize>().unwrap();
    }

    let events: Vec<MovementRequest> = (0..EVENTS).map(event).collect();
    let (expected, rows) = expected_totals(&events);
    assert_eq!(
        first_records,
        events.len(),
        "each event is recorded for the first time exactly once"
    );
    let deliveries: usize = (0..WORKERS).map(|w| deliveries(w).len()).sum();
    assert!(
        deliveries >= events.len() * 115 / 100,
        "about 20% duplicates: {deliveries} for {}",
        events.len()
    );

    let ledger = SqliteLedger::open(&file).unwrap();
    let mut actual = BTreeMap::new();
    for stock in ledger.stock_many(&SKUS).unwrap() {
        for level in stock.levels {
            actual.insert(
                (stock.sku.clone(), level.location),
                (level.on_hand - 10_000, level.reserved),
            );
        }
    }
    assert_eq!(actual, expected);
    assert_eq!(count_movements(&ledger), rows + SKUS.len() * LOCATIONS.len());
}

/// On hand (relative to the pre-stock) and reserved per (sku, location), and movement rows.
/// (on hand, reserved) per (sku, location).
type Totals = BTreeMap<(String, String), (i64, i64)>;

fn expected_totals(events: &[MovementRequest]) -> (Totals, usize) {
    let mut totals = BTreeMap::new();
    for sku in SKUS {
        for code in LOCATIONS {
            totals.insert((sku.to_owned(), code.to_owned()), (0, 0));
        }
    }
    let mut rows = 0;
    for e in events {
        let q = e.quantity.unwrap_or_default();
        let mut add = |location: &Option<String>, on_hand: i64, reserved: i64| {
            let key = (e.sku.clone(), location.clone().unwrap_or_default());
            let entry = totals.entry(key).or_insert((0, 0));
            entry.0 += on_hand;
            entry.1 += reserved;
        };
        rows += 1;
        match e.kind {
            MovementKind::Receive | MovementKind::Return => add(&e.location, q, 0),
            MovementKind::Sale => add(&e.location, -q, 0),
            MovementKind::Reserve => add(&e.location, 0, q),
            MovementKind::Transfer => {
                add(&e.location, -q, 0);
                add(&e.to_location, q, 0);
                rows += 1;
            }
            other => panic!("no {other} events here"),
        }
    }
    (totals, rows)
}

fn count_movements(ledger: &impl LedgerStore) -> usize {
    let mut count = 0;
    let mut query = HistoryQuery {
        limit: 1000,
        ..HistoryQuery::default()
    };
    loop {
        let page = ledger.history(&query).unwrap();
        count += page.movements.len();
        match page.next_before {
            Some(before) => query.before = Some(before),
            None => return count,
        }
    }
}

/// A child: wait for the start signal, record this worker's deliveries (singly and in batches),
/// and write how many were recorded for the first time.
fn run_worker(worker: u64, file: &Path) {
    let dir = file.parent().unwrap();
    let started = Instant::now();
    while !dir.join("go").exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "no start signal");
        std::thread::sleep(Duration::from_millis(2));
    }
    let ledger = SqliteLedger::open(file).unwrap();
    let mut first = 0usize;
    for (i, chunk) in deliveries(worker).chunks(5).enumerate() {
        if i % 3 == 0 {
            for outcome in ledger.record_batch(chunk, NOW + 1).unwrap() {
                first += usize::from(!outcome.unwrap().replayed);
            }
        } else {
            for request in chunk {
                first += usize::from(!ledger.record(request, NOW + 1).unwrap().replayed);
            }
        }
    }
    std::fs::write(dir.join(format!("worker-{worker}.txt")), first.to_string()).unwrap();
}
