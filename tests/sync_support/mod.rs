//! What the sync integration tests share: an adapter factory that reads a channel's settings
//! (`base_url`) and test credentials (not sealed: a Shopify token, or `key:secret` for
//! WooCommerce), channel inputs, and the expected allocation of every channel.
#![allow(dead_code)]

use std::collections::BTreeMap;

use inventory_sync::channels::http::HttpConfig;
use inventory_sync::channels::shopify::{Shopify, ShopifyConfig};
use inventory_sync::channels::woocommerce::{WooCommerce, WooCommerceConfig};
use inventory_sync::channels::{Channel, Secret};
use inventory_sync::inventory;
use inventory_sync::ledger::{ChannelConfig, ChannelInput, ChannelType, JobQuery, JobStatus, LedgerStore};
use inventory_sync::stock::ChannelRule;
use inventory_sync::sync::AdapterFactory;
use inventory_sync::{Error, Result};

pub const SHOPIFY_TOKEN: &str = "shpat_sync_tests";
pub const WOO_KEY: &str = "ck_sync_tests";
pub const WOO_SECRET: &str = "cs_sync_tests";

/// Builds Shopify and remote WooCommerce adapters; `woocommerce_local` is applied elsewhere.
pub struct Factory {
    pub http: HttpConfig,
}

impl AdapterFactory for Factory {
    fn adapter(&self, channel: &ChannelConfig) -> Result<Option<Box<dyn Channel>>> {
        if channel.kind == ChannelType::WooCommerceLocal {
            return Ok(None);
        }
        let settings = channel.settings_json()?;
        let base_url = settings
            .get("base_url")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::validation("settings.base_url", "is required"))?;
        let credentials = channel.credentials.clone().unwrap_or_default();
        match channel.kind {
            ChannelType::Shopify => {
                let mut config = ShopifyConfig::new(base_url, Secret::new(credentials));
                config.http = self.http.clone();
                Ok(Some(Box::new(Shopify::new(config)?)))
            }
            ChannelType::WooCommerceRemote => {
                let (key, secret) = credentials
                    .split_once(':')
                    .ok_or_else(|| Error::validation("credentials", "key:secret expected"))?;
                let mut config = WooCommerceConfig::new(base_url, Secret::new(key), Secret::new(secret));
                config.http = self.http.clone();
                Ok(Some(Box::new(WooCommerce::new(config)?)))
            }
            ChannelType::WooCommerceLocal => Ok(None),
            other => Err(Error::validation("kind", format!("no test adapter for {other}"))),
        }
    }
}

pub fn shopify_channel(key: &str, url: &str) -> ChannelInput {
    let mut input = ChannelInput::new(key, ChannelType::Shopify, key);
    input.settings = serde_json::json!({ "base_url": url }).to_string();
    input.credentials = Some(SHOPIFY_TOKEN.into());
    input.batch_size = 250;
    input
}

pub fn woo_channel(key: &str, url: &str) -> ChannelInput {
    let mut input = ChannelInput::new(key, ChannelType::WooCommerceRemote, key);
    input.settings = serde_json::json!({ "base_url": url }).to_string();
    input.credentials = Some(format!("{WOO_KEY}:{WOO_SECRET}"));
    input.batch_size = 100;
    input
}

/// Every enabled channel's allocation of `sku`, by channel key.
pub fn allocations(store: &dyn LedgerStore, sku: &str) -> BTreeMap<String, i64> {
    let channels: Vec<ChannelConfig> = store
        .list_channels()
        .unwrap()
        .into_iter()
        .filter(|c| c.enabled)
        .collect();
    let rules: Vec<ChannelRule> = channels.iter().map(ChannelConfig::to_rule).collect();
    let allocated = inventory::allocation(store, sku, &rules, 0).unwrap();
    channels
        .iter()
        .zip(allocated)
        .map(|(c, a)| (c.key.clone(), a.quantity))
        .collect()
}

/// Every job of one status, all pages.
pub fn jobs_with(store: &dyn LedgerStore, status: JobStatus) -> Vec<inventory_sync::ledger::Job> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_jobs(&JobQuery {
                status: Some(status),
                before,
                limit: 1000,
                ..JobQuery::default()
            })
            .unwrap();
        all.extend(page.jobs);
        match page.next_before {
            Some(next) => before = Some(next),
            None => return all,
        }
    }
}

/// Pending + running jobs.
pub fn open_count(store: &dyn LedgerStore) -> u64 {
    let counts = store.job_counts(None).unwrap();
    counts.pending + counts.running
}
