//! Listings: what one channel has of one SKU — its remote id, the quantity last pushed to it and
//! the quantity it last reported. Plain values shared by every backend.
//!
//! A channel reporting an absolute quantity is compared with its listing's last pushed quantity
//! ("Channels report in" in `product.md`): less means units sold there, equal is an echo of our
//! own push. This table is deliberately minimal — a later change adds channels (with their
//! settings) and the outbox on top, keyed by the same channel string.
//!
//! A channel is named by a stable key of its kind and address, such as
//! `woocommerce_remote:https://shop.example/` or `shopify:mystore.myshopify.com`. A remote id is
//! unique within its channel: giving it to one SKU takes it from any other SKU of that channel,
//! because the remote side is the truth about which SKU a remote product carries (a remote
//! product whose SKU was changed is found again under the new one).

use super::rules::{self, MAX_REFERENCE_CHARS};
use super::MAX_QUANTITY;
use crate::Result;

/// Longest channel key, in characters.
pub const MAX_CHANNEL_CHARS: usize = 200;

/// One channel's view of one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The channel key.
    pub channel: String,
    /// The SKU.
    pub sku: String,
    /// The channel's id for the SKU (a variant, inventory item or offer id), once known.
    pub remote_id: Option<String>,
    /// The quantity last pushed to the channel (≥ 0).
    pub last_pushed_quantity: Option<i64>,
    /// When it was pushed (unix seconds); set together with the quantity.
    pub last_pushed_at: Option<i64>,
    /// The quantity the channel last reported (may be negative: some channels oversell).
    pub last_seen_quantity: Option<i64>,
    /// When it was reported (unix seconds); set together with the quantity.
    pub last_seen_at: Option<i64>,
    /// When the listing was first stored (unix seconds).
    pub created_at: i64,
    /// When anything in it last changed (unix seconds).
    pub updated_at: i64,
}

/// SKUs per `IN (…)` list of the planner's bulk reads (`listings_of`, `linked_skus`,
/// `open_jobs`), well under SQLite's variable limit. Results come sorted per list, so every
/// backend uses the same size.
pub(crate) const SKUS_PER_QUERY: usize = 500;

/// A channel key: trimmed, 1–200 characters, case-sensitive.
pub(crate) fn channel(value: &str) -> Result<String> {
    rules::required("channel", value, MAX_CHANNEL_CHARS)
}

/// A remote id: trimmed, ≤ 200 characters; empty means "none".
pub(crate) fn remote_id(value: Option<&str>) -> Result<Option<String>> {
    rules::optional("remote_id", value.map(str::to_owned).as_ref(), MAX_REFERENCE_CHARS)
}

/// A quantity pushed to a channel: 0–[`MAX_QUANTITY`] (allocations are never negative).
pub(crate) fn pushed_quantity(quantity: i64) -> Result<i64> {
    rules::in_range("quantity", quantity, 0, MAX_QUANTITY)
}

/// A quantity a channel reported: ±[`MAX_QUANTITY`].
pub(crate) fn seen_quantity(quantity: i64) -> Result<i64> {
    rules::in_range("quantity", quantity, -MAX_QUANTITY, MAX_QUANTITY)
}

/// What a write changes in a listing (every backend applies it the same way: the listing is
/// created if needed, then the change is applied and `updated_at` set).
pub(crate) enum Change<'a> {
    /// The remote id (`None` clears it); giving it takes it from any other SKU of the channel.
    RemoteId(Option<&'a str>),
    /// A quantity pushed to the channel.
    Pushed(i64),
    /// A quantity the channel reported.
    Seen(i64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn listing_inputs_are_checked() {
        assert_eq!(
            channel(" shopify:mystore.myshopify.com ").unwrap(),
            "shopify:mystore.myshopify.com"
        );
        assert_eq!(remote_id(Some("  ")).unwrap(), None);
        assert_eq!(
            remote_id(Some(" gid://shopify/InventoryItem/1 ")).unwrap().as_deref(),
            Some("gid://shopify/InventoryItem/1")
        );
        let field_of = |result: Result<()>| match result {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let cases: Vec<(Result<()>, &str)> = vec![
            (channel("").map(drop), "channel"),
            (channel(&"c".repeat(201)).map(drop), "channel"),
            (remote_id(Some(&"r".repeat(201))).map(drop), "remote_id"),
            (pushed_quantity(-1).map(drop), "quantity"),
            (pushed_quantity(MAX_QUANTITY + 1).map(drop), "quantity"),
            (seen_quantity(-MAX_QUANTITY - 1).map(drop), "quantity"),
        ];
        for (result, field) in cases {
            assert_eq!(field_of(result), field);
        }
        assert_eq!(pushed_quantity(0).unwrap(), 0);
        assert_eq!(seen_quantity(-3).unwrap(), -3);
    }
}
