//! The outbound sync benchmark (`./build.sh bench` runs it through `bench/sync.php`): the sync
//! engine against the loopback fakes of every channel kind, as a full sync runs it — plan every
//! SKU (`sync::full`), then `sync::run_queue` until the queue is empty — through the production
//! adapter factory as the plugin's queue runs use it (`Adapters::keeping_tokens`: sealed
//! credentials, OAuth tokens kept in the store, `channels::connect`, unpaced adapters, the runner
//! pacing writes), on an SQLite ledger file.
//!
//! ```text
//! cargo run --release --example bench_sync -- [--skus=20000]
//!     [--unbatched-skus=1000] [--rate=20] [--rate-seconds=5] [--kinds=shopify,webhook,…]
//!     [--timeout=300] [--json=PATH]
//! ```
//!
//! Per channel kind, in a ledger of its own with one channel (batch size: the most the channel
//! takes), three timed passes, each checked afterwards (every remote quantity must equal the
//! allocation, and the value the benchmark itself expects):
//!
//! * `first` — the first full sync of N SKUs: remote ids are looked up;
//! * `update` — a sale on every SKU, then a full sync again: remote ids are known;
//! * `unbatched` — the baseline: batch size 1, a receipt on the first K SKUs, a full sync.
//!
//! Each reports SKUs pushed per second (plan + queue), the write calls the fake saw against the
//! minimum ceil(SKUs / batch), the other calls (look-ups, tokens) and the calls the runner
//! reported. Amazon's first and update passes go through `JSON_LISTINGS_FEED` (up to 25,000
//! SKUs per feed: the write call counted is `createFeed`; the fake processes a feed at once, so
//! the figure is our own cost and the fake's); its unbatched baseline is one `patchListingsItem`
//! per SKU (feeds off). Nothing paces Amazon here (in production single patches go at
//! 5 requests/s and at most 5 feeds start in 5 minutes).
//!
//! Then rate-limited runs of about `--rate-seconds` of calls each, the fake enforcing the channel's
//! own rate (a token bucket that answers 429 with `Retry-After`): the webhook at `--rate`
//! requests/s, burst 1, 10 SKUs per call, once with the fake allowing one call of burst more than
//! the channel (`paced`: network jitter does not turn a call made on time into a 429) and once
//! with exactly the channel's burst (`strict`); Amazon at SP-API's 5 requests/s, burst 5
//! (`paced`). Each reports the rate achieved over the span of admitted calls as a fraction of the
//! limit, the 429s answered, and whether every job was done in the end. Those ledgers back off
//! 1 s at least (the default floor is 30 s).
//!
//! Exits 1 when any result disagrees (a quantity not as expected, a job left open or dead), 2 on
//! bad arguments or when something cannot run. Never because of a time. Everything listens on
//! 127.0.0.1 with kernel-picked ports and is stopped before the program ends; the ledgers live in
//! a temporary directory removed at the end.

#[path = "../tests/fakes/mod.rs"]
mod fakes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use fakes::amazon::{AmazonFake, MARKETPLACE, TOKEN_PATH};
use fakes::ebay::EbayFake;
use fakes::shopify::ShopifyFake;
use fakes::webhook_receiver::WebhookReceiver;
use fakes::woocommerce::WooFake;
use fakes::LimitStats;
use inventory_sync::channels::http::HttpConfig;
use inventory_sync::crypto::CredentialKey;
use inventory_sync::inventory;
use inventory_sync::ledger::{
    Backoff, ChannelConfig, ChannelInput, ChannelType, ItemInput, LedgerStore, Location, MovementKind, MovementRequest,
    RateLimit, SqliteLedger, SqliteOptions, MAX_BATCH,
};
use inventory_sync::stock::{ChannelRule, RuleSet};
use inventory_sync::sync::{self, Adapters, Clock, RunOptions, SystemClock};
use inventory_sync::Error;

const SHOPIFY_TOKEN: &str = "shpat_bench_token_0123456789";
const WOO_KEY: &str = "ck_bench_key_0123456789";
const WOO_SECRET: &str = "cs_bench_secret_0123456789";
const CLIENT_ID: &str = "bench-client-id";
const CLIENT_SECRET: &str = "bench-client-secret";
const REFRESH_TOKEN: &str = "bench-refresh-token";
const AMAZON_SELLER: &str = "A2BENCHSELLER1";
const AMAZON_PRODUCT_TYPE: &str = "LUGGAGE";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LOCATION: &str = "WH1";

/// Items per webhook event in the no-latency runs: the adapter's default.
const WEBHOOK_BATCH: u32 = 100;
/// Items per webhook event in the rate-limited run: small, so that a few seconds make many calls.
const RATE_LIMITED_BATCH: u32 = 10;
/// SP-API's `patchListingsItem` usage plan.
const AMAZON_RATE: f64 = 5.0;
const AMAZON_BURST: u32 = 5;

const USAGE: &str = "usage: bench_sync [--skus=N] [--unbatched-skus=N] [--rate=R] \
                     [--rate-seconds=S] [--kinds=shopify,woocommerce_remote,ebay,amazon,webhook] \
                     [--timeout=SECONDS] [--json=PATH]";

/// What the command line asks for.
struct Args {
    skus: usize,
    unbatched_skus: usize,
    rate: f64,
    rate_seconds: f64,
    kinds: Vec<ChannelType>,
    /// The longest one pass may take before the benchmark gives up on it.
    timeout: Duration,
    json: Option<PathBuf>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> std::result::Result<Args, String> {
        let mut parsed = Args {
            skus: 20_000,
            unbatched_skus: 1_000,
            rate: 20.0,
            rate_seconds: 5.0,
            kinds: vec![
                ChannelType::Shopify,
                ChannelType::WooCommerceRemote,
                ChannelType::Ebay,
                ChannelType::Amazon,
                ChannelType::Webhook,
            ],
            timeout: Duration::from_secs(300),
            json: None,
        };
        for arg in args {
            let (name, value) = arg
                .split_once('=')
                .ok_or_else(|| format!("{arg}: expected --name=value"))?;
            let count = |max: usize| -> std::result::Result<usize, String> {
                value
                    .parse()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| format!("{name} must be a whole number from 1 to {max}, got {value:?}"))
            };
            let number = |max: f64| -> std::result::Result<f64, String> {
                value
                    .parse()
                    .ok()
                    .filter(|n: &f64| *n > 0.0 && *n <= max)
                    .ok_or_else(|| format!("{name} must be a number above 0 and at most {max}, got {value:?}"))
            };
            match name {
                "--skus" => parsed.skus = count(1_000_000)?,
                "--unbatched-skus" => parsed.unbatched_skus = count(100_000)?,
                "--rate" => parsed.rate = number(1_000.0)?,
                "--rate-seconds" => parsed.rate_seconds = number(60.0)?,
                "--timeout" => parsed.timeout = Duration::from_secs(count(3_600)? as u64),
                "--json" => parsed.json = Some(PathBuf::from(value)),
                "--kinds" => {
                    parsed.kinds = value
                        .split(',')
                        .map(|kind| {
                            ChannelType::parse(kind.trim())
                                .ok()
                                .filter(|k| *k != ChannelType::WooCommerceLocal)
                                .ok_or_else(|| format!("--kinds: no fake for {kind:?}"))
                        })
                        .collect::<std::result::Result<_, _>>()?;
                }
                _ => return Err(format!("unknown option {name}")),
            }
        }
        Ok(parsed)
    }
}

/// A run that disagrees with what it should have done, or cannot go on.
enum Failure {
    /// Results disagree: exit 1.
    Disagree(String),
    /// Something could not run: exit 2.
    Broken(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Broken(error.full_message())
    }
}

type Outcome<T> = std::result::Result<T, Failure>;

fn main() -> ExitCode {
    if std::env::args().any(|arg| arg == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Removed when dropped: `run` returns before the end of main whatever happens.
    let dir = match tempfile::Builder::new().prefix("inventory-sync-bench-sync-").tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("cannot create a temporary directory: {error}");
            return ExitCode::from(2);
        }
    };
    let result = run(&args, dir.path());
    drop(dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Disagree(what)) => {
            eprintln!("RESULTS DISAGREE: {what}");
            ExitCode::from(1)
        }
        Err(Failure::Broken(what)) => {
            eprintln!("cannot run: {what}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args, dir: &Path) -> Outcome<()> {
    let mut channels = Vec::new();
    let mut problems = Vec::new();
    for &kind in &args.kinds {
        let skus = args.skus;
        let unbatched = args.unbatched_skus.min(skus);
        let (figures, problem) = bench_channel(kind, skus, unbatched, args.timeout, dir)?;
        channels.push(figures);
        problems.extend(problem);
    }
    let mut limited = Vec::new();
    for scenario in Limited::scenarios(args) {
        let (figures, problem) = bench_rate_limited(&scenario, args, dir)?;
        limited.push(figures);
        problems.extend(problem);
    }
    let notes = vec![
        format!(
            "ledger: an SQLite file per channel kind (WAL), {} location, one channel in it, allocation shared with no buffer (the allocation is the available stock)",
            LOCATION
        ),
        "fakes: tests/fakes on 127.0.0.1, a thread per connection, connections kept open between requests (HTTP keep-alive), no added latency; their own time is in the figures".into(),
        "passes per kind: first full sync (remote ids looked up), update (a sale on every SKU, remote ids known), unbatched baseline (batch size 1, a receipt on the first SKUs); each timed from sync::full to an empty queue (run_queue repeated, WP-Cron-sized runs of at most 10,000 jobs)".into(),
        "checked after every pass: every SKU's remote quantity (eBay: the item and every offer) equals its allocation and the quantity the benchmark expects; every job done".into(),
        "Amazon: first and update passes by JSON_LISTINGS_FEED (≤ 25,000 SKUs per feed; write calls = createFeed; the fake processes a feed at once, polled once right after it is created), the unbatched baseline by one patchListingsItem per SKU; unpaced (production: single patches at 5 requests/s, at most 5 feeds per 5 minutes)".into(),
        "rate-limited runs: the fake enforces the channel's own rate as a token bucket and answers 429 with Retry-After (paced: one call of burst more than the channel's, for network jitter; strict: the same burst); achieved rate = (admitted calls − the channel's burst) ÷ span from the first to the last admitted call; the ledger's backoff floor is set to 1 s (default 30 s, so that a 429 with Retry-After: 1 would wait 15–30 s)".into(),
        format!(
            "ledger files under {} (the system's temporary directory; TMPDIR moves them)",
            dir.parent().unwrap_or(dir).display()
        ),
    ];
    if let Some(path) = &args.json {
        let report = json!({ "bench": "sync", "channels": channels, "rate_limited": limited, "notes": notes,
                             "problems": problems });
        let text = serde_json::to_string_pretty(&report).map_err(|e| Failure::Broken(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| Failure::Broken(format!("cannot write {}: {e}", path.display())))?;
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Disagree(problems.join("; ")))
    }
}

// ---------------------------------------------------------------------------------------------
// The fakes, one kind at a time
// ---------------------------------------------------------------------------------------------

/// One fake channel, stocking every SKU of the benchmark at 0.
enum Fake {
    Shopify(ShopifyFake),
    Woo(WooFake),
    Ebay(EbayFake),
    Amazon(AmazonFake),
    Webhook(WebhookReceiver),
}

impl Fake {
    fn start(kind: ChannelType, skus: &[String]) -> Outcome<Fake> {
        let fake = match kind {
            ChannelType::Shopify => {
                let fake = ShopifyFake::new(SHOPIFY_TOKEN);
                for sku in skus {
                    fake.add_variant(sku, 0);
                }
                Fake::Shopify(fake)
            }
            ChannelType::WooCommerceRemote => {
                let fake = WooFake::new(WOO_KEY, WOO_SECRET);
                for sku in skus {
                    fake.add_product(sku, 0);
                }
                Fake::Woo(fake)
            }
            ChannelType::Ebay => {
                let fake = EbayFake::new(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN);
                for sku in skus {
                    fake.add_item(sku, 0, 1);
                }
                Fake::Ebay(fake)
            }
            ChannelType::Amazon => {
                let fake = AmazonFake::new(AMAZON_SELLER, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN);
                for sku in skus {
                    fake.add_listing(sku, AMAZON_PRODUCT_TYPE, 0);
                }
                Fake::Amazon(fake)
            }
            ChannelType::Webhook => {
                Fake::Webhook(WebhookReceiver::new(WEBHOOK_SECRET, unix_now().max(0).unsigned_abs()))
            }
            ChannelType::WooCommerceLocal => {
                return Err(Failure::Broken("woocommerce_local is applied in PHP: no fake".into()))
            }
        };
        Ok(fake)
    }

    /// The channel's settings and credentials, as `channels::connect` reads them.
    fn connection(&self, batch: u32) -> (Value, Value) {
        let refresh = json!({ "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN });
        match self {
            Fake::Shopify(fake) => (
                json!({ "shop_url": fake.url() }),
                json!({ "access_token": SHOPIFY_TOKEN }),
            ),
            Fake::Woo(fake) => (
                json!({ "store_url": fake.url() }),
                json!({ "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET }),
            ),
            Fake::Ebay(fake) => (json!({ "api_url": fake.url() }), refresh),
            Fake::Amazon(fake) => (
                json!({ "endpoint": fake.url(), "seller_id": AMAZON_SELLER, "marketplace_id": MARKETPLACE,
                        "product_type": AMAZON_PRODUCT_TYPE, "lwa_url": format!("{}{TOKEN_PATH}", fake.url()),
                        // Batch size 1 is the baseline: single patches only.
                        "feed_threshold": if batch == 1 { 0 } else { inventory_sync::channels::amazon::FEED_THRESHOLD } }),
                refresh,
            ),
            Fake::Webhook(fake) => (
                json!({ "url": fake.url(), "batch_size": batch }),
                json!({ "secret": WEBHOOK_SECRET }),
            ),
        }
    }

    /// The most SKUs one write call takes (the channel's batch size).
    fn batch(kind: ChannelType) -> u32 {
        match kind {
            ChannelType::Shopify => inventory_sync::channels::shopify::MAX_QUANTITIES as u32,
            ChannelType::WooCommerceRemote => inventory_sync::channels::woocommerce::MAX_BATCH as u32,
            ChannelType::Ebay => inventory_sync::channels::ebay::MAX_REQUESTS as u32,
            ChannelType::Webhook => WEBHOOK_BATCH,
            ChannelType::Amazon => inventory_sync::channels::amazon::MAX_FEED_MESSAGES as u32,
            ChannelType::WooCommerceLocal => 1,
        }
    }

    /// (write calls, every request) the fake has seen.
    fn calls(&self) -> (usize, usize) {
        match self {
            Fake::Shopify(fake) => (fake.mutations().len(), fake.requests().len()),
            Fake::Woo(fake) => (fake.batch_calls().len(), fake.requests().len()),
            Fake::Ebay(fake) => (fake.bulk_updates().len(), fake.requests().len()),
            Fake::Amazon(fake) => (fake.patches().len() + fake.feeds().len(), fake.requests().len()),
            Fake::Webhook(fake) => {
                let attempts = fake.attempts().len();
                (attempts, attempts)
            }
        }
    }

    /// What the channel shows for each SKU (`None`: nothing, or eBay's offer and item disagree).
    fn shown(&self, skus: &[String]) -> Vec<Option<i64>> {
        match self {
            Fake::Shopify(fake) => skus.iter().map(|sku| fake.available(sku)).collect(),
            Fake::Woo(fake) => skus.iter().map(|sku| fake.stock(sku)).collect(),
            Fake::Ebay(fake) => skus
                .iter()
                .map(|sku| {
                    let item = fake.quantity(sku)?;
                    fake.offer_quantities(sku).iter().all(|&q| q == item).then_some(item)
                })
                .collect(),
            Fake::Amazon(fake) => skus.iter().map(|sku| fake.quantity(sku)).collect(),
            Fake::Webhook(fake) => {
                // The receiver keeps events in arrival order: the newest quantity per SKU stands.
                let mut told: HashMap<String, i64> = HashMap::new();
                for delivery in fake.events() {
                    for item in delivery.event["data"]["items"].as_array().into_iter().flatten() {
                        if let (Some(sku), Some(quantity)) = (item["sku"].as_str(), item["quantity"].as_i64()) {
                            told.insert(sku.to_string(), quantity);
                        }
                    }
                }
                skus.iter().map(|sku| told.get(sku).copied()).collect()
            }
        }
    }

    fn set_rate_limit(&self, rate: RateLimit) -> Outcome<()> {
        match self {
            Fake::Amazon(fake) => fake.set_rate_limit(rate.per_second, rate.burst),
            Fake::Webhook(fake) => fake.set_rate_limit(rate.per_second, rate.burst),
            _ => {
                return Err(Failure::Broken(
                    "only the Amazon and webhook fakes enforce a rate limit".into(),
                ))
            }
        }
        Ok(())
    }

    fn limit_stats(&self) -> Option<LimitStats> {
        match self {
            Fake::Amazon(fake) => fake.limit_stats(),
            Fake::Webhook(fake) => fake.limit_stats(),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger
// ---------------------------------------------------------------------------------------------

fn unix_now() -> i64 {
    SystemClock.now()
}

fn sku(i: usize) -> String {
    // One width for all: Shopify's search matches text, and no SKU is then part of another.
    format!("BS{i:07}")
}

/// What each SKU is received at first: varied, at least 10.
fn received(i: usize) -> i64 {
    10 + (i as i64 * 7919) % 991
}

/// What the update pass sells of each SKU: 1–5, never more than is there.
fn sold(i: usize) -> i64 {
    1 + (i as i64 % 5)
}

/// What the unbatched pass receives of each of its SKUs.
const RESTOCK: i64 = 3;

/// A ledger file in `dir` with one location and `count` items received at [`received`].
fn ledger(dir: &Path, name: &str, count: usize, options: &SqliteOptions) -> Outcome<SqliteLedger> {
    let store = SqliteLedger::open_with(dir.join(format!("{name}.sqlite")), options)?;
    let now = unix_now();
    let location = Location {
        code: LOCATION.into(),
        name: "Warehouse".into(),
        priority: 0,
        active: true,
    };
    store.upsert_location(&location, now)?;
    for i in 0..count {
        let item = ItemInput {
            sku: sku(i),
            name: format!("Bench item {i}"),
            ..ItemInput::default()
        };
        store.upsert_item(&item, now)?;
    }
    record(
        &store,
        (0..count).map(|i| MovementRequest::new(format!("receive-{i}"), sku(i), MovementKind::Receive, received(i))),
    )?;
    Ok(store)
}

/// Records movements in batches; every one must be accepted.
fn record(store: &SqliteLedger, movements: impl Iterator<Item = MovementRequest>) -> Outcome<()> {
    let movements: Vec<MovementRequest> = movements.map(|m| m.at(LOCATION)).collect();
    for chunk in movements.chunks(MAX_BATCH) {
        for outcome in store.record_batch(chunk, unix_now())? {
            outcome?;
        }
    }
    Ok(())
}

/// The production adapter factory, with a key of the benchmark's own: credentials are sealed
/// in the store and opened each time a queue run builds the adapter, as on a site (where the key
/// comes from the site's secret).
fn adapters() -> Outcome<Adapters> {
    let key = CredentialKey::derive(b"inventory-sync-bench-sync-site-secret")?;
    let http = HttpConfig {
        user_agent: "inventory-sync-bench".into(),
        ..HttpConfig::default()
    };
    Ok(Adapters::new(Some(key), http))
}

fn channel_input(
    adapters: &Adapters,
    kind: ChannelType,
    fake: &Fake,
    batch: u32,
    rate: RateLimit,
) -> Outcome<ChannelInput> {
    let mut input = ChannelInput::new(kind.as_str(), kind, format!("Bench {kind}"));
    let (settings, credentials) = fake.connection(batch);
    let credentials = credentials.as_object().cloned().unwrap_or_default();
    input.credentials = Some(adapters.seal_credentials(&input.key, kind, &settings, credentials, None)?);
    input.settings = settings.to_string();
    // Amazon's "batch" is a feed's size; its runner batch is one SKU whatever is set here.
    input.batch_size = batch.min(inventory_sync::ledger::channel::MAX_BATCH_SIZE);
    input.rate = rate;
    Ok(input)
}

/// Every SKU's allocation on the one channel, as the engine computes it.
fn allocations(store: &SqliteLedger) -> Outcome<HashMap<String, i64>> {
    let rules: Vec<ChannelRule> = store.list_channels()?.iter().map(ChannelConfig::to_rule).collect();
    let rule_set = RuleSet::new(&rules)?;
    let mut allocated = HashMap::new();
    inventory::allocate_all(
        store,
        &rule_set,
        |_| 0,
        |sku, quantities| {
            allocated.insert(sku.to_owned(), quantities.first().copied().unwrap_or(0));
            Ok(())
        },
    )?;
    Ok(allocated)
}

/// Every SKU's remote quantity against its allocation and against `expected`: the mismatches,
/// described (at most a few).
fn verify(store: &SqliteLedger, fake: &Fake, skus: &[String], expected: &[i64]) -> Outcome<(usize, Vec<String>)> {
    let allocated = allocations(store)?;
    let mut wrong = 0;
    let mut examples = Vec::new();
    for ((sku, shown), want) in skus.iter().zip(fake.shown(skus)).zip(expected) {
        let allocation = allocated.get(sku).copied();
        if shown != Some(*want) || allocation != Some(*want) {
            wrong += 1;
            if examples.len() < 3 {
                examples.push(format!(
                    "{sku}: shows {shown:?}, allocation {allocation:?}, expected {want}"
                ));
            }
        }
    }
    Ok((wrong, examples))
}

// ---------------------------------------------------------------------------------------------
// Timed passes
// ---------------------------------------------------------------------------------------------

/// What one timed pass (plan + queue runs until empty) did.
#[derive(Default)]
struct Pass {
    skus: usize,
    enqueued: u64,
    plan: Duration,
    total: Duration,
    runs: u64,
    pushed: u64,
    failed: u64,
    retried: u64,
    dead: u64,
    batches: u64,
    report_calls: u64,
    open_after: u64,
    dead_after: u64,
}

/// Plans every SKU, then runs the queue until the channel has nothing open (waiting out
/// backoffs), for at most `timeout`.
fn sync_pass(store: &SqliteLedger, adapters: &Adapters, key: &str, label: &str, timeout: Duration) -> Outcome<Pass> {
    let started = Instant::now();
    let plan = sync::full(store, unix_now())?;
    let mut pass = Pass {
        enqueued: plan.counts.enqueued,
        plan: started.elapsed(),
        ..Pass::default()
    };
    loop {
        pass.runs += 1;
        let options = RunOptions::new(format!("bench-{key}-{label}-{}", pass.runs));
        let report = sync::run_queue(
            store,
            &adapters.keeping_tokens(store, &SystemClock),
            &options,
            &SystemClock,
        )?;
        let channel = report.per_channel.get(key).cloned().unwrap_or_default();
        pass.pushed += channel.pushed;
        pass.failed += channel.failed;
        pass.retried += channel.retried;
        pass.dead += channel.dead;
        pass.batches += channel.batches;
        pass.report_calls += channel.calls;
        let counts = store.job_counts(Some(key))?;
        if counts.pending + counts.running == 0 {
            break;
        }
        if started.elapsed() > timeout {
            pass.total = started.elapsed();
            pass.open_after = counts.pending + counts.running;
            pass.dead_after = counts.dead;
            return Ok(pass);
        }
        if channel.pushed + channel.failed == 0 {
            // Everything left is waiting for its backoff.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    pass.total = started.elapsed();
    pass.dead_after = store.job_counts(Some(key))?.dead;
    Ok(pass)
}

/// The figures of one pass, checked: the problem found, if any.
fn pass_figures(
    kind: ChannelType,
    label: &str,
    pass: &Pass,
    batch: u32,
    calls: ((usize, usize), (usize, usize)),
    check: (usize, Vec<String>),
) -> (Value, Option<String>) {
    let ((writes_before, requests_before), (writes_after, requests_after)) = calls;
    let writes = writes_after - writes_before;
    let requests = requests_after - requests_before;
    let minimum = pass.skus.div_ceil(batch as usize);
    let seconds = pass.total.as_secs_f64();
    let per_second = pass.pushed as f64 / seconds.max(f64::MIN_POSITIVE);
    let (wrong, examples) = check;
    let mut problems = Vec::new();
    if pass.enqueued != pass.skus as u64 {
        problems.push(format!("{} jobs planned for {} SKUs", pass.enqueued, pass.skus));
    }
    if pass.open_after > 0 || pass.dead_after > 0 {
        problems.push(format!(
            "{} jobs still open and {} dead after {:.0} s",
            pass.open_after, pass.dead_after, seconds
        ));
    }
    if wrong > 0 {
        problems.push(format!(
            "{wrong} SKUs not at their allocation ({})",
            examples.join("; ")
        ));
    }
    println!(
        "   {kind} {label}: {} SKUs in {seconds:.2} s (plan {:.2} s, {} queue runs) = {per_second:.0} SKUs/s; \
         write calls {writes} (minimum {minimum}, batch {batch}), other calls {}, runner counted {} calls, {} failed; {}",
        pass.pushed,
        pass.plan.as_secs_f64(),
        pass.runs,
        requests - writes,
        pass.report_calls,
        pass.failed,
        if problems.is_empty() { "all quantities checked" } else { "PROBLEM" }
    );
    let problem = (!problems.is_empty()).then(|| format!("{kind} {label}: {}", problems.join(", ")));
    let figures = json!({
        "pass": label, "skus": pass.skus, "batch": batch, "pushed": pass.pushed, "seconds": seconds,
        "plan_seconds": pass.plan.as_secs_f64(), "per_second": per_second, "queue_runs": pass.runs,
        "write_calls": writes, "minimum_calls": minimum, "other_calls": requests - writes,
        "fake_requests": requests, "runner_calls": pass.report_calls, "runner_batches": pass.batches,
        "failed": pass.failed, "retried": pass.retried, "dead": pass.dead,
        "open_after": pass.open_after, "dead_after": pass.dead_after,
        "mismatches": wrong, "verified": problem.is_none(),
    });
    (figures, problem)
}

/// The three passes of one channel kind.
fn bench_channel(
    kind: ChannelType,
    count: usize,
    unbatched: usize,
    timeout: Duration,
    dir: &Path,
) -> Outcome<(Value, Vec<String>)> {
    let skus: Vec<String> = (0..count).map(sku).collect();
    let store = ledger(dir, kind.as_str(), count, &SqliteOptions::default())?;
    let fake = Fake::start(kind, &skus)?;
    let batch = Fake::batch(kind);
    let adapters = adapters()?;
    store.save_channel(
        &channel_input(&adapters, kind, &fake, batch, RateLimit::NONE)?,
        unix_now(),
    )?;
    let key = kind.as_str();
    let mut expected: Vec<i64> = (0..count).map(received).collect();
    let mut passes = Vec::new();
    let mut problems = Vec::new();

    for label in ["first", "update", "unbatched"] {
        let (pass_skus, pass_batch) = match label {
            "first" => (count, batch),
            "update" => {
                record(
                    &store,
                    (0..count).map(|i| MovementRequest::new(format!("sale-{i}"), sku(i), MovementKind::Sale, sold(i))),
                )?;
                (0..count).for_each(|i| expected[i] -= sold(i));
                (count, batch)
            }
            _ => {
                store.save_channel(&channel_input(&adapters, kind, &fake, 1, RateLimit::NONE)?, unix_now())?;
                record(
                    &store,
                    (0..unbatched)
                        .map(|i| MovementRequest::new(format!("restock-{i}"), sku(i), MovementKind::Receive, RESTOCK)),
                )?;
                (0..unbatched).for_each(|i| expected[i] += RESTOCK);
                (unbatched, 1)
            }
        };
        let before = fake.calls();
        let mut pass = sync_pass(&store, &adapters, key, label, timeout)?;
        pass.skus = pass_skus;
        let after = fake.calls();
        let check = verify(&store, &fake, &skus, &expected)?;
        let (figures, problem) = pass_figures(kind, label, &pass, pass_batch, (before, after), check);
        passes.push(figures);
        problems.extend(problem);
    }
    drop(fake);
    Ok((
        json!({ "kind": key, "skus": count, "batch": batch, "passes": passes }),
        problems,
    ))
}

// ---------------------------------------------------------------------------------------------
// Rate-limited runs
// ---------------------------------------------------------------------------------------------

/// A rate-limited run: the channel's limit, and the burst the fake allows at the same rate.
struct Limited {
    kind: ChannelType,
    /// `paced`: the fake allows one call more than the channel's burst (network jitter must not
    /// turn a call paced on time into a 429); `strict`: the fake allows exactly the channel's.
    label: &'static str,
    rate: RateLimit,
    fake_burst: u32,
}

impl Limited {
    /// The webhook at `--rate`, burst 1, paced and strict; Amazon at SP-API's 5/s, burst 5.
    fn scenarios(args: &Args) -> Vec<Limited> {
        let webhook = RateLimit {
            per_second: args.rate,
            burst: 1,
        };
        let amazon = RateLimit {
            per_second: AMAZON_RATE,
            burst: AMAZON_BURST,
        };
        let all = [
            (ChannelType::Webhook, "paced", webhook, webhook.burst + 1),
            (ChannelType::Webhook, "strict", webhook, webhook.burst),
            (ChannelType::Amazon, "paced", amazon, amazon.burst + 1),
        ];
        all.into_iter()
            .filter(|(kind, ..)| args.kinds.contains(kind))
            .map(|(kind, label, rate, fake_burst)| Limited {
                kind,
                label,
                rate,
                fake_burst,
            })
            .collect()
    }
}

/// One channel with a rate limit, against a fake enforcing the same rate: the first full sync of
/// enough SKUs for about `--rate-seconds` of calls.
fn bench_rate_limited(scenario: &Limited, args: &Args, dir: &Path) -> Outcome<(Value, Vec<String>)> {
    let Limited {
        kind,
        label,
        rate,
        fake_burst,
    } = *scenario;
    let batch = match kind {
        ChannelType::Webhook => RATE_LIMITED_BATCH,
        // Single patches at SP-API's rate (feeds off).
        ChannelType::Amazon => 1,
        _ => Fake::batch(kind),
    };
    let calls = rate.burst as usize + (rate.per_second * args.rate_seconds).round() as usize;
    let count = calls * batch as usize;
    let skus: Vec<String> = (0..count).map(sku).collect();
    let options = SqliteOptions {
        backoff: Backoff {
            base_seconds: 1,
            cap_seconds: 60,
            max_attempts: 8,
        },
        ..SqliteOptions::default()
    };
    let store = ledger(dir, &format!("{kind}-{label}"), count, &options)?;
    let fake = Fake::start(kind, &skus)?;
    let adapters = adapters()?;
    store.save_channel(&channel_input(&adapters, kind, &fake, batch, rate)?, unix_now())?;
    fake.set_rate_limit(RateLimit {
        burst: fake_burst,
        ..rate
    })?;
    let key = kind.as_str();
    // A fraction of the limit is meaningless past a generous multiple of the expected time.
    let timeout = Duration::from_secs_f64(args.rate_seconds * 4.0 + 20.0).min(args.timeout);
    let mut pass = sync_pass(&store, &adapters, key, label, timeout)?;
    pass.skus = count;
    let stats = fake.limit_stats().unwrap_or_default();
    let (wrong, examples) = verify(&store, &fake, &skus, &(0..count).map(received).collect::<Vec<_>>())?;
    drop(fake);

    let span = match (stats.first, stats.last) {
        (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
        _ => 0.0,
    };
    let steady = stats.admitted.saturating_sub(rate.burst as usize) as f64;
    let achieved = if span > 0.0 { steady / span } else { 0.0 };
    let fraction = achieved / rate.per_second;
    let wall = pass.total.as_secs_f64();
    let mut problems = Vec::new();
    if pass.open_after > 0 || pass.dead_after > 0 {
        problems.push(format!(
            "{} jobs still open and {} dead after {wall:.0} s: a 429 was left unanswered",
            pass.open_after, pass.dead_after
        ));
    }
    if wrong > 0 {
        problems.push(format!(
            "{wrong} SKUs not at their allocation ({})",
            examples.join("; ")
        ));
    }
    if pass.pushed != count as u64 {
        problems.push(format!("{} of {count} SKUs pushed", pass.pushed));
    }
    let answered = problems.is_empty();
    println!(
        "   {kind} {label} at {} requests/s (burst {}; the fake's {fake_burst}), batch {batch}: {} calls admitted, {} answered 429 (Retry-After) \
         and retried ({} jobs); {achieved:.2} calls/s over {span:.2} s = {:.1} % of the limit; {count} SKUs in {wall:.2} s \
         ({} queue runs); {}",
        rate.per_second,
        rate.burst,
        stats.admitted,
        stats.refused,
        pass.retried,
        fraction * 100.0,
        pass.runs,
        if answered { "every job done, all quantities checked" } else { "PROBLEM" }
    );
    let figures = json!({
        "kind": key, "scenario": label, "rate": rate.per_second, "burst": rate.burst,
        "fake_rate": rate.per_second, "fake_burst": fake_burst, "batch": batch, "skus": count, "pushed": pass.pushed,
        "admitted": stats.admitted, "refused_429": stats.refused, "span_seconds": span,
        "achieved_per_second": achieved, "fraction": fraction, "wall_seconds": wall,
        "calls_per_wall_second": stats.admitted as f64 / wall.max(f64::MIN_POSITIVE),
        "queue_runs": pass.runs, "jobs_failed": pass.failed, "jobs_retried": pass.retried,
        "open_after": pass.open_after, "dead_after": pass.dead_after, "mismatches": wrong,
        "every_429_answered": answered,
    });
    let problem = (!answered).then(|| format!("{kind} rate-limited ({label}): {}", problems.join(", ")));
    Ok((figures, problem.into_iter().collect()))
}
