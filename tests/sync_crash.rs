//! A queue runner killed with SIGKILL in the middle of a run: the test re-executes its own binary
//! as the runner (selected by an environment variable), lets it push against a slow fake, kills
//! it while it holds a claim, and checks that the next run — once the claim expired — brings
//! every channel to the same end state as an uninterrupted run.

mod fakes;
mod sync_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fakes::shopify::ShopifyFake;
use inventory_sync::channels::http::HttpConfig;
use inventory_sync::ledger::{
    ItemInput, JobStatus, LedgerStore, Location, MovementKind, MovementRequest, SqliteLedger,
};
use inventory_sync::sync::{self, Clock, ManualClock, RunOptions, SystemClock};
use sync_support::{allocations, jobs_with, open_count, shopify_channel, Factory, SHOPIFY_TOKEN};

/// Set in the child: the ledger file.
const FILE_ENV: &str = "INVENTORY_SYNC_CRASH_LEDGER";
/// Set in the child: the fake's URL (so the child can check it is the one it was given).
const TEST_NAME: &str = "a_runner_killed_mid_run_is_resumed_by_the_next_run";
const COUNT: usize = 400;
const CLAIM_SECONDS: u32 = 30;

fn sku(i: usize) -> String {
    format!("K{i:04}")
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("inventory-sync-crash-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Timeouts longer than the fake's delay.
fn patient_http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(5),
        overall_timeout: Duration::from_secs(10),
        user_agent: "inventory-sync-crash-test".into(),
    }
}

#[test]
fn a_runner_killed_mid_run_is_resumed_by_the_next_run() {
    match std::env::var(FILE_ENV) {
        Ok(file) => run_child(&file),
        Err(_) => run_parent(),
    }
}

/// The child: one queue run in real time, as a cron-started runner would.
fn run_child(file: &str) {
    let store = SqliteLedger::open(file).unwrap();
    let mut options = RunOptions::new(format!("child-{}", std::process::id()));
    options.claim_seconds = CLAIM_SECONDS;
    options.budget = Duration::from_secs(600);
    sync::run_queue(&store, &Factory { http: patient_http() }, &options, &SystemClock).unwrap();
}

fn run_parent() {
    let dir = TempDir::new();
    let file = dir.0.join("ledger.sqlite");
    let store = SqliteLedger::open(&file).unwrap();
    let now = SystemClock.now();
    let location = Location {
        code: "WH1".into(),
        name: "WH1".into(),
        priority: 0,
        active: true,
    };
    store.upsert_location(&location, now).unwrap();
    let fake = ShopifyFake::new(SHOPIFY_TOKEN);
    for i in 0..COUNT {
        let input = ItemInput {
            sku: sku(i),
            name: sku(i),
            ..ItemInput::default()
        };
        store.upsert_item(&input, now).unwrap();
        store
            .record(
                &MovementRequest::new(format!("r-{i}"), sku(i), MovementKind::Receive, 5 + (i as i64 % 17)),
                now,
            )
            .unwrap();
        fake.add_variant(&sku(i), 0);
    }
    let mut channel = shopify_channel("shop", &fake.url());
    channel.batch_size = 50;
    store.save_channel(&channel, now).unwrap();
    sync::full(&store, now).unwrap();
    // Every answer takes a while, so the child is caught in the middle of a batch.
    fake.set_delay(Some(Duration::from_millis(150)));

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
        .env(FILE_ENV, &file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has pushed a few batches and holds a claim, then kill it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let written = |fake: &ShopifyFake| (0..COUNT).filter(|i| !fake.writes(&sku(*i)).is_empty()).count();
    loop {
        assert!(Instant::now() < deadline, "the child never got going");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child finished before it could be killed: {status:?}");
        }
        let running = store.job_counts(None).unwrap().running;
        if written(&fake) >= 100 && running > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status:?}");

    // Mid-run: some pushed and completed, some claimed by a runner that no longer exists, the
    // rest waiting.
    let counts = store.job_counts(None).unwrap();
    assert!(counts.done >= 50 && counts.done < COUNT as u64, "{counts:?}");
    let orphaned = jobs_with(&store, JobStatus::Running);
    assert!(!orphaned.is_empty(), "{counts:?}");
    let done_before = written(&fake);
    assert!(done_before < COUNT);

    // The next run, while the claim is still valid, leaves the orphaned jobs alone…
    fake.set_delay(None);
    let clock = ManualClock::at_ms(SystemClock.now_ms());
    let factory = Factory {
        http: fakes::fast_http(),
    };
    let early = sync::run_queue(&store, &factory, &RunOptions::new("next-early"), &clock).unwrap();
    assert_eq!(
        store.job_counts(None).unwrap().running,
        orphaned.len() as u64,
        "{early:?}"
    );
    for job in &orphaned {
        assert_eq!(store.get_job(job.id).unwrap().unwrap().status, JobStatus::Running);
    }
    // …and once it expired, takes them over and finishes.
    clock.advance(Duration::from_secs(u64::from(CLAIM_SECONDS) + 1));
    sync::run_queue(&store, &factory, &RunOptions::new("next"), &clock).unwrap();
    assert_eq!(open_count(&store), 0, "{:?}", store.job_counts(None).unwrap());
    let counts = store.job_counts(None).unwrap();
    assert_eq!((counts.done, counts.dead), (COUNT as u64, 0), "{counts:?}");
    for job in &orphaned {
        let after = store.get_job(job.id).unwrap().unwrap();
        assert_eq!((after.status, after.attempts), (JobStatus::Done, 2), "{after:?}");
    }
    for i in 0..COUNT {
        let s = sku(i);
        let expected = allocations(&store, &s)["shop"];
        assert_eq!(fake.available(&s), Some(expected), "{s}");
        // A job pushed by the child but not completed may be pushed again (same value): the
        // last write is the allocation either way.
        assert_eq!(fake.writes(&s).last(), Some(&expected), "{s}");
    }
}
