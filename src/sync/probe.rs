//! "Test connection" for a saved channel: build its adapter from the stored settings and sealed
//! credentials exactly as a queue run does, then ask the channel for a few of the ledger's SKUs —
//! a read that changes nothing on either side. The answer says whether the channel can be
//! reached with those credentials and how many of the SKUs it lists.

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
