//! Reorder suggestions. The formula is documented on [`suggest_reorder`].

use super::qty;
use crate::{Error, Result};

/// The reorder factors, a setting with product-wide defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReorderSettings {
    /// Safety stock in days of lead-time demand (default 1.5).
    pub safety_factor: f64,
    /// Days until stock is next reviewed; the order must last that long too (default 14).
    pub review_days: u32,
}

impl Default for ReorderSettings {
    fn default() -> Self {
        ReorderSettings {
            safety_factor: 1.5,
            review_days: 14,
        }
    }
}

impl ReorderSettings {
    /// Rejects a safety factor that is negative or not finite (`safety_factor`).
    pub fn validate(&self) -> Result<()> {
        if !self.safety_factor.is_finite() || self.safety_factor < 0.0 {
            return Err(Error::validation(
                "safety_factor",
                format!("must be a number ≥ 0, got {}", self.safety_factor),
            ));
        }
        Ok(())
    }
}

/// What a reorder suggestion for one SKU is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReorderInput {
    /// Units sold per day ([`super::sales_velocity`]); finite, ≥ 0.
    pub velocity: f64,
    /// Days from ordering to receiving.
    pub lead_time_days: u32,
    /// Units on hand over the locations considered; may be negative (oversold).
    pub on_hand: i64,
    /// Units reserved; ≥ 0.
    pub reserved: i64,
    /// Units already on order; ≥ 0.
    pub incoming: i64,
    /// Minimum order quantity; ≥ 0 (0 = none).
    pub moq: i64,
    /// Units per pack; orders are whole packs. At least 1.
    pub pack_size: i64,
}

impl Default for ReorderInput {
    /// Nothing sold, nothing held, no MOQ, sold singly.
    fn default() -> Self {
        ReorderInput {
            velocity: 0.0,
            lead_time_days: 0,
            on_hand: 0,
            reserved: 0,
            incoming: 0,
            moq: 0,
            pack_size: 1,
        }
    }
}

impl ReorderInput {
    /// Rejects impossible values, naming the field.
    pub fn validate(&self) -> Result<()> {
        if !self.velocity.is_finite() || self.velocity < 0.0 {
            return Err(Error::validation(
                "velocity",
                format!("must be a number of units a day ≥ 0, got {}", self.velocity),
            ));
        }
        for (field, value) in [
            ("reserved", self.reserved),
            ("incoming", self.incoming),
            ("moq", self.moq),
        ] {
            if value < 0 {
                return Err(Error::validation(
                    field,
                    format!("must not be negative, got {}", qty(value)),
                ));
            }
        }
        if self.pack_size < 1 {
            return Err(Error::validation(
                "pack_size",
                format!("must be at least 1 (1 = sold singly), got {}", qty(self.pack_size)),
            ));
        }
        Ok(())
    }
}

/// A reorder suggestion with everything it was computed from, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReorderSuggestion {
    /// The inputs, as given.
    pub input: ReorderInput,
    /// The factors used.
    pub settings: ReorderSettings,
    /// `velocity × lead_time × safety_factor`.
    pub safety_stock: f64,
    /// `velocity × (lead_time + review_days) + safety_stock`.
    pub target: f64,
    /// `on_hand − reserved + incoming` (saturating).
    pub position: i64,
    /// `ceil(target − position)`; 0 or negative when nothing is needed.
    pub shortfall: i64,
    /// The units to order: 0, or the shortfall raised to the MOQ and rounded up to whole packs.
    pub quantity: i64,
    /// One line with every value, for example
    /// `safety 0.50/day × 10 d × 1.5 = 7.50; target 0.50/day × (10 + 14) d + 7.50 = 19.50;
    /// position 8 on hand − 3 reserved + 0 incoming = 5; 19.50 − 5 = 14.50 → 15 (rounded up),
    /// MOQ 20 → 20, pack of 12 → 24`.
    pub explanation: String,
}

/// How much of a SKU to order now.
///
/// ```text
/// safety   = velocity × lead_time × safety_factor                  (default factor 1.5)
/// target   = velocity × (lead_time + review_days) + safety          (default review 14 days)
/// position = on_hand − reserved + incoming
/// suggest  = ceil(target − position); 0 when ≤ 0, else raised to the MOQ, then rounded up
///            to whole packs
/// ```
///
/// Floating point is used only for the velocity products; a result within a billionth
/// (relative) of a whole number counts as that number, so float noise such as
/// `31/30 × 30 = 31.000000000000004` never orders an extra unit. The pack size must be at least
/// 1 (an item sold singly has pack size 1): 0 is rejected rather than guessed at, so a missing
/// setting surfaces instead of hiding.
///
/// Fails only on invalid input (see [`ReorderInput::validate`] and
/// [`ReorderSettings::validate`]).
pub fn suggest_reorder(input: &ReorderInput, settings: &ReorderSettings) -> Result<ReorderSuggestion> {
    input.validate()?;
    settings.validate()?;
    let velocity = input.velocity;
    let lead = f64::from(input.lead_time_days);
    let review = f64::from(settings.review_days);

    let safety_stock = velocity * lead * settings.safety_factor;
    let target = velocity * (lead + review) + safety_stock;
    let position = input
        .on_hand
        .saturating_sub(input.reserved)
        .saturating_add(input.incoming);
    let needed = target - position as f64;
    let tolerance = 1e-9 * target.abs().max(1.0);
    let whole = (needed - needed.round()).abs() <= tolerance;
    // `as` saturates on overflow (and maps NaN to 0), so this cannot panic.
    let shortfall = if whole { needed.round() } else { needed.ceil() } as i64;

    let mut explanation = format!(
        "safety {}/day × {} d × {} = {}; target {}/day × ({} + {}) d + {} = {}; \
         position {} on hand − {} reserved + {} incoming = {}; {} − {} = {}",
        dec(velocity),
        input.lead_time_days,
        settings.safety_factor,
        dec(safety_stock),
        dec(velocity),
        input.lead_time_days,
        settings.review_days,
        dec(safety_stock),
        dec(target),
        qty(input.on_hand),
        qty(input.reserved),
        qty(input.incoming),
        qty(position),
        dec(target),
        qty(position),
        if whole { qty(shortfall) } else { dec(needed) },
    );
    if !whole && shortfall > 0 {
        explanation.push_str(&format!(" → {} (rounded up)", qty(shortfall)));
    }

    let quantity = if shortfall <= 0 {
        explanation.push_str(", nothing to order → 0");
        0
    } else {
        let mut quantity = shortfall;
        if input.moq > quantity {
            quantity = input.moq;
            explanation.push_str(&format!(", MOQ {} → {}", qty(input.moq), qty(quantity)));
        }
        let packed = round_up_to_pack(quantity, input.pack_size);
        if packed != quantity {
            explanation.push_str(&format!(", pack of {} → {}", qty(input.pack_size), qty(packed)));
        }
        packed
    };

    Ok(ReorderSuggestion {
        input: *input,
        settings: *settings,
        safety_stock,
        target,
        position,
        shortfall,
        quantity,
        explanation,
    })
}

/// `quantity` (> 0) rounded up to whole packs of `pack_size` (≥ 1); saturates at the largest
/// whole number of packs an `i64` holds.
fn round_up_to_pack(quantity: i64, pack_size: i64) -> i64 {
    let pack = i128::from(pack_size.max(1));
    let packs = (i128::from(quantity) + pack - 1) / pack;
    i64::try_from(packs * pack).unwrap_or(i64::MAX / pack_size.max(1) * pack_size.max(1))
}

/// A real number with two decimals and the Unicode minus sign.
fn dec(value: f64) -> String {
    if value < 0.0 {
        format!("−{:.2}", -value)
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(velocity: f64, lead_time_days: u32, on_hand: i64) -> ReorderInput {
        ReorderInput {
            velocity,
            lead_time_days,
            on_hand,
            ..ReorderInput::default()
        }
    }

    fn check(input: ReorderInput, settings: ReorderSettings, shortfall: i64, quantity: i64) {
        let got = match suggest_reorder(&input, &settings) {
            Ok(got) => got,
            Err(e) => panic!("{input:?}: unexpected error {e}"),
        };
        assert_eq!(
            (got.shortfall, got.quantity),
            (shortfall, quantity),
            "{input:?} {settings:?}\n{}",
            got.explanation
        );
    }

    #[test]
    fn reorder_table() {
        let d = ReorderSettings::default();
        // safety 2×7×1.5 = 21; target 2×21 + 21 = 63; position 10 + 5 = 15 → 48.
        check(
            ReorderInput {
                incoming: 5,
                ..input(2.0, 7, 10)
            },
            d,
            48,
            48,
        );
        // Reserved units are already spoken for.
        check(
            ReorderInput {
                reserved: 4,
                ..input(2.0, 7, 10)
            },
            d,
            57,
            57,
        );
        // Enough on hand, or exactly enough: nothing to order.
        check(input(1.0, 0, 20), d, -6, 0);
        check(input(1.0, 0, 14), d, 0, 0);
        // No sales and stock on hand: nothing; oversold: replace what was oversold.
        check(input(0.0, 10, 5), d, -5, 0);
        check(input(0.0, 10, -3), d, 3, 3);
        // The MOQ raises a small order but never creates one…
        check(
            ReorderInput {
                moq: 20,
                ..input(1.0, 0, 11)
            },
            d,
            3,
            20,
        );
        check(
            ReorderInput {
                moq: 20,
                ..input(1.0, 0, 14)
            },
            d,
            0,
            0,
        );
        check(
            ReorderInput {
                moq: 20,
                ..input(2.0, 7, 10)
            },
            d,
            53,
            53,
        );
        // …and orders are whole packs, after the MOQ.
        check(
            ReorderInput {
                pack_size: 10,
                ..input(1.0, 0, -11)
            },
            d,
            25,
            30,
        );
        check(
            ReorderInput {
                pack_size: 10,
                ..input(1.0, 0, -16)
            },
            d,
            30,
            30,
        );
        check(
            ReorderInput {
                moq: 10,
                pack_size: 4,
                ..input(1.0, 0, 11)
            },
            d,
            3,
            12,
        );
        check(
            ReorderInput {
                moq: 10,
                pack_size: 1,
                ..input(1.0, 0, 11)
            },
            d,
            3,
            10,
        );
        // Fractions round up: safety 0.1×3×1.5 = 0.45, target 0.1×17 + 0.45 = 2.15 → 3.
        check(input(0.1, 3, 0), d, 3, 3);
        // Float noise does not order an extra unit: 31/30 × 30 is 31.000000000000004 in f64.
        let noisy = ReorderSettings {
            safety_factor: 0.0,
            ..d
        };
        let velocity = match crate::stock::sales_velocity(31, 30) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        check(input(velocity, 16, 0), noisy, 31, 31);
        // Custom factors: safety 1×10×2 = 20, target 1×(10 + 7) + 20 = 37.
        check(
            input(1.0, 10, 0),
            ReorderSettings {
                safety_factor: 2.0,
                review_days: 7,
            },
            37,
            37,
        );
        // Extremes saturate instead of overflowing.
        check(input(0.0, 0, i64::MIN), d, i64::MAX, i64::MAX);
        check(
            ReorderInput {
                pack_size: 10,
                ..input(0.0, 0, i64::MIN)
            },
            d,
            i64::MAX,
            i64::MAX / 10 * 10,
        );
        check(
            input(1e300, u32::MAX, 0),
            ReorderSettings {
                safety_factor: 1e300,
                ..d
            },
            i64::MAX,
            i64::MAX,
        );
    }

    #[test]
    fn explanations_show_every_input_and_step() {
        let cases: [(ReorderInput, &str); 3] = [
            (
                ReorderInput {
                    reserved: 3,
                    moq: 20,
                    pack_size: 12,
                    ..input(0.5, 10, 8)
                },
                "safety 0.50/day × 10 d × 1.5 = 7.50; target 0.50/day × (10 + 14) d + 7.50 = 19.50; \
                 position 8 on hand − 3 reserved + 0 incoming = 5; 19.50 − 5 = 14.50 → 15 (rounded up), \
                 MOQ 20 → 20, pack of 12 → 24",
            ),
            (
                ReorderInput {
                    incoming: 5,
                    ..input(2.0, 7, 10)
                },
                "safety 2.00/day × 7 d × 1.5 = 21.00; target 2.00/day × (7 + 14) d + 21.00 = 63.00; \
                 position 10 on hand − 0 reserved + 5 incoming = 15; 63.00 − 15 = 48",
            ),
            (
                input(0.25, 2, 30),
                "safety 0.25/day × 2 d × 1.5 = 0.75; target 0.25/day × (2 + 14) d + 0.75 = 4.75; \
                 position 30 on hand − 0 reserved + 0 incoming = 30; 4.75 − 30 = −25.25, nothing to order → 0",
            ),
        ];
        for (input, expected) in cases {
            match suggest_reorder(&input, &ReorderSettings::default()) {
                Ok(got) => assert_eq!(got.explanation, expected),
                Err(e) => panic!("{input:?}: unexpected error {e}"),
            }
        }
    }

    #[test]
    fn suggestion_carries_its_inputs_and_intermediate_values() {
        let given = ReorderInput {
            reserved: 3,
            moq: 20,
            pack_size: 12,
            ..input(0.5, 10, 8)
        };
        let got = suggest_reorder(&given, &ReorderSettings::default());
        let Ok(got) = got else { panic!("{got:?}") };
        assert_eq!(got.input, given);
        assert_eq!(got.settings, ReorderSettings::default());
        assert_eq!((got.safety_stock, got.target, got.position), (7.5, 19.5, 5));
        assert_eq!((got.shortfall, got.quantity), (15, 24));
    }

    fn check_rejected(input: ReorderInput, settings: ReorderSettings, field: &str) {
        match suggest_reorder(&input, &settings) {
            Err(Error::Validation { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{input:?} {settings:?}: expected a validation error on {field}, got {other:?}"),
        }
    }

    #[test]
    fn bad_reorder_input_is_rejected_naming_the_field() {
        let d = ReorderSettings::default();
        let ok = input(1.0, 5, 10);
        check_rejected(ReorderInput { velocity: -0.5, ..ok }, d, "velocity");
        check_rejected(
            ReorderInput {
                velocity: f64::NAN,
                ..ok
            },
            d,
            "velocity",
        );
        check_rejected(
            ReorderInput {
                velocity: f64::INFINITY,
                ..ok
            },
            d,
            "velocity",
        );
        check_rejected(ReorderInput { reserved: -1, ..ok }, d, "reserved");
        check_rejected(ReorderInput { incoming: -1, ..ok }, d, "incoming");
        check_rejected(ReorderInput { moq: -1, ..ok }, d, "moq");
        check_rejected(ReorderInput { pack_size: 0, ..ok }, d, "pack_size");
        check_rejected(ReorderInput { pack_size: -6, ..ok }, d, "pack_size");
        check_rejected(
            ok,
            ReorderSettings {
                safety_factor: -1.0,
                ..d
            },
            "safety_factor",
        );
        check_rejected(
            ok,
            ReorderSettings {
                safety_factor: f64::NAN,
                ..d
            },
            "safety_factor",
        );
    }

    proptest! {
        #[test]
        fn suggestions_are_whole_packs_at_least_the_moq(
            velocity in 0.0f64..1000.0,
            lead_time_days in 0u32..400,
            on_hand in -10_000i64..10_000,
            reserved in 0i64..5_000,
            incoming in 0i64..5_000,
            moq in 0i64..500,
            pack_size in 1i64..50,
            safety_factor in 0.0f64..5.0,
            review_days in 0u32..60,
        ) {
            let given = ReorderInput { velocity, lead_time_days, on_hand, reserved, incoming, moq, pack_size };
            let settings = ReorderSettings { safety_factor, review_days };
            let got = suggest_reorder(&given, &settings).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(got.quantity >= 0);
            prop_assert_eq!(got.quantity % pack_size, 0);
            if got.shortfall <= 0 {
                prop_assert_eq!(got.quantity, 0);
            } else {
                prop_assert!(got.quantity >= got.shortfall && got.quantity >= moq);
                prop_assert!(got.quantity - got.shortfall.max(moq) < pack_size);
                // Ordering the suggestion covers the target.
                prop_assert!((got.position + got.quantity) as f64 >= got.target - 1e-6 * got.target.max(1.0));
            }
        }
    }
}
