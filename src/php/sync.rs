//! The sync engine as PHP sees it: channels (with sealed credentials), planning, the queue
//! runner, the local channel's jobs, reconciliation, the primary-source pull, and the reports
//! (runs, drift, jobs). Conversions only; the `Ledger` methods in [`super::ledger`] call these.

use std::time::Duration;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::ModuleBuilder;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;
use serde_json::{json, Map, Value};

use super::convert::{list, list_from, list_of, string_list, Arr, Fields};
use super::stock::allocation_mode;
use crate::channels::source::{PrimarySource, SourceConfig};
use crate::channels::{Secret, Unpaced};
use crate::crypto;
use crate::ledger::{
    ActivityBucket, ActivityQuery, AllocationSettings, ChannelConfig, ChannelInput, ChannelType, ClearJobs, DriftQuery,
    DriftRecord, Job, JobCounts, JobQuery, JobStatus, LedgerStore, RateLimit, RunStatus, SyncKind, SyncRun,
    SyncRunQuery,
};
use crate::ledger::{Message, MessageQuery, MessageStatus};
use crate::stock::AllocationMode;
use crate::sync::supplier_replies::{self, ReplyKind, SupplierReply};
use crate::sync::suppliers::{self, OrderLine};
use crate::sync::{self, Adapters, PlanCounts, PullReport, RunOptions, SyncReport, SystemClock};
use crate::{Error, Result};

type Table = ZBox<ZendHashTable>;

const CHANNEL_FIELDS: &[&str] = &[
    "key",
    "kind",
    "name",
    "enabled",
    "allocation",
    "batch_size",
    "rate",
    "min_change",
    "low_stock_level",
    "settings",
    "credentials",
];
const ALLOCATION_FIELDS: &[&str] = &[
    "mode",
    "weight",
    "priority",
    "buffer",
    "max",
    "zero_threshold",
    "percent",
    "include_incoming",
    "include_supplier",
    "locations",
];
const RATE_FIELDS: &[&str] = &["per_second", "burst"];
const RUN_FIELDS: &[&str] = &["owner", "budget_ms", "job_limit", "claim_seconds"];
const SOURCE_FIELDS: &[&str] = &["name", "url", "token", "per_page", "max_pages", "location"];
const LEVEL_FIELDS: &[&str] = &["sku", "location", "quantity"];

/// The sync state entry keeping the primary source's configuration (token sealed).
const SOURCE_STATE: &str = "source.config";
/// The sealing context of the primary source's token.
const SOURCE_CONTEXT: &str = "source:primary";
/// The most pages one pull reads when not configured.
const DEFAULT_MAX_PAGES: u32 = 1_000;
/// How long a local-channel claim lasts by default, in seconds.
const DEFAULT_LOCAL_CLAIM_SECONDS: u32 = 120;

// --- channels ------------------------------------------------------------------------------------

/// Saves a channel from the owner's form; credentials are checked against the kind and sealed
/// (a blank credential keeps the stored one; no `credentials` keeps them all).
pub fn save_channel(store: &dyn LedgerStore, adapters: &Adapters, channel: &ZendHashTable, now: i64) -> Result<Table> {
    let f = Fields::new(channel, "", CHANNEL_FIELDS)?;
    let key = f.req_str("key")?;
    let kind = ChannelType::parse(&f.req_str("kind")?)?;
    let mut input = ChannelInput::new(
        key.trim(),
        kind,
        f.str("name")?.unwrap_or_else(|| key.trim().to_string()),
    );
    input.enabled = f.bool("enabled")?.unwrap_or(true);
    if let Some(a) = f.sub("allocation", ALLOCATION_FIELDS)? {
        input.allocation = allocation_settings(&a)?;
    }
    if let Some(size) = f.u32("batch_size")? {
        input.batch_size = size;
    }
    if let Some(rate) = f.sub("rate", RATE_FIELDS)? {
        input.rate = RateLimit {
            per_second: rate.float("per_second")?.unwrap_or(0.0),
            burst: rate.u32("burst")?.unwrap_or(1),
        };
    }
    input.min_change = f.int("min_change")?.unwrap_or(0);
    input.low_stock_level = f.int("low_stock_level")?.unwrap_or(0);
    let settings = Value::Object(f.json_object("settings")?.unwrap_or_default());
    input.settings = settings.to_string();
    let previous = store.channel(input.key.trim())?;
    let new_credentials = f.json_object("credentials")?;
    if let Some(given) = new_credentials.clone() {
        input.credentials =
            Some(adapters.seal_credentials(input.key.trim(), kind, &settings, given, previous.as_ref())?);
    } else if kind != ChannelType::WooCommerceLocal && previous.is_none() {
        // A new remote channel needs its credentials (the check names the missing one).
        crate::channels::connect::check(kind.as_str(), &settings, &json!({}))?;
    } else if let Some(previous) = previous.as_ref().filter(|p| p.kind != kind) {
        return Err(Error::validation(
            "credentials",
            format!(
                "are required when a channel changes kind ({} → {})",
                previous.kind.as_str(),
                kind.as_str()
            ),
        ));
    }
    let saved = store.save_channel(&input, now)?;
    if new_credentials.is_some() {
        // A token asked for with the old credentials may belong to another account.
        store.set_sync_state(&sync::factory::token_state(&saved.key), "", now)?;
    }
    channel_out(adapters, &saved)
}

fn allocation_settings(f: &Fields<'_>) -> Result<AllocationSettings> {
    let mode = allocation_mode(f)?;
    Ok(AllocationSettings {
        mode,
        priority: f.int("priority")?.unwrap_or(0),
        buffer: f.int("buffer")?.unwrap_or(0),
        max: f.int("max")?,
        zero_threshold: f.int("zero_threshold")?.unwrap_or(0),
        percent: f.u32("percent")?,
        include_incoming: f.bool("include_incoming")?.unwrap_or(false),
        include_supplier: f.bool("include_supplier")?.unwrap_or(false),
        eligible_locations: f.strings("locations")?.unwrap_or_default(),
    })
}

/// A channel as shown: settings in full, credentials masked (`credentials_readable` false when
/// they cannot be opened with this site's key).
pub fn channel_out(adapters: &Adapters, c: &ChannelConfig) -> Result<Table> {
    let a = &c.allocation;
    let (mode, weight) = match a.mode {
        AllocationMode::Shared => ("shared", None),
        AllocationMode::Partitioned { weight } => ("partitioned", Some(i64::from(weight))),
    };
    let allocation = Arr::new()
        .set("mode", mode)?
        .set("weight", weight)?
        .set("priority", a.priority)?
        .set("buffer", a.buffer)?
        .set("max", a.max)?
        .set("zero_threshold", a.zero_threshold)?
        .set("percent", a.percent.map(i64::from))?
        .set("include_incoming", a.include_incoming)?
        .set("include_supplier", a.include_supplier)?
        .set("locations", string_list(&a.eligible_locations)?)?
        .build();
    let has_credentials = c.credentials.as_deref().is_some_and(|s| !s.trim().is_empty());
    let masked = if has_credentials {
        adapters.masked_credentials(c)
    } else {
        Some(Map::new())
    };
    let mut credentials = Arr::new();
    for (name, value) in masked.clone().unwrap_or_default() {
        credentials = credentials.set(&name, value.as_str().unwrap_or_default())?;
    }
    Ok(Arr::new()
        .set("id", c.id)?
        .set("key", c.key.as_str())?
        .set("kind", c.kind.as_str())?
        .set("name", c.name.as_str())?
        .set("enabled", c.enabled)?
        .set("allocation", allocation)?
        .set("batch_size", i64::from(c.batch_size))?
        .set(
            "rate",
            Arr::new()
                .set("per_second", c.rate.per_second)?
                .set("burst", i64::from(c.rate.burst))?
                .build(),
        )?
        .set("min_change", c.min_change)?
        .set("low_stock_level", c.low_stock_level)?
        .set("settings", json_table(&Value::Object(c.settings_json()?))?)?
        .set("credentials", credentials.build())?
        .set("credentials_readable", masked.is_some())?
        .set("created_at", c.created_at)?
        .set("updated_at", c.updated_at)?
        .build())
}

/// Every channel, in the store's order.
pub fn channels(store: &dyn LedgerStore, adapters: &Adapters) -> Result<Table> {
    list_from(&store.list_channels()?, |c| channel_out(adapters, c))
}

/// A JSON value as a PHP value (objects as arrays).
fn json_table(value: &Value) -> Result<Table> {
    let mut arr = Arr::new();
    let Some(object) = value.as_object() else {
        return Ok(arr.build());
    };
    for (key, v) in object {
        arr = match v {
            Value::Null => arr.set(key, None::<i64>)?,
            Value::Bool(b) => arr.set(key, *b)?,
            Value::Number(n) => match n.as_i64() {
                Some(i) => arr.set(key, i)?,
                None => arr.set(key, n.as_f64().unwrap_or(0.0))?,
            },
            Value::String(s) => arr.set(key, s.as_str())?,
            Value::Object(_) => arr.set(key, json_table(v)?)?,
            Value::Array(items) => {
                let mut list = Arr::new();
                for item in items {
                    list = match item {
                        Value::String(s) => list.push(s.as_str())?,
                        Value::Number(n) => list.push(n.as_i64().unwrap_or(0))?,
                        Value::Bool(b) => list.push(*b)?,
                        other => list.push(json_table(other)?)?,
                    };
                }
                arr.set(key, list.build())?
            }
        };
    }
    Ok(arr.build())
}

// --- planning and runs ---------------------------------------------------------------------------

fn plan_fields(arr: Arr, c: &PlanCounts) -> Result<Arr> {
    arr.set("skus", c.skus)?
        .set("skipped", c.skipped)?
        .set("planned", c.planned)?
        .set("first_pushes", c.first_pushes)?
        .set("unchanged", c.unchanged)?
        .set("echoes", c.echoes)?
        .set("held_back", c.held_back)?
        .set("enqueued", c.enqueued)
}

/// Plans the given SKUs for every enabled channel (`origin`: the channel the change came from).
pub fn sync_skus(store: &dyn LedgerStore, skus: &ZendHashTable, origin: Option<&str>, now: i64) -> Result<Table> {
    let skus = sku_list(skus)?;
    let refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    Ok(plan_fields(Arr::new(), &sync::sync_skus(store, &refs, origin, now)?)?.build())
}

/// Plans the given SKUs for one enabled channel only.
pub fn sync_skus_to(store: &dyn LedgerStore, skus: &ZendHashTable, channel: &str, now: i64) -> Result<Table> {
    let skus = sku_list(skus)?;
    let refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    Ok(plan_fields(Arr::new(), &sync::sync_skus_to(store, &refs, channel, now)?)?.build())
}

fn sku_list(skus: &ZendHashTable) -> Result<Vec<String>> {
    list_of(skus, "skus")?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.str()
                .map(str::to_string)
                .ok_or_else(|| Error::validation(format!("skus[{i}]"), "must be a string"))
        })
        .collect()
}

/// An incremental or full sync's report.
pub fn sync_report_out(report: &SyncReport) -> Result<Table> {
    Ok(plan_fields(Arr::new().set("run_id", report.run_id)?, &report.counts)?
        .set("cursor", report.cursor)?
        .build())
}

/// A name for this PHP process's claims when the caller gives none.
fn runner_name() -> String {
    format!("php-{}-{}", std::process::id(), super::now())
}

fn run_options(options: Option<&ZendHashTable>) -> Result<RunOptions> {
    let mut run = RunOptions::new(runner_name());
    if let Some(options) = options {
        let f = Fields::new(options, "", RUN_FIELDS)?;
        if let Some(owner) = f.str("owner")? {
            run.owner = owner;
        }
        if let Some(ms) = f.int("budget_ms")? {
            if !(1..=3_600_000).contains(&ms) {
                return Err(Error::validation("budget_ms", "must be between 1 and 3600000"));
            }
            run.budget = Duration::from_millis(ms.unsigned_abs());
        }
        if let Some(limit) = f.u32("job_limit")? {
            run.job_limit = limit;
        }
        if let Some(seconds) = f.u32("claim_seconds")? {
            run.claim_seconds = seconds;
        }
    }
    Ok(run)
}

/// Runs the queue once through the site's adapters.
pub fn run_queue(store: &dyn LedgerStore, adapters: &Adapters, options: Option<&ZendHashTable>) -> Result<Table> {
    let options = run_options(options)?;
    let report = sync::run_queue(
        store,
        &adapters.keeping_tokens(store, &SystemClock),
        &options,
        &SystemClock,
    )?;
    let mut per_channel = Arr::new();
    for (key, c) in &report.per_channel {
        per_channel = per_channel.set(
            key,
            Arr::new()
                .set("pushed", c.pushed)?
                .set("accepted", c.accepted)?
                .set("failed", c.failed)?
                .set("retried", c.retried)?
                .set("dead", c.dead)?
                .set("lost_claims", c.lost_claims)?
                .set("batches", c.batches)?
                .set("feeds", c.feeds)?
                .set("in_feeds", c.in_feeds)?
                .set("calls", c.calls)?
                .set("error", c.error.clone())?
                .build(),
        )?;
    }
    Ok(Arr::new()
        .set("run_id", report.run_id)?
        .set("pushed", report.pushed)?
        .set("accepted", report.accepted)?
        .set("failed", report.failed)?
        .set("retried", report.retried)?
        .set("dead", report.dead)?
        .set("calls", report.calls)?
        .set("elapsed_ms", report.elapsed_ms)?
        .set("channels", per_channel.build())?
        .build())
}

/// Claims up to `limit` jobs of the enabled `woocommerce_local` channels for `owner`, to be
/// applied in PHP and answered with `complete_job` / `fail_job`.
pub fn claim_local_jobs(
    store: &dyn LedgerStore,
    owner: &str,
    limit: Option<u32>,
    claim_seconds: Option<u32>,
    now: i64,
) -> Result<Table> {
    let mut left = limit.unwrap_or(100);
    let mut claimed = Vec::new();
    for channel in store.list_channels()? {
        if !channel.enabled || channel.kind != ChannelType::WooCommerceLocal || left == 0 {
            continue;
        }
        let jobs = store.claim_jobs(
            owner,
            Some(&channel.key),
            left.min(channel.batch_size),
            claim_seconds.unwrap_or(DEFAULT_LOCAL_CLAIM_SECONDS),
            now,
        )?;
        left = left.saturating_sub(u32::try_from(jobs.len()).unwrap_or(u32::MAX));
        claimed.extend(jobs);
    }
    list_from(&claimed, job_out)
}

/// Reconciles every readable channel.
pub fn reconcile(store: &dyn LedgerStore, adapters: &Adapters) -> Result<Table> {
    let r = sync::reconcile(store, &adapters.keeping_tokens(store, &SystemClock), &SystemClock)?;
    Ok(Arr::new()
        .set("run_id", r.run_id)?
        .set("channels", r.channels)?
        .set("skipped", string_list(&r.skipped)?)?
        .set("read", r.read)?
        .set("missing", r.missing)?
        .set("in_flight", r.in_flight)?
        .set("drift", r.drift)?
        .set("repaired", r.repaired)?
        .set("calls", r.calls)?
        .build())
}

// --- the primary source --------------------------------------------------------------------------

/// Saves the primary source (`name`, `url`, `token`, `per_page`, `max_pages`); a blank token
/// keeps the stored one. Returns it as shown.
pub fn save_source(
    store: &dyn LedgerStore,
    adapters: &Adapters,
    source: &ZendHashTable,
    now: i64,
) -> Result<Option<Table>> {
    let f = Fields::new(source, "", SOURCE_FIELDS)?;
    let stored = stored_source(store)?;
    let name = f.str("name")?.unwrap_or_else(|| "erp".into());
    let url = f.req_str("url")?;
    let token = match f.str("token")?.filter(|t| !t.trim().is_empty()) {
        Some(token) => adapters.seal(token.trim().as_bytes(), SOURCE_CONTEXT)?,
        None => stored
            .as_ref()
            .and_then(|s| s["token"].as_str().map(str::to_string))
            .ok_or_else(|| Error::validation("token", "is required"))?,
    };
    let per_page = f
        .u32("per_page")?
        .unwrap_or(crate::channels::source::DEFAULT_PER_PAGE as u32);
    let max_pages = f.u32("max_pages")?.unwrap_or(DEFAULT_MAX_PAGES);
    // The same checks a pull makes, now, so a bad form is refused when saved.
    let mut config = SourceConfig::new(url.trim(), Secret::new("check"));
    config.per_page = per_page as usize;
    PrimarySource::new(config)?;
    let location = f
        .str("location")?
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    if let Some(code) = &location {
        if !store.list_locations()?.iter().any(|l| &l.code == code) {
            return Err(Error::NotFound {
                what: "location",
                key: code.clone(),
            });
        }
    }
    let value = json!({
        "name": name.trim(), "url": url.trim(), "token": token,
        "per_page": per_page, "max_pages": max_pages, "location": location,
    });
    store.set_sync_state(SOURCE_STATE, &value.to_string(), now)?;
    source_out(store, adapters)
}

fn stored_source(store: &dyn LedgerStore) -> Result<Option<Value>> {
    Ok(store
        .sync_state(SOURCE_STATE)?
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .filter(Value::is_object))
}

/// The primary source as shown (token masked), or null when none is configured.
pub fn source_out(store: &dyn LedgerStore, adapters: &Adapters) -> Result<Option<Table>> {
    let Some(source) = stored_source(store)? else {
        return Ok(None);
    };
    let token = source["token"]
        .as_str()
        .and_then(|sealed| adapters.open(sealed, SOURCE_CONTEXT).ok())
        .map(|plain| crypto::mask(&String::from_utf8_lossy(&plain)));
    Ok(Some(
        Arr::new()
            .set("name", source["name"].as_str().unwrap_or("erp"))?
            .set("url", source["url"].as_str().unwrap_or_default())?
            .set("token", token.clone().unwrap_or_default())?
            .set("token_readable", token.is_some())?
            .set("per_page", source["per_page"].as_i64().unwrap_or(0))?
            .set("max_pages", source["max_pages"].as_i64().unwrap_or(0))?
            .set("location", source["location"].as_str().map(str::to_string))?
            .build(),
    ))
}

/// Reads the configured primary source and records its levels as pull `pull_id`.
pub fn pull_source(store: &dyn LedgerStore, adapters: &Adapters, pull_id: &str, now: i64) -> Result<Table> {
    let source = stored_source(store)?.ok_or_else(|| Error::NotFound {
        what: "primary source",
        key: "(not configured)".into(),
    })?;
    let token = adapters.open(source["token"].as_str().unwrap_or_default(), SOURCE_CONTEXT)?;
    let token = String::from_utf8(token).map_err(|_| Error::validation("token", "is not text"))?;
    let mut config = SourceConfig::new(source["url"].as_str().unwrap_or_default(), Secret::new(token));
    config.per_page = usize::try_from(source["per_page"].as_u64().unwrap_or(100)).unwrap_or(100);
    let max_pages = u32::try_from(source["max_pages"].as_u64().unwrap_or(u64::from(DEFAULT_MAX_PAGES)))
        .unwrap_or(DEFAULT_MAX_PAGES);
    let mut reader = PrimarySource::new(config)?.with_pacer(Box::new(Unpaced));
    let snapshot = reader.fetch_all(max_pages)?;
    let name = source["name"].as_str().unwrap_or("erp").to_string();
    // A level without a location is the source's only one: the configured location, else the
    // ledger's first location by priority.
    let fallback = match source["location"].as_str() {
        Some(code) => Some(code.to_string()),
        None => store.list_locations()?.into_iter().find(|l| l.active).map(|l| l.code),
    };
    let levels = snapshot
        .levels
        .iter()
        .map(|level| {
            let location =
                level.location.clone().or_else(|| fallback.clone()).ok_or_else(|| {
                    Error::validation("location", "the source names no location and the ledger has none")
                })?;
            Ok((level.sku.clone(), location, level.quantity))
        })
        .collect::<Result<Vec<_>>>()?;
    let report = sync::pull(store, &name, pull_id, &levels, now)?;
    let skipped: Vec<String> = snapshot
        .skipped
        .iter()
        .map(|s| format!("page {} item {}: {}", s.page, s.index, s.reason))
        .collect();
    Ok(pull_fields(Arr::new(), &report)?
        .set("pages", i64::from(snapshot.pages))?
        .set("calls", snapshot.calls.len())?
        .set("source_skipped", string_list(&skipped)?)?
        .build())
}

/// Records levels a site supplies itself (the `inventory_sync_primary_source` filter) as pull
/// `pull_id` from `source`.
pub fn pull_levels(
    store: &dyn LedgerStore,
    source: &str,
    pull_id: &str,
    levels: &ZendHashTable,
    now: i64,
) -> Result<Table> {
    let levels: Vec<(String, String, i64)> = list_of(levels, "levels")?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let f = Fields::of(v, &format!("levels[{i}]"), LEVEL_FIELDS)?;
            Ok((f.req_str("sku")?, f.req_str("location")?, f.req_int("quantity")?))
        })
        .collect::<Result<_>>()?;
    let report = sync::pull(store, source, pull_id, &levels, now)?;
    Ok(pull_fields(Arr::new(), &report)?.build())
}

fn pull_fields(arr: Arr, r: &PullReport) -> Result<Arr> {
    let mut failed = Arr::new();
    for (sku, location, reason) in &r.failed {
        failed = failed.push(
            Arr::new()
                .set("sku", sku.as_str())?
                .set("location", location.as_str())?
                .set("reason", reason.as_str())?
                .build(),
        )?;
    }
    arr.set("run_id", r.run_id)?
        .set("recorded", r.recorded)?
        .set("replayed", r.replayed)?
        .set("unchanged", r.unchanged)?
        .set("unknown_skus", string_list(&r.unknown_skus)?)?
        .set("failed", failed.build())?
        .set("plan", plan_fields(Arr::new(), &r.plan)?.build())
}

// --- reports and the queue -----------------------------------------------------------------------

/// Sync runs, newest first: `kind`, `status`, `before`, `limit`.
pub fn sync_runs(store: &dyn LedgerStore, query: Option<&ZendHashTable>) -> Result<Table> {
    let mut q = SyncRunQuery::default();
    if let Some(query) = query {
        let f = Fields::new(query, "", &["kind", "status", "before", "limit"])?;
        q.kind = f.str("kind")?.map(|k| SyncKind::parse(&k)).transpose()?;
        q.status = f.str("status")?.map(|s| RunStatus::parse(&s)).transpose()?;
        q.before = f.int("before")?;
        q.limit = f.u32("limit")?.unwrap_or(q.limit);
    }
    let page = store.list_sync_runs(&q)?;
    Ok(Arr::new()
        .set("runs", list_from(&page.runs, run_out)?)?
        .set("next_before", page.next_before)?
        .build())
}

/// `InventorySync\channel_kinds()`: every channel kind with the settings and credential fields
/// its adapter reads, in form order (`woocommerce_local` has none): what the channel form shows.
#[php_function]
#[php(name = "InventorySync\\channel_kinds")]
pub fn channel_kinds() -> PhpResult<Table> {
    use crate::channels::connect::{fields_of, CREDENTIAL_FIELDS, SETTINGS_FIELDS};
    let mut out = Arr::new();
    for kind in ChannelType::ALL {
        let name = kind.as_str();
        let texts = |fields: &[&str]| string_list(&fields.iter().map(|f| (*f).to_string()).collect::<Vec<_>>());
        out = out.set(
            name,
            Arr::new()
                .set("settings", texts(fields_of(SETTINGS_FIELDS, name))?)?
                .set("credentials", texts(fields_of(CREDENTIAL_FIELDS, name))?)?
                .build(),
        )?;
    }
    Ok(out.build())
}

/// Registers this file's functions.
pub fn register(module: ModuleBuilder) -> ModuleBuilder {
    module.function(wrap_function!(channel_kinds))
}

/// "Test connection" for a saved channel (see [`sync::probe`]).
pub fn test_channel(store: &dyn LedgerStore, adapters: &Adapters, key: &str) -> Result<Table> {
    let report = sync::probe::test_connection(store, &adapters.keeping_tokens(store, &SystemClock), key)?;
    let mut found = Arr::new();
    for (sku, remote_id) in &report.found {
        found = found.push(
            Arr::new()
                .set("sku", sku.as_str())?
                .set("remote_id", remote_id.as_str())?
                .build(),
        )?;
    }
    Ok(Arr::new()
        .set("status", report.verdict.as_str())?
        .set("message", report.message.as_str())?
        .set("asked", string_list(&report.asked)?)?
        .set("found", found.build())?
        .build())
}

/// Auto-map by SKU (see [`sync::probe::auto_map`]).
pub fn auto_map(
    store: &dyn LedgerStore,
    adapters: &Adapters,
    key: &str,
    limit: Option<u32>,
    now: i64,
) -> Result<Table> {
    let report = sync::probe::auto_map(
        store,
        &adapters.keeping_tokens(store, &SystemClock),
        key,
        limit.unwrap_or(1000),
        now,
    )?;
    Ok(Arr::new()
        .set("asked", i64::try_from(report.asked).unwrap_or(i64::MAX))?
        .set("mapped", i64::try_from(report.mapped).unwrap_or(i64::MAX))?
        .set("missing", string_list(&report.missing)?)?
        .set("more", report.more)?
        .build())
}

/// A page of the SKUs with no remote id on a channel: `after`, `limit`.
pub fn unmapped_skus(store: &dyn LedgerStore, key: &str, query: Option<&ZendHashTable>) -> Result<Table> {
    let (mut after, mut limit) = (None, 50);
    if let Some(query) = query {
        let f = Fields::new(query, "", &["after", "limit"])?;
        after = f.str("after")?;
        limit = f.u32("limit")?.unwrap_or(limit);
    }
    let mut skus = store.unmapped_skus(
        key,
        after.as_deref(),
        limit.saturating_add(1).min(crate::ledger::MAX_PAGE),
    )?;
    let next_after = (skus.len() > limit as usize).then(|| {
        skus.truncate(limit as usize);
        skus.last().cloned()
    });
    Ok(Arr::new()
        .set("skus", string_list(&skus)?)?
        .set("next_after", next_after.flatten())?
        .build())
}

/// What every enabled channel is shown for `sku`, why, what it shows now and what is queued.
pub fn channel_stock(store: &dyn LedgerStore, sku: &str) -> Result<Table> {
    list_from(&sync::explain::channel_views(store, sku)?, |v| {
        Ok(Arr::new()
            .set("channel", v.channel.as_str())?
            .set("name", v.name.as_str())?
            .set("kind", v.kind)?
            .set("quantity", v.quantity)?
            .set("explanation", v.explanation.as_str())?
            .set("shown", v.shown)?
            .set("pushed_at", v.pushed_at)?
            .set("queued", v.queued)?
            .build())
    })
}

/// Sync activity per bucket: `since`, `until` (unix seconds), `bucket` (`hour`, `day`,
/// `week`), `offset` (the site's UTC offset in seconds), `kind`.
pub fn sync_activity(store: &dyn LedgerStore, query: &ZendHashTable) -> Result<Table> {
    let f = Fields::new(query, "", &["since", "until", "bucket", "offset", "kind", "by_hour"])?;
    let query = ActivityQuery {
        kind: f.str("kind")?.map(|k| SyncKind::parse(&k)).transpose()?,
        ..activity_query(&f)?
    };
    let by_hour = f.bool("by_hour")?.unwrap_or(false);
    let buckets = if by_hour {
        store.sync_activity_by_hour(&query)?
    } else {
        store.sync_activity(&query)?
    };
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    list_from(&buckets, |b: &ActivityBucket| {
        let finished = b.done + b.failed;
        Ok(Arr::new()
            .set("start", b.start)?
            .set("runs", count(b.runs))?
            .set("done", count(b.done))?
            .set("failed", count(b.failed))?
            .set("pushed", count(b.pushed))?
            .set("push_failures", count(b.push_failures))?
            .set(
                "avg_duration_ms",
                count(b.duration_ms.checked_div(finished).unwrap_or(0)),
            )?
            .build())
    })
}

/// The span and buckets of an activity query: `since`, `until` (unix seconds), `bucket`
/// (`hour`, `day`, `week`, `month`), `offset` (the site's UTC offset in seconds).
pub(super) fn activity_query(f: &Fields<'_>) -> Result<ActivityQuery> {
    let bucket_seconds = match f.req_str("bucket")?.as_str() {
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 604_800,
        "month" => crate::ledger::run::MONTH,
        other => {
            return Err(Error::validation(
                "bucket",
                format!("must be hour, day, week or month, got {other:?}"),
            ))
        }
    };
    Ok(ActivityQuery {
        since: f.req_int("since")?,
        until: f.req_int("until")?,
        bucket_seconds,
        offset_seconds: f.int("offset")?.unwrap_or(0),
        kind: None,
    })
}

/// The most frequent run errors since `$since`: error, runs, last_at.
pub fn sync_errors(store: &dyn LedgerStore, since: i64, limit: u32) -> Result<Table> {
    list_from(&store.sync_errors(since, limit)?, |(error, runs, last)| {
        Ok(Arr::new()
            .set("error", error.as_str())?
            .set("runs", i64::try_from(*runs).unwrap_or(i64::MAX))?
            .set("last_at", *last)?
            .build())
    })
}

/// The newest feeds (bulk submissions, Amazon's `JSON_LISTINGS_FEED`), newest first.
pub fn feeds(store: &dyn LedgerStore, channel: Option<&str>, limit: u32) -> Result<Table> {
    list_from(&store.recent_feeds(channel, limit)?, |f| {
        Ok(Arr::new()
            .set("id", f.id)?
            .set("channel", f.channel.as_str())?
            .set("state", f.state.as_str())?
            .set("remote_id", f.remote_id.clone())?
            .set("messages", i64::from(f.messages))?
            .set("processing_status", f.processing_status.clone())?
            .set("created_at", f.created_at)?
            .set("submitted_at", f.submitted_at)?
            .set("next_poll_at", f.next_poll_at)?
            .set("polls", i64::from(f.polls))?
            .set("applied", i64::from(f.applied))?
            .set("refused", i64::from(f.refused))?
            .set("last_error", f.last_error.clone())?
            .set("finished_at", f.finished_at)?
            .build())
    })
}

fn run_out(r: &SyncRun) -> Result<Table> {
    let c = &r.counts;
    Ok(Arr::new()
        .set("id", r.id)?
        .set("kind", r.kind.as_str())?
        .set("status", r.status.as_str())?
        .set("skus", c.skus)?
        .set("planned", c.planned)?
        .set("enqueued", c.enqueued)?
        .set("pushed", c.pushed)?
        .set("failed", c.failed)?
        .set("retried", c.retried)?
        .set("dead", c.dead)?
        .set("drift", c.drift)?
        .set("skipped", c.skipped)?
        .set("calls", c.calls)?
        .set("duration_ms", c.duration_ms)?
        .set("error", r.error.clone())?
        .set("started_at", r.started_at)?
        .set("finished_at", r.finished_at)?
        .build())
}

/// Drift records, newest first: `channel`, `sku`, `before`, `limit`.
pub fn drift(store: &dyn LedgerStore, query: Option<&ZendHashTable>) -> Result<Table> {
    let mut q = DriftQuery::default();
    if let Some(query) = query {
        let f = Fields::new(query, "", &["channel", "sku", "before", "limit"])?;
        q.channel = f.str("channel")?;
        q.sku = f.str("sku")?;
        q.before = f.int("before")?;
        q.limit = f.u32("limit")?.unwrap_or(q.limit);
    }
    let page = store.list_drift(&q)?;
    Ok(Arr::new()
        .set("records", list_from(&page.records, drift_out)?)?
        .set("next_before", page.next_before)?
        .build())
}

fn drift_out(d: &DriftRecord) -> Result<Table> {
    Ok(Arr::new()
        .set("id", d.id)?
        .set("channel", d.channel.as_str())?
        .set("sku", d.sku.as_str())?
        .set("expected", d.expected)?
        .set("remote", d.remote)?
        .set("repaired", d.repaired)?
        .set("run_id", d.run_id)?
        .set("recorded_at", d.recorded_at)?
        .build())
}

/// Jobs, newest first: `channel`, `status`, `before`, `limit`.
pub fn jobs(store: &dyn LedgerStore, query: Option<&ZendHashTable>) -> Result<Table> {
    let mut q = JobQuery::default();
    if let Some(query) = query {
        let f = Fields::new(query, "", &["channel", "status", "before", "limit"])?;
        q.channel = f.str("channel")?;
        q.status = f.str("status")?.map(|s| JobStatus::parse(&s)).transpose()?;
        q.before = f.int("before")?;
        q.limit = f.u32("limit")?.unwrap_or(q.limit);
    }
    let page = store.list_jobs(&q)?;
    Ok(Arr::new()
        .set("jobs", list_from(&page.jobs, job_out)?)?
        .set("next_before", page.next_before)?
        .build())
}

/// One job as shown (its idempotency key is not a secret: channels see it).
pub fn job_out(j: &Job) -> Result<Table> {
    Ok(Arr::new()
        .set("id", j.id)?
        .set("channel", j.channel.as_str())?
        .set("sku", j.sku.as_str())?
        .set("desired", j.desired)?
        .set("status", j.status.as_str())?
        .set("priority", j.priority)?
        .set("attempts", i64::from(j.attempts))?
        .set("next_attempt_at", j.next_attempt_at)?
        .set("claim_owner", j.claim_owner.clone())?
        .set("claim_expires_at", j.claim_expires_at)?
        .set("last_error", j.last_error.clone())?
        .set("idempotency_key", j.idempotency_key.as_str())?
        .set("created_at", j.created_at)?
        .set("updated_at", j.updated_at)?
        .build())
}

/// Job counts per status.
pub fn job_counts_out(c: &JobCounts) -> Result<Table> {
    Ok(Arr::new()
        .set("pending", c.pending)?
        .set("retrying", c.retrying)?
        .set("running", c.running)?
        .set("done", c.done)?
        .set("failed", c.failed)?
        .set("dead", c.dead)?
        .build())
}

/// What `clear_jobs` deletes: `['status' => 'dead'|'finished'|'pending', 'channel' => ?]`.
pub fn clear_filter(filter: &ZendHashTable) -> Result<ClearJobs> {
    let f = Fields::new(filter, "", &["status", "channel"])?;
    let channel = f.str("channel")?;
    match f.req_str("status")?.as_str() {
        "dead" => Ok(ClearJobs::Dead { channel }),
        "finished" => Ok(ClearJobs::Finished { channel }),
        "pending" => Ok(ClearJobs::Pending {
            channel: channel.ok_or_else(|| Error::validation("channel", "is required to clear pending jobs"))?,
        }),
        other => Err(Error::validation(
            "status",
            format!("must be dead, finished or pending, got {other:?}"),
        )),
    }
}

// --- supplier order routing ----------------------------------------------------------------------

const LINE_FIELDS: &[&str] = &["line_id", "sku", "quantity"];

/// Routes a paid order's lines (`[line_id, sku, quantity]`) to their suppliers.
pub fn route_order(store: &dyn LedgerStore, order_id: &str, lines: &ZendHashTable, now: i64) -> Result<Table> {
    let lines: Vec<OrderLine> = list_of(lines, "lines")?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let f = Fields::of(v, &format!("lines[{i}]"), LINE_FIELDS)?;
            Ok(OrderLine {
                line_id: f.req_str("line_id")?,
                sku: f.req_str("sku")?,
                quantity: f.req_int("quantity")?,
            })
        })
        .collect::<Result<_>>()?;
    let report = suppliers::route_order(store, order_id, &lines, now)?;
    let mut messages = Arr::new();
    for (supplier, id, created) in &report.messages {
        messages = messages.push(
            Arr::new()
                .set("supplier", supplier.as_str())?
                .set("message_id", *id)?
                .set("created", *created)?
                .build(),
        )?;
    }
    let mut unrouted = Arr::new();
    for (sku, reason) in &report.unrouted {
        unrouted = unrouted.push(
            Arr::new()
                .set("sku", sku.as_str())?
                .set("reason", reason.as_str())?
                .build(),
        )?;
    }
    Ok(Arr::new()
        .set("messages", messages.build())?
        .set("unrouted", unrouted.build())?
        .build())
}

const REPLY_FIELDS: &[&str] = &[
    "id",
    "type",
    "order_id",
    "lines",
    "carrier",
    "tracking_number",
    "tracking_url",
];
const SHIPPED_LINE_FIELDS: &[&str] = &["sku", "quantity"];

/// Accepts a supplier's reply about an order it was sent (see [`supplier_replies`]).
pub fn supplier_reply(store: &dyn LedgerStore, supplier: &str, reply: &ZendHashTable, now: i64) -> Result<Table> {
    let f = Fields::new(reply, "", REPLY_FIELDS)?;
    let lines = match reply.get("lines").filter(|v| !v.is_null()) {
        None => Vec::new(),
        Some(value) => list(value, "lines")?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let line = Fields::of(v, &format!("lines[{i}]"), SHIPPED_LINE_FIELDS)?;
                Ok((line.req_str("sku")?, line.req_int("quantity")?))
            })
            .collect::<Result<_>>()?,
    };
    let reply = SupplierReply {
        id: f.req_str("id")?,
        kind: ReplyKind::parse(&f.req_str("type")?)?,
        order_id: f.req_str("order_id")?,
        lines,
        carrier: f.str("carrier")?,
        tracking_number: f.str("tracking_number")?,
        tracking_url: f.str("tracking_url")?,
    };
    let outcome = supplier_replies::accept_reply(store, supplier, &reply, now)?;
    let r = &outcome.reply;
    let mut lines = Arr::new();
    for (sku, quantity) in &r.lines {
        lines = lines.push(Arr::new().set("sku", sku.as_str())?.set("quantity", *quantity)?.build())?;
    }
    Ok(Arr::new()
        .set("duplicate", outcome.duplicate)?
        .set("supplier", supplier.trim())?
        .set("id", r.id.as_str())?
        .set("type", r.kind.topic())?
        .set("order_id", r.order_id.as_str())?
        .set("lines", lines.build())?
        .set("carrier", r.carrier.clone())?
        .set("tracking_number", r.tracking_number.clone())?
        .set("tracking_url", r.tracking_url.clone())?
        .set("summary", outcome.summary.as_str())?
        .build())
}

/// Every supplier endpoint (secret masked).
pub fn supplier_endpoints(store: &dyn LedgerStore, adapters: &Adapters) -> Result<Table> {
    let mut out = Arr::new();
    for (supplier, url, secret) in suppliers::endpoints(store, adapters)? {
        out = out.push(
            Arr::new()
                .set("supplier", supplier.as_str())?
                .set("url", url.as_str())?
                .set("secret", secret.clone().unwrap_or_default())?
                .set("secret_readable", secret.is_some())?
                .build(),
        )?;
    }
    Ok(out.build())
}

/// Sends due supplier messages: options `owner`, `limit`.
pub fn send_messages(store: &dyn LedgerStore, adapters: &Adapters, options: Option<&ZendHashTable>) -> Result<Table> {
    let mut owner = runner_name();
    let mut limit = 100;
    if let Some(options) = options {
        let f = Fields::new(options, "", &["owner", "limit"])?;
        if let Some(o) = f.str("owner")? {
            owner = o;
        }
        limit = f.u32("limit")?.unwrap_or(limit);
    }
    let r = suppliers::send_messages(store, adapters, adapters.http(), &owner, limit, &SystemClock)?;
    Ok(Arr::new()
        .set("sent", r.sent)?
        .set("retried", r.retried)?
        .set("dead", r.dead)?
        .set("calls", r.calls)?
        .build())
}

/// Messages newest first: destination, status, before, limit.
pub fn messages(store: &dyn LedgerStore, query: Option<&ZendHashTable>) -> Result<Table> {
    let mut q = MessageQuery::default();
    if let Some(query) = query {
        let f = Fields::new(query, "", &["destination", "status", "before", "limit"])?;
        q.destination = f.str("destination")?;
        q.status = f.str("status")?.map(|s| MessageStatus::parse(&s)).transpose()?;
        q.before = f.int("before")?;
        q.limit = f.u32("limit")?.unwrap_or(q.limit);
    }
    let page = store.list_messages(&q)?;
    Ok(Arr::new()
        .set("messages", list_from(&page.messages, message_out)?)?
        .set("next_before", page.next_before)?
        .build())
}

/// One message as shown.
pub fn message_out(m: &Message) -> Result<Table> {
    Ok(Arr::new()
        .set("id", m.id)?
        .set("destination", m.destination.as_str())?
        .set("topic", m.topic.as_str())?
        .set("key", m.key.as_str())?
        .set("payload", m.payload.as_str())?
        .set("status", m.status.as_str())?
        .set("attempts", i64::from(m.attempts))?
        .set("next_attempt_at", m.next_attempt_at)?
        .set("last_error", m.last_error.clone())?
        .set("created_at", m.created_at)?
        .set("updated_at", m.updated_at)?
        .build())
}
