//! Channels as configured by the owner: what kind each is, whether it is on, its allocation rule,
//! how it is pushed to (batch size, rate limit, minimum change) and what its adapter needs
//! (settings, sealed credentials). Plain values and their validation, shared by every backend.
//!
//! A channel's **key** is the name jobs, listings and pacing are filed under. Channels reporting
//! in through webhooks are named `<kind>:<address>` by the intake (`woocommerce_remote:https://
//! shop.example/`, `shopify:mystore.myshopify.com`), so a channel whose level reports should
//! meet its listings is saved under that key; any other stable text works for the rest.
//!
//! **Credentials** are opaque here: the layer above seals them before saving and opens them when
//! it builds an adapter. The store never decrypts, logs or validates their content.

use super::listing;
use super::rules;
use super::MAX_QUANTITY;
use crate::stock::{AllocationMode, ChannelRule};
use crate::{Error, Result};

/// The longest settings or sealed credentials text, in bytes.
pub const MAX_CHANNEL_TEXT_BYTES: usize = 64 * 1024;

/// The largest batch a channel may be configured with (the most one claim takes).
pub const MAX_BATCH_SIZE: u32 = super::job::MAX_CLAIM;

/// The highest rate limit accepted, in requests per second.
pub const MAX_RATE_PER_SECOND: f64 = 10_000.0;

/// The largest burst accepted, in requests.
pub const MAX_BURST: u32 = 10_000;

/// What kind of channel this is (`product.md`, "Channel"). The string forms (`as_str`, `parse`)
/// are what PHP, REST and the admin pages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelType {
    /// This WooCommerce store; its jobs are applied in PHP with `wc_update_product_stock`.
    WooCommerceLocal,
    /// Another WooCommerce store, over REST v3.
    WooCommerceRemote,
    /// Shopify, over the GraphQL Admin API.
    Shopify,
    /// eBay, over the Inventory API.
    Ebay,
    /// Amazon, over the Selling Partner API.
    Amazon,
    /// A signed webhook to an ERP or distributor.
    Webhook,
}

impl ChannelType {
    /// Every kind, in a fixed order.
    pub const ALL: [ChannelType; 6] = [
        ChannelType::WooCommerceLocal,
        ChannelType::WooCommerceRemote,
        ChannelType::Shopify,
        ChannelType::Ebay,
        ChannelType::Amazon,
        ChannelType::Webhook,
    ];

    /// The kind's fixed name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::WooCommerceLocal => "woocommerce_local",
            ChannelType::WooCommerceRemote => "woocommerce_remote",
            ChannelType::Shopify => "shopify",
            ChannelType::Ebay => "ebay",
            ChannelType::Amazon => "amazon",
            ChannelType::Webhook => "webhook",
        }
    }

    /// Parses a kind name (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        ChannelType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = ChannelType::ALL.iter().map(|k| k.as_str()).collect();
                Error::validation(
                    "kind",
                    format!("unknown channel kind {text:?}; expected one of {}", names.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for ChannelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel's allocation rule (`product.md`, "Channel allocation"); see
/// [`crate::stock::allocate`] for how each field acts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllocationSettings {
    /// Shared (default) or partitioned with a weight.
    pub mode: AllocationMode,
    /// Lower numbers win rounding ties between partitioned channels.
    pub priority: i64,
    /// Units held back from this channel (not in percent mode).
    pub buffer: i64,
    /// The most this channel is ever shown; `None` = no cap.
    pub max: Option<i64>,
    /// A computed quantity at or below this is shown as 0; 0 = off.
    pub zero_threshold: i64,
    /// Percent mode (shared only): show `floor(available × percent / 100)`.
    pub percent: Option<u32>,
    /// Add the eligible locations' incoming units.
    pub include_incoming: bool,
    /// Add the supplier's stock.
    pub include_supplier: bool,
    /// Location codes this channel sells from; empty = every active location. Each must exist.
    pub eligible_locations: Vec<String>,
}

/// How fast a channel may be called: a token bucket of `burst` requests refilled at
/// `per_second`. `per_second` 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateLimit {
    /// Requests per second (fractions allowed: 0.5 is one every two seconds); 0 = none.
    pub per_second: f64,
    /// Requests that may go at once after a quiet spell; at least 1 when a rate is set.
    pub burst: u32,
}

impl RateLimit {
    /// No limit.
    pub const NONE: RateLimit = RateLimit {
        per_second: 0.0,
        burst: 0,
    };

    /// Whether calls are limited at all.
    pub fn is_limited(&self) -> bool {
        self.per_second > 0.0
    }
}

/// What an owner saves: a new channel, or the new state of an existing one (same key).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInput {
    /// The channel's key (see the module documentation): trimmed, 1–200 characters.
    pub key: String,
    /// The kind.
    pub kind: ChannelType,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Disabled channels are neither planned nor pushed; their jobs wait.
    pub enabled: bool,
    /// The allocation rule.
    pub allocation: AllocationSettings,
    /// Jobs per push, 1–[`MAX_BATCH_SIZE`]; the runner also keeps to the adapter's own maximum.
    pub batch_size: u32,
    /// Calls allowed per second and burst.
    pub rate: RateLimit,
    /// A change smaller than this (in units, against what the channel last got) is not pushed;
    /// 0 = every change. Never holds back a first push, a drop to the low-stock level or below,
    /// or a change to or from 0 (see [`crate::sync::plan`]).
    pub min_change: i64,
    /// The channel's low-stock level: drops to it or below always go out at once.
    pub low_stock_level: i64,
    /// What the adapter factory reads (base URL, location, …): a JSON object as text.
    pub settings: String,
    /// Sealed credentials: `None` keeps what is stored (nothing, for a new channel), `Some("")`
    /// removes them, any other text replaces them. Opaque to the store.
    pub credentials: Option<String>,
}

impl ChannelInput {
    /// A shared, enabled channel with no limits, empty settings and the largest batch size
    /// ([`MAX_BATCH_SIZE`]: each push then carries as many jobs as the channel's adapter takes —
    /// 250 for Shopify, 100 for WooCommerce, 25 for eBay — so that a full sync makes the fewest
    /// calls).
    pub fn new(key: impl Into<String>, kind: ChannelType, name: impl Into<String>) -> Self {
        ChannelInput {
            key: key.into(),
            kind,
            name: name.into(),
            enabled: true,
            allocation: AllocationSettings::default(),
            batch_size: MAX_BATCH_SIZE,
            rate: RateLimit::NONE,
            min_change: 0,
            low_stock_level: 0,
            settings: "{}".into(),
            credentials: None,
        }
    }

    /// The input checked and normalised (texts trimmed, locations trimmed and deduplicated), or
    /// a validation error naming the field (`allocation.buffer`, `rate.burst`, …). Whether the
    /// eligible locations exist is checked by the store.
    pub fn validated(&self) -> Result<ChannelInput> {
        let key = key(&self.key)?;
        let name = rules::required("name", &self.name, 200)?;
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(Error::validation(
                "batch_size",
                format!("must be between 1 and {MAX_BATCH_SIZE}, got {}", self.batch_size),
            ));
        }
        let rate = self.rate;
        if !rate.per_second.is_finite() || !(0.0..=MAX_RATE_PER_SECOND).contains(&rate.per_second) {
            return Err(Error::validation(
                "rate.per_second",
                format!("must be between 0 and {MAX_RATE_PER_SECOND}, got {}", rate.per_second),
            ));
        }
        if rate.burst > MAX_BURST || (rate.is_limited() && rate.burst == 0) {
            return Err(Error::validation(
                "rate.burst",
                format!(
                    "must be between 1 and {MAX_BURST} when a rate is set (0 without one), got {}",
                    rate.burst
                ),
            ));
        }
        let min_change = rules::in_range("min_change", self.min_change, 0, MAX_QUANTITY)?;
        let low_stock_level = rules::in_range("low_stock_level", self.low_stock_level, 0, MAX_QUANTITY)?;
        let settings = self.settings.trim();
        let settings = if settings.is_empty() { "{}" } else { settings };
        if settings.len() > MAX_CHANNEL_TEXT_BYTES {
            return Err(Error::validation(
                "settings",
                format!("must be at most {MAX_CHANNEL_TEXT_BYTES} bytes"),
            ));
        }
        match serde_json::from_str::<serde_json::Value>(settings) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => return Err(Error::validation("settings", "must be a JSON object")),
            Err(e) => return Err(Error::validation("settings", format!("is not valid JSON: {e}"))),
        }
        if self
            .credentials
            .as_ref()
            .is_some_and(|c| c.len() > MAX_CHANNEL_TEXT_BYTES)
        {
            return Err(Error::validation(
                "credentials",
                format!("must be at most {MAX_CHANNEL_TEXT_BYTES} bytes"),
            ));
        }
        let mut eligible = Vec::with_capacity(self.allocation.eligible_locations.len());
        for (i, code) in self.allocation.eligible_locations.iter().enumerate() {
            let code = rules::required(
                &format!("allocation.eligible_locations[{i}]"),
                code,
                rules::MAX_LOCATION_CHARS,
            )?;
            if !eligible.contains(&code) {
                eligible.push(code);
            }
        }
        let allocation = AllocationSettings {
            eligible_locations: eligible,
            ..self.allocation.clone()
        };
        if let Some(max) = allocation.max {
            rules::in_range("allocation.max", max, 0, MAX_QUANTITY)?;
        }
        rules::in_range("allocation.buffer", allocation.buffer, 0, MAX_QUANTITY)?;
        rules::in_range("allocation.zero_threshold", allocation.zero_threshold, 0, MAX_QUANTITY)?;
        let valid = ChannelInput {
            key,
            kind: self.kind,
            name,
            enabled: self.enabled,
            allocation,
            batch_size: self.batch_size,
            rate,
            min_change,
            low_stock_level,
            settings: settings.to_owned(),
            credentials: self.credentials.as_ref().map(|c| c.trim().to_owned()),
        };
        // The allocation rule's own checks (percent with a buffer, percent on a partitioned
        // channel, …), in the stock math's one place.
        valid.rule(0).validate().map_err(|e| match e {
            Error::Validation { field, message } => Error::validation(format!("allocation.{field}"), message),
            other => other,
        })?;
        Ok(valid)
    }

    fn rule(&self, id: i64) -> ChannelRule {
        rule_of(id, &self.name, &self.allocation)
    }
}

/// A channel as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// Stable numeric id (the allocation's `channel_id`; the last of partitioned rounding ties).
    pub id: i64,
    /// The key jobs, listings and pacing are filed under.
    pub key: String,
    /// The kind.
    pub kind: ChannelType,
    /// Display name.
    pub name: String,
    /// Whether it is planned and pushed.
    pub enabled: bool,
    /// The allocation rule.
    pub allocation: AllocationSettings,
    /// Jobs per push.
    pub batch_size: u32,
    /// Calls allowed per second and burst.
    pub rate: RateLimit,
    /// The smallest change pushed (0 = every change).
    pub min_change: i64,
    /// Drops to this level or below always go out at once.
    pub low_stock_level: i64,
    /// What the adapter factory reads: a JSON object as text.
    pub settings: String,
    /// Sealed credentials, if any; opaque to the store.
    pub credentials: Option<String>,
    /// When it was first saved (unix seconds).
    pub created_at: i64,
    /// When it last changed (unix seconds).
    pub updated_at: i64,
}

impl ChannelConfig {
    /// The channel's allocation rule for [`crate::stock::allocate`].
    pub fn to_rule(&self) -> ChannelRule {
        rule_of(self.id, &self.name, &self.allocation)
    }

    /// The settings parsed (always a JSON object when stored through the store).
    pub fn settings_json(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_str(&self.settings) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            _ => Err(Error::validation("settings", "must be a JSON object")),
        }
    }
}

fn rule_of(id: i64, name: &str, a: &AllocationSettings) -> ChannelRule {
    ChannelRule {
        channel_id: id,
        name: name.to_owned(),
        priority: a.priority,
        mode: a.mode,
        buffer: a.buffer,
        max: a.max,
        zero_threshold: a.zero_threshold,
        percent: a.percent,
        include_incoming: a.include_incoming,
        include_supplier: a.include_supplier,
        eligible_locations: a.eligible_locations.clone(),
    }
}

/// A channel key as given to a store method: trimmed, 1–200 characters, errors naming `key`.
pub(crate) fn key(value: &str) -> Result<String> {
    listing::channel(value).map_err(|e| renamed(e, "key"))
}

/// The allocation mode as stored: its name and its weight (0 when shared).
pub(crate) fn mode_columns(mode: AllocationMode) -> (&'static str, u32) {
    match mode {
        AllocationMode::Shared => ("shared", 0),
        AllocationMode::Partitioned { weight } => ("partitioned", weight),
    }
}

/// The allocation mode stored as [`mode_columns`].
pub(crate) fn mode_from_columns(name: &str, weight: u32) -> AllocationMode {
    match name {
        "partitioned" => AllocationMode::Partitioned { weight },
        _ => AllocationMode::Shared,
    }
}

/// What saving a validated input does to the stored credentials: whether they are replaced, and
/// by what (`None` keeps them; `""` removes them).
pub(crate) fn credentials_change(input: &ChannelInput) -> (bool, Option<&str>) {
    match input.credentials.as_deref() {
        None => (false, None),
        Some("") => (true, None),
        Some(sealed) => (true, Some(sealed)),
    }
}

/// Refuses to delete a channel that still has jobs waiting (`pending`) or being pushed
/// (`running`): deleting would drop pushes silently.
pub(crate) fn check_deletable(key: &str, pending: i64, running: i64) -> Result<()> {
    if pending > 0 || running > 0 {
        return Err(Error::Conflict(format!(
            "channel {key} still has {pending} pending and {running} running jobs; disable it and clear its \
             pending jobs (a running push finishes first), then delete it"
        )));
    }
    Ok(())
}

// -- Pacing ------------------------------------------------------------------------------------

/// A channel's pacing bucket as stored: the tokens left (below 0 while calls queue up behind
/// each other) and when they were counted (unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub tokens: f64,
    pub updated_ms: i64,
}

impl Bucket {
    /// A bucket seen for the first time: full (`burst` tokens, at least 1).
    pub(crate) fn full(burst: u32, now_ms: i64) -> Bucket {
        Bucket {
            tokens: f64::from(burst.max(1)),
            updated_ms: now_ms,
        }
    }
}

/// The channel of a pacing request, checked, or `None` when `rate_per_second` is 0 (no limit:
/// nothing is stored and the call goes now). A negative or non-finite rate is refused.
pub(crate) fn pacing_channel(channel: &str, rate_per_second: f64) -> Result<Option<String>> {
    let channel = listing::channel(channel)?;
    if !rate_per_second.is_finite() || rate_per_second < 0.0 {
        return Err(Error::validation(
            "rate_per_second",
            format!("must be a number of at least 0, got {rate_per_second}"),
        ));
    }
    Ok((rate_per_second > 0.0).then_some(channel))
}

/// Takes one token from a bucket (`None`: none stored yet, so a [full](Bucket::full) one) of
/// `burst` tokens refilled at `rate` per second: returns the bucket to store and 0 when a token
/// was there, else the milliseconds until the reserved token will have been refilled. The token
/// is taken either way (the bucket may go below zero), so runners that ask at the same time are
/// spread one after the other instead of all going at once. Every backend stores exactly what
/// this returns, read and written in one transaction.
pub(crate) fn take_token(stored: Option<Bucket>, rate: f64, burst: u32, now_ms: i64) -> (Bucket, u64) {
    let capacity = f64::from(burst.max(1));
    let Bucket { tokens, updated_ms } = stored.unwrap_or_else(|| Bucket::full(burst, now_ms));
    // A clock that went back (another process, a corrected clock) refills nothing.
    let elapsed_ms = now_ms.saturating_sub(updated_ms).max(0) as f64;
    let refilled = (tokens + elapsed_ms * rate / 1000.0).min(capacity);
    let left = Bucket {
        tokens: refilled - 1.0,
        updated_ms: now_ms.max(updated_ms),
    };
    if left.tokens >= 0.0 {
        return (left, 0);
    }
    // Bounded: the debt is at most a few thousand tokens and the rate at least a tiny fraction.
    let wait = (-left.tokens * 1000.0 / rate).ceil();
    let wait = if wait.is_finite() {
        wait.min(u64::MAX as f64) as u64
    } else {
        u64::MAX
    };
    (left, wait)
}

fn renamed(error: Error, field: &str) -> Error {
    match error {
        Error::Validation { message, .. } => Error::validation(field, message),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(input: ChannelInput) -> String {
        match input.validated() {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{input:?}: {other:?}"),
        }
    }

    #[test]
    fn kinds_parse_and_print() {
        for kind in ChannelType::ALL {
            assert_eq!(ChannelType::parse(kind.as_str()).unwrap(), kind);
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(ChannelType::parse(" Shopify ").unwrap(), ChannelType::Shopify);
        assert!(matches!(
            ChannelType::parse("etsy"),
            Err(Error::Validation { field, .. }) if field == "kind"
        ));
    }

    #[test]
    fn inputs_are_normalised() {
        let mut input = ChannelInput::new(" shopify-main ", ChannelType::Shopify, " Main shop ");
        input.settings = "  ".into();
        input.allocation.eligible_locations = vec![" WH1 ".into(), "WH1".into(), "WH2".into()];
        input.credentials = Some(" sealed ".into());
        let valid = input.validated().unwrap();
        assert_eq!((valid.key.as_str(), valid.name.as_str()), ("shopify-main", "Main shop"));
        assert_eq!(valid.settings, "{}");
        assert_eq!(valid.allocation.eligible_locations, ["WH1", "WH2"]);
        assert_eq!(valid.credentials.as_deref(), Some("sealed"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let base = || ChannelInput::new("c", ChannelType::Webhook, "C");
        let cases: Vec<(ChannelInput, &str)> = vec![
            (
                ChannelInput {
                    key: " ".into(),
                    ..base()
                },
                "key",
            ),
            (
                ChannelInput {
                    key: "k".repeat(listing::MAX_CHANNEL_CHARS + 1),
                    ..base()
                },
                "key",
            ),
            (
                ChannelInput {
                    name: "".into(),
                    ..base()
                },
                "name",
            ),
            (
                ChannelInput {
                    batch_size: 0,
                    ..base()
                },
                "batch_size",
            ),
            (
                ChannelInput {
                    batch_size: MAX_BATCH_SIZE + 1,
                    ..base()
                },
                "batch_size",
            ),
            (
                ChannelInput {
                    rate: RateLimit {
                        per_second: -1.0,
                        burst: 1,
                    },
                    ..base()
                },
                "rate.per_second",
            ),
            (
                ChannelInput {
                    rate: RateLimit {
                        per_second: f64::NAN,
                        burst: 1,
                    },
                    ..base()
                },
                "rate.per_second",
            ),
            (
                ChannelInput {
                    rate: RateLimit {
                        per_second: 2.0,
                        burst: 0,
                    },
                    ..base()
                },
                "rate.burst",
            ),
            (
                ChannelInput {
                    min_change: -1,
                    ..base()
                },
                "min_change",
            ),
            (
                ChannelInput {
                    low_stock_level: MAX_QUANTITY + 1,
                    ..base()
                },
                "low_stock_level",
            ),
            (
                ChannelInput {
                    settings: "[1]".into(),
                    ..base()
                },
                "settings",
            ),
            (
                ChannelInput {
                    settings: "{".into(),
                    ..base()
                },
                "settings",
            ),
            (
                ChannelInput {
                    credentials: Some("x".repeat(MAX_CHANNEL_TEXT_BYTES + 1)),
                    ..base()
                },
                "credentials",
            ),
        ];
        for (input, field) in cases {
            assert_eq!(field_of(input), field);
        }
        let with = |allocation: AllocationSettings| ChannelInput { allocation, ..base() };
        let allocation_cases: Vec<(AllocationSettings, &str)> = vec![
            (
                AllocationSettings {
                    buffer: -1,
                    ..AllocationSettings::default()
                },
                "allocation.buffer",
            ),
            (
                AllocationSettings {
                    max: Some(-1),
                    ..AllocationSettings::default()
                },
                "allocation.max",
            ),
            (
                AllocationSettings {
                    zero_threshold: -2,
                    ..AllocationSettings::default()
                },
                "allocation.zero_threshold",
            ),
            (
                AllocationSettings {
                    percent: Some(101),
                    ..AllocationSettings::default()
                },
                "allocation.percent",
            ),
            (
                AllocationSettings {
                    percent: Some(50),
                    buffer: 2,
                    ..AllocationSettings::default()
                },
                "allocation.buffer",
            ),
            (
                AllocationSettings {
                    eligible_locations: vec![" ".into()],
                    ..AllocationSettings::default()
                },
                "allocation.eligible_locations[0]",
            ),
        ];
        for (allocation, field) in allocation_cases {
            assert_eq!(field_of(with(allocation)), field);
        }
    }

    #[test]
    fn the_rule_carries_every_allocation_field() {
        let allocation = AllocationSettings {
            mode: AllocationMode::Partitioned { weight: 3 },
            priority: 2,
            buffer: 1,
            max: Some(40),
            zero_threshold: 2,
            percent: None,
            include_incoming: true,
            include_supplier: true,
            eligible_locations: vec!["WH2".into()],
        };
        let config = ChannelConfig {
            id: 7,
            key: "ebay-uk".into(),
            kind: ChannelType::Ebay,
            name: "eBay UK".into(),
            enabled: true,
            allocation: allocation.clone(),
            batch_size: 25,
            rate: RateLimit::NONE,
            min_change: 0,
            low_stock_level: 0,
            settings: "{}".into(),
            credentials: None,
            created_at: 1,
            updated_at: 1,
        };
        let rule = config.to_rule();
        assert_eq!(
            rule,
            ChannelRule {
                channel_id: 7,
                name: "eBay UK".into(),
                priority: 2,
                mode: AllocationMode::Partitioned { weight: 3 },
                buffer: 1,
                max: Some(40),
                zero_threshold: 2,
                percent: None,
                include_incoming: true,
                include_supplier: true,
                eligible_locations: vec!["WH2".into()],
            }
        );
    }
}
