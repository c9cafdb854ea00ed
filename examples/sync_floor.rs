//! The fakes' floor for the full-sync benchmark (`bench/full-sync.php`): how long the running
//! `fake_channels` take just to accept the fewest calls a full sync of N SKUs can make, sent by a
//! client with no ledger, no planning and no queue — the channel adapters alone, one channel after
//! the other, as one PHP worker goes.
//!
//! ```text
//! cargo run --release --example sync_floor -- --fakes=PATH --skus=N [--quantity=Q] [--json=PATH]
//! ```
//!
//! `--fakes` is the JSON line `fake_channels` printed (its `channels` settings and credentials);
//! the SKUs are `fake_channels --count=N`'s (`SKU-000001` …). Per channel (Shopify, eBay, remote
//! WooCommerce, Amazon) every SKU is set to `Q` (default 0) with no remote id known, as in a first
//! full sync: Shopify, eBay and WooCommerce through `Channel::push` with all N SKUs at once (the
//! adapter looks the remote ids up in its largest batches and writes in its largest batches),
//! Amazon as `JSON_LISTINGS_FEED`s of its most messages, each polled until processed and its
//! report read. Prints, and writes with `--json`, seconds and HTTP calls per channel and in all.
//! Exits 1 when a channel did not apply every SKU, 2 when something cannot run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use inventory_sync::channels::http::HttpConfig;
use inventory_sync::channels::{self, Channel, FeedStatus, Push, Unpaced};

const USAGE: &str = "usage: sync_floor --fakes=PATH --skus=N [--quantity=Q] [--json=PATH]";
/// The four channels of the full-sync benchmark, in the order they are pushed.
const KINDS: [&str; 4] = ["shopify", "ebay", "woocommerce_remote", "amazon"];
/// The longest a feed may stay unprocessed before the floor gives up.
const FEED_PATIENCE: Duration = Duration::from_secs(120);

struct Args {
    fakes: PathBuf,
    skus: usize,
    quantity: i64,
    json: Option<PathBuf>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut fakes, mut skus, mut quantity, mut json) = (None, None, 0, None);
    for arg in args {
        let (name, value) = arg
            .split_once('=')
            .ok_or_else(|| format!("{arg}: expected --name=value"))?;
        match name {
            "--fakes" => fakes = Some(PathBuf::from(value)),
            "--skus" => {
                skus = Some(
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=1_000_000).contains(n))
                        .ok_or_else(|| format!("--skus must be 1–1000000, got {value:?}"))?,
                )
            }
            "--quantity" => {
                quantity = value
                    .parse::<i64>()
                    .ok()
                    .filter(|q| (0..=1_000_000).contains(q))
                    .ok_or_else(|| format!("--quantity must be 0–1000000, got {value:?}"))?
            }
            "--json" => json = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {name}")),
        }
    }
    Ok(Args {
        fakes: fakes.ok_or("--fakes is required")?,
        skus: skus.ok_or("--skus is required")?,
        quantity,
        json,
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(report) => {
            println!("{report}");
            if let Some(path) = &args.json {
                if let Err(error) = std::fs::write(path, format!("{report}\n")) {
                    eprintln!("cannot write {}: {error}", path.display());
                    return ExitCode::from(2);
                }
            }
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

fn run(args: &Args) -> Result<Value, (u8, String)> {
    let broken = |message: String| (2, message);
    let text = std::fs::read_to_string(&args.fakes).map_err(|e| broken(format!("{}: {e}", args.fakes.display())))?;
    let fakes: Value = serde_json::from_str(&text).map_err(|e| broken(format!("{}: {e}", args.fakes.display())))?;
    let pushes: Vec<Push> = (1..=args.skus)
        .map(|i| Push {
            sku: format!("SKU-{i:06}"),
            quantity: args.quantity,
            idempotency_key: format!("floor-{i}"),
            remote_id: None,
            last_known_remote: None,
        })
        .collect();
    let mut channels = serde_json::Map::new();
    let started = Instant::now();
    for kind in KINDS {
        let config = &fakes["channels"][kind];
        let mut adapter = channels::connect::connect(
            kind,
            &config["settings"],
            &config["credentials"],
            HttpConfig::default(),
            Box::new(Unpaced),
        )
        .map_err(|e| broken(format!("{kind}: {}", e.full_message())))?;
        let t = Instant::now();
        let (applied, calls) = if kind == "amazon" {
            by_feeds(adapter.as_mut(), &pushes).map_err(|e| broken(format!("amazon: {e}")))?
        } else {
            let report = adapter
                .push(&pushes)
                .map_err(|e| broken(format!("{kind}: {}", e.full_message())))?;
            (report.applied(), report.calls.len())
        };
        let seconds = t.elapsed().as_secs_f64();
        if applied != pushes.len() {
            return Err((1, format!("{kind}: {applied} of {} SKUs applied", pushes.len())));
        }
        channels.insert(kind.into(), json!({ "seconds": seconds, "calls": calls }));
    }
    Ok(json!({ "skus": args.skus, "seconds": started.elapsed().as_secs_f64(), "channels": channels }))
}

/// Every push as `JSON_LISTINGS_FEED`s of the adapter's most messages (and bytes): submit, poll
/// until processed, read the report. Returns the messages applied and the HTTP calls made.
fn by_feeds(adapter: &mut dyn Channel, pushes: &[Push]) -> Result<(usize, usize), String> {
    let mut applied = 0;
    let mut index = 0;
    while index < pushes.len() {
        let feeds_api = adapter.feeds().ok_or("the adapter has no feeds")?;
        let (most, most_bytes) = (feeds_api.max_feed_messages(), feeds_api.max_feed_bytes());
        let mut messages = String::new();
        let mut count = 0;
        while index < pushes.len() && count < most {
            let id = u32::try_from(index + 1).map_err(|e| e.to_string())?;
            let message = feeds_api
                .feed_message(id, &pushes[index])
                .ok_or_else(|| format!("{} cannot go in a feed (no product type)", pushes[index].sku))?;
            if messages.len() + message.len() + 1 > most_bytes {
                break;
            }
            if count > 0 {
                messages.push(',');
            }
            messages.push_str(&message);
            count += 1;
            index += 1;
        }
        let feed = feeds_api.submit_feed(messages).map_err(|e| e.failure.reason)?;
        let waited = Instant::now();
        let document = loop {
            match feeds_api.feed_status(&feed).map_err(|e| e.reason)? {
                FeedStatus::Done { result_document } => break result_document,
                FeedStatus::Working(_) if waited.elapsed() < FEED_PATIENCE => {}
                other => return Err(format!("feed {feed}: {other:?}")),
            }
        };
        let results = feeds_api.feed_results(&document).map_err(|e| e.reason)?;
        if let Some(problem) = results.problem {
            return Err(format!("feed {feed}: {}", problem.reason));
        }
        applied += count - results.refused.len();
    }
    Ok((applied, adapter.take_calls().len()))
}
