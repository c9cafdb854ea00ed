//! `InventorySync\Ledger`: the stock ledger as PHP sees it.
//!
//! The class holds a store behind the [`LedgerStore`] trait (today the SQLite file), converts PHP
//! arrays to the core's types with field-named validation errors ([`super::convert`]), and the
//! core's results back to ordered PHP arrays. No stock rule lives here.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;

use ext_php_rs::binary_slice::BinarySlice;

use super::access;
use super::convert::{list_from, list_of, string_list, Arr, Fields};
use super::exceptions::error_code;
use super::stock::channel_rules;
use super::sync;
use crate::channels::http::HttpConfig;
use crate::crypto::CredentialKey;
use crate::inventory::{self, Planning, SkuAlert, SkuReorder};
use crate::ledger::{
    self, Backoff, HistoryQuery, Item, ItemInput, ItemQuery, LedgerStore, Location, LocationStock, MariaDbLedger,
    MariaDbOptions, Movement, MovementKind, MovementOutcome, MovementRequest, ServerSettings, SkuStock, SqliteLedger,
    SqliteOptions, StockLevel, TlsMode, MAX_BATCH,
};
use crate::stock::{AlertThresholds, AlertTrigger, Allocation};
use crate::sync::Adapters;
use crate::{Error, Result};

type Table = ZBox<ZendHashTable>;

const ITEM_FIELDS: &[&str] = &[
    "sku",
    "name",
    "product_id",
    "thresholds",
    "lead_time_days",
    "moq",
    "pack_size",
    "supplier",
];
const THRESHOLD_FIELDS: &[&str] = &["critical", "low", "warning"];
const LOCATION_FIELDS: &[&str] = &["code", "name", "priority", "active"];
const MOVEMENT_FIELDS: &[&str] = &[
    "event_id",
    "sku",
    "kind",
    "quantity",
    "location",
    "to_location",
    "reservation",
    "origin",
    "reference",
    "note",
    "expires_at",
];
const PLANNING_FIELDS: &[&str] = &["thresholds", "safety_factor", "review_days", "velocity_window_days"];
const PLANNING_THRESHOLD_FIELDS: &[&str] = &[
    "critical",
    "low",
    "warning",
    "critical_days",
    "low_days",
    "warning_days",
];

/// The stock ledger: items, locations, movements, stock, history, allocation, alerts, reorder.
#[php_class]
#[php(name = "InventorySync\\Ledger")]
pub struct Ledger {
    /// Shared by every `Ledger` of this process on the same file or server
    /// ([`super::connections`]).
    store: std::sync::Arc<dyn LedgerStore + Send + Sync>,
    /// The same store when it is a file (what [`Ledger::copy_to`] copies from).
    file: Option<std::sync::Arc<SqliteLedger>>,
    path: String,
    /// Builds channel adapters and seals credentials with the site's key.
    adapters: Adapters,
}

#[php_impl]
impl Ledger {
    /// Opens (creating and migrating if needed) the ledger file at `$path`, or, when `$path` is
    /// a `mysql://` URL, the ledger in that MariaDB/MySQL database (`mysql://` alone takes
    /// everything from the `mysql` option). Options:
    /// `busy_timeout_ms` (default 5000; on a database server, how long a row lock is waited for,
    /// rounded up to whole seconds), `credential_key` (the site's secret material, at least
    /// 16 bytes, from which the key sealing channel credentials is derived; without it channels
    /// with credentials cannot be saved or pushed to), `http_timeout_ms` (the longest one
    /// channel call may take, default 30000), `mysql` (for a `mysql://` path: `host`, `port`,
    /// `socket`, `user`, `password`, `database` over the URL's; `tls`: `disabled`,
    /// `preferred` (default), `required`, `verify_ca`, `verify_identity`; `ca_file`;
    /// `table_prefix`). Ledgers of one process on the same file (or server) and options share
    /// one connection, kept across requests ([`super::connections`]).
    pub fn __construct(path: String, options: Option<&ZendHashTable>) -> PhpResult<Self> {
        Ok(Self::open(path, options)?)
    }

    /// The path the ledger was opened on.
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Copies this ledger file into the empty MariaDB/MySQL ledger at `$url` (a `mysql://` URL,
    /// with the constructor's `mysql` and `busy_timeout_ms` options), holding the file's write
    /// lock throughout, and checks the copy (row counts, largest ids, stock invariants). Unless
    /// `retire` is false, the file is then read-only: a later write fails saying the ledger
    /// moved. Returns `rows` (per table), `seconds` and `target` (the database, without the
    /// password). A target holding any row is refused (ConflictException), as is a second copy
    /// into the same database while one runs; a failed copy leaves the target empty.
    pub fn copy_to(&self, url: String, options: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(self.copy_to_database(url, options)?)
    }

    /// Creates or updates an item; returns it.
    pub fn upsert_item(&self, item: &ZendHashTable) -> PhpResult<Table> {
        let input = item_input(&Fields::new(item, "", ITEM_FIELDS)?)?;
        Ok(item_out(&self.store.upsert_item(&input, super::now())?)?)
    }

    /// The item with this SKU, or null.
    pub fn item(&self, sku: String) -> PhpResult<Option<Table>> {
        Ok(self.store.get_item(&sku)?.as_ref().map(item_out).transpose()?)
    }

    /// A page of items ordered by SKU: `search` (SKU or name prefix), `after` (cursor), `limit`.
    /// Returns `['items' => [...], 'next_after' => ?string]`.
    pub fn items(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        let mut q = ItemQuery::default();
        if let Some(query) = query {
            let f = Fields::new(query, "", &["search", "after", "limit"])?;
            q.search = f.str("search")?;
            q.after = f.str("after")?;
            q.limit = f.u32("limit")?.unwrap_or(q.limit);
        }
        let page = self.store.list_items(&q)?;
        Ok(Arr::new()
            .set("items", list_from(&page.items, item_out)?)?
            .set("next_after", page.next_after)?
            .build())
    }

    /// Creates or updates a location; returns it.
    pub fn upsert_location(&self, location: &ZendHashTable) -> PhpResult<Table> {
        let f = Fields::new(location, "", LOCATION_FIELDS)?;
        let input = Location {
            code: f.req_str("code")?,
            name: f.str("name")?.unwrap_or_default(),
            priority: f.int("priority")?.unwrap_or(0),
            active: f.bool("active")?.unwrap_or(true),
        };
        Ok(location_out(&self.store.upsert_location(&input, super::now())?)?)
    }

    /// Every location, by priority then code.
    pub fn locations(&self) -> PhpResult<Table> {
        Ok(list_from(&self.store.list_locations()?, location_out)?)
    }

    /// Records one movement; returns its outcome (`replayed` is true when the `event_id` was
    /// already recorded: nothing changed and the original outcome is returned).
    pub fn record(&self, movement: &ZendHashTable) -> PhpResult<Table> {
        let request = movement_request(&Fields::new(movement, "", MOVEMENT_FIELDS)?, None)?;
        Ok(outcome_out(&self.store.record(&request, super::now())?)?)
    }

    /// Records many movements in one transaction. Returns one entry per movement, in order:
    /// `['ok' => true, …outcome]` or `['ok' => false, 'error' => ['code', 'field', 'message']]`.
    /// A refused or invalid movement does not stop the others.
    pub fn record_batch(&self, movements: &ZendHashTable) -> PhpResult<Table> {
        Ok(self.batch(movements)?)
    }

    /// Reserves stock (a guarded request): like `record()` with kind `reserve`. Throws
    /// `ConflictException` when the location's available does not cover the quantity.
    pub fn reserve(&self, request: &ZendHashTable) -> PhpResult<Table> {
        Ok(self.record_kind(request, MovementKind::Reserve)?)
    }

    /// Releases (part of) a reservation: kind `release`, `reservation` = the reserve's event id.
    pub fn release(&self, request: &ZendHashTable) -> PhpResult<Table> {
        Ok(self.record_kind(request, MovementKind::Release)?)
    }

    /// Commits (part of) a reservation as sold: kind `commit`.
    pub fn commit(&self, request: &ZendHashTable) -> PhpResult<Table> {
        Ok(self.record_kind(request, MovementKind::Commit)?)
    }

    /// Releases every reservation whose expiry has passed; returns the release outcomes.
    pub fn expire_reservations(&self) -> PhpResult<Table> {
        Ok(list_from(&self.store.expire_reservations(super::now())?, outcome_out)?)
    }

    /// Stock of one SKU: totals and per location.
    pub fn stock(&self, sku: String) -> PhpResult<Table> {
        Ok(sku_stock_out(&self.store.stock(&sku)?)?)
    }

    /// Movements, newest first: `sku`, `before` (cursor: a movement id), `limit`. Returns
    /// `['movements' => [...], 'next_before' => ?int]`.
    pub fn history(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        let mut q = HistoryQuery::default();
        if let Some(query) = query {
            let f = Fields::new(query, "", &["sku", "before", "limit"])?;
            q.sku = f.str("sku")?;
            q.before = f.int("before")?;
            q.limit = f.u32("limit")?.unwrap_or(q.limit);
        }
        let page = self.store.history(&q)?;
        Ok(Arr::new()
            .set("movements", list_from(&page.movements, movement_out)?)?
            .set("next_before", page.next_before)?
            .build())
    }

    /// SKUs with movements after the cursor (a movement id; 0 = from the start). Returns
    /// `['skus' => [...], 'cursor' => int]` for the next call.
    pub fn changed_since(&self, cursor: i64) -> PhpResult<Table> {
        let changed = self.store.skus_changed_since(cursor)?;
        Ok(Arr::new()
            .set("skus", string_list(&changed.skus)?)?
            .set("cursor", changed.cursor)?
            .build())
    }

    /// What each channel rule is shown for `$sku`, in the rules' order, each with its one-line
    /// explanation. Options: `supplier_stock`.
    pub fn allocate(&self, sku: String, rules: &ZendHashTable, options: Option<&ZendHashTable>) -> PhpResult<Table> {
        let rules = channel_rules(rules)?;
        let supplier = match options {
            Some(o) => Fields::new(o, "", &["supplier_stock"])?
                .int("supplier_stock")?
                .unwrap_or(0),
            None => 0,
        };
        let allocations = inventory::allocation(self.store.as_ref(), &sku, &rules, supplier)?;
        Ok(list_from(&allocations, allocation_out)?)
    }

    /// What each channel rule is shown for every item in the ledger, from the ledger's own stock
    /// (a full sync): `['SKU-1' => [q1, q2, …], …]` in SKU order, one quantity per rule in the
    /// rules' order; with `explain`, each as `['quantity' => …, 'explanation' => …]`. Options:
    /// `supplier_stock` (`sku => int`), `explain` (default false).
    pub fn allocate_all(&self, rules: &ZendHashTable, options: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(super::stock::allocate_ledger(self.store(), rules, options)?)
    }

    /// Alerts for the given SKUs (every level), or for every item (only those needing attention),
    /// most severe first. Planning options: `thresholds` {critical, low, warning, critical_days,
    /// low_days, warning_days}, `velocity_window_days`. `$now` defaults to the current time.
    pub fn alerts(
        &self,
        skus: Option<&ZendHashTable>,
        planning: Option<&ZendHashTable>,
        now: Option<i64>,
    ) -> PhpResult<Table> {
        let skus = sku_list(skus)?;
        let planning = planning_options(planning)?;
        let alerts = inventory::alerts(
            self.store.as_ref(),
            skus.as_deref(),
            &planning,
            now.unwrap_or_else(super::now),
        )?;
        Ok(list_from(&alerts, alert_out)?)
    }

    /// Reorder suggestions for the given SKUs (including zero), or for every item (only those with
    /// something to order). Planning options as for `alerts()` plus `safety_factor`,
    /// `review_days`.
    pub fn reorder_suggestions(
        &self,
        skus: Option<&ZendHashTable>,
        planning: Option<&ZendHashTable>,
        now: Option<i64>,
    ) -> PhpResult<Table> {
        let skus = sku_list(skus)?;
        let planning = planning_options(planning)?;
        let suggestions = inventory::reorder_suggestions(
            self.store.as_ref(),
            skus.as_deref(),
            &planning,
            now.unwrap_or_else(super::now),
        )?;
        Ok(list_from(&suggestions, reorder_out)?)
    }

    /// Takes a verified webhook body from `$provider` (generic, woocommerce, shopify, erp) into
    /// the ledger. `$headers`: the request headers (name => value). Options: `auto_create`.
    /// Returns the receipt: duplicate, outcome, recorded, replayed, unknown_skus, skipped, failed,
    /// drift, movements. A body that cannot be read throws ValidationException (and is logged).
    pub fn ingest(
        &self,
        provider: String,
        body: BinarySlice<u8>,
        headers: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Table> {
        Ok(access::ingest(
            self.store(),
            &provider,
            &body,
            headers,
            options,
            super::now(),
        )?)
    }

    /// Decides on an API request (key, scope, method, path, body, timestamp, signature,
    /// rate_limit, route, remote_addr): `['ok' => true, 'key' => …, 'rate' => …]` or
    /// `['ok' => false, 'status', 'code', 'reason', 'message', 'retry_after']`. Refusals are logged.
    pub fn authorize(&self, request: &ZendHashTable) -> PhpResult<Table> {
        Ok(access::authorize(self.store(), request, super::now())?)
    }

    /// The SKUs and locations among those given that API key `$key_id` may not touch.
    pub fn key_refuses(&self, key_id: i64, skus: &ZendHashTable, locations: &ZendHashTable) -> PhpResult<Table> {
        Ok(access::key_refuses(self.store(), key_id, skus, locations)?)
    }

    /// Writes a refused request to the security log (route, reason, key_prefix, remote_addr,
    /// detail — never secrets).
    pub fn log_security(&self, entry: &ZendHashTable) -> PhpResult<()> {
        Ok(access::log_security(self.store(), entry, super::now())?)
    }

    /// Counts one answered request of the inbound API in its hour's counters: `route` (the
    /// route pattern, not the path), `method`, `status`, `duration_ms`.
    pub fn record_api_request(&self, request: &ZendHashTable) -> PhpResult<()> {
        Ok(access::record_api_request(self.store(), request, super::now())?)
    }

    /// Inbound API requests per bucket (`since`, `until`, `bucket` hour/day/week/month,
    /// `offset`): start, requests, client_errors, server_errors, error_rate, avg_ms, p95_ms,
    /// max_ms.
    pub fn api_activity(&self, query: &ZendHashTable) -> PhpResult<Table> {
        Ok(access::api_activity(self.store(), query)?)
    }

    /// Inbound API requests per route and method in `[since, until)`, busiest first (the same
    /// counts as `apiActivity()`).
    pub fn api_routes(&self, since: i64, until: i64) -> PhpResult<Table> {
        Ok(access::api_routes(self.store(), since, until)?)
    }

    /// Issues an API key (name, scopes, expires_at, supplier, locations, signing_secret) from at
    /// least 32 random bytes. Returns `['key' => plaintext (shown once), 'api_key' => record]`.
    pub fn issue_api_key(&self, spec: &ZendHashTable, random_bytes: BinarySlice<u8>) -> PhpResult<Table> {
        Ok(access::issue_api_key(self.store(), spec, &random_bytes, super::now())?)
    }

    /// Every API key (never its secret parts).
    pub fn api_keys(&self) -> PhpResult<Table> {
        Ok(list_from(&self.store.list_api_keys()?, access::key_out)?)
    }

    /// Revokes an API key; returns it.
    pub fn revoke_api_key(&self, id: i64) -> PhpResult<Table> {
        Ok(access::key_out(&self.store.revoke_api_key(id, super::now())?)?)
    }

    /// The inbound log, newest first: provider, outcome, before, limit.
    pub fn inbound_events(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(access::inbound_events(self.store(), query)?)
    }

    /// The security log, newest first: reason, before, limit.
    pub fn security_events(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(access::security_events(self.store(), query)?)
    }

    /// Sets a channel listing's remote_id and/or what was last pushed (pushed) or seen (seen).
    pub fn upsert_listing(&self, listing: &ZendHashTable) -> PhpResult<Table> {
        Ok(access::upsert_listing(self.store(), listing, super::now())?)
    }

    /// A channel listing, or null.
    pub fn listing(&self, channel: String, sku: String) -> PhpResult<Option<Table>> {
        Ok(self
            .store
            .listing(&channel, &sku)?
            .as_ref()
            .map(access::listing_out)
            .transpose()?)
    }

    /// Items with stock totals and alert level: search, supplier, low_stock, after, limit.
    /// Returns `['items' => [...], 'next_after' => ?string]`.
    pub fn search_stock(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(access::search_stock(self.store(), query, super::now())?)
    }

    // -- Channels and sync ---------------------------------------------------------------------

    /// Creates or updates a channel: key, kind, name, enabled, allocation {mode, weight,
    /// priority, buffer, max, zero_threshold, percent, include_incoming, include_supplier,
    /// locations}, batch_size, rate {per_second, burst}, min_change, low_stock_level, settings
    /// (array), credentials (array; checked against the kind and stored encrypted; a blank
    /// value keeps the stored one). Returns the channel with its credentials masked.
    pub fn save_channel(&self, channel: &ZendHashTable) -> PhpResult<Table> {
        Ok(sync::save_channel(self.store(), &self.adapters, channel, super::now())?)
    }

    /// Every channel (credentials masked).
    pub fn channels(&self) -> PhpResult<Table> {
        Ok(sync::channels(self.store(), &self.adapters)?)
    }

    /// The channel with this key (credentials masked), or null.
    pub fn channel(&self, key: String) -> PhpResult<Option<Table>> {
        Ok(self
            .store
            .channel(&key)?
            .map(|c| sync::channel_out(&self.adapters, &c))
            .transpose()?)
    }

    /// Deletes a channel and its listings; refused (ConflictException) while it has open jobs.
    pub fn delete_channel(&self, key: String) -> PhpResult<Table> {
        let deleted = self.store.delete_channel(&key)?;
        Ok(sync::channel_out(&self.adapters, &deleted)?)
    }

    /// Plans `$skus` for every enabled channel: jobs where a channel's allocation differs from
    /// what it last got. `$origin`: the channel the change came from (not written back).
    pub fn sync_skus(&self, skus: &ZendHashTable, origin: Option<String>) -> PhpResult<Table> {
        Ok(sync::sync_skus(self.store(), skus, origin.as_deref(), super::now())?)
    }

    /// Plans `$skus` for the one enabled channel `$channel` ("sync now" for a channel); the
    /// allocation still counts every enabled channel. Unknown or disabled channel: NotFoundException.
    pub fn sync_skus_to(&self, skus: &ZendHashTable, channel: String) -> PhpResult<Table> {
        Ok(sync::sync_skus_to(self.store(), skus, &channel, super::now())?)
    }

    /// Plans the SKUs changed since the last incremental run; recorded as a sync run.
    pub fn sync_incremental(&self) -> PhpResult<Table> {
        Ok(sync::sync_report_out(&crate::sync::incremental(
            self.store(),
            super::now(),
        )?)?)
    }

    /// Plans every item for every enabled channel; recorded as a sync run.
    pub fn sync_full(&self) -> PhpResult<Table> {
        Ok(sync::sync_report_out(&crate::sync::full(self.store(), super::now())?)?)
    }

    /// Pushes due jobs to the channels. Options: owner, budget_ms (default 50000), job_limit
    /// (default 10000), claim_seconds (default 300). Returns pushed, accepted, failed, retried,
    /// dead, calls, elapsed_ms and per channel figures.
    pub fn run_queue(&self, options: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(sync::run_queue(self.store(), &self.adapters, options)?)
    }

    /// Claims jobs of the `woocommerce_local` channels for `$owner` (applied in PHP, then
    /// answered with `completeJob()` or `failJob()`).
    pub fn claim_local_jobs(&self, owner: String, limit: Option<i64>, claim_seconds: Option<i64>) -> PhpResult<Table> {
        let limit = limit.map(|n| u32::try_from(n).unwrap_or(0));
        let claim = claim_seconds.map(|n| u32::try_from(n).unwrap_or(0));
        Ok(sync::claim_local_jobs(
            self.store(),
            &owner,
            limit,
            claim,
            super::now(),
        )?)
    }

    /// Marks a claimed job as pushed (the listing records its quantity).
    pub fn complete_job(&self, id: i64, owner: String) -> PhpResult<Table> {
        Ok(sync::job_out(&self.store.complete_job(id, &owner, super::now())?)?)
    }

    /// Records a failed push of a claimed job: retried with backoff when `$retryable`, else dead.
    pub fn fail_job(&self, id: i64, owner: String, error: String, retryable: bool) -> PhpResult<Table> {
        Ok(sync::job_out(&self.store.fail_job(
            id,
            &owner,
            &error,
            retryable,
            None,
            super::now(),
        )?)?)
    }

    /// Reads every readable channel, records drift and enqueues repairs; recorded as a run.
    pub fn reconcile(&self) -> PhpResult<Table> {
        Ok(sync::reconcile(self.store(), &self.adapters)?)
    }

    /// Saves the primary source (name, url, token, per_page, max_pages); the token is stored
    /// encrypted and a blank one keeps the stored token. Returns it with the token masked.
    pub fn save_source(&self, source: &ZendHashTable) -> PhpResult<Option<Table>> {
        Ok(sync::save_source(self.store(), &self.adapters, source, super::now())?)
    }

    /// The primary source (token masked), or null.
    pub fn source(&self) -> PhpResult<Option<Table>> {
        Ok(sync::source_out(self.store(), &self.adapters)?)
    }

    /// Reads the primary source and records its levels as adjustments (pull `$pull_id`: the same
    /// id never counts twice); recorded as a run.
    pub fn pull_source(&self, pull_id: String) -> PhpResult<Table> {
        Ok(sync::pull_source(self.store(), &self.adapters, &pull_id, super::now())?)
    }

    /// Records levels a site supplies itself ([sku, location, quantity], …) from `$source` as pull
    /// `$pull_id`.
    pub fn pull_levels(&self, source: String, pull_id: String, levels: &ZendHashTable) -> PhpResult<Table> {
        Ok(sync::pull_levels(
            self.store(),
            &source,
            &pull_id,
            levels,
            super::now(),
        )?)
    }

    /// Sync runs, newest first: kind, status, before, limit.
    pub fn sync_runs(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(sync::sync_runs(self.store(), query)?)
    }

    /// Tests a saved channel's connection: builds its adapter from the stored settings and
    /// credentials and asks it for a few of the ledger's SKUs (a read; nothing changes). Returns
    /// status (`connected`, `failed`, `not_testable`), message, asked, found (sku, remote_id).
    pub fn test_channel(&self, key: String) -> PhpResult<Table> {
        Ok(sync::test_channel(self.store(), &self.adapters, &key)?)
    }

    /// Auto-map by SKU: asks the channel for up to `$limit` (default 1000) SKUs that have no
    /// remote id there yet and keeps the ids it answers. Returns asked, mapped, missing (the first
    /// 100 SKUs it does not list), more (unmapped SKUs remain beyond the limit).
    pub fn auto_map(&self, key: String, limit: Option<u32>) -> PhpResult<Table> {
        Ok(sync::auto_map(self.store(), &self.adapters, &key, limit, super::now())?)
    }

    /// A page of the SKUs that have no remote id on channel `$key`, by SKU: after, limit.
    /// Returns skus and next_after.
    pub fn unmapped_skus(&self, key: String, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(sync::unmapped_skus(self.store(), &key, query)?)
    }

    /// What every enabled channel is shown for `$sku`, in the channels' order: channel, name,
    /// kind, quantity (the ledger's allocation), explanation, shown (what the channel shows now,
    /// if known), pushed_at, queued (what a waiting job is about to push).
    pub fn channel_stock(&self, sku: String) -> PhpResult<Table> {
        Ok(sync::channel_stock(self.store(), &sku)?)
    }

    /// Sync runs counted per hour, day, week (from Monday) or month (`since`, `until`, `bucket`, `offset` = the
    /// site's UTC offset in seconds, `kind`): every bucket oldest first with runs, done, failed,
    /// pushed, push_failures and avg_duration_ms. With `by_hour` (bucket hour): 24 buckets, one
    /// per hour of the site's day, `start` = the hour.
    pub fn sync_activity(&self, query: &ZendHashTable) -> PhpResult<Table> {
        Ok(sync::sync_activity(self.store(), query)?)
    }

    /// The most frequent error texts of the sync runs started since `$since` (unix seconds), most
    /// frequent first: error, runs, last_at. `$limit` 1–100 (default 10).
    pub fn sync_errors(&self, since: i64, limit: Option<u32>) -> PhpResult<Table> {
        Ok(sync::sync_errors(self.store(), since, limit.unwrap_or(10))?)
    }

    /// Drift found by reconciliation, newest first: channel, sku, before, limit.
    pub fn drift(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(sync::drift(self.store(), query)?)
    }

    /// Outbox jobs, newest first: channel, status, before, limit.
    pub fn jobs(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(sync::jobs(self.store(), query)?)
    }

    /// The newest feeds (bulk submissions a channel processes later, Amazon's
    /// `JSON_LISTINGS_FEED`), of one channel or all, newest first; `$limit` 1–1,000 (default 20).
    pub fn feeds(&self, channel: Option<String>, limit: Option<u32>) -> PhpResult<Table> {
        Ok(sync::feeds(self.store(), channel.as_deref(), limit.unwrap_or(20))?)
    }

    /// How many jobs are in each status, of one channel or all.
    pub fn job_counts(&self, channel: Option<String>) -> PhpResult<Table> {
        Ok(sync::job_counts_out(&self.store.job_counts(channel.as_deref())?)?)
    }

    /// Puts a dead or failed job back in line; returns the job carrying the retry.
    pub fn retry_job(&self, id: i64) -> PhpResult<Table> {
        Ok(sync::job_out(&self.store.retry_job(id, super::now())?)?)
    }

    /// Retries every dead job, of one channel or all; returns how many.
    pub fn retry_all(&self, channel: Option<String>) -> PhpResult<i64> {
        let n = self.store.retry_all(channel.as_deref(), super::now())?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Deletes jobs: `['status' => 'dead'|'finished'|'pending', 'channel' => ?]` (pending needs a
    /// channel; running jobs are never deleted). Returns how many.
    pub fn clear_jobs(&self, filter: &ZendHashTable) -> PhpResult<i64> {
        let n = self.store.clear_jobs(&sync::clear_filter(filter)?)?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    // -- Supplier order routing ----------------------------------------------------------------

    /// Routes a paid order's lines (`[['line_id', 'sku', 'quantity'], …]`) to their suppliers:
    /// one signed message per supplier, queued once per order (a repeated call queues nothing).
    /// Returns `messages` (supplier, message_id, created) and `unrouted` (sku, reason).
    pub fn route_order(&self, order_id: String, lines: &ZendHashTable) -> PhpResult<Table> {
        Ok(sync::route_order(self.store(), &order_id, lines, super::now())?)
    }

    /// Accepts supplier `$supplier`'s reply about an order it was sent: `id` (the supplier's,
    /// once per supplier), `type` (`order.acknowledged` or `order.shipped`), `order_id`, and for
    /// a shipment `lines` (`[['sku', 'quantity'], …]`, none: every line it was sent), `carrier`,
    /// `tracking_number`, `tracking_url`. Returns the reply checked, `duplicate` (it had been
    /// received before: do nothing again) and a one-line `summary`. Lines that were not sent to
    /// this supplier, or more units than it was asked for, are refused; an order never sent to it
    /// is not found.
    pub fn supplier_reply(&self, supplier: String, reply: &ZendHashTable) -> PhpResult<Table> {
        Ok(sync::supplier_reply(self.store(), &supplier, reply, super::now())?)
    }

    /// Saves a supplier's endpoint: URL and Standard Webhooks secret (`whsec_…`, stored
    /// encrypted; null or blank keeps the stored one).
    pub fn save_supplier_endpoint(&self, supplier: String, url: String, secret: Option<String>) -> PhpResult<()> {
        Ok(crate::sync::suppliers::save_endpoint(
            self.store(),
            &self.adapters,
            &supplier,
            &url,
            secret.as_deref(),
            super::now(),
        )?)
    }

    /// Every supplier endpoint (secret masked).
    pub fn supplier_endpoints(&self) -> PhpResult<Table> {
        Ok(sync::supplier_endpoints(self.store(), &self.adapters)?)
    }

    /// Sends due supplier messages (options: owner, limit); returns sent, retried, dead, calls.
    pub fn send_messages(&self, options: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(sync::send_messages(self.store(), &self.adapters, options)?)
    }

    /// The message log, newest first: destination, status, before, limit.
    pub fn messages(&self, query: Option<&ZendHashTable>) -> PhpResult<Table> {
        Ok(sync::messages(self.store(), query)?)
    }

    /// Puts a dead message back in line; returns it.
    pub fn retry_message(&self, id: i64) -> PhpResult<Table> {
        Ok(sync::message_out(&self.store.retry_message(id, super::now())?)?)
    }

    /// Retention: deletes what is older than `$older_than` (unix seconds) from the logs —
    /// finished sync runs, drift records, done and superseded jobs, inbound events, security log
    /// entries, delivered supplier messages, API request counters of ended hours — and returns how many of each. Movements are never deleted (the ledger is
    /// append-only); pending, running and dead jobs are kept.
    pub fn prune(&self, older_than: i64) -> PhpResult<Table> {
        Ok(self.prune_logs(older_than)?)
    }
}

/// The start of a ledger path on a MariaDB/MySQL server (a `mysql://` URL; anything else
/// starting so is a mistyped one, refused without being echoed, not a file name).
const MYSQL_SCHEME: &str = "mysql:";
const MYSQL_FIELDS: &[&str] = &[
    "host",
    "port",
    "socket",
    "user",
    "password",
    "database",
    "tls",
    "ca_file",
    "table_prefix",
];

/// The constructor's options.
const OPEN_FIELDS: &[&str] = &["busy_timeout_ms", "credential_key", "http_timeout_ms", "retry", "mysql"];
/// `copyTo`'s options.
const COPY_FIELDS: &[&str] = &["busy_timeout_ms", "mysql", "retire"];

/// A ledger's opening options, parsed.
#[derive(Default)]
struct Opening {
    sqlite: SqliteOptions,
    /// The `mysql` option: server settings and table prefix.
    server: Option<(ServerSettings, String)>,
    key: Option<CredentialKey>,
    http: HttpConfig,
}

impl Opening {
    /// Parses `options`, which may hold the keys in `allowed`.
    fn parse(options: Option<&ZendHashTable>, allowed: &[&str]) -> Result<Self> {
        let mut opening = Opening::default();
        let Some(options) = options else {
            return Ok(opening);
        };
        let f = Fields::new(options, "", allowed)?;
        opening.server = f.sub("mysql", MYSQL_FIELDS)?.map(|m| server_settings(&m)).transpose()?;
        if let Some(retry) = f.sub("retry", &["base_seconds", "cap_seconds", "max_attempts"])? {
            let d = opening.sqlite.backoff;
            opening.sqlite.backoff = Backoff {
                base_seconds: retry.u32("base_seconds")?.unwrap_or(d.base_seconds),
                cap_seconds: retry.u32("cap_seconds")?.unwrap_or(d.cap_seconds),
                max_attempts: retry.u32("max_attempts")?.unwrap_or(d.max_attempts),
            }
            .validated()?;
        }
        if let Some(ms) = f.int("busy_timeout_ms")? {
            let ms = u64::try_from(ms).map_err(|_| Error::validation("busy_timeout_ms", "must not be negative"))?;
            opening.sqlite.busy_timeout = std::time::Duration::from_millis(ms);
        }
        if let Some(material) = f.binary("credential_key")? {
            opening.key = Some(CredentialKey::derive(&material)?);
        }
        if let Some(ms) = f.int("http_timeout_ms")? {
            if !(100..=600_000).contains(&ms) {
                return Err(Error::validation("http_timeout_ms", "must be between 100 and 600000"));
            }
            let overall = std::time::Duration::from_millis(ms.unsigned_abs());
            opening.http.overall_timeout = overall;
            opening.http.read_timeout = opening.http.read_timeout.min(overall);
            opening.http.connect_timeout = opening.http.connect_timeout.min(overall);
        }
        Ok(opening)
    }

    /// The ledger on the server `url` and the `mysql` option name (kept per process).
    fn open_server(&self, url: &str) -> Result<std::sync::Arc<MariaDbLedger>> {
        let (settings, table_prefix) = self.server.clone().unwrap_or_default();
        let options = MariaDbOptions {
            table_prefix,
            lock_wait_timeout: whole_seconds(self.sqlite.busy_timeout),
            backoff: self.sqlite.backoff,
            ..MariaDbOptions::default()
        };
        super::connections::open_server(url, &settings, &options)
    }
}

/// `wait` rounded up to whole seconds, at least one (a lock wait timeout on a database server).
fn whole_seconds(wait: std::time::Duration) -> std::time::Duration {
    let seconds = u64::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
    std::time::Duration::from_secs(seconds.max(1))
}

/// The `mysql` option: the server settings, and the table prefix.
fn server_settings(f: &Fields<'_>) -> Result<(ServerSettings, String)> {
    let port = match f.int("port")? {
        None => None,
        Some(port) => Some(
            u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| Error::validation("mysql.port", "must be between 1 and 65535"))?,
        ),
    };
    let settings = ServerSettings {
        host: f.str("host")?,
        port,
        socket: f.str("socket")?,
        user: f.str("user")?,
        password: f.str("password")?,
        database: f.str("database")?,
        tls: f
            .str("tls")?
            .map(|t| TlsMode::parse(&t))
            .transpose()?
            .unwrap_or_default(),
        ca_file: f.str("ca_file")?.map(std::path::PathBuf::from),
    };
    Ok((settings, f.str("table_prefix")?.unwrap_or_default()))
}

impl Ledger {
    fn store(&self) -> &dyn LedgerStore {
        self.store.as_ref()
    }

    fn prune_logs(&self, older_than: i64) -> Result<Table> {
        if older_than < 0 {
            return Err(Error::validation("older_than", "must not be negative"));
        }
        let s = self.store();
        Arr::new()
            .set("sync_runs", s.prune_sync_runs(older_than)?)?
            .set("drift", s.prune_drift(older_than)?)?
            .set("jobs", s.prune_done_jobs(older_than)?)?
            .set("inbound", s.prune_inbound(older_than)?)?
            .set("security", s.prune_security(older_than)?)?
            .set("messages", s.prune_done_messages(older_than)?)?
            .set("api_requests", s.prune_api_requests(older_than)?)
            .map(Arr::build)
    }

    fn open(path: String, options: Option<&ZendHashTable>) -> Result<Self> {
        let opening = Opening::parse(options, OPEN_FIELDS)?;
        if path.trim().is_empty() {
            return Err(Error::validation("path", "must not be empty"));
        }
        let (store, file, path): (std::sync::Arc<dyn LedgerStore + Send + Sync>, _, _) =
            if path.starts_with(MYSQL_SCHEME) {
                let store = opening.open_server(&path)?;
                let described = store.describe();
                (store, None, described)
            } else {
                if opening.server.is_some() {
                    return Err(Error::validation("mysql", "is for a mysql:// path only"));
                }
                let file = super::connections::open(&path, &opening.sqlite)?;
                (file.clone(), Some(file), path)
            };
        Ok(Ledger {
            store,
            file,
            path,
            adapters: Adapters::new(opening.key, opening.http),
        })
    }

    fn copy_to_database(&self, url: String, options: Option<&ZendHashTable>) -> Result<Table> {
        let Some(file) = &self.file else {
            return Err(Error::validation(
                "copyTo",
                "copies a ledger file; this ledger is in a database",
            ));
        };
        let opening = Opening::parse(options, COPY_FIELDS)?;
        if !url.starts_with(MYSQL_SCHEME) {
            return Err(Error::validation("url", "must be a mysql:// URL"));
        }
        let retire = match options {
            Some(options) => Fields::new(options, "", COPY_FIELDS)?.bool("retire")?.unwrap_or(true),
            None => true,
        };
        let target = opening.open_server(&url)?;
        let report = ledger::copy::copy_sqlite_to_mariadb(file, &target, retire)?;
        let mut rows = Arr::new();
        for (table, count) in report.rows {
            rows = rows.set(table, count)?;
        }
        Arr::new()
            .set("rows", rows.build())?
            .set("seconds", report.seconds)?
            .set("target", target.describe())
            .map(Arr::build)
    }

    fn record_kind(&self, request: &ZendHashTable, kind: MovementKind) -> Result<Table> {
        let request = movement_request(&Fields::new(request, "", MOVEMENT_FIELDS)?, Some(kind))?;
        outcome_out(&self.store.record(&request, super::now())?)
    }

    fn batch(&self, movements: &ZendHashTable) -> Result<Table> {
        let items = list_of(movements, "movements")?;
        if items.len() > MAX_BATCH {
            return Err(Error::validation(
                "movements",
                format!("at most {MAX_BATCH} movements per batch, got {}", items.len()),
            ));
        }
        // Invalid entries are answered without reaching the store; the rest go in one call.
        // `refused` keeps, position by position, the error of an invalid entry (None: sent on).
        let mut valid: Vec<MovementRequest> = Vec::with_capacity(items.len());
        let mut refused: Vec<Option<Error>> = Vec::with_capacity(items.len());
        for (i, m) in items.iter().enumerate() {
            let parsed =
                Fields::of(m, &format!("movements[{i}]"), MOVEMENT_FIELDS).and_then(|f| movement_request(&f, None));
            match parsed {
                Ok(request) => {
                    valid.push(request);
                    refused.push(None);
                }
                Err(error) => refused.push(Some(error)),
            }
        }
        let mut recorded = self.store.record_batch(&valid, super::now())?.into_iter();
        let mut out = Arr::new();
        for entry in refused {
            let result = match entry {
                None => recorded
                    .next()
                    .unwrap_or_else(|| Err(Error::Conflict("the store returned too few outcomes".into()))),
                Some(e) => Err(e),
            };
            out = out.push(match result {
                Ok(outcome) => outcome_fields(Arr::new().set("ok", true)?, &outcome)?.build(),
                Err(error) => batch_error(&error)?,
            })?;
        }
        Ok(out.build())
    }
}

fn batch_error(error: &Error) -> Result<Table> {
    let field = match error {
        Error::Validation { field, .. } => Some(field.clone()),
        _ => None,
    };
    Ok(Arr::new()
        .set("ok", false)?
        .set(
            "error",
            Arr::new()
                .set("code", error_code(error.kind()))?
                .set("field", field)?
                .set("message", error.full_message())?
                .build(),
        )?
        .build())
}

fn sku_list(skus: Option<&ZendHashTable>) -> Result<Option<Vec<String>>> {
    skus.map(|table| {
        list_of(table, "skus")?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::validation(format!("skus[{i}]"), "must be a string"))
            })
            .collect()
    })
    .transpose()
}

fn planning_options(options: Option<&ZendHashTable>) -> Result<Planning> {
    let mut planning = Planning::default();
    let Some(options) = options else {
        return Ok(planning);
    };
    let f = Fields::new(options, "", PLANNING_FIELDS)?;
    if let Some(t) = f.sub("thresholds", PLANNING_THRESHOLD_FIELDS)? {
        let d = AlertThresholds::default();
        planning.thresholds = AlertThresholds {
            critical: t.int("critical")?.unwrap_or(d.critical),
            low: t.int("low")?.unwrap_or(d.low),
            warning: t.int("warning")?.unwrap_or(d.warning),
            critical_days: t.float("critical_days")?.unwrap_or(d.critical_days),
            low_days: t.float("low_days")?.unwrap_or(d.low_days),
            warning_days: t.float("warning_days")?.unwrap_or(d.warning_days),
        };
        planning.thresholds.validate()?;
    }
    if let Some(factor) = f.float("safety_factor")? {
        planning.reorder.safety_factor = factor;
    }
    if let Some(days) = f.u32("review_days")? {
        planning.reorder.review_days = days;
    }
    if let Some(days) = f.u32("velocity_window_days")? {
        planning.velocity_window_days = days;
    }
    planning.reorder.validate()?;
    Ok(planning)
}

// --- PHP → core ----------------------------------------------------------------------------------

fn item_input(f: &Fields<'_>) -> Result<ItemInput> {
    let thresholds = match f.sub("thresholds", THRESHOLD_FIELDS)? {
        Some(t) => Some(ledger::AlertThresholds {
            critical: t.req_int("critical")?,
            low: t.req_int("low")?,
            warning: t.req_int("warning")?,
        }),
        None => None,
    };
    Ok(ItemInput {
        sku: f.req_str("sku")?,
        name: f.str("name")?.unwrap_or_default(),
        product_id: f.int("product_id")?,
        thresholds,
        lead_time_days: f.int("lead_time_days")?,
        moq: f.int("moq")?,
        pack_size: f.int("pack_size")?,
        supplier: f.str("supplier")?,
    })
}

fn movement_request(f: &Fields<'_>, kind: Option<MovementKind>) -> Result<MovementRequest> {
    let given = f.str("kind")?.map(|k| MovementKind::parse(&k)).transpose()?;
    let kind = match (kind, given) {
        (Some(fixed), Some(given)) if fixed != given => {
            return Err(Error::validation(
                f.name("kind"),
                format!("must be {fixed} for this call (or left out), got {given}"),
            ))
        }
        (Some(fixed), _) => fixed,
        (None, Some(given)) => given,
        (None, None) => return Err(Error::validation(f.name("kind"), "is required")),
    };
    Ok(MovementRequest {
        event_id: f.req_str("event_id")?,
        sku: f.req_str("sku")?,
        kind,
        quantity: f.int("quantity")?,
        location: f.str("location")?,
        to_location: f.str("to_location")?,
        reservation: f.str("reservation")?,
        origin: f.str("origin")?,
        reference: f.str("reference")?,
        note: f.str("note")?,
        expires_at: f.int("expires_at")?,
    })
}

// --- core → PHP ----------------------------------------------------------------------------------

fn item_out(item: &Item) -> Result<Table> {
    let thresholds = item
        .thresholds
        .map(|t| {
            Arr::new()
                .set("critical", t.critical)?
                .set("low", t.low)?
                .set("warning", t.warning)
                .map(Arr::build)
        })
        .transpose()?;
    Ok(Arr::new()
        .set("sku", item.sku.as_str())?
        .set("name", item.name.as_str())?
        .set("product_id", item.product_id)?
        .set("thresholds", thresholds)?
        .set("lead_time_days", item.lead_time_days)?
        .set("moq", item.moq)?
        .set("pack_size", item.pack_size)?
        .set("supplier", item.supplier.clone())?
        .set("oversold", item.oversold)?
        .set("created_at", item.created_at)?
        .set("updated_at", item.updated_at)?
        .build())
}

fn location_out(location: &Location) -> Result<Table> {
    Ok(Arr::new()
        .set("code", location.code.as_str())?
        .set("name", location.name.as_str())?
        .set("priority", location.priority)?
        .set("active", location.active)?
        .build())
}

fn movement_out(m: &Movement) -> Result<Table> {
    Ok(Arr::new()
        .set("id", m.id)?
        .set("event_id", m.event_id.as_str())?
        .set("sku", m.sku.as_str())?
        .set("location", m.location.as_str())?
        .set("kind", m.kind.as_str())?
        .set("quantity", m.quantity)?
        .set("delta", m.delta)?
        .set("on_hand", m.on_hand)?
        .set("reserved", m.reserved)?
        .set("incoming", m.incoming)?
        .set("reservation", m.reservation.clone())?
        .set("origin", m.origin.clone())?
        .set("reference", m.reference.clone())?
        .set("note", m.note.clone())?
        .set("recorded_at", m.recorded_at)?
        .build())
}

fn level_out(level: &StockLevel) -> Result<Table> {
    Ok(Arr::new()
        .set("sku", level.sku.as_str())?
        .set("location", level.location.as_str())?
        .set("on_hand", level.on_hand)?
        .set("reserved", level.reserved)?
        .set("incoming", level.incoming)?
        .set("available", level.available())?
        .build())
}

fn outcome_fields(arr: Arr, outcome: &MovementOutcome) -> Result<Arr> {
    arr.set("replayed", outcome.replayed)?
        .set("oversold", outcome.oversold)?
        .set("movements", list_from(&outcome.movements, movement_out)?)?
        .set("levels", list_from(&outcome.levels, level_out)?)
}

fn outcome_out(outcome: &MovementOutcome) -> Result<Table> {
    Ok(outcome_fields(Arr::new(), outcome)?.build())
}

fn location_stock_out(l: &LocationStock) -> Result<Table> {
    Ok(Arr::new()
        .set("location", l.location.as_str())?
        .set("active", l.active)?
        .set("on_hand", l.on_hand)?
        .set("reserved", l.reserved)?
        .set("incoming", l.incoming)?
        .set("available", l.available)?
        .build())
}

fn sku_stock_out(s: &SkuStock) -> Result<Table> {
    Ok(Arr::new()
        .set("sku", s.sku.as_str())?
        .set("on_hand", s.on_hand)?
        .set("reserved", s.reserved)?
        .set("incoming", s.incoming)?
        .set("available", s.available)?
        .set("locations", list_from(&s.levels, location_stock_out)?)?
        .build())
}

fn allocation_out(a: &Allocation) -> Result<Table> {
    let share = a
        .share
        .as_ref()
        .map(|s| {
            Arr::new()
                .set("pool", s.pool)?
                .set("weight", i64::from(s.weight))?
                .set("total_weight", i64::try_from(s.total_weight).unwrap_or(i64::MAX))?
                .set("quantity", s.quantity)
                .map(Arr::build)
        })
        .transpose()?;
    Ok(Arr::new()
        .set("channel_id", a.channel_id)?
        .set("quantity", a.quantity)?
        .set("base", a.base)?
        .set("share", share)?
        .set("explanation", a.explanation.as_str())?
        .build())
}

fn trigger_name(trigger: AlertTrigger) -> &'static str {
    match trigger {
        AlertTrigger::None => "none",
        AlertTrigger::Oversold => "oversold",
        AlertTrigger::Quantity => "quantity",
        AlertTrigger::DaysOfSupply => "days_of_supply",
    }
}

fn alert_out(a: &SkuAlert) -> Result<Table> {
    Ok(Arr::new()
        .set("sku", a.sku.as_str())?
        .set("name", a.name.as_str())?
        .set("level", a.alert.level.as_str())?
        .set("trigger", trigger_name(a.alert.trigger))?
        .set("reason", a.alert.reason.as_str())?
        .set("available", a.available)?
        .set("units_sold", a.units_sold)?
        .set("velocity", a.velocity)?
        .set("days_of_supply", finite(a.alert.days_of_supply))?
        .build())
}

/// JSON and PHP callers handle null better than INF.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn reorder_out(r: &SkuReorder) -> Result<Table> {
    let s = &r.suggestion;
    Ok(Arr::new()
        .set("sku", r.sku.as_str())?
        .set("name", r.name.as_str())?
        .set("supplier", r.supplier.clone())?
        .set("quantity", s.quantity)?
        .set("explanation", s.explanation.as_str())?
        .set("units_sold", r.units_sold)?
        .set("velocity", s.input.velocity)?
        .set("lead_time_days", i64::from(s.input.lead_time_days))?
        .set("safety_factor", s.settings.safety_factor)?
        .set("review_days", i64::from(s.settings.review_days))?
        .set("safety_stock", s.safety_stock)?
        .set("target", s.target)?
        .set("on_hand", s.input.on_hand)?
        .set("reserved", s.input.reserved)?
        .set("incoming", s.input.incoming)?
        .set("position", s.position)?
        .set("shortfall", s.shortfall)?
        .set("moq", s.input.moq)?
        .set("pack_size", s.input.pack_size)?
        .build())
}
