//! Taking a verified inbound delivery into the ledger.
//!
//! [`ingest`] reads the delivery into a [`Plan`](crate::inbound::Plan) and applies it through the
//! [`LedgerStore`] trait: a delivery already logged is answered from the log and changes nothing;
//! unknown SKUs are reported (or created when the owner allows it); a channel's absolute level is
//! turned into a sale by its difference from what that channel last showed, or into drift; a
//! cancellation returns stock only for sales that were recorded; the movements go in one batch;
//! the delivery is logged once with its outcome. Races between identical deliveries are settled
//! by the ledger's event ids and the log's unique (provider, dedup key).

use sha2::{Digest, Sha256};

use crate::inbound::{self, Headers, LevelPolicy, LevelReport, Plan, Provider};
use crate::ledger::{
    InboundEvent, InboundOutcome, ItemInput, LedgerStore, MovementKind, MovementOutcome, MovementRequest, MAX_BATCH,
    MAX_EVENT_ID_CHARS,
};
use crate::{Error, Result};

/// Longest dedup key the inbound log keeps as is; longer keys are hashed.
const MAX_DEDUP_KEY: usize = 255;

/// What the owner allows an inbound delivery to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeOptions {
    /// Create items for unknown SKUs instead of only reporting them.
    pub auto_create: bool,
}

/// A channel showing a different number than it should, found in a level report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The channel key.
    pub channel: String,
    /// The SKU.
    pub sku: String,
    /// What the channel last showed as far as we know (our push or its last report).
    pub expected: i64,
    /// What it reports now.
    pub reported: i64,
    /// `reported − expected`.
    pub difference: i64,
}

/// A movement of the delivery that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The movement's event id.
    pub event_id: String,
    /// The error's class.
    pub kind: crate::error::ErrorKind,
    /// What was wrong.
    pub message: String,
}

/// What happened to a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeReport {
    /// The provider.
    pub provider: Provider,
    /// The event or topic name.
    pub topic: String,
    /// The key the delivery is logged under.
    pub dedup_key: String,
    /// True when the delivery had been taken before: nothing changed now.
    pub duplicate: bool,
    /// The logged outcome.
    pub outcome: InboundOutcome,
    /// Movements recorded for the first time.
    pub recorded: u32,
    /// Movements that had been recorded before (same event id).
    pub replayed: u32,
    /// Movements refused.
    pub failed: Vec<Failure>,
    /// SKUs the ledger does not know (and did not create).
    pub unknown_skus: Vec<String>,
    /// Lines that could not be used, with the reason.
    pub skipped: Vec<String>,
    /// Channels showing other numbers than expected.
    pub drift: Vec<Drift>,
    /// The outcomes of the movements recorded or replayed.
    pub outcomes: Vec<MovementOutcome>,
}

/// Keeps an id within `max` characters: longer ids become `sha256:<hex>` of themselves, which is
/// just as stable.
fn bounded(id: String, max: usize) -> String {
    if id.chars().count() <= max {
        id
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
}

/// Reads and applies a verified delivery. A payload that cannot be read is logged as rejected
/// (under the hash of its body) and returned as a `Validation` error; nothing else changes.
pub fn ingest(
    store: &dyn LedgerStore,
    provider: Provider,
    body: &[u8],
    headers: &Headers,
    options: IntakeOptions,
    now: i64,
) -> Result<IntakeReport> {
    let mut plan = match inbound::plan(provider, body, headers) {
        Ok(plan) => plan,
        Err(error) => {
            let mut event = InboundEvent::new(
                provider.as_str(),
                format!("rejected:{}", hex::encode(Sha256::digest(body))),
                InboundOutcome::Rejected,
            );
            event.summary = error.to_string();
            store.record_inbound(&event, now)?;
            return Err(error);
        }
    };
    plan.dedup_key = bounded(plan.dedup_key, MAX_DEDUP_KEY);
    let mut report = IntakeReport {
        provider,
        topic: plan.topic.clone(),
        dedup_key: plan.dedup_key.clone(),
        duplicate: false,
        outcome: InboundOutcome::Applied,
        recorded: 0,
        replayed: 0,
        failed: Vec::new(),
        unknown_skus: Vec::new(),
        skipped: std::mem::take(&mut plan.skipped),
        drift: Vec::new(),
        outcomes: Vec::new(),
    };
    if let Some(logged) = store.find_inbound(provider.as_str(), &plan.dedup_key)? {
        return Ok(from_log(report, &logged));
    }

    create_items(store, &plan, options, &mut report, now)?;
    let mut movements: Vec<MovementRequest> = Vec::new();
    for m in std::mem::take(&mut plan.movements) {
        if known(store, &m.sku, &mut report)? {
            movements.push(m);
        }
    }
    for level in std::mem::take(&mut plan.levels) {
        if let Some(sale) = apply_level(store, level, &mut report, now)? {
            movements.push(sale);
        }
    }
    for conditional in std::mem::take(&mut plan.conditional_returns) {
        if known(store, &conditional.movement.sku, &mut report)?
            && store.find_event(&conditional.sale_event_id)?.is_some()
        {
            movements.push(conditional.movement);
        }
    }
    for m in &mut movements {
        m.event_id = bounded(std::mem::take(&mut m.event_id), MAX_EVENT_ID_CHARS);
    }
    record(store, &movements, &mut report, now)?;

    report.outcome = if !report.failed.is_empty() {
        if report.recorded + report.replayed > 0 {
            InboundOutcome::Partial
        } else {
            InboundOutcome::Rejected
        }
    } else if report.recorded + report.replayed == 0 {
        InboundOutcome::Ignored
    } else {
        InboundOutcome::Applied
    };
    let logged = store.record_inbound(&log_entry(&report), now)?;
    if logged.duplicate {
        // An identical delivery was taken at the same time; its movements were replays here.
        report.duplicate = true;
    }
    Ok(report)
}

/// The report of a delivery that had been logged before.
fn from_log(mut report: IntakeReport, logged: &crate::ledger::InboundRecord) -> IntakeReport {
    report.duplicate = true;
    report.outcome = InboundOutcome::Duplicate;
    report.replayed = logged.recorded + logged.replayed;
    report.unknown_skus = logged.unknown_skus.clone();
    report
}

fn known(store: &dyn LedgerStore, sku: &str, report: &mut IntakeReport) -> Result<bool> {
    if store.get_item(sku)?.is_some() {
        return Ok(true);
    }
    if !report.unknown_skus.iter().any(|s| s == sku) {
        report.unknown_skus.push(sku.to_string());
    }
    Ok(false)
}

/// Creates announced items: always for an explicit `product.created`, otherwise only with
/// auto-create, and then also for every unknown SKU the delivery names.
fn create_items(
    store: &dyn LedgerStore,
    plan: &Plan,
    options: IntakeOptions,
    report: &mut IntakeReport,
    now: i64,
) -> Result<()> {
    let explicit = plan.provider == Provider::Generic && plan.topic == "product.created";
    if !explicit && !options.auto_create {
        return Ok(());
    }
    for sku in plan.skus() {
        if store.get_item(&sku)?.is_some() {
            continue;
        }
        let hint = plan.items.iter().find(|i| i.sku == sku);
        let input = ItemInput {
            sku: sku.clone(),
            name: hint.and_then(|h| h.name.clone()).unwrap_or_else(|| sku.clone()),
            product_id: None,
            thresholds: None,
            lead_time_days: None,
            moq: None,
            pack_size: None,
            supplier: hint.and_then(|h| h.supplier.clone()),
        };
        match store.upsert_item(&input, now) {
            Ok(_) => report.recorded += u32::from(explicit && plan.movements.is_empty()),
            Err(Error::Validation { message, .. }) => report.skipped.push(format!("{sku}: {message}")),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Turns a channel's absolute level into a sale (a decrease, where the channel reports no orders),
/// an echo (equal: nothing), or drift; and remembers what the channel now shows.
fn apply_level(
    store: &dyn LedgerStore,
    level: LevelReport,
    report: &mut IntakeReport,
    now: i64,
) -> Result<Option<MovementRequest>> {
    let sku = match (&level.sku, &level.remote_id) {
        (Some(sku), _) => sku.clone(),
        (None, Some(remote)) => match store.listing_by_remote_id(&level.channel, remote)? {
            Some(listing) => listing.sku,
            None => {
                report
                    .skipped
                    .push(format!("{}: unknown listing {remote}", level.channel));
                return Ok(None);
            }
        },
        (None, None) => return Ok(None),
    };
    if !known(store, &sku, report)? {
        return Ok(None);
    }
    let listing = store.listing(&level.channel, &sku)?;
    // What the channel last showed: our latest push or its latest report, whichever is newer.
    let expected = listing.as_ref().and_then(|l| match (l.last_pushed_at, l.last_seen_at) {
        (Some(pushed), Some(seen)) if seen >= pushed => l.last_seen_quantity,
        (Some(_), _) => l.last_pushed_quantity,
        (None, Some(_)) => l.last_seen_quantity,
        (None, None) => None,
    });
    if let (Some(remote), true) = (
        &level.remote_id,
        listing.as_ref().is_some_and(|l| l.remote_id.is_none()),
    ) {
        store.upsert_listing_remote_id(&level.channel, &sku, Some(remote), now)?;
    }
    store.record_listing_seen(&level.channel, &sku, level.quantity, now)?;
    let Some(expected) = expected else {
        report.skipped.push(format!(
            "{sku}: {} shows {} and has no baseline yet",
            level.channel, level.quantity
        ));
        return Ok(None);
    };
    let difference = level.quantity - expected;
    if difference == 0 {
        return Ok(None);
    }
    if difference < 0 && level.policy == LevelPolicy::SalesFromDecrease {
        return Ok(Some(
            MovementRequest::new(level.event_id, sku, MovementKind::Sale, -difference)
                .with_origin(level.channel)
                .with_note(format!("level went from {expected} to {}", level.quantity)),
        ));
    }
    report.drift.push(Drift {
        channel: level.channel,
        sku,
        expected,
        reported: level.quantity,
        difference,
    });
    Ok(None)
}

fn record(store: &dyn LedgerStore, movements: &[MovementRequest], report: &mut IntakeReport, now: i64) -> Result<()> {
    for chunk in movements.chunks(MAX_BATCH) {
        for (request, result) in chunk.iter().zip(store.record_batch(chunk, now)?) {
            match result {
                Ok(outcome) => {
                    if outcome.replayed {
                        report.replayed += 1;
                    } else {
                        report.recorded += 1;
                    }
                    report.outcomes.push(outcome);
                }
                Err(error) => report.failed.push(Failure {
                    event_id: request.event_id.clone(),
                    kind: error.kind(),
                    message: error.full_message(),
                }),
            }
        }
    }
    Ok(())
}

fn log_entry(report: &IntakeReport) -> InboundEvent {
    let mut event = InboundEvent::new(report.provider.as_str(), report.dedup_key.clone(), report.outcome);
    event.topic = Some(report.topic.clone()).filter(|t| !t.is_empty());
    event.recorded = report.recorded;
    event.replayed = report.replayed;
    event.failed = u32::try_from(report.failed.len()).unwrap_or(u32::MAX);
    event.unknown_skus = report.unknown_skus.clone();
    let mut parts = vec![format!(
        "recorded {}, replayed {}, failed {}",
        report.recorded,
        report.replayed,
        report.failed.len()
    )];
    if !report.unknown_skus.is_empty() {
        parts.push(format!("unknown SKUs: {}", report.unknown_skus.join(", ")));
    }
    parts.extend(report.skipped.iter().cloned());
    parts.extend(report.drift.iter().map(|d| {
        format!(
            "drift {} {}: expected {}, reported {}",
            d.channel, d.sku, d.expected, d.reported
        )
    }));
    parts.extend(report.failed.iter().map(|f| format!("{}: {}", f.event_id, f.message)));
    let mut summary = parts.join("; ");
    if summary.chars().count() > 2000 {
        summary = summary.chars().take(1990).collect::<String>() + " …";
    }
    event.summary = summary;
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Location, SqliteLedger};

    const NOW: i64 = 1_800_000_000;

    fn store() -> SqliteLedger {
        let s = SqliteLedger::open_in_memory().expect("ledger");
        s.upsert_location(
            &Location {
                code: "WH1".into(),
                name: "Main".into(),
                priority: 1,
                active: true,
            },
            NOW,
        )
        .expect("location");
        for sku in ["A", "TEE"] {
            s.upsert_item(
                &ItemInput {
                    sku: sku.into(),
                    name: sku.into(),
                    product_id: None,
                    thresholds: None,
                    lead_time_days: None,
                    moq: None,
                    pack_size: None,
                    supplier: None,
                },
                NOW,
            )
            .expect("item");
        }
        s.record(
            &MovementRequest::new("seed", "TEE", MovementKind::Receive, 20).at("WH1"),
            NOW,
        )
        .expect("seed");
        s
    }

    fn wc_headers() -> Headers {
        Headers::new([
            ("X-WC-Webhook-Source", "https://o.example/".to_string()),
            ("X-WC-Webhook-Topic", "product.updated".to_string()),
        ])
    }

    fn wc(store: &SqliteLedger, level: i64, modified: &str) -> IntakeReport {
        let body = format!(
            r#"{{"id":42,"sku":"TEE","manage_stock":true,"stock_quantity":{level},"date_modified_gmt":"{modified}"}}"#
        );
        ingest(
            store,
            Provider::WooCommerce,
            body.as_bytes(),
            &wc_headers(),
            IntakeOptions::default(),
            NOW,
        )
        .expect("ingest")
    }

    fn on_hand(store: &SqliteLedger, sku: &str) -> i64 {
        store.stock(sku).expect("stock").on_hand
    }

    #[test]
    fn level_reports_without_a_baseline_only_set_one() {
        let s = store();
        let r = wc(&s, 7, "t1");
        assert_eq!((r.recorded, r.outcome), (0, InboundOutcome::Ignored));
        assert_eq!(
            r.skipped,
            vec!["TEE: woocommerce_remote:https://o.example/ shows 7 and has no baseline yet"]
        );
        // Now there is one: a decrease is a sale.
        let r = wc(&s, 5, "t2");
        assert_eq!((r.recorded, r.outcome), (1, InboundOutcome::Applied));
        assert_eq!(on_hand(&s, "TEE"), 18);
    }

    #[test]
    fn decrease_after_a_push_is_a_sale_equal_is_an_echo_more_is_drift() {
        let s = store();
        s.record_listing_pushed("woocommerce_remote:https://o.example/", "TEE", 10, NOW - 60)
            .expect("push");
        assert_eq!(wc(&s, 7, "t1").recorded, 1);
        assert_eq!(on_hand(&s, "TEE"), 17);
        let dup = wc(&s, 7, "t1");
        assert!(dup.duplicate);
        assert_eq!(dup.outcome, InboundOutcome::Duplicate);
        let echo = wc(&s, 7, "t2");
        assert_eq!((echo.recorded, echo.outcome), (0, InboundOutcome::Ignored));
        let drift = wc(&s, 9, "t3");
        assert_eq!(drift.drift[0].difference, 2);
        assert_eq!(on_hand(&s, "TEE"), 17);
        // A later push resets the baseline.
        s.record_listing_pushed("woocommerce_remote:https://o.example/", "TEE", 17, NOW + 10)
            .expect("push");
        let sold = ingest(
            &s,
            Provider::WooCommerce,
            br#"{"id":42,"sku":"TEE","manage_stock":true,"stock_quantity":16,"date_modified_gmt":"t4"}"#,
            &wc_headers(),
            IntakeOptions::default(),
            NOW + 20,
        )
        .expect("ingest");
        assert_eq!(sold.recorded, 1);
        assert_eq!(on_hand(&s, "TEE"), 16);
    }

    #[test]
    fn unknown_skus_are_reported_unless_auto_create() {
        let s = store();
        let body = br#"{"event":"inventory.updated","id":"u1","sku":"NEW","quantity":3}"#;
        let r = ingest(
            &s,
            Provider::Generic,
            body,
            &Headers::default(),
            IntakeOptions::default(),
            NOW,
        )
        .expect("ingest");
        assert_eq!((r.unknown_skus.clone(), r.recorded), (vec!["NEW".to_string()], 0));
        assert!(s.get_item("NEW").expect("get").is_none());
        let body = br#"{"event":"inventory.updated","id":"u2","sku":"NEW","quantity":3}"#;
        let r = ingest(
            &s,
            Provider::Generic,
            body,
            &Headers::default(),
            IntakeOptions { auto_create: true },
            NOW,
        )
        .expect("ingest");
        assert_eq!((r.unknown_skus.len(), r.recorded), (0, 1));
        assert_eq!(s.stock("NEW").expect("stock").on_hand, 3);
    }

    #[test]
    fn unreadable_payloads_are_logged_as_rejected() {
        let s = store();
        let error = ingest(
            &s,
            Provider::Generic,
            b"{nope",
            &Headers::default(),
            IntakeOptions::default(),
            NOW,
        )
        .expect_err("refused");
        assert_eq!(error.kind(), crate::error::ErrorKind::Validation);
        let page = s
            .list_inbound(&crate::ledger::InboundQuery {
                provider: Some("generic".into()),
                outcome: None,
                before: None,
                limit: 10,
            })
            .expect("list");
        assert_eq!(page.records[0].outcome, InboundOutcome::Rejected);
    }

    #[test]
    fn long_ids_are_hashed_stably() {
        let long = "x".repeat(300);
        assert_eq!(bounded(long.clone(), 255), bounded(long, 255));
        assert!(bounded("x".repeat(300), 255).starts_with("sha256:"));
        assert_eq!(bounded("short".into(), 255), "short");
    }
}
