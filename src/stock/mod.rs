//! Stock math: what a SKU has to sell, what each channel is shown, when to alert and what to
//! reorder.
//!
//! Pure functions over plain values — no clock, no I/O, no logging — and total: quantities are
//! `i64`, sums saturate instead of overflowing, and bad input is an [`Error::Validation`] naming
//! the field, never a panic. The rules are `product.md`'s "Stock rules"; where that text leaves a
//! choice open, the choice is written down next to the code that makes it.
//!
//! * [`available`] and [`available_to_promise`]: what can be sold over a set of locations.
//! * [`allocate`]: the quantity each sales channel is shown, each with a one-line explanation
//!   such as `available 12 (WH1 9 + WH2 3) − buffer 2 = 10, max 8 → 8`;
//!   [`allocate_quantities`] the same numbers without the explanations, and [`RuleSet`] the
//!   rules checked once for a whole catalogue.
//! * [`alert`] and [`sales_velocity`]: low-stock levels from quantities and days of supply.
//! * [`suggest_reorder`]: how much to order, with every input and intermediate value.
//!
//! Explanations use the Unicode minus sign (`−`) and arrow (`→`), as the admin pages show them.
//! A step appears in an explanation whenever it changed the number.

mod alerts;
mod allocation;
mod reorder;

use std::collections::HashSet;

pub use alerts::{
    alert, sales_velocity, Alert, AlertLevel, AlertThresholds, AlertTrigger, ThresholdOverrides,
    DEFAULT_VELOCITY_WINDOW_DAYS, MIN_VELOCITY,
};
pub use allocation::{allocate, allocate_quantities, Allocation, AllocationMode, ChannelRule, Layout, RuleSet, Share};
pub use reorder::{suggest_reorder, ReorderInput, ReorderSettings, ReorderSuggestion};

use crate::{Error, Result};

/// The stock of one SKU at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevel {
    /// The location's code, for example `WH1`; unique within one SKU's levels.
    pub location: String,
    /// Units physically on hand. Negative when a reported sale oversold the location (a sale is a
    /// fact and is always recorded).
    pub on_hand: i64,
    /// Units held for open orders; never negative.
    pub reserved: i64,
    /// Units on their way (purchase orders, transfers in); never negative.
    pub incoming: i64,
    /// Whether the location is active. Inactive locations count for nothing anywhere.
    pub active: bool,
    /// The location's priority; lower numbers are listed first in explanations.
    pub priority: i64,
}

impl StockLevel {
    /// An active location with priority 0 holding `on_hand` units, nothing reserved or incoming.
    pub fn new(location: impl Into<String>, on_hand: i64) -> Self {
        StockLevel {
            location: location.into(),
            on_hand,
            reserved: 0,
            incoming: 0,
            active: true,
            priority: 0,
        }
    }

    /// What this location adds to available: `max(0, on_hand − reserved)`. An oversold location
    /// adds 0 — it never takes stock away from the others.
    pub fn sellable(&self) -> i64 {
        self.on_hand.saturating_sub(self.reserved).max(0)
    }
}

/// One location's contribution to an [`Available`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationPart {
    /// The location's code.
    pub location: String,
    /// What the location adds to available ([`StockLevel::sellable`]).
    pub quantity: i64,
    /// The location's incoming units, used only when available to promise opts in.
    pub incoming: i64,
}

/// Available stock of one SKU over a set of locations, with the part each location adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    /// `Σ max(0, on_hand − reserved)` over the eligible, active locations; never negative.
    pub total: i64,
    /// Every eligible, active location in location priority order, then by code — including
    /// locations that add 0, so an explanation shows them.
    pub parts: Vec<LocationPart>,
}

impl Available {
    /// The incoming units over the same locations.
    pub fn incoming(&self) -> i64 {
        self.parts
            .iter()
            .fold(0i64, |sum, part| sum.saturating_add(part.incoming))
    }

    /// The explanation's opening: `available 12 (WH1 9 + WH2 3)`, or
    /// `available 0 (no eligible location)` when no active location is eligible.
    pub fn explain(&self) -> String {
        if self.parts.is_empty() {
            return format!("available {} (no eligible location)", qty(self.total));
        }
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|part| format!("{} {}", part.location, qty(part.quantity)))
            .collect();
        format!("available {} ({})", qty(self.total), parts.join(" + "))
    }
}

/// Available stock of one SKU over `eligible` locations (empty = every active location).
///
/// Inactive locations never count, even when listed; listed codes without a stock level hold
/// nothing. Rejects levels with an empty or duplicate location code or a negative `reserved` or
/// `incoming` (those cannot come from the ledger, and would inflate what is sold).
pub fn available(levels: &[StockLevel], eligible: &[String]) -> Result<Available> {
    validate_levels(levels)?;
    Ok(sum_available(levels, eligible))
}

/// What [`available_to_promise`] adds on top of available. The default adds nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromiseOptions {
    /// Add the locations' incoming units.
    pub include_incoming: bool,
    /// Add the supplier's stock. Any number is accepted: a supplier reporting a negative figure
    /// (a backorder at the supplier) reduces what can be promised, but never below 0.
    pub supplier_stock: Option<i64>,
}

/// Available to promise: available plus opted-in incoming and supplier stock, never below 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableToPromise {
    /// Available over the same locations.
    pub available: Available,
    /// Incoming units added (0 unless opted in).
    pub incoming: i64,
    /// Supplier stock added (0 unless opted in); may be negative.
    pub supplier: i64,
    /// `max(0, available + incoming + supplier)`.
    pub total: i64,
}

impl AvailableToPromise {
    fn new(available: Available, options: &PromiseOptions) -> Self {
        let incoming = if options.include_incoming {
            available.incoming()
        } else {
            0
        };
        let supplier = options.supplier_stock.unwrap_or(0);
        let mut total = Quantity(available.total);
        promise_steps(&mut total, incoming, supplier);
        AvailableToPromise {
            available,
            incoming,
            supplier,
            total: total.0,
        }
    }

    /// One line showing how the total was reached, for example
    /// `available 12 (WH1 9 + WH2 3) + incoming 5 + supplier 20 = 37`. Terms that add 0 are left
    /// out.
    pub fn explain(&self) -> String {
        self.explanation().text
    }

    fn explanation(&self) -> Explanation {
        let mut ex = Explanation::new(self.available.explain(), self.available.total);
        promise_steps(&mut ex, self.incoming, self.supplier);
        ex
    }
}

/// From available (the trace's value) to available to promise: `+ incoming`, `± supplier`, then
/// 0 if that went below 0. Terms that add 0 are left out.
fn promise_steps(trace: &mut impl Trace, incoming: i64, supplier: i64) {
    if incoming == 0 && supplier == 0 {
        return;
    }
    let sum = trace.value().saturating_add(incoming).saturating_add(supplier);
    trace.op(sum, || {
        let mut terms = Vec::new();
        if incoming != 0 {
            terms.push(format!("+ incoming {}", qty(incoming)));
        }
        if supplier != 0 {
            let sign = if supplier < 0 { '−' } else { '+' };
            terms.push(format!("{sign} supplier {}", supplier.unsigned_abs()));
        }
        terms.join(" ")
    });
    if sum < 0 {
        trace.limit(0, || "below 0".to_owned());
    }
}

/// Available to promise over `eligible` locations (empty = every active location) as a number
/// only: what `AvailableToPromise::new(sum_available(..), options).total` is, without building
/// the per-location parts. Levels must be validated.
fn promise_total(levels: &[StockLevel], eligible: &[String], options: &PromiseOptions) -> i64 {
    let (available, incoming) = counted(levels, eligible).fold((0i64, 0i64), |(available, incoming), level| {
        (
            available.saturating_add(level.sellable()),
            incoming.saturating_add(level.incoming),
        )
    });
    let incoming = if options.include_incoming { incoming } else { 0 };
    let mut total = Quantity(available);
    promise_steps(&mut total, incoming, options.supplier_stock.unwrap_or(0));
    total.0
}

/// Available to promise over `eligible` locations (empty = every active location): available,
/// plus incoming and supplier stock as `options` opt in, never below 0.
pub fn available_to_promise(
    levels: &[StockLevel],
    eligible: &[String],
    options: &PromiseOptions,
) -> Result<AvailableToPromise> {
    let available = available(levels, eligible)?;
    Ok(AvailableToPromise::new(available, options))
}

fn validate_levels(levels: &[StockLevel]) -> Result<()> {
    // A SKU is stocked at a handful of locations: comparing with the earlier ones beats hashing
    // (and allocating a set) until there are many.
    let mut seen = (levels.len() > SMALL_LEVELS).then(HashSet::new);
    for (i, level) in levels.iter().enumerate() {
        let code = level.location.as_str();
        if code.chars().all(char::is_whitespace) {
            return Err(Error::validation("location", "a stock level has no location code"));
        }
        let repeated = match seen.as_mut() {
            Some(seen) => !seen.insert(code),
            None => levels[..i].iter().any(|earlier| same_code(&earlier.location, code)),
        };
        if repeated {
            return Err(Error::validation(
                "location",
                format!("{code}: more than one stock level for the same location"),
            ));
        }
        validate_level_quantities(level)?;
    }
    Ok(())
}

/// The checks [`validate_levels`] makes on one level's numbers, in the same order: for levels
/// whose codes are already known to be valid, these are all of its checks.
#[inline]
fn validate_level_quantities(level: &StockLevel) -> Result<()> {
    if level.reserved < 0 {
        return Err(Error::validation(
            "reserved",
            format!("{}: must not be negative, got {}", level.location, qty(level.reserved)),
        ));
    }
    if level.incoming < 0 {
        return Err(Error::validation(
            "incoming",
            format!("{}: must not be negative, got {}", level.location, qty(level.incoming)),
        ));
    }
    Ok(())
}

/// Up to this many levels, duplicates are found by comparing with the earlier levels.
const SMALL_LEVELS: usize = 16;

/// The levels that count for `eligible` (empty = every location): active and eligible.
fn counted<'a>(levels: &'a [StockLevel], eligible: &'a [String]) -> impl Iterator<Item = &'a StockLevel> {
    levels.iter().filter(move |level| counts(level, eligible))
}

/// Whether `level` counts for `eligible` (empty = every location): active and eligible.
fn counts(level: &StockLevel, eligible: &[String]) -> bool {
    level.active && (eligible.is_empty() || eligible.iter().any(|code| same_code(code, &level.location)))
}

/// Whether two location codes are equal. Compared inline: codes are a few bytes long, and a
/// `memcmp` call per comparison showed up as the largest cost of allocating a catalogue.
fn same_code(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// [`available`] over levels already validated.
fn sum_available(levels: &[StockLevel], eligible: &[String]) -> Available {
    let mut counted: Vec<&StockLevel> = counted(levels, eligible).collect();
    counted.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.location.cmp(&b.location)));
    let parts: Vec<LocationPart> = counted
        .into_iter()
        .map(|level| LocationPart {
            location: level.location.clone(),
            quantity: level.sellable(),
            incoming: level.incoming,
        })
        .collect();
    let total = parts.iter().fold(0i64, |sum, part| sum.saturating_add(part.quantity));
    Available { total, parts }
}

/// Where the steps that reach a number go. The arithmetic is written once, against this trait:
/// an [`Explanation`] records each step as text, a [`Quantity`] keeps only the number (labels are
/// closures, so that path never formats them).
trait Trace {
    /// The number so far.
    fn value(&self) -> i64;

    /// An arithmetic step that gave `value`: ` − buffer 2 = 10`.
    fn op(&mut self, value: i64, op: impl FnOnce() -> String);

    /// An arithmetic step whose exact result was rounded to `value`:
    /// ` × 50% = 3.50 → 3 (rounded down)`.
    fn op_rounded(&mut self, value: i64, op: impl FnOnce() -> String, exact: impl FnOnce() -> String, how: &str);

    /// A limit that replaced the number: `, max 8 → 8`.
    fn limit(&mut self, value: i64, label: impl FnOnce() -> String);
}

/// A number and the line that explains how it was reached, built step by step.
#[derive(Debug, Clone)]
struct Explanation {
    text: String,
    value: i64,
}

impl Explanation {
    fn new(text: String, value: i64) -> Self {
        Explanation { text, value }
    }
}

impl Trace for Explanation {
    fn value(&self) -> i64 {
        self.value
    }

    fn op(&mut self, value: i64, op: impl FnOnce() -> String) {
        self.text.push_str(&format!(" {} = {}", op(), qty(value)));
        self.value = value;
    }

    fn op_rounded(&mut self, value: i64, op: impl FnOnce() -> String, exact: impl FnOnce() -> String, how: &str) {
        self.text
            .push_str(&format!(" {} = {} → {} ({how})", op(), exact(), qty(value)));
        self.value = value;
    }

    fn limit(&mut self, value: i64, label: impl FnOnce() -> String) {
        self.text.push_str(&format!(", {} → {}", label(), qty(value)));
        self.value = value;
    }
}

/// Just the number: the quantities-only path.
#[derive(Debug, Clone, Copy)]
struct Quantity(i64);

impl Trace for Quantity {
    fn value(&self) -> i64 {
        self.0
    }

    fn op(&mut self, value: i64, _op: impl FnOnce() -> String) {
        self.0 = value;
    }

    fn op_rounded(&mut self, value: i64, _op: impl FnOnce() -> String, _exact: impl FnOnce() -> String, _how: &str) {
        self.0 = value;
    }

    fn limit(&mut self, value: i64, _label: impl FnOnce() -> String) {
        self.0 = value;
    }
}

/// A quantity as explanations show it, with the Unicode minus sign.
fn qty(n: i64) -> String {
    if n < 0 {
        format!("−{}", n.unsigned_abs())
    } else {
        n.to_string()
    }
}

/// `numerator / denominator` (both ≥ 0, denominator > 0) with two decimals, truncated so the
/// shown value never exceeds the exact one: 10/3 → `3.33`, 20/3 → `6.66`.
fn decimal(numerator: u128, denominator: u128) -> String {
    let Some(whole) = numerator.checked_div(denominator) else {
        return "0.00".to_owned();
    };
    let hundredths = (numerator % denominator).saturating_mul(100) / denominator;
    format!("{whole}.{hundredths:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(code: &str, on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            reserved,
            ..StockLevel::new(code, on_hand)
        }
    }

    fn codes(list: &[&str]) -> Vec<String> {
        list.iter().map(|code| code.to_string()).collect()
    }

    fn check(levels: &[StockLevel], eligible: &[&str], total: i64, explanation: &str) {
        let got = available(levels, &codes(eligible));
        let got = match got {
            Ok(got) => got,
            Err(e) => panic!("levels {levels:?}: unexpected error {e}"),
        };
        assert_eq!(got.total, total, "levels {levels:?} eligible {eligible:?}");
        assert_eq!(got.explain(), explanation, "levels {levels:?} eligible {eligible:?}");
    }

    #[test]
    fn available_table() {
        let inactive = StockLevel {
            active: false,
            ..level("WH3", 50, 0)
        };
        let first = StockLevel {
            priority: -1,
            ..level("ZZ", 4, 0)
        };

        check(&[], &[], 0, "available 0 (no eligible location)");
        check(
            &[level("WH1", 9, 0), level("WH2", 3, 0)],
            &[],
            12,
            "available 12 (WH1 9 + WH2 3)",
        );
        // Reserved units are not available.
        check(
            &[level("WH1", 12, 3), level("WH2", 5, 2)],
            &[],
            12,
            "available 12 (WH1 9 + WH2 3)",
        );
        // Oversold (negative on hand) and over-reserved locations add 0, not a negative.
        check(
            &[level("WH1", 9, 0), level("WH2", -4, 0)],
            &[],
            9,
            "available 9 (WH1 9 + WH2 0)",
        );
        check(
            &[level("WH1", 9, 0), level("WH2", 3, 5)],
            &[],
            9,
            "available 9 (WH1 9 + WH2 0)",
        );
        // Inactive locations never count, even when listed as eligible.
        check(&[level("WH1", 9, 0), inactive.clone()], &[], 9, "available 9 (WH1 9)");
        check(
            &[level("WH1", 9, 0), inactive],
            &["WH1", "WH3"],
            9,
            "available 9 (WH1 9)",
        );
        // Non-eligible locations are left out; unknown eligible codes hold nothing.
        check(
            &[level("WH1", 9, 0), level("WH2", 3, 0)],
            &["WH2"],
            3,
            "available 3 (WH2 3)",
        );
        check(&[level("WH1", 9, 0)], &["WH9"], 0, "available 0 (no eligible location)");
        // Listing a code twice does not count it twice.
        check(&[level("WH1", 9, 0)], &["WH1", "WH1"], 9, "available 9 (WH1 9)");
        // Location priority first, then code.
        check(
            &[level("WH2", 3, 0), level("WH1", 9, 0), first],
            &[],
            16,
            "available 16 (ZZ 4 + WH1 9 + WH2 3)",
        );
        // Sums saturate instead of overflowing.
        check(
            &[level("A", i64::MAX, 0), level("B", 5, 0)],
            &[],
            i64::MAX,
            &format!("available {} (A {} + B 5)", i64::MAX, i64::MAX),
        );
        check(&[level("A", i64::MIN, 0)], &[], 0, "available 0 (A 0)");
        check(&[level("A", 5, i64::MAX)], &[], 0, "available 0 (A 0)");
    }

    fn check_rejected(levels: &[StockLevel], field: &str) {
        match available(levels, &[]) {
            Err(Error::Validation { field: got, .. }) => assert_eq!(got, field, "{levels:?}"),
            other => panic!("{levels:?}: expected a validation error on {field}, got {other:?}"),
        }
    }

    #[test]
    fn bad_levels_are_rejected_naming_the_field() {
        check_rejected(&[level("", 1, 0)], "location");
        check_rejected(&[level("  ", 1, 0)], "location");
        check_rejected(&[level("WH1", 1, 0), level("WH1", 2, 0)], "location");
        check_rejected(&[level("WH1", 1, -1)], "reserved");
        check_rejected(
            &[StockLevel {
                incoming: -1,
                ..level("WH1", 1, 0)
            }],
            "incoming",
        );
    }

    fn check_promise(levels: &[StockLevel], options: PromiseOptions, total: i64, explanation: &str) {
        let got = match available_to_promise(levels, &[], &options) {
            Ok(got) => got,
            Err(e) => panic!("{options:?}: unexpected error {e}"),
        };
        assert_eq!(got.total, total, "{options:?}");
        assert_eq!(got.explain(), explanation, "{options:?}");
    }

    #[test]
    fn available_to_promise_table() {
        let levels = [
            StockLevel {
                incoming: 4,
                ..level("WH1", 9, 0)
            },
            StockLevel {
                incoming: 1,
                ..level("WH2", 3, 0)
            },
            StockLevel {
                incoming: 100,
                active: false,
                ..level("WH3", 0, 0)
            },
        ];
        let none = PromiseOptions::default();
        let incoming = PromiseOptions {
            include_incoming: true,
            ..none
        };
        let both = PromiseOptions {
            include_incoming: true,
            supplier_stock: Some(20),
        };

        check_promise(&levels, none, 12, "available 12 (WH1 9 + WH2 3)");
        // Incoming from inactive locations is not promised either.
        check_promise(&levels, incoming, 17, "available 12 (WH1 9 + WH2 3) + incoming 5 = 17");
        check_promise(
            &levels,
            both,
            37,
            "available 12 (WH1 9 + WH2 3) + incoming 5 + supplier 20 = 37",
        );
        check_promise(
            &levels,
            PromiseOptions {
                supplier_stock: Some(0),
                ..none
            },
            12,
            "available 12 (WH1 9 + WH2 3)",
        );
        // A supplier backorder reduces the promise, never below 0.
        check_promise(
            &levels,
            PromiseOptions {
                supplier_stock: Some(-5),
                ..none
            },
            7,
            "available 12 (WH1 9 + WH2 3) − supplier 5 = 7",
        );
        check_promise(
            &levels,
            PromiseOptions {
                supplier_stock: Some(-50),
                ..none
            },
            0,
            "available 12 (WH1 9 + WH2 3) − supplier 50 = −38, below 0 → 0",
        );
        check_promise(
            &levels,
            PromiseOptions {
                supplier_stock: Some(i64::MIN),
                ..none
            },
            0,
            &format!(
                "available 12 (WH1 9 + WH2 3) − supplier {} = {}, below 0 → 0",
                i64::MIN.unsigned_abs(),
                qty(i64::MIN + 12)
            ),
        );
    }

    #[test]
    fn decimals_are_truncated_never_rounded_up() {
        let cases: [(u128, u128, &str); 5] = [
            (10, 3, "3.33"),
            (20, 3, "6.66"),
            (7, 2, "3.50"),
            (0, 4, "0.00"),
            (1, 0, "0.00"),
        ];
        for (numerator, denominator, expected) in cases {
            assert_eq!(decimal(numerator, denominator), expected, "{numerator}/{denominator}");
        }
    }

    proptest::proptest! {
        #[test]
        fn available_is_never_negative_and_sums_its_parts(
            raw in proptest::collection::vec((-1000i64..1000, 0i64..500, proptest::bool::ANY, -3i64..3), 0..6),
            mask in 0u8..64,
        ) {
            let levels: Vec<StockLevel> = raw
                .iter()
                .enumerate()
                .map(|(i, &(on_hand, reserved, active, priority))| StockLevel {
                    reserved,
                    active,
                    priority,
                    ..StockLevel::new(format!("WH{i}"), on_hand)
                })
                .collect();
            let eligible: Vec<String> = (0..6).filter(|i| mask & (1 << i) != 0).map(|i| format!("WH{i}")).collect();
            let got = available(&levels, &eligible).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert!(got.total >= 0);
            proptest::prop_assert_eq!(got.total, got.parts.iter().map(|p| p.quantity).sum::<i64>());
            proptest::prop_assert!(got.parts.iter().all(|p| p.quantity >= 0));
        }
    }
}
