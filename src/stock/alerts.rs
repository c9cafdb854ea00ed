//! Low-stock alerts and sales velocity. The rules are documented on [`alert`].

use crate::{Error, Result};

/// Velocity below this counts as this when computing days of supply, so an item that has not
/// sold lately shows a long but finite supply instead of dividing by zero.
pub const MIN_VELOCITY: f64 = 0.1;

/// The sales window [`sales_velocity`] is normally given: the last 30 days.
pub const DEFAULT_VELOCITY_WINDOW_DAYS: u32 = 30;

/// Units sold per day: `units_sold / window_days`, where `units_sold` counts the sales in the
/// last `window_days` days (normally [`DEFAULT_VELOCITY_WINDOW_DAYS`]).
///
/// Rejects a zero-day window (`window_days`) and a negative count (`units_sold`).
pub fn sales_velocity(units_sold: i64, window_days: u32) -> Result<f64> {
    if window_days == 0 {
        return Err(Error::validation("window_days", "must be at least 1 day"));
    }
    if units_sold < 0 {
        return Err(Error::validation(
            "units_sold",
            format!("must not be negative, got {units_sold}"),
        ));
    }
    Ok(units_sold as f64 / f64::from(window_days))
}

/// How urgent a SKU's stock situation is; ordered, so `max` picks the more severe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertLevel {
    /// Nothing to report.
    #[default]
    None,
    /// Stock is getting low.
    Warning,
    /// Stock is low; reorder now.
    Low,
    /// Stock is about to run out, or has (oversold).
    Critical,
}

impl AlertLevel {
    /// The level's name as the plugin and REST API spell it: `none`, `warning`, `low`,
    /// `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::None => "none",
            AlertLevel::Warning => "warning",
            AlertLevel::Low => "low",
            AlertLevel::Critical => "critical",
        }
    }
}

/// Alert thresholds, a setting with product-wide defaults; see the module docs for how each is
/// compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertThresholds {
    /// Critical at or below this many units (default 5).
    pub critical: i64,
    /// Low at or below this many units (default 15).
    pub low: i64,
    /// Warning at or below this many units (default 30).
    pub warning: i64,
    /// Critical below this many days of supply (default 2).
    pub critical_days: f64,
    /// Low below this many days of supply (default 7).
    pub low_days: f64,
    /// Warning below this many days of supply (default 14).
    pub warning_days: f64,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        AlertThresholds {
            critical: 5,
            low: 15,
            warning: 30,
            critical_days: 2.0,
            low_days: 7.0,
            warning_days: 14.0,
        }
    }
}

/// An item's own quantity thresholds; `None` keeps the setting's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThresholdOverrides {
    /// Replaces [`AlertThresholds::critical`].
    pub critical: Option<i64>,
    /// Replaces [`AlertThresholds::low`].
    pub low: Option<i64>,
    /// Replaces [`AlertThresholds::warning`].
    pub warning: Option<i64>,
}

impl AlertThresholds {
    /// These thresholds with an item's overrides applied.
    pub fn with_overrides(&self, overrides: &ThresholdOverrides) -> Self {
        AlertThresholds {
            critical: overrides.critical.unwrap_or(self.critical),
            low: overrides.low.unwrap_or(self.low),
            warning: overrides.warning.unwrap_or(self.warning),
            ..*self
        }
    }

    /// Rejects negative quantity thresholds and day thresholds that are negative or not finite,
    /// naming the field.
    pub fn validate(&self) -> Result<()> {
        let quantities = [
            ("critical", self.critical),
            ("low", self.low),
            ("warning", self.warning),
        ];
        for (field, value) in quantities {
            if value < 0 {
                return Err(Error::validation(field, format!("must not be negative, got {value}")));
            }
        }
        for (field, value) in [
            ("critical_days", self.critical_days),
            ("low_days", self.low_days),
            ("warning_days", self.warning_days),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(Error::validation(
                    field,
                    format!("must be a number of days ≥ 0, got {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// Which signal decided an [`Alert`]'s level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertTrigger {
    /// No alert.
    None,
    /// Stock is below 0: a sale was recorded that the stock could not cover.
    Oversold,
    /// The quantity thresholds (they win ties with days of supply).
    Quantity,
    /// The days-of-supply thresholds.
    DaysOfSupply,
}

/// A SKU's alert: its level, its days of supply and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The more severe of the quantity and days-of-supply levels.
    pub level: AlertLevel,
    /// `max(stock, 0) / max(velocity, 0.1)`.
    pub days_of_supply: f64,
    /// Which signal decided the level.
    pub trigger: AlertTrigger,
    /// One line for the owner, for example `stock 4 ≤ critical threshold 5`.
    pub reason: String,
}

/// The alert for a SKU holding `stock` units (normally its available over all active locations)
/// and selling `velocity` units a day ([`sales_velocity`]).
///
/// Two signals, and the more severe one wins (the quantity signal on a tie):
///
/// * **quantity**: critical when `stock ≤ critical`, low when `≤ low`, warning when `≤ warning`
///   (defaults 5 / 15 / 30). Inclusive, like the channel zero threshold: "critical at 5" alerts
///   at 5.
/// * **days of supply** `max(stock, 0) / max(velocity, 0.1)`: critical when *below* 2 days, low
///   below 7, warning below 14 (strict, as `product.md` says "below").
///
/// Levels are checked from the most severe down, so thresholds need not be ordered: a per-item
/// critical threshold above the global low one simply makes "low" unreachable for that item.
/// An oversold SKU (stock below 0) is always critical, with [`AlertTrigger::Oversold`].
///
/// Rejects a velocity that is negative or not finite (`velocity`) and invalid thresholds
/// ([`AlertThresholds::validate`]).
pub fn alert(stock: i64, velocity: f64, thresholds: &AlertThresholds) -> Result<Alert> {
    thresholds.validate()?;
    if !velocity.is_finite() || velocity < 0.0 {
        return Err(Error::validation(
            "velocity",
            format!("must be a number of units a day ≥ 0, got {velocity}"),
        ));
    }
    let days_of_supply = stock.max(0) as f64 / velocity.max(MIN_VELOCITY);

    if stock < 0 {
        return Ok(Alert {
            level: AlertLevel::Critical,
            days_of_supply,
            trigger: AlertTrigger::Oversold,
            reason: format!("oversold: stock −{}", stock.unsigned_abs()),
        });
    }

    let t = thresholds;
    let by_quantity = [
        (AlertLevel::Critical, t.critical),
        (AlertLevel::Low, t.low),
        (AlertLevel::Warning, t.warning),
    ]
    .into_iter()
    .find(|&(_, threshold)| stock <= threshold);
    let by_days = [
        (AlertLevel::Critical, t.critical_days),
        (AlertLevel::Low, t.low_days),
        (AlertLevel::Warning, t.warning_days),
    ]
    .into_iter()
    .find(|&(_, threshold)| days_of_supply < threshold);

    let supply = format!("{days_of_supply:.1} days of supply (velocity {velocity:.2}/day)");
    let (level, trigger, reason) = match (by_quantity, by_days) {
        (Some((q, threshold)), days) if days.is_none_or(|(d, _)| q >= d) => (
            q,
            AlertTrigger::Quantity,
            format!("stock {stock} ≤ {} threshold {threshold}", q.as_str()),
        ),
        (_, Some((d, threshold))) => (
            d,
            AlertTrigger::DaysOfSupply,
            format!("{supply} < {} threshold {threshold} days", d.as_str()),
        ),
        _ => (
            AlertLevel::None,
            AlertTrigger::None,
            format!("stock {stock} > warning threshold {}, {supply}", t.warning),
        ),
    };
    Ok(Alert {
        level,
        days_of_supply,
        trigger,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(stock: i64, velocity: f64, thresholds: &AlertThresholds, expected: (AlertLevel, AlertTrigger, &str)) {
        let got = match alert(stock, velocity, thresholds) {
            Ok(got) => got,
            Err(e) => panic!("stock {stock} velocity {velocity}: unexpected error {e}"),
        };
        assert_eq!(
            (got.level, got.trigger, got.reason.as_str()),
            expected,
            "stock {stock} velocity {velocity}"
        );
    }

    #[test]
    fn alert_levels_from_quantity() {
        use AlertLevel::*;
        use AlertTrigger as T;
        let d = AlertThresholds::default();
        // Velocity 0 counts as 0.1/day, so supply is long and only the quantity speaks.
        check(0, 0.0, &d, (Critical, T::Quantity, "stock 0 ≤ critical threshold 5"));
        check(5, 0.0, &d, (Critical, T::Quantity, "stock 5 ≤ critical threshold 5"));
        check(6, 0.0, &d, (Low, T::Quantity, "stock 6 ≤ low threshold 15"));
        check(15, 0.0, &d, (Low, T::Quantity, "stock 15 ≤ low threshold 15"));
        check(16, 0.0, &d, (Warning, T::Quantity, "stock 16 ≤ warning threshold 30"));
        check(30, 0.0, &d, (Warning, T::Quantity, "stock 30 ≤ warning threshold 30"));
        check(
            31,
            0.0,
            &d,
            (
                None,
                T::None,
                "stock 31 > warning threshold 30, 310.0 days of supply (velocity 0.00/day)",
            ),
        );
        check(-3, 0.0, &d, (Critical, T::Oversold, "oversold: stock −3"));
        check(
            i64::MIN,
            1.0,
            &d,
            (Critical, T::Oversold, "oversold: stock −9223372036854775808"),
        );
    }

    #[test]
    fn alert_levels_from_days_of_supply() {
        use AlertLevel::*;
        use AlertTrigger as T;
        let d = AlertThresholds::default();
        // 100 units at 10/day = 10 days: below 14 → warning.
        check(
            100,
            10.0,
            &d,
            (
                Warning,
                T::DaysOfSupply,
                "10.0 days of supply (velocity 10.00/day) < warning threshold 14 days",
            ),
        );
        check(
            100,
            20.0,
            &d,
            (
                Low,
                T::DaysOfSupply,
                "5.0 days of supply (velocity 20.00/day) < low threshold 7 days",
            ),
        );
        check(
            100,
            60.0,
            &d,
            (
                Critical,
                T::DaysOfSupply,
                "1.7 days of supply (velocity 60.00/day) < critical threshold 2 days",
            ),
        );
        // Exactly on a days threshold is not below it.
        check(
            140,
            10.0,
            &d,
            (
                None,
                T::None,
                "stock 140 > warning threshold 30, 14.0 days of supply (velocity 10.00/day)",
            ),
        );
        check(
            70,
            10.0,
            &d,
            (
                Warning,
                T::DaysOfSupply,
                "7.0 days of supply (velocity 10.00/day) < warning threshold 14 days",
            ),
        );
        // The more severe signal wins either way; quantity wins a tie.
        // 20 units is only a warning by quantity, but 2.0 days of supply is low.
        check(
            20,
            10.0,
            &d,
            (
                Low,
                T::DaysOfSupply,
                "2.0 days of supply (velocity 10.00/day) < low threshold 7 days",
            ),
        );
        check(
            20,
            20.0,
            &d,
            (
                Critical,
                T::DaysOfSupply,
                "1.0 days of supply (velocity 20.00/day) < critical threshold 2 days",
            ),
        );
        check(4, 0.5, &d, (Critical, T::Quantity, "stock 4 ≤ critical threshold 5"));
        check(10, 5.0, &d, (Low, T::Quantity, "stock 10 ≤ low threshold 15"));
    }

    #[test]
    fn overrides_and_custom_thresholds() {
        use AlertLevel::*;
        use AlertTrigger as T;
        let d = AlertThresholds::default();
        let item = d.with_overrides(&ThresholdOverrides {
            critical: Some(20),
            ..ThresholdOverrides::default()
        });
        check(
            18,
            0.0,
            &item,
            (Critical, T::Quantity, "stock 18 ≤ critical threshold 20"),
        );
        check(
            25,
            0.0,
            &item,
            (Warning, T::Quantity, "stock 25 ≤ warning threshold 30"),
        );
        let silent = d.with_overrides(&ThresholdOverrides {
            critical: Some(0),
            low: Some(0),
            warning: Some(0),
        });
        check(
            10,
            0.0,
            &silent,
            (
                None,
                T::None,
                "stock 10 > warning threshold 0, 100.0 days of supply (velocity 0.00/day)",
            ),
        );
        // Quantity thresholds off, days of supply still alert: 1 unit is 10 days at the 0.1/day floor.
        check(
            1,
            0.0,
            &silent,
            (
                Warning,
                T::DaysOfSupply,
                "10.0 days of supply (velocity 0.00/day) < warning threshold 14 days",
            ),
        );
        check(
            0,
            0.0,
            &silent,
            (Critical, T::Quantity, "stock 0 ≤ critical threshold 0"),
        );
        let fractional = AlertThresholds {
            critical_days: 2.5,
            ..d
        };
        check(
            200,
            100.0,
            &fractional,
            (
                Critical,
                T::DaysOfSupply,
                "2.0 days of supply (velocity 100.00/day) < critical threshold 2.5 days",
            ),
        );
    }

    fn check_rejected(stock: i64, velocity: f64, thresholds: &AlertThresholds, field: &str) {
        match alert(stock, velocity, thresholds) {
            Err(Error::Validation { field: got, .. }) => assert_eq!(got, field),
            other => {
                panic!("velocity {velocity} {thresholds:?}: expected a validation error on {field}, got {other:?}")
            }
        }
    }

    #[test]
    fn bad_alert_input_is_rejected_naming_the_field() {
        let d = AlertThresholds::default();
        check_rejected(1, -1.0, &d, "velocity");
        check_rejected(1, f64::NAN, &d, "velocity");
        check_rejected(1, f64::INFINITY, &d, "velocity");
        check_rejected(1, 1.0, &AlertThresholds { critical: -1, ..d }, "critical");
        check_rejected(1, 1.0, &AlertThresholds { low: -1, ..d }, "low");
        check_rejected(1, 1.0, &AlertThresholds { warning: -1, ..d }, "warning");
        check_rejected(
            1,
            1.0,
            &AlertThresholds {
                critical_days: f64::NAN,
                ..d
            },
            "critical_days",
        );
        check_rejected(1, 1.0, &AlertThresholds { low_days: -1.0, ..d }, "low_days");
        check_rejected(
            1,
            1.0,
            &AlertThresholds {
                warning_days: f64::INFINITY,
                ..d
            },
            "warning_days",
        );
    }

    #[test]
    fn days_of_supply_uses_the_velocity_floor() {
        let cases: [(i64, f64, f64); 5] = [
            (10, 0.0, 100.0),
            (10, 0.05, 100.0),
            (10, 0.1, 100.0),
            (10, 2.0, 5.0),
            (-10, 2.0, 0.0),
        ];
        for (stock, velocity, days) in cases {
            let got = alert(stock, velocity, &AlertThresholds::default()).map(|a| a.days_of_supply);
            assert!(
                matches!(got, Ok(d) if (d - days).abs() < 1e-9),
                "stock {stock} velocity {velocity}: {got:?}"
            );
        }
    }

    #[test]
    fn velocity_table() {
        let cases: [(i64, u32, Option<f64>); 6] = [
            (60, DEFAULT_VELOCITY_WINDOW_DAYS, Some(2.0)),
            (0, DEFAULT_VELOCITY_WINDOW_DAYS, Some(0.0)),
            (7, 7, Some(1.0)),
            (3, 30, Some(0.1)),
            (5, 0, None),
            (-1, 30, None),
        ];
        for (sold, window, expected) in cases {
            let got = sales_velocity(sold, window);
            match expected {
                Some(v) => assert!(
                    matches!(got, Ok(g) if (g - v).abs() < 1e-12),
                    "{sold}/{window}: {got:?}"
                ),
                None => assert!(matches!(got, Err(Error::Validation { .. })), "{sold}/{window}: {got:?}"),
            }
        }
        assert!(matches!(sales_velocity(1, 0), Err(Error::Validation { field, .. }) if field == "window_days"));
        assert!(matches!(sales_velocity(-1, 30), Err(Error::Validation { field, .. }) if field == "units_sold"));
    }

    #[test]
    fn level_names_and_order() {
        let levels = [
            AlertLevel::None,
            AlertLevel::Warning,
            AlertLevel::Low,
            AlertLevel::Critical,
        ];
        let names: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
        assert_eq!(names, ["none", "warning", "low", "critical"]);
        assert!(levels.windows(2).all(|pair| pair[0] < pair[1]));
    }

    proptest! {
        #[test]
        fn alerts_are_total_and_the_more_severe_signal_wins(stock in any::<i64>(), velocity in 0.0f64..1e12) {
            let d = AlertThresholds::default();
            let got = alert(stock, velocity, &d).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(got.days_of_supply >= 0.0 && got.days_of_supply.is_finite());
            if stock <= d.critical || got.days_of_supply < d.critical_days {
                prop_assert_eq!(got.level, AlertLevel::Critical);
            }
            if stock > d.warning && got.days_of_supply >= d.warning_days {
                prop_assert_eq!(got.level, AlertLevel::None);
            }
        }
    }
}
