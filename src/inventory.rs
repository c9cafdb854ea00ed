//! Queries that join the ledger with the stock math: what each channel is shown for a SKU, which
//! SKUs need attention, and what to reorder.
//!
//! The ledger ([`crate::ledger`]) knows quantities; the stock math ([`crate::stock`]) knows rules.
//! This module reads through the [`LedgerStore`] trait only (so it works on any backend) and hands
//! plain values to the pure functions. Time comes in as a parameter.

use crate::ledger::{self, Item, ItemQuery, LedgerStore, SkuStock, MAX_PAGE};
use crate::stock::{
    self, Alert, AlertThresholds, Allocation, ChannelRule, ReorderInput, ReorderSettings, ReorderSuggestion,
    ThresholdOverrides,
};
use crate::{Error, Result};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The window and defaults behind alerts and reorder suggestions.
#[derive(Debug, Clone, PartialEq)]
pub struct Planning {
    /// Default alert thresholds; an item's own thresholds override them.
    pub thresholds: AlertThresholds,
    /// Reorder factors (safety factor, review days).
    pub reorder: ReorderSettings,
    /// Days of sales that make up the velocity.
    pub velocity_window_days: u32,
}

impl Default for Planning {
    fn default() -> Self {
        Planning {
            thresholds: AlertThresholds::default(),
            reorder: ReorderSettings::default(),
            velocity_window_days: stock::DEFAULT_VELOCITY_WINDOW_DAYS,
        }
    }
}

/// One SKU's alert with the figures behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuAlert {
    /// The SKU.
    pub sku: String,
    /// The item's name.
    pub name: String,
    /// Units available now.
    pub available: i64,
    /// Units sold in the velocity window.
    pub units_sold: i64,
    /// Units sold per day.
    pub velocity: f64,
    /// The verdict.
    pub alert: Alert,
}

/// One SKU's reorder suggestion with the item facts behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuReorder {
    /// The SKU.
    pub sku: String,
    /// The item's name.
    pub name: String,
    /// The item's supplier, if known.
    pub supplier: Option<String>,
    /// Units sold in the velocity window.
    pub units_sold: i64,
    /// The suggestion with its inputs and intermediate values.
    pub suggestion: ReorderSuggestion,
}

/// What to look for in [`search_stock`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockSearch {
    /// SKU or name prefix.
    pub search: Option<String>,
    /// Only items of this supplier (an API key limited to one supplier).
    pub supplier: Option<String>,
    /// Only SKUs with an alert (warning, low, critical).
    pub low_stock: bool,
    /// Cursor: the last SKU of the previous page.
    pub after: Option<String>,
    /// Page size, 1..=[`MAX_PAGE`].
    pub limit: u32,
}

/// One row of a stock search.
#[derive(Debug, Clone, PartialEq)]
pub struct StockRow {
    /// The item.
    pub item: Item,
    /// Its stock totals.
    pub stock: SkuStock,
    /// Its alert level.
    pub alert: stock::AlertLevel,
}

/// A page of a stock search.
#[derive(Debug, Clone, PartialEq)]
pub struct StockPage {
    /// The rows, by SKU.
    pub rows: Vec<StockRow>,
    /// Cursor for the next page, if there is one.
    pub next_after: Option<String>,
}

/// Items with their stock, by SKU, filtered and paged by cursor. Filters that the store cannot
/// apply (supplier, low stock) are applied here while reading pages, so a page is full unless the
/// catalogue ends.
pub fn search_stock(store: &dyn LedgerStore, query: &StockSearch, planning: &Planning, now: i64) -> Result<StockPage> {
    if query.limit == 0 || query.limit > MAX_PAGE {
        return Err(Error::validation("limit", format!("must be between 1 and {MAX_PAGE}")));
    }
    let mut rows = Vec::new();
    let mut after = query.after.clone();
    loop {
        let page = store.list_items(&ItemQuery {
            search: query.search.clone(),
            after: after.clone(),
            limit: MAX_PAGE,
        })?;
        let exhausted = page.next_after.is_none();
        let count = page.items.len();
        for (index, item) in page.items.into_iter().enumerate() {
            after = Some(item.sku.clone());
            if query.supplier.is_some() && item.supplier != query.supplier {
                continue;
            }
            let sku_stock = store.stock(&item.sku)?;
            let (_, velocity) = velocity_of(store, &item.sku, now, planning)?;
            let thresholds = planning.thresholds.with_overrides(&ThresholdOverrides {
                critical: item.thresholds.map(|t| t.critical),
                low: item.thresholds.map(|t| t.low),
                warning: item.thresholds.map(|t| t.warning),
            });
            let level = stock::alert(alert_stock(&sku_stock), velocity, &thresholds)?.level;
            if query.low_stock && level == stock::AlertLevel::None {
                continue;
            }
            rows.push(StockRow {
                item,
                stock: sku_stock,
                alert: level,
            });
            if rows.len() == query.limit as usize {
                // A next page is promised when the catalogue goes on (it may turn out empty
                // under filters).
                let more = index + 1 < count || !exhausted;
                return Ok(StockPage {
                    next_after: if more { after } else { None },
                    rows,
                });
            }
        }
        if exhausted {
            return Ok(StockPage { rows, next_after: None });
        }
    }
}

/// A SKU's stock per location in the stock math's terms (with each location's priority).
pub fn stock_levels(store: &dyn LedgerStore, sku: &str) -> Result<Vec<stock::StockLevel>> {
    let stock = store.stock(sku)?;
    let locations = store.list_locations()?;
    Ok(to_stock_levels(&stock, &locations))
}

fn to_stock_levels(stock: &SkuStock, locations: &[ledger::Location]) -> Vec<stock::StockLevel> {
    stock
        .levels
        .iter()
        .map(|level| stock::StockLevel {
            location: level.location.clone(),
            on_hand: level.on_hand,
            reserved: level.reserved,
            incoming: level.incoming,
            active: level.active,
            priority: locations
                .iter()
                .find(|l| l.code == level.location)
                .map_or(i64::MAX, |l| l.priority),
        })
        .collect()
}

/// What each channel is shown for `sku` under `rules`, with explanations.
pub fn allocation(
    store: &dyn LedgerStore,
    sku: &str,
    rules: &[ChannelRule],
    supplier_stock: i64,
) -> Result<Vec<Allocation>> {
    let levels = stock_levels(store, sku)?;
    stock::allocate(&levels, rules, supplier_stock)
}

/// The stock an alert judges: what is available, or — when a location is oversold — the
/// (negative) oversold units, so the alert says so.
fn alert_stock(stock: &SkuStock) -> i64 {
    let oversold: i64 = stock.levels.iter().filter(|l| l.on_hand < 0).map(|l| l.on_hand).sum();
    if oversold < 0 {
        oversold
    } else {
        stock.available
    }
}

fn velocity_of(store: &dyn LedgerStore, sku: &str, now: i64, planning: &Planning) -> Result<(i64, f64)> {
    let since = now - i64::from(planning.velocity_window_days) * DAY;
    let sold = store.units_sold_since(sku, since)?.max(0);
    Ok((sold, stock::sales_velocity(sold, planning.velocity_window_days)?))
}

/// Items to look at: the given SKUs (each must exist), or every item.
fn items(store: &dyn LedgerStore, skus: Option<&[String]>) -> Result<Vec<Item>> {
    if let Some(skus) = skus {
        return skus
            .iter()
            .map(|sku| {
                store.get_item(sku)?.ok_or_else(|| Error::NotFound {
                    what: "sku",
                    key: sku.clone(),
                })
            })
            .collect();
    }
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_items(&ItemQuery {
            search: None,
            after: after.take(),
            limit: MAX_PAGE,
        })?;
        all.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// Alerts for the given SKUs (every level, including none), or for every item (only those that
/// need attention), most severe first.
pub fn alerts(
    store: &dyn LedgerStore,
    skus: Option<&[String]>,
    planning: &Planning,
    now: i64,
) -> Result<Vec<SkuAlert>> {
    let everything = skus.is_none();
    let mut out = Vec::new();
    for item in items(store, skus)? {
        let stock = store.stock(&item.sku)?;
        let (units_sold, velocity) = velocity_of(store, &item.sku, now, planning)?;
        let thresholds = planning.thresholds.with_overrides(&ThresholdOverrides {
            critical: item.thresholds.map(|t| t.critical),
            low: item.thresholds.map(|t| t.low),
            warning: item.thresholds.map(|t| t.warning),
        });
        let alert = stock::alert(alert_stock(&stock), velocity, &thresholds)?;
        if everything && alert.level == stock::AlertLevel::None {
            continue;
        }
        out.push(SkuAlert {
            sku: item.sku,
            name: item.name,
            available: stock.available,
            units_sold,
            velocity,
            alert,
        });
    }
    out.sort_by(|a, b| b.alert.level.cmp(&a.alert.level).then_with(|| a.sku.cmp(&b.sku)));
    Ok(out)
}

/// Reorder suggestions for the given SKUs (including zero suggestions), or for every item (only
/// those with something to order).
pub fn reorder_suggestions(
    store: &dyn LedgerStore,
    skus: Option<&[String]>,
    planning: &Planning,
    now: i64,
) -> Result<Vec<SkuReorder>> {
    let everything = skus.is_none();
    let mut out = Vec::new();
    for item in items(store, skus)? {
        let stock = store.stock(&item.sku)?;
        let (units_sold, velocity) = velocity_of(store, &item.sku, now, planning)?;
        let lead_time_days = u32::try_from(item.lead_time_days.unwrap_or(0).max(0))
            .map_err(|_| Error::validation("lead_time_days", "is too large"))?;
        let input = ReorderInput {
            velocity,
            lead_time_days,
            on_hand: stock.on_hand,
            reserved: stock.reserved,
            incoming: stock.incoming,
            moq: item.moq.unwrap_or(0),
            pack_size: item.pack_size.unwrap_or(1),
        };
        let suggestion = stock::suggest_reorder(&input, &planning.reorder)?;
        if everything && suggestion.quantity == 0 {
            continue;
        }
        out.push(SkuReorder {
            sku: item.sku,
            name: item.name,
            supplier: item.supplier,
            units_sold,
            suggestion,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ItemInput, Location, MovementKind, MovementRequest, SqliteLedger};
    use crate::stock::{AlertLevel, AllocationMode};

    const NOW: i64 = 1_800_000_000;

    fn store() -> SqliteLedger {
        let store = SqliteLedger::open_in_memory().expect("in-memory ledger");
        for (code, priority) in [("WH1", 1), ("WH2", 2)] {
            store
                .upsert_location(
                    &Location {
                        code: code.into(),
                        name: code.into(),
                        priority,
                        active: true,
                    },
                    NOW,
                )
                .expect("location");
        }
        store
    }

    fn item(store: &SqliteLedger, sku: &str, lead_time: i64, moq: Option<i64>, pack: i64) {
        store
            .upsert_item(
                &ItemInput {
                    sku: sku.into(),
                    name: format!("Item {sku}"),
                    product_id: None,
                    thresholds: None,
                    lead_time_days: Some(lead_time),
                    moq,
                    pack_size: Some(pack),
                    supplier: Some("ACME".into()),
                },
                NOW,
            )
            .expect("item");
    }

    fn record(store: &SqliteLedger, id: &str, sku: &str, kind: MovementKind, qty: i64, at: &str, when: i64) {
        store
            .record(&MovementRequest::new(id, sku, kind, qty).at(at), when)
            .expect("movement");
    }

    #[test]
    fn allocation_reads_the_ledger_and_explains() {
        let store = store();
        item(&store, "A", 0, None, 1);
        record(&store, "r1", "A", MovementKind::Receive, 9, "WH1", NOW);
        record(&store, "r2", "A", MovementKind::Receive, 3, "WH2", NOW);
        let mut web = ChannelRule::new(1, "web");
        web.buffer = 2;
        web.max = Some(8);
        let mut ebay = ChannelRule::new(2, "ebay");
        ebay.mode = AllocationMode::Partitioned { weight: 1 };
        let result = allocation(&store, "A", &[web, ebay], 0).expect("allocation");
        assert_eq!(result[0].quantity, 8);
        assert_eq!(
            result[0].explanation,
            "available 12 (WH1 9 + WH2 3) − buffer 2 = 10, max 8 → 8"
        );
        assert_eq!(result[1].quantity, 12);
    }

    #[test]
    fn alerts_use_velocity_from_recent_sales_only() {
        let store = store();
        item(&store, "FAST", 0, None, 1);
        item(&store, "SLOW", 0, None, 1);
        item(&store, "OVER", 0, None, 1);
        record(&store, "f1", "FAST", MovementKind::Receive, 100, "WH1", NOW - 40 * DAY);
        // 60 sold within 30 days: velocity 2/day; 40 left = 20 days of supply → no alert by days,
        // and 40 > 30 → none by quantity.
        record(&store, "f2", "FAST", MovementKind::Sale, 60, "WH1", NOW - 5 * DAY);
        // Old sales fall outside the window.
        record(&store, "s1", "SLOW", MovementKind::Receive, 200, "WH1", NOW - 60 * DAY);
        record(&store, "s2", "SLOW", MovementKind::Sale, 180, "WH1", NOW - 45 * DAY);
        record(&store, "o1", "OVER", MovementKind::Sale, 2, "WH1", NOW);

        let all = alerts(&store, None, &Planning::default(), NOW).expect("alerts");
        let summary: Vec<(&str, AlertLevel)> = all.iter().map(|a| (a.sku.as_str(), a.alert.level)).collect();
        // SLOW has 20 left → warning by quantity (≤ 30); OVER is oversold → critical; FAST fine.
        assert_eq!(
            summary,
            vec![("OVER", AlertLevel::Critical), ("SLOW", AlertLevel::Warning)]
        );
        let fast = alerts(&store, Some(&["FAST".to_string()]), &Planning::default(), NOW).expect("fast");
        assert_eq!(fast[0].units_sold, 60);
        assert!((fast[0].velocity - 2.0).abs() < 1e-9);
        assert_eq!(fast[0].alert.level, AlertLevel::None);
    }

    #[test]
    fn reorder_suggestions_apply_moq_and_pack_size() {
        let store = store();
        item(&store, "A", 10, Some(50), 12);
        record(&store, "a1", "A", MovementKind::Receive, 100, "WH1", NOW - 40 * DAY);
        record(&store, "a2", "A", MovementKind::Sale, 90, "WH1", NOW - DAY);
        // velocity 3/day, lead 10: safety 45, target 3×24+45 = 117, position 10 → 107 → pack 12 → 108.
        let result = reorder_suggestions(&store, None, &Planning::default(), NOW).expect("reorder");
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].suggestion.quantity, 108);
        assert_eq!(result[0].supplier.as_deref(), Some("ACME"));
    }

    #[test]
    fn stock_search_filters_and_pages() {
        let store = store();
        for (sku, qty) in [("A", 50), ("B", 3), ("C", 100), ("D", 0)] {
            item(&store, sku, 0, None, 1);
            if qty > 0 {
                record(&store, &format!("r-{sku}"), sku, MovementKind::Receive, qty, "WH1", NOW);
            }
        }
        let search = |q: StockSearch| search_stock(&store, &q, &Planning::default(), NOW).expect("search");
        let skus = |p: &StockPage| p.rows.iter().map(|r| r.item.sku.clone()).collect::<Vec<_>>();
        let low = search(StockSearch {
            low_stock: true,
            limit: 10,
            ..Default::default()
        });
        assert_eq!(skus(&low), vec!["B", "D"]);
        let first = search(StockSearch {
            limit: 2,
            ..Default::default()
        });
        assert_eq!(
            (skus(&first), first.next_after.clone()),
            (vec!["A".into(), "B".into()], Some("B".into()))
        );
        let second = search(StockSearch {
            limit: 2,
            after: Some("B".into()),
            ..Default::default()
        });
        assert_eq!((skus(&second), second.next_after), (vec!["C".into(), "D".into()], None));
        let one_low = search(StockSearch {
            low_stock: true,
            limit: 1,
            ..Default::default()
        });
        assert_eq!(
            (skus(&one_low), one_low.next_after),
            (vec!["B".into()], Some("B".into()))
        );
        let rest = search(StockSearch {
            low_stock: true,
            limit: 1,
            after: Some("B".into()),
            ..Default::default()
        });
        assert_eq!((skus(&rest), rest.next_after), (vec!["D".into()], None));
        assert!(search_stock(&store, &StockSearch::default(), &Planning::default(), NOW).is_err());
    }

    #[test]
    fn unknown_skus_are_not_found() {
        let store = store();
        let error = alerts(&store, Some(&["NOPE".to_string()]), &Planning::default(), NOW).unwrap_err();
        assert_eq!(error.to_string(), "unknown sku: NOPE");
    }
}
