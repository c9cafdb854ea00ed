//! What each channel is shown for one SKU, and why: the Stock page's per-channel view. The same
//! allocation the planner computes (every enabled channel's rule over the SKU's stock), with its
//! one-line explanation, next to what the channel shows now (its listing) and the quantity a
//! waiting job is about to push.

use super::engine::enabled_channels;
use super::plan;
use crate::inventory;
use crate::ledger::{ChannelConfig, LedgerStore};
use crate::stock::{self, ChannelRule};
use crate::Result;

/// One channel's view of a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    /// The channel key.
    pub channel: String,
    /// Its name.
    pub name: String,
    /// Its kind (`shopify`, …).
    pub kind: &'static str,
    /// What the ledger allocates to it.
    pub quantity: i64,
    /// Every step that made the number.
    pub explanation: String,
    /// What the channel shows now (our last push, or its last report when as new), if known.
    pub shown: Option<i64>,
    /// When we last pushed to it.
    pub pushed_at: Option<i64>,
    /// The quantity a pending or running job is about to push.
    pub queued: Option<i64>,
}

/// Every enabled channel's view of `sku`, in the channels' order. Not found for an unknown SKU.
pub fn channel_views(store: &dyn LedgerStore, sku: &str) -> Result<Vec<ChannelView>> {
    let channels = enabled_channels(store)?;
    let levels = inventory::stock_levels(store, sku)?;
    let rules: Vec<ChannelRule> = channels.iter().map(ChannelConfig::to_rule).collect();
    let allocations = stock::allocate(&levels, &rules, 0)?;
    let listings = store.listings_of(&[sku])?;
    let jobs = store.open_jobs(&[sku])?;
    Ok(channels
        .iter()
        .zip(allocations)
        .map(|(channel, allocation)| {
            let listing = listings.iter().find(|l| l.channel == channel.key);
            ChannelView {
                channel: channel.key.clone(),
                name: channel.name.clone(),
                kind: channel.kind.as_str(),
                quantity: allocation.quantity,
                explanation: allocation.explanation,
                shown: listing.and_then(plan::shown),
                pushed_at: listing.and_then(|l| l.last_pushed_at),
                // Jobs come by id: the channel's newest open job is the last one.
                queued: jobs.iter().rev().find(|j| j.channel == channel.key).map(|j| j.desired),
            }
        })
        .collect())
}
