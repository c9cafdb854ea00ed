//! The inbound events log: every webhook or pushed event the site received, once per
//! (provider, dedup key), with what came of it. Plain values shared by every backend.
//!
//! Recording is idempotent like movements: a dedup key already recorded for its provider returns
//! the existing record with `duplicate: true` and changes nothing, so a redelivered webhook is
//! recognised even when the movements it carried have different (or no) event ids. Pruning old
//! records forgets their keys; keep them longer than any provider redelivers (Shopify retries for
//! 48 hours) — the movements themselves stay idempotent by `event_id` regardless.

use super::rules;
use super::MAX_SKU_CHARS;
use crate::{Error, Result};

/// Longest provider name, in characters.
pub const MAX_PROVIDER_CHARS: usize = 50;

/// Longest dedup key, in characters.
pub const MAX_DEDUP_KEY_CHARS: usize = 255;

/// Longest topic (event name), in characters.
pub const MAX_TOPIC_CHARS: usize = 100;

/// Longest summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 2000;

/// Most unknown SKUs kept per inbound event.
pub const MAX_UNKNOWN_SKUS: usize = 100;

/// What came of an inbound event. The string forms (`as_str`, `parse`) are what PHP, REST and the
/// log filters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboundOutcome {
    /// Its movements were recorded.
    Applied,
    /// It had been received before (its movements were all replays).
    Duplicate,
    /// Nothing in it concerned stock (a ping, an echo of our own push, an unmapped product).
    Ignored,
    /// It was refused (bad payload, unknown location, …) and changed nothing.
    Rejected,
    /// Some of its movements were recorded, others failed.
    Partial,
}

impl InboundOutcome {
    /// Every outcome, in a fixed order.
    pub const ALL: [InboundOutcome; 5] = [
        InboundOutcome::Applied,
        InboundOutcome::Duplicate,
        InboundOutcome::Ignored,
        InboundOutcome::Rejected,
        InboundOutcome::Partial,
    ];

    /// The outcome's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            InboundOutcome::Applied => "applied",
            InboundOutcome::Duplicate => "duplicate",
            InboundOutcome::Ignored => "ignored",
            InboundOutcome::Rejected => "rejected",
            InboundOutcome::Partial => "partial",
        }
    }

    /// Parses an outcome name (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        InboundOutcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = InboundOutcome::ALL.iter().map(|o| o.as_str()).collect();
                Error::validation(
                    "outcome",
                    format!("unknown outcome {text:?}; expected one of {}", names.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for InboundOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inbound event to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    /// Who sent it: a lowercase name of letters, digits, `_` and `-`, 1–50 characters
    /// (`generic`, `woocommerce`, `shopify`, `erp`).
    pub provider: String,
    /// What identifies a delivery for this provider, 1–255 characters (Shopify's
    /// `X-Shopify-Webhook-Id`, …). Where a provider's ids are unique only per sending store
    /// (WooCommerce delivery ids), the caller qualifies them (`shop.example/1234`).
    pub dedup_key: String,
    /// The provider's event name (`inventory_levels/update`, `product.updated`), ≤ 100
    /// characters.
    pub topic: Option<String>,
    /// What came of it.
    pub outcome: InboundOutcome,
    /// What happened, for the owner, ≤ 2000 characters; may be empty. Never put secrets here;
    /// whole API keys are cut to their prefix anyway.
    pub summary: String,
    /// Movements recorded for the first time.
    pub recorded: u32,
    /// Movements that were replays of events recorded before.
    pub replayed: u32,
    /// Movements that failed.
    pub failed: u32,
    /// SKUs the event named that the ledger does not know (at most 100, each a SKU's 1–100
    /// characters; duplicates dropped).
    pub unknown_skus: Vec<String>,
}

impl InboundEvent {
    /// An event with empty summary and counts; fill in the rest with struct update syntax.
    pub fn new(provider: impl Into<String>, dedup_key: impl Into<String>, outcome: InboundOutcome) -> Self {
        InboundEvent {
            provider: provider.into(),
            dedup_key: dedup_key.into(),
            topic: None,
            outcome,
            summary: String::new(),
            recorded: 0,
            replayed: 0,
            failed: 0,
            unknown_skus: Vec::new(),
        }
    }

    /// The event checked and normalised (texts trimmed, empty topic dropped, unknown SKUs
    /// deduplicated in order, whole API keys cut from the summary), or a validation error naming
    /// the field.
    pub fn validated(&self) -> Result<InboundEvent> {
        if self.unknown_skus.len() > MAX_UNKNOWN_SKUS {
            return Err(Error::validation(
                "unknown_skus",
                format!("at most {MAX_UNKNOWN_SKUS}, got {}", self.unknown_skus.len()),
            ));
        }
        let mut unknown_skus: Vec<String> = Vec::with_capacity(self.unknown_skus.len());
        for sku in &self.unknown_skus {
            let sku = rules::required("unknown_skus", sku, MAX_SKU_CHARS)?;
            if !unknown_skus.contains(&sku) {
                unknown_skus.push(sku);
            }
        }
        let summary = rules::multi_line("summary", &self.summary, MAX_SUMMARY_CHARS)?;
        Ok(InboundEvent {
            provider: provider(&self.provider)?,
            dedup_key: rules::required("dedup_key", &self.dedup_key, MAX_DEDUP_KEY_CHARS)?,
            topic: rules::optional("topic", self.topic.as_ref(), MAX_TOPIC_CHARS)?,
            outcome: self.outcome,
            summary: super::access::redact_keys(&summary).into_owned(),
            recorded: self.recorded,
            replayed: self.replayed,
            failed: self.failed,
            unknown_skus,
        })
    }
}

/// A provider name: trimmed, lowercase ASCII letters, digits, `_` and `-`.
pub(crate) fn provider(value: &str) -> Result<String> {
    let value = rules::required("provider", value, MAX_PROVIDER_CHARS)?;
    if value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        Ok(value)
    } else {
        Err(Error::validation(
            "provider",
            format!("must be a lowercase name like shopify (a–z, 0–9, _, -), got {value:?}"),
        ))
    }
}

/// A logged inbound event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    /// Log position: increases with every record; the paging cursor.
    pub id: i64,
    /// Who sent it.
    pub provider: String,
    /// The delivery's dedup key.
    pub dedup_key: String,
    /// The provider's event name.
    pub topic: Option<String>,
    /// What came of it (the first time it was received).
    pub outcome: InboundOutcome,
    /// What happened.
    pub summary: String,
    /// Movements recorded for the first time.
    pub recorded: u32,
    /// Movements that were replays.
    pub replayed: u32,
    /// Movements that failed.
    pub failed: u32,
    /// SKUs the ledger did not know.
    pub unknown_skus: Vec<String>,
    /// When it was first received (unix seconds).
    pub received_at: i64,
    /// True only when [`LedgerStore::record_inbound`] found the dedup key already recorded: this
    /// is the earlier record and nothing changed. False from every other method.
    ///
    /// [`LedgerStore::record_inbound`]: super::LedgerStore::record_inbound
    pub duplicate: bool,
}

/// Which inbound events to show: newest first, before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundQuery {
    /// Only this provider.
    pub provider: Option<String>,
    /// Only this outcome.
    pub outcome: Option<InboundOutcome>,
    /// Only records with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1–[`MAX_PAGE`](super::MAX_PAGE).
    pub limit: u32,
}

impl Default for InboundQuery {
    fn default() -> Self {
        InboundQuery {
            provider: None,
            outcome: None,
            before: None,
            limit: 50,
        }
    }
}

/// A page of inbound events, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundPage {
    /// The records.
    pub records: Vec<InboundRecord>,
    /// Pass as [`InboundQuery::before`] for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_parse_and_print() {
        for outcome in InboundOutcome::ALL {
            assert_eq!(InboundOutcome::parse(outcome.as_str()).unwrap(), outcome);
        }
        assert_eq!(InboundOutcome::parse(" Partial ").unwrap(), InboundOutcome::Partial);
        assert!(matches!(
            InboundOutcome::parse("lost").unwrap_err(),
            Error::Validation { field, .. } if field == "outcome"
        ));
    }

    #[test]
    fn inbound_validation_names_the_field() {
        let good = InboundEvent {
            topic: Some(" inventory_levels/update ".into()),
            summary: " 2 movements\n1 unknown SKU ".into(),
            unknown_skus: vec![" X-1".into(), "X-2".into(), "X-1".into()],
            ..InboundEvent::new(" shopify ", " 1b2c ", InboundOutcome::Partial)
        };
        let valid = good.validated().unwrap();
        assert_eq!(
            (
                valid.provider.as_str(),
                valid.dedup_key.as_str(),
                valid.topic.as_deref(),
                valid.summary.as_str()
            ),
            (
                "shopify",
                "1b2c",
                Some("inventory_levels/update"),
                "2 movements\n1 unknown SKU"
            )
        );
        assert_eq!(valid.unknown_skus, ["X-1", "X-2"]);
        let cases: Vec<(InboundEvent, &str)> = vec![
            (
                InboundEvent {
                    provider: "Shopify".into(),
                    ..good.clone()
                },
                "provider",
            ),
            (
                InboundEvent {
                    provider: "".into(),
                    ..good.clone()
                },
                "provider",
            ),
            (
                InboundEvent {
                    dedup_key: " ".into(),
                    ..good.clone()
                },
                "dedup_key",
            ),
            (
                InboundEvent {
                    dedup_key: "k".repeat(256),
                    ..good.clone()
                },
                "dedup_key",
            ),
            (
                InboundEvent {
                    topic: Some("t".repeat(101)),
                    ..good.clone()
                },
                "topic",
            ),
            (
                InboundEvent {
                    summary: "s".repeat(2001),
                    ..good.clone()
                },
                "summary",
            ),
            (
                InboundEvent {
                    unknown_skus: vec!["".into()],
                    ..good.clone()
                },
                "unknown_skus",
            ),
            (
                InboundEvent {
                    unknown_skus: (0..101).map(|i| format!("S{i}")).collect(),
                    ..good.clone()
                },
                "unknown_skus",
            ),
        ];
        for (event, field) in cases {
            let error = event.validated().unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field: f, .. } if f == field),
                "{event:?}: {error}"
            );
        }
        let keyed = InboundEvent {
            summary: "signed with isk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into(),
            ..good
        };
        assert_eq!(keyed.validated().unwrap().summary, "signed with isk_AAECAwQF…");
    }
}
