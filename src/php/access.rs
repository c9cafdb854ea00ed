//! Conversions for the inbound side of `InventorySync\Ledger`: webhook intake, the API gate,
//! API keys, the inbound and security logs, listings, and the stock search. The class's methods
//! (in `ledger.rs`) are one-liners over these functions.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::types::ZendHashTable;

use super::convert::{list_from, list_of, string_list, Arr, Fields};
use super::exceptions::error_code;
use crate::gate::{self, Decision};
use crate::inbound::{Headers, Provider};
use crate::intake::{self, IntakeOptions, IntakeReport};
use crate::inventory::{self, Planning, StockSearch};
use crate::ledger::{
    ApiKey, ApiRequest, InboundOutcome, InboundQuery, InboundRecord, LedgerStore, Listing, NewApiKey, RequestBucket,
    RequestStats, RouteStats, Scope, SecurityEvent, SecurityQuery, SecurityRecord, MAX_PAGE,
};
use crate::{Error, Result};

type Table = ZBox<ZendHashTable>;

/// `ingest()`: a verified webhook body into the ledger.
pub fn ingest(
    store: &dyn LedgerStore,
    provider: &str,
    body: &[u8],
    headers: &ZendHashTable,
    options: Option<&ZendHashTable>,
    now: i64,
) -> Result<Table> {
    let provider = Provider::parse(provider)?;
    let mut pairs = Vec::new();
    for (key, value) in headers.iter() {
        let name = key.to_string();
        let value = value
            .str()
            .ok_or_else(|| Error::validation(format!("headers.{name}"), "must be a string"))?;
        pairs.push((name, value.to_string()));
    }
    let mut opts = IntakeOptions::default();
    if let Some(options) = options {
        opts.auto_create = Fields::new(options, "", &["auto_create"])?
            .bool("auto_create")?
            .unwrap_or(false);
    }
    let report = intake::ingest(store, provider, body, &Headers::new(pairs), opts, now)?;
    report_out(&report)
}

fn report_out(r: &IntakeReport) -> Result<Table> {
    let failed = list_from(&r.failed, |f| {
        Ok(Arr::new()
            .set("event_id", f.event_id.as_str())?
            .set("code", error_code(f.kind))?
            .set("message", f.message.as_str())?
            .build())
    })?;
    let drift = list_from(&r.drift, |d| {
        Ok(Arr::new()
            .set("channel", d.channel.as_str())?
            .set("sku", d.sku.as_str())?
            .set("expected", d.expected)?
            .set("reported", d.reported)?
            .set("difference", d.difference)?
            .build())
    })?;
    let movements = list_from(&r.outcomes, |o| {
        let first = o.movements.first();
        Ok(Arr::new()
            .set("event_id", first.map(|m| m.event_id.clone()))?
            .set("sku", first.map(|m| m.sku.clone()))?
            .set("kind", first.map(|m| m.kind.as_str()))?
            .set("origin", first.and_then(|m| m.origin.clone()))?
            .set("replayed", o.replayed)?
            .build())
    })?;
    Ok(Arr::new()
        .set("duplicate", r.duplicate)?
        .set("provider", r.provider.as_str())?
        .set("topic", r.topic.as_str())?
        .set("dedup_key", r.dedup_key.as_str())?
        .set("outcome", r.outcome.as_str())?
        .set("recorded", i64::from(r.recorded))?
        .set("replayed", i64::from(r.replayed))?
        .set("unknown_skus", string_list(&r.unknown_skus)?)?
        .set("skipped", string_list(&r.skipped)?)?
        .set("failed", failed)?
        .set("drift", drift)?
        .set("movements", movements)?
        .build())
}

/// `authorize()`: the decision on one API request.
pub fn authorize(store: &dyn LedgerStore, request: &ZendHashTable, now: i64) -> Result<Table> {
    let f = Fields::new(
        request,
        "",
        &[
            "key",
            "scope",
            "method",
            "path",
            "body",
            "timestamp",
            "signature",
            "rate_limit",
            "route",
            "remote_addr",
        ],
    )?;
    let key = f.str("key")?.unwrap_or_default();
    let scope = Scope::parse(&f.req_str("scope")?)?;
    let method = f.req_str("method")?;
    let path = f.str("path")?.unwrap_or_default();
    let body = f.binary("body")?.unwrap_or_default();
    let timestamp = f.str("timestamp")?.unwrap_or_default();
    let signature = f.str("signature")?.unwrap_or_default();
    let rate_limit = f.u32("rate_limit")?.unwrap_or(60);
    let route = f.str("route")?.unwrap_or_default();
    let remote_addr = f.str("remote_addr")?;
    let decision = gate::authorize(
        store,
        &gate::Request {
            key: &key,
            scope,
            method: method.as_bytes(),
            path: path.as_bytes(),
            body: &body,
            timestamp: timestamp.as_bytes(),
            signature: signature.as_bytes(),
            rate_limit,
            route: &route,
            remote_addr: remote_addr.as_deref(),
        },
        now,
    )?;
    match decision {
        Decision::Allowed { key, rate } => Ok(Arr::new()
            .set("ok", true)?
            .set("key", key_out(&key)?)?
            .set(
                "rate",
                Arr::new()
                    .set("limit", i64::from(rate.limit))?
                    .set("remaining", i64::from(rate.remaining))?
                    .build(),
            )?
            .build()),
        Decision::Refused(r) => Ok(Arr::new()
            .set("ok", false)?
            .set("status", i64::from(r.status))?
            .set("code", r.code)?
            .set("reason", r.reason)?
            .set("message", r.message.as_str())?
            .set("retry_after", r.retry_after.map(i64::from))?
            .build()),
    }
}

/// `keyRefuses()`: SKUs and locations outside a key's limits.
pub fn key_refuses(
    store: &dyn LedgerStore,
    key_id: i64,
    skus: &ZendHashTable,
    locations: &ZendHashTable,
) -> Result<Table> {
    let key = store
        .list_api_keys()?
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or_else(|| Error::NotFound {
            what: "api key",
            key: key_id.to_string(),
        })?;
    let texts = |table: &ZendHashTable, path: &str| -> Result<Vec<String>> {
        list_of(table, path)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::validation(format!("{path}[{i}]"), "must be a string"))
            })
            .collect()
    };
    let refused = gate::refused_by_key(store, &key, &texts(skus, "skus")?, &texts(locations, "locations")?)?;
    string_list(&refused)
}

/// `logSecurity()`: a refusal decided in PHP (webhook signatures, sizes).
pub fn log_security(store: &dyn LedgerStore, entry: &ZendHashTable, now: i64) -> Result<()> {
    let f = Fields::new(entry, "", &["route", "reason", "key_prefix", "remote_addr", "detail"])?;
    store.record_security(
        &SecurityEvent {
            route: f.req_str("route")?,
            reason: f.req_str("reason")?,
            key_prefix: f.str("key_prefix")?,
            remote_addr: f.str("remote_addr")?,
            detail: f.str("detail")?.unwrap_or_default(),
        },
        now,
    )?;
    Ok(())
}

/// `recordApiRequest()`: one answered request of the inbound API (route pattern, method,
/// status, duration_ms).
pub fn record_api_request(store: &dyn LedgerStore, entry: &ZendHashTable, now: i64) -> Result<()> {
    let f = Fields::new(entry, "", &["route", "method", "status", "duration_ms"])?;
    let ms = f
        .float("duration_ms")?
        .ok_or_else(|| Error::validation("duration_ms", "is required"))?;
    if !ms.is_finite() || ms < 0.0 {
        return Err(Error::validation("duration_ms", "must be a number of milliseconds ≥ 0"));
    }
    let status = u16::try_from(f.req_int("status")?)
        .map_err(|_| Error::validation("status", "must be an HTTP status (100–599)"))?;
    store.record_api_request(
        &ApiRequest {
            route: f.req_str("route")?,
            method: f.req_str("method")?,
            status,
            // Saturating: an absurd duration is refused by validation, not wrapped.
            duration_us: (ms * 1_000.0).round() as u64,
        },
        now,
    )
}

/// `apiActivity()`: requests per bucket (`since`, `until`, `bucket`, `offset` as for
/// `syncActivity()`).
pub fn api_activity(store: &dyn LedgerStore, query: &ZendHashTable) -> Result<Table> {
    let f = Fields::new(query, "", &["since", "until", "bucket", "offset"])?;
    let buckets = store.api_activity(&super::sync::activity_query(&f)?)?;
    list_from(&buckets, |b: &RequestBucket| {
        request_stats(Arr::new().set("start", b.start)?, &b.stats)
    })
}

/// `apiRoutes()`: requests per route and method in `[since, until)`, busiest first.
pub fn api_routes(store: &dyn LedgerStore, since: i64, until: i64) -> Result<Table> {
    list_from(&store.api_routes(since, until)?, |r: &RouteStats| {
        request_stats(
            Arr::new()
                .set("route", r.route.as_str())?
                .set("method", r.method.as_str())?,
            &r.stats,
        )
    })
}

/// The counts every request report carries: requests, client_errors (4xx), server_errors (5xx),
/// error_rate (0–1), avg_ms, p95_ms (null without requests: at most this, from the histogram),
/// max_ms.
fn request_stats(out: Arr, s: &RequestStats) -> Result<Table> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let round = |x: f64, places: i32| (x * 10f64.powi(places)).round() / 10f64.powi(places);
    Ok(out
        .set("requests", count(s.requests))?
        .set("client_errors", count(s.client_errors))?
        .set("server_errors", count(s.server_errors))?
        .set("error_rate", round(s.error_rate(), 4))?
        .set("avg_ms", round(s.average_ms(), 1))?
        .set("p95_ms", s.percentile_ms(95.0).map(|ms| round(ms, 1)))?
        .set("max_ms", round(s.max_ms(), 1))?
        .build())
}

/// `issueApiKey()`: a new key; its plaintext is in `key`, shown once.
pub fn issue_api_key(store: &dyn LedgerStore, spec: &ZendHashTable, random: &[u8], now: i64) -> Result<Table> {
    let f = Fields::new(
        spec,
        "",
        &[
            "name",
            "scopes",
            "expires_at",
            "supplier",
            "locations",
            "signing_secret",
        ],
    )?;
    let scopes = f
        .strings("scopes")?
        .ok_or_else(|| Error::validation("scopes", "is required"))?
        .iter()
        .map(|s| Scope::parse(s))
        .collect::<Result<_>>()?;
    let issued = store.issue_api_key(
        &NewApiKey {
            name: f.req_str("name")?,
            scopes,
            expires_at: f.int("expires_at")?,
            supplier: f.str("supplier")?,
            locations: f.strings("locations")?,
            signing_secret: f.str("signing_secret")?,
        },
        random,
        now,
    )?;
    Ok(Arr::new()
        .set("key", issued.plaintext.as_str())?
        .set("api_key", key_out(&issued.key)?)?
        .build())
}

/// An API key as PHP sees it: never its hash or signing secret.
pub fn key_out(k: &ApiKey) -> Result<Table> {
    let scopes: Vec<String> = k.scopes.iter().map(|s| s.as_str().to_string()).collect();
    Ok(Arr::new()
        .set("id", k.id)?
        .set("name", k.name.as_str())?
        .set("prefix", k.prefix.as_str())?
        .set("scopes", string_list(&scopes)?)?
        .set("supplier", k.supplier.clone())?
        .set("locations", string_list(k.locations.as_deref().unwrap_or(&[]))?)?
        .set("requires_signing", k.requires_signing())?
        .set("expires_at", k.expires_at)?
        .set("revoked_at", k.revoked_at)?
        .set("last_used_at", k.last_used_at)?
        .set("created_at", k.created_at)?
        .build())
}

/// `inboundEvents()`: the inbound log, newest first.
pub fn inbound_events(store: &dyn LedgerStore, query: Option<&ZendHashTable>) -> Result<Table> {
    let mut q = InboundQuery {
        provider: None,
        outcome: None,
        before: None,
        limit: 50,
    };
    if let Some(query) = query {
        let f = Fields::new(query, "", &["provider", "outcome", "before", "limit"])?;
        q.provider = f.str("provider")?;
        q.outcome = f.str("outcome")?.map(|o| InboundOutcome::parse(&o)).transpose()?;
        q.before = f.int("before")?;
        q.limit = f.u32("limit")?.unwrap_or(q.limit).min(MAX_PAGE);
    }
    let page = store.list_inbound(&q)?;
    Ok(Arr::new()
        .set("events", list_from(&page.records, inbound_out)?)?
        .set("next_before", page.next_before)?
        .build())
}

fn inbound_out(r: &InboundRecord) -> Result<Table> {
    Ok(Arr::new()
        .set("id", r.id)?
        .set("provider", r.provider.as_str())?
        .set("dedup_key", r.dedup_key.as_str())?
        .set("topic", r.topic.clone())?
        .set("outcome", r.outcome.as_str())?
        .set("summary", r.summary.as_str())?
        .set("recorded", i64::from(r.recorded))?
        .set("replayed", i64::from(r.replayed))?
        .set("failed", i64::from(r.failed))?
        .set("unknown_skus", string_list(&r.unknown_skus)?)?
        .set("received_at", r.received_at)?
        .build())
}

/// `securityEvents()`: the security log, newest first.
pub fn security_events(store: &dyn LedgerStore, query: Option<&ZendHashTable>) -> Result<Table> {
    let mut q = SecurityQuery {
        reason: None,
        before: None,
        limit: 50,
    };
    if let Some(query) = query {
        let f = Fields::new(query, "", &["reason", "before", "limit"])?;
        q.reason = f.str("reason")?;
        q.before = f.int("before")?;
        q.limit = f.u32("limit")?.unwrap_or(q.limit).min(MAX_PAGE);
    }
    let page = store.list_security(&q)?;
    Ok(Arr::new()
        .set("events", list_from(&page.records, security_out)?)?
        .set("next_before", page.next_before)?
        .build())
}

fn security_out(r: &SecurityRecord) -> Result<Table> {
    Ok(Arr::new()
        .set("id", r.id)?
        .set("route", r.route.as_str())?
        .set("reason", r.reason.as_str())?
        .set("key_prefix", r.key_prefix.clone())?
        .set("remote_addr", r.remote_addr.clone())?
        .set("detail", r.detail.as_str())?
        .set("recorded_at", r.recorded_at)?
        .build())
}

/// `upsertListing()`: a channel listing's remote id and/or the quantity last pushed to it.
pub fn upsert_listing(store: &dyn LedgerStore, listing: &ZendHashTable, now: i64) -> Result<Table> {
    let f = Fields::new(listing, "", &["channel", "sku", "remote_id", "pushed", "seen"])?;
    let channel = f.req_str("channel")?;
    let sku = f.req_str("sku")?;
    let mut current = store.listing(&channel, &sku)?;
    if let Some(remote) = f.str("remote_id")? {
        current = Some(store.upsert_listing_remote_id(&channel, &sku, Some(&remote), now)?);
    }
    if let Some(pushed) = f.int("pushed")? {
        current = Some(store.record_listing_pushed(&channel, &sku, pushed, now)?);
    }
    if let Some(seen) = f.int("seen")? {
        current = Some(store.record_listing_seen(&channel, &sku, seen, now)?);
    }
    match current {
        Some(l) => listing_out(&l),
        None => Err(Error::validation("remote_id", "give remote_id, pushed or seen")),
    }
}

/// A listing as PHP sees it.
pub fn listing_out(l: &Listing) -> Result<Table> {
    Ok(Arr::new()
        .set("channel", l.channel.as_str())?
        .set("sku", l.sku.as_str())?
        .set("remote_id", l.remote_id.clone())?
        .set("last_pushed_quantity", l.last_pushed_quantity)?
        .set("last_pushed_at", l.last_pushed_at)?
        .set("last_seen_quantity", l.last_seen_quantity)?
        .set("last_seen_at", l.last_seen_at)?
        .build())
}

/// `searchStock()`: items with stock totals and alert level.
pub fn search_stock(store: &dyn LedgerStore, query: Option<&ZendHashTable>, now: i64) -> Result<Table> {
    let mut q = StockSearch {
        limit: 20,
        ..Default::default()
    };
    if let Some(query) = query {
        let f = Fields::new(query, "", &["search", "supplier", "low_stock", "after", "limit"])?;
        q.search = f.str("search")?;
        q.supplier = f.str("supplier")?;
        q.low_stock = f.bool("low_stock")?.unwrap_or(false);
        q.after = f.str("after")?;
        q.limit = f.u32("limit")?.unwrap_or(q.limit);
    }
    let page = inventory::search_stock(store, &q, &Planning::default(), now)?;
    let items = list_from(&page.rows, |row| {
        Ok(Arr::new()
            .set("sku", row.item.sku.as_str())?
            .set("name", row.item.name.as_str())?
            .set("supplier", row.item.supplier.clone())?
            .set("on_hand", row.stock.on_hand)?
            .set("reserved", row.stock.reserved)?
            .set("incoming", row.stock.incoming)?
            .set("available", row.stock.available)?
            .set("alert", row.alert.as_str())?
            .set("oversold", row.item.oversold)?
            .build())
    })?;
    Ok(Arr::new()
        .set("items", items)?
        .set("next_after", page.next_after)?
        .build())
}
