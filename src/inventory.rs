//! Queries that join the ledger with the stock math: what each channel is shown for a SKU (or for
//! every SKU at once), which SKUs need attention, and what to reorder.
//!
//! The ledger ([`crate::ledger`]) knows quantities; the stock math ([`crate::stock`]) knows rules.
//! This module reads through the [`LedgerStore`] trait only (so it works on any backend) and hands
//! plain values to the pure functions. Time comes in as a parameter.

use crate::ledger::{self, Item, ItemQuery, LedgerStore, SkuStock, MAX_PAGE};
use crate::stock::{
    self, Alert, AlertThresholds, Allocation, ChannelRule, ReorderInput, ReorderSettings, ReorderSuggestion, RuleSet,
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
        .map(|level| to_stock_level(level.clone(), locations))
        .collect()
}

/// One level in the stock math's terms; a location the list does not know sorts last.
fn to_stock_level(level: ledger::LocationStock, locations: &[ledger::Location]) -> stock::StockLevel {
    let priority = locations
        .iter()
        .find(|l| l.code == level.location)
        .map_or(i64::MAX, |l| l.priority);
    stock::StockLevel {
        location: level.location,
        on_hand: level.on_hand,
        reserved: level.reserved,
        incoming: level.incoming,
        active: level.active,
        priority,
    }
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

/// What each channel is shown for every item of the ledger, from the ledger's own stock: for each
/// SKU, in SKU order, the quantities [`allocation`] would give (in the order of the rules), passed
/// to `visit` with the SKU. `supplier_stock` gives a SKU's supplier figure (0 when there is none).
///
/// Built for a full sync: the rules are checked once, the catalogue is read in one pass from one
/// consistent state ([`LedgerStore::for_each_stock`]), and one buffer of levels and one of
/// quantities serve every SKU. `visit` must not call the store.
pub fn allocate_all(
    store: &dyn LedgerStore,
    rules: &RuleSet<'_>,
    supplier_stock: impl Fn(&str) -> i64,
    mut visit: impl FnMut(&str, &[i64]) -> Result<()>,
) -> Result<()> {
    let mut quantities = Vec::with_capacity(rules.rules().len());
    // Which levels count for which rule: remade only when the locations change.
    let mut layout = stock::Layout::default();
    each_stocked_sku(store, |sku, levels, moved| {
        if moved {
            layout = rules.layout(levels);
        }
        rules
            .quantities_in(&layout, levels, supplier_stock(sku), &mut quantities)
            .map_err(|e| at_sku(e, sku))?;
        visit(sku, &quantities)
    })
}

/// [`allocate_all`] with every quantity explained, as [`allocation`] gives them.
pub fn allocate_all_explained(
    store: &dyn LedgerStore,
    rules: &RuleSet<'_>,
    supplier_stock: impl Fn(&str) -> i64,
    mut visit: impl FnMut(&str, Vec<Allocation>) -> Result<()>,
) -> Result<()> {
    each_stocked_sku(store, |sku, levels, _| {
        let allocations = rules
            .allocate(levels, supplier_stock(sku))
            .map_err(|e| at_sku(e, sku))?;
        visit(sku, allocations)
    })
}

/// Every item with its levels in the stock math's terms, in SKU order, through one reused buffer.
/// `visit` also learns whether the levels' locations (codes, order, active flags) may differ from
/// the previous SKU's: false when they are the same.
fn each_stocked_sku(
    store: &dyn LedgerStore,
    mut visit: impl FnMut(&str, &[stock::StockLevel], bool) -> Result<()>,
) -> Result<()> {
    let locations = store.list_locations()?;
    let mut levels: Vec<stock::StockLevel> = Vec::new();
    let mut first = true;
    store.for_each_stock(&mut |stock| {
        let mut moved = std::mem::take(&mut first) || levels.len() != stock.levels.len();
        levels.truncate(stock.levels.len());
        for (i, level) in stock.levels.iter().enumerate() {
            match levels.get_mut(i) {
                // SKU after SKU, the same locations come in the same order: keep the code and
                // the priority looked up for the previous SKU.
                Some(kept) if kept.location == level.location => {
                    moved |= kept.active != level.active;
                    kept.on_hand = level.on_hand;
                    kept.reserved = level.reserved;
                    kept.incoming = level.incoming;
                    kept.active = level.active;
                }
                Some(kept) => {
                    moved = true;
                    let mut code = std::mem::take(&mut kept.location);
                    code.clear();
                    code.push_str(&level.location);
                    *kept = to_stock_level(
                        ledger::LocationStock {
                            location: code,
                            ..*level
                        },
                        &locations,
                    );
                }
                None => {
                    moved = true;
                    levels.push(to_stock_level(level.clone(), &locations));
                }
            }
        }
        visit(&stock.sku, &levels, moved)
    })
}

/// A stock-math error about one SKU's levels, naming the SKU (the ledger's constraints make one
/// unlikely: it would mean the file was edited by hand).
fn at_sku(error: Error, sku: &str) -> Error {
    match error {
        Error::Validation { field, message } => Error::validation(field, format!("SKU {sku}: {message}")),
        other => other,
    }
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
    fn allocate_all_gives_every_sku_what_allocation_gives_it() {
        let store = store();
        for sku in ["A", "B", "C", "D"] {
            item(&store, sku, 0, None, 1);
        }
        record(&store, "a1", "A", MovementKind::Receive, 9, "WH1", NOW);
        record(&store, "a2", "A", MovementKind::Receive, 3, "WH2", NOW);
        record(&store, "b1", "B", MovementKind::Sale, 2, "WH2", NOW);
        record(&store, "c1", "C", MovementKind::Receive, 40, "WH2", NOW);
        record(&store, "c2", "C", MovementKind::Incoming, 5, "WH1", NOW);
        let mut web = ChannelRule::new(1, "web");
        web.buffer = 2;
        web.include_incoming = true;
        let mut ebay = ChannelRule::new(2, "ebay");
        ebay.mode = AllocationMode::Partitioned { weight: 2 };
        ebay.include_supplier = true;
        let mut etsy = ChannelRule::new(3, "etsy");
        etsy.mode = AllocationMode::Partitioned { weight: 1 };
        etsy.include_supplier = true;
        etsy.eligible_locations = vec!["WH2".into()];
        let rules = [web, ebay, etsy];
        let set = RuleSet::new(&rules).expect("rules");
        let supplier = |sku: &str| if sku == "C" { 7 } else { 0 };

        let mut quantities = Vec::new();
        allocate_all(&store, &set, supplier, |sku, q| {
            quantities.push((sku.to_owned(), q.to_vec()));
            Ok(())
        })
        .expect("allocate_all");
        let mut explained = Vec::new();
        allocate_all_explained(&store, &set, supplier, |sku, allocations| {
            explained.push((sku.to_owned(), allocations));
            Ok(())
        })
        .expect("allocate_all_explained");

        let skus: Vec<&str> = quantities.iter().map(|(sku, _)| sku.as_str()).collect();
        assert_eq!(skus, ["A", "B", "C", "D"]);
        for ((sku, q), (same_sku, allocations)) in quantities.iter().zip(&explained) {
            let expected = allocation(&store, sku, &rules, supplier(sku)).expect("allocation");
            assert_eq!(allocations, &expected, "{sku}");
            assert_eq!(same_sku, sku);
            assert_eq!(q, &expected.iter().map(|a| a.quantity).collect::<Vec<_>>(), "{sku}");
        }
        // A: 12 available; etsy's share of 4 is limited to what WH2 holds.
        assert_eq!(quantities[0].1, [10, 8, 3]);
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
