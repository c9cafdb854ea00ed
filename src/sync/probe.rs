//! "Test connection" for a saved channel: build its adapter from the stored settings and sealed
//! credentials exactly as a queue run does, then ask the channel for a few of the ledger's SKUs —
//! a read that changes nothing on either side. The answer says whether the channel can be
//! reached with those credentials and how many of the SKUs it lists.
//!
//! "Auto-map by SKU" asks the channel for the ledger's unmapped SKUs (no remote id there yet)
//! and keeps the ids it answers: the channel's listings by the same SKU.

use super::runner::AdapterFactory;
use crate::ledger::{ItemQuery, LedgerStore};
use crate::{Error, Result};

/// SKUs asked for (the first ones of the ledger, by SKU).
pub const PROBE_SKUS: u32 = 5;

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The channel answered.
    Connected,
    /// It could not be built or reached, or refused the credentials.
    Failed,
    /// Nothing can be asked of it before a push (a webhook receiver, this store).
    NotTestable,
}

impl Verdict {
    /// The verdict's name as PHP shows it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Connected => "connected",
            Verdict::Failed => "failed",
            Verdict::NotTestable => "not_testable",
        }
    }
}

/// A connection test's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    /// What it found.
    pub verdict: Verdict,
    /// One line for the owner (never a credential: adapters keep them out of errors).
    pub message: String,
    /// The SKUs asked for.
    pub asked: Vec<String>,
    /// Those the channel lists, with its id for each.
    pub found: Vec<(String, String)>,
}

/// Tests channel `key` (see the module documentation). Not found for an unknown key.
pub fn test_connection(store: &dyn LedgerStore, factory: &dyn AdapterFactory, key: &str) -> Result<ConnectionReport> {
    let channel = store.channel(key)?.ok_or_else(|| Error::NotFound {
        what: "channel",
        key: key.to_string(),
    })?;
    let report = |verdict, message: String| ConnectionReport {
        verdict,
        message,
        asked: Vec::new(),
        found: Vec::new(),
    };
    let mut adapter = match factory.adapter(&channel) {
        Ok(Some(adapter)) => adapter,
        Ok(None) => {
            return Ok(report(
                Verdict::NotTestable,
                "this store's own products are written in WordPress: nothing to connect to".into(),
            ))
        }
        Err(error) => {
            return Ok(report(
                Verdict::Failed,
                format!("cannot use the saved settings: {error}"),
            ))
        }
    };
    if !adapter.readable() {
        return Ok(report(
            Verdict::NotTestable,
            "a signed-webhook receiver is only reached by a push: its answers show on the Queue page".into(),
        ));
    }
    let asked: Vec<String> = store
        .list_items(&ItemQuery {
            limit: PROBE_SKUS,
            ..ItemQuery::default()
        })?
        .items
        .into_iter()
        .map(|item| item.sku)
        .collect();
    let outcome = adapter.lookup(&asked);
    factory.release(&channel, adapter.as_ref());
    Ok(match outcome {
        Ok(found) => ConnectionReport {
            verdict: Verdict::Connected,
            message: format!(
                "connected: {} of {} SKUs asked for are listed there",
                found.len(),
                asked.len()
            ),
            asked,
            found,
        },
        Err(error) => ConnectionReport {
            verdict: Verdict::Failed,
            message: error.to_string(),
            asked,
            found: Vec::new(),
        },
    })
}

/// SKUs looked up per call when auto-mapping.
pub const MAP_CHUNK: usize = 50;

/// What auto-mapping did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapReport {
    /// Unmapped SKUs asked for.
    pub asked: u64,
    /// Of those, found on the channel (their remote ids are now kept).
    pub mapped: u64,
    /// The first SKUs the channel does not list (at most 100).
    pub missing: Vec<String>,
    /// Whether unmapped SKUs remain beyond `limit` (run it again).
    pub more: bool,
}

/// Looks up to `limit` (1–[`crate::ledger::MAX_PAGE`]) unmapped SKUs of channel `key` on the
/// channel and keeps the remote ids found (see the module documentation). Not found for an
/// unknown key; a channel that cannot be looked up (webhook, this store) is a validation error.
pub fn auto_map(
    store: &dyn LedgerStore,
    factory: &dyn AdapterFactory,
    key: &str,
    limit: u32,
    now: i64,
) -> Result<MapReport> {
    let channel = store.channel(key)?.ok_or_else(|| Error::NotFound {
        what: "channel",
        key: key.to_string(),
    })?;
    let Some(mut adapter) = factory.adapter(&channel)? else {
        return Err(Error::validation(
            "channel",
            "this store's own products are matched by SKU in WordPress",
        ));
    };
    if !adapter.readable() {
        return Err(Error::validation(
            "channel",
            "a webhook receiver has no listings to match",
        ));
    }
    let skus = store.unmapped_skus(key, None, limit)?;
    let more =
        skus.len() == limit as usize && !store.unmapped_skus(key, skus.last().map(String::as_str), 1)?.is_empty();
    let mut report = MapReport {
        asked: skus.len() as u64,
        more,
        ..MapReport::default()
    };
    let outcome = (|| -> Result<()> {
        for chunk in skus.chunks(MAP_CHUNK) {
            let found = adapter.lookup(chunk)?;
            for (sku, remote_id) in &found {
                store.upsert_listing_remote_id(key, sku, Some(remote_id), now)?;
                report.mapped += 1;
            }
            for sku in chunk {
                if report.missing.len() < 100 && !found.iter().any(|(s, _)| s == sku) {
                    report.missing.push(sku.clone());
                }
            }
        }
        Ok(())
    })();
    factory.release(&channel, adapter.as_ref());
    outcome.map(|()| report)
}
