//! Pull from a primary source (an ERP or warehouse system): its absolute levels per SKU and
//! location become adjustment movements, then the changed SKUs are planned.
//!
//! * Only levels that differ from the ledger's on hand are recorded: a pull of unchanged data
//!   records nothing.
//! * Event ids are `pull:<source>:<pull id>:<sku>:<location>:<quantity>` (hashed when longer than
//!   an event id may be): the same pull applied again (a retry) replays instead of recording
//!   twice, while a later pull (another pull id) that finds the level changed in between sets it
//!   again.
//! * SKUs the ledger does not know are skipped and counted; a level that is refused (unknown
//!   location, negative quantity) is reported with its reason and the others still apply.
//! * The source's HTTP reader lives elsewhere; this takes plain `(sku, location, quantity)`.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use super::engine::{recorded, sync_skus, PlanCounts};
use crate::ledger::{LedgerStore, MovementKind, MovementRequest, SyncKind, MAX_BATCH, MAX_EVENT_ID_CHARS};
use crate::{Error, Result};

/// One level a source reported: (SKU, location code, on hand).
pub type SourceLevel = (String, String, i64);

/// Longest source name (it is the movements' origin).
const MAX_SOURCE_CHARS: usize = 100;

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// The sync run it was recorded as.
    pub run_id: i64,
    /// Adjustments recorded.
    pub recorded: u64,
    /// Adjustments already recorded by this pull before (a retry).
    pub replayed: u64,
    /// Levels equal to the ledger's on hand.
    pub unchanged: u64,
    /// SKUs the ledger does not know, each once.
    pub unknown_skus: Vec<String>,
    /// Levels refused: (SKU, location, reason).
    pub failed: Vec<(String, String, String)>,
    /// What planning the changed SKUs did.
    pub plan: PlanCounts,
}

/// Applies `levels` from `source` as pull `pull_id`; recorded as a `pull` run.
pub fn pull(
    store: &dyn LedgerStore,
    source: &str,
    pull_id: &str,
    levels: &[SourceLevel],
    now: i64,
) -> Result<PullReport> {
    let source = source.trim();
    let pull_id = pull_id.trim();
    if source.is_empty() || source.chars().count() > MAX_SOURCE_CHARS {
        return Err(Error::validation(
            "source",
            format!("must be 1–{MAX_SOURCE_CHARS} characters"),
        ));
    }
    if pull_id.is_empty() || pull_id.chars().count() > MAX_SOURCE_CHARS {
        return Err(Error::validation(
            "pull_id",
            format!("must be 1–{MAX_SOURCE_CHARS} characters"),
        ));
    }
    recorded(
        store,
        SyncKind::Pull,
        now,
        || now,
        |run_id, counts, _| {
            let mut report = PullReport {
                run_id,
                ..PullReport::default()
            };
            let skus: BTreeSet<&str> = levels.iter().map(|(sku, _, _)| sku.trim()).collect();
            let sku_list: Vec<&str> = skus.iter().copied().collect();
            let mut on_hand: HashMap<(String, String), i64> = HashMap::new();
            let mut known: BTreeSet<String> = BTreeSet::new();
            for chunk in sku_list.chunks(MAX_BATCH) {
                for stock in store.stock_many(chunk)? {
                    for level in &stock.levels {
                        on_hand.insert((stock.sku.clone(), level.location.clone()), level.on_hand);
                    }
                    known.insert(stock.sku);
                }
            }
            report.unknown_skus = sku_list
                .iter()
                .filter(|s| !known.contains(**s))
                .map(|s| (*s).to_owned())
                .collect();
            let mut requests = Vec::new();
            for (sku, location, quantity) in levels {
                let (sku, location) = (sku.trim(), location.trim());
                if !known.contains(sku) {
                    continue;
                }
                let current = on_hand
                    .get(&(sku.to_owned(), location.to_owned()))
                    .copied()
                    .unwrap_or(0);
                if current == *quantity {
                    report.unchanged += 1;
                    continue;
                }
                let event_id = event_id(source, pull_id, sku, location, *quantity);
                requests.push(
                    MovementRequest::new(event_id, sku, MovementKind::Adjustment, *quantity)
                        .at(location)
                        .with_origin(source)
                        .with_reference(format!("pull {pull_id}")),
                );
            }
            let mut changed: BTreeSet<String> = BTreeSet::new();
            for chunk in requests.chunks(MAX_BATCH) {
                for (request, result) in chunk.iter().zip(store.record_batch(chunk, now)?) {
                    match result {
                        Ok(outcome) if outcome.replayed => report.replayed += 1,
                        Ok(_) => {
                            report.recorded += 1;
                            changed.insert(request.sku.clone());
                        }
                        Err(error) => report.failed.push((
                            request.sku.clone(),
                            request.location.clone().unwrap_or_default(),
                            error.to_string(),
                        )),
                    }
                }
            }
            let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
            report.plan = sync_skus(store, &changed, None, now)?;
            counts.skus = known.len() as u64;
            counts.skipped = (report.unknown_skus.len() + report.failed.len()) as u64;
            counts.planned = report.plan.planned;
            counts.enqueued = report.plan.enqueued;
            Ok(report)
        },
    )
}

/// The stable event id of one level of one pull.
fn event_id(source: &str, pull_id: &str, sku: &str, location: &str, quantity: i64) -> String {
    let id = format!("pull:{source}:{pull_id}:{sku}:{location}:{quantity}");
    if id.chars().count() <= MAX_EVENT_ID_CHARS {
        id
    } else {
        format!("pull:sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
}
