//! The stock ledger: the single source of truth for stock.
//!
//! Every change of stock is a [`Movement`] in an append-only ledger, keyed by an `event_id` that
//! makes recording idempotent: the same event recorded twice changes stock once, and the second
//! call gets the original [`MovementOutcome`] back with `replayed: true`. Stock levels per
//! (SKU, location) are kept in step with the movements inside the same transaction.
//!
//! The store sits behind [`LedgerStore`] so a MariaDB backend can serve multi-server sites later.
//! Nothing in this module assumes SQLite: the types are plain values, every write takes the
//! current time as `now` (unix seconds), and the rules a movement follows live in `rules`, shared
//! by every backend. [`SqliteLedger`] is the embedded default.
//!
//! Besides stock, the store keeps what the REST API and the channels need to share between PHP
//! workers: API keys, rate-limit counters and the security log ([`access`]), the inbound events
//! log ([`inbound`]), listings ([`listing`]) and the outbox of jobs pushing quantities to channels
//! ([`job`]).
//!
//! Stock rules (see `product.md`, "Stock rules"):
//! * a **fact** (sale, return, receive, adjustment, commit, transfer, incoming) is always recorded,
//!   even when on hand goes below zero; the item is then *oversold* until stock is back;
//! * a **request** (reserve) is guarded: it succeeds only if the location's available
//!   (`max(0, on_hand − reserved)`) covers it, else [`Error::Conflict`] and nothing is recorded.

pub mod access;
pub mod channel;
pub mod copy;
pub mod feed;
pub mod inbound;
pub mod job;
pub mod listing;
mod mariadb;
pub mod message;
mod plan;
pub mod requests;
mod rules;
pub mod run;
mod schema;
mod sqlite;
#[cfg(test)]
mod tests;

pub use access::{
    ApiKey, IssuedApiKey, KeyCheck, NewApiKey, RateDecision, Scope, SecurityEvent, SecurityPage, SecurityQuery,
    SecurityRecord,
};
pub use channel::{AllocationSettings, ChannelConfig, ChannelInput, ChannelType, RateLimit};
pub use feed::{Feed, FeedState, FeedUpdate};
pub use inbound::{InboundEvent, InboundOutcome, InboundPage, InboundQuery, InboundRecord};
pub use job::{Backoff, ClearJobs, Completion, Enqueued, Job, JobCounts, JobPage, JobQuery, JobRef, JobStatus, NewJob};
pub use listing::Listing;
pub use mariadb::{MariaDbLedger, MariaDbOptions, ServerSettings, TlsMode, MAX_TABLE_PREFIX_CHARS};
pub use message::{Message, MessagePage, MessageQuery, MessageStatus, NewMessage};
pub use requests::{ApiRequest, RequestBucket, RequestStats, RouteStats};
pub use run::{
    ActivityBucket, ActivityQuery, DriftPage, DriftQuery, DriftRecord, NewDrift, RunStatus, SyncCounts, SyncKind,
    SyncRun, SyncRunPage, SyncRunQuery,
};
pub use sqlite::{SqliteLedger, SqliteOptions};

use crate::{Error, Result};

/// The largest quantity a single movement, threshold or order size may carry. Anything bigger is
/// a typo or an attack, never a real shipment.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// Longest accepted SKU, in characters.
pub const MAX_SKU_CHARS: usize = 100;

/// Longest accepted `event_id` (and reservation id), in characters.
pub const MAX_EVENT_ID_CHARS: usize = 200;

/// Most requests accepted by one [`LedgerStore::record_batch`] call.
pub const MAX_BATCH: usize = 1000;

/// Largest page size for [`LedgerStore::list_items`] and [`LedgerStore::history`].
pub const MAX_PAGE: u32 = 1000;

/// Prefix of event ids the ledger derives for its own movements (reservation expiry). Callers may
/// not use it, so a derived id can never collide with an integrator's.
pub const LEDGER_EVENT_PREFIX: &str = "ledger:";

/// Alert thresholds of an item, in units available: at or below `critical` is critical, and so on.
/// Invariant: `0 ≤ critical ≤ low ≤ warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertThresholds {
    /// At or below this, the item is critical.
    pub critical: i64,
    /// At or below this, the item is low.
    pub low: i64,
    /// At or below this, the item gets a warning.
    pub warning: i64,
}

/// What a caller supplies to create or update an item. The SKU is trimmed; the other fields
/// replace what was stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemInput {
    /// Stock keeping unit: unique, case-sensitive, trimmed, 1–100 characters.
    pub sku: String,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Linked WooCommerce product or variation id.
    pub product_id: Option<i64>,
    /// Per-item alert thresholds; `None` uses the site defaults.
    pub thresholds: Option<AlertThresholds>,
    /// Supplier lead time in days (0–3650).
    pub lead_time_days: Option<i64>,
    /// Minimum order quantity (≥ 1).
    pub moq: Option<i64>,
    /// Units per pack; reorders are rounded up to it (≥ 1).
    pub pack_size: Option<i64>,
    /// Supplier name or code.
    pub supplier: Option<String>,
}

/// An item (a SKU) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Stock keeping unit: unique, case-sensitive.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Linked WooCommerce product or variation id.
    pub product_id: Option<i64>,
    /// Per-item alert thresholds; `None` uses the site defaults.
    pub thresholds: Option<AlertThresholds>,
    /// Supplier lead time in days.
    pub lead_time_days: Option<i64>,
    /// Minimum order quantity.
    pub moq: Option<i64>,
    /// Units per pack.
    pub pack_size: Option<i64>,
    /// Supplier name or code.
    pub supplier: Option<String>,
    /// True while on hand is below zero at some location: a fact (usually a sale) took more than
    /// was there. Cleared by the movement that brings every location back to zero or more.
    pub oversold: bool,
    /// When the item was first stored (unix seconds).
    pub created_at: i64,
    /// When the item's definition last changed (unix seconds). Movements do not touch it.
    pub updated_at: i64,
}

/// A stock location (warehouse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Unique code, trimmed, 1–50 characters, case-sensitive.
    pub code: String,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Lower numbers come first; the default location is the active one with the lowest
    /// priority (then code).
    pub priority: i64,
    /// Inactive locations keep their stock but count for nothing available and take no
    /// reservations.
    pub active: bool,
}

/// Quantities of one SKU at one location, as left by a movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevel {
    /// The SKU.
    pub sku: String,
    /// The location code.
    pub location: String,
    /// Units physically there; negative after an oversell.
    pub on_hand: i64,
    /// Units promised to open reservations.
    pub reserved: i64,
    /// Units expected from suppliers.
    pub incoming: i64,
}

impl StockLevel {
    /// `max(0, on_hand − reserved)`: what this location can still promise.
    pub fn available(&self) -> i64 {
        available(self.on_hand, self.reserved)
    }
}

/// `max(0, on_hand − reserved)`, saturating.
fn available(on_hand: i64, reserved: i64) -> i64 {
    on_hand.saturating_sub(reserved).max(0)
}

/// Current stock of one SKU at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationStock {
    /// The location code.
    pub location: String,
    /// Whether the location is active.
    pub active: bool,
    /// Units physically there; negative after an oversell.
    pub on_hand: i64,
    /// Units promised to open reservations.
    pub reserved: i64,
    /// Units expected from suppliers.
    pub incoming: i64,
    /// `max(0, on_hand − reserved)`, whether or not the location is active.
    pub available: i64,
}

/// Current stock of one SKU: per location (ordered by priority, then code) and totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuStock {
    /// The SKU.
    pub sku: String,
    /// Every location that ever held a movement of this SKU.
    pub levels: Vec<LocationStock>,
    /// Σ on hand over all locations (physical stock, active or not).
    pub on_hand: i64,
    /// Σ reserved over all locations.
    pub reserved: i64,
    /// Σ incoming over all locations.
    pub incoming: i64,
    /// Σ `max(0, on_hand − reserved)` over **active** locations only.
    pub available: i64,
}

impl SkuStock {
    /// Builds the totals from per-location stock.
    pub fn from_levels(sku: String, levels: Vec<LocationStock>) -> Self {
        let mut stock = SkuStock {
            sku,
            levels,
            on_hand: 0,
            reserved: 0,
            incoming: 0,
            available: 0,
        };
        stock.recount();
        stock
    }

    /// Sets the totals from the levels, after the levels were changed in place.
    pub(crate) fn recount(&mut self) {
        let sum = |f: fn(&LocationStock) -> i64| self.levels.iter().map(f).fold(0i64, i64::saturating_add);
        (self.on_hand, self.reserved, self.incoming) = (sum(|l| l.on_hand), sum(|l| l.reserved), sum(|l| l.incoming));
        self.available = sum(|l| if l.active { l.available } else { 0 });
    }
}

/// What a movement does. The string forms (`as_str`, `parse`) are what PHP and REST use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    /// A sale reported by a channel (a fact): on hand −q, recorded even below zero.
    Sale,
    /// A customer return: on hand +q.
    Return,
    /// Goods received (alias `restock`): on hand +q.
    Receive,
    /// A stock count: on hand is set to q; the movement stores the delta.
    Adjustment,
    /// A guarded request: reserved +q if the location's available covers q.
    Reserve,
    /// Ends (part of) a reservation without a sale: reserved −q.
    Release,
    /// Turns (part of) a reservation into a sale: reserved −q and on hand −q.
    Commit,
    /// Moves q from one location to another in one transaction: two movements, one event.
    Transfer,
    /// Sets the units expected from suppliers at a location to q (absolute, like an adjustment).
    Incoming,
}

impl MovementKind {
    /// Every kind, in a fixed order.
    pub const ALL: [MovementKind; 9] = [
        MovementKind::Sale,
        MovementKind::Return,
        MovementKind::Receive,
        MovementKind::Adjustment,
        MovementKind::Reserve,
        MovementKind::Release,
        MovementKind::Commit,
        MovementKind::Transfer,
        MovementKind::Incoming,
    ];

    /// The kind's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Sale => "sale",
            MovementKind::Return => "return",
            MovementKind::Receive => "receive",
            MovementKind::Adjustment => "adjustment",
            MovementKind::Reserve => "reserve",
            MovementKind::Release => "release",
            MovementKind::Commit => "commit",
            MovementKind::Transfer => "transfer",
            MovementKind::Incoming => "incoming",
        }
    }

    /// Parses a kind name (trimmed, case-insensitive); `restock` is accepted for `receive`.
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        if wanted == "restock" {
            return Ok(MovementKind::Receive);
        }
        MovementKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = MovementKind::ALL.iter().map(|k| k.as_str()).collect();
                Error::validation(
                    "kind",
                    format!("unknown kind {text:?}; expected one of {}", names.join(", ")),
                )
            })
    }

    /// Whether the kind settles a reservation (release, commit) and so needs its id.
    pub fn settles_reservation(self) -> bool {
        matches!(self, MovementKind::Release | MovementKind::Commit)
    }

    /// Whether the quantity is an absolute value (adjustment, incoming), which may be zero.
    pub fn is_absolute(self) -> bool {
        matches!(self, MovementKind::Adjustment | MovementKind::Incoming)
    }
}

impl std::fmt::Display for MovementKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to record one movement.
///
/// Validation ([`MovementRequest::validated`]) trims every text and turns empty optional texts
/// into `None`; it depends only on the request, never on the clock or the stored state, so a
/// valid request stays valid when it is replayed later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRequest {
    /// The idempotency key, 1–200 characters; may not start with [`LEDGER_EVENT_PREFIX`].
    pub event_id: String,
    /// The SKU; it must exist. For release and commit it must be the reservation's SKU.
    pub sku: String,
    /// What the movement does.
    pub kind: MovementKind,
    /// Units: > 0, or ≥ 0 for the absolute kinds (adjustment, incoming), at most
    /// [`MAX_QUANTITY`]. Required, except for release and commit where `None` means "all that
    /// remains of the reservation".
    pub quantity: Option<i64>,
    /// The location code; `None` means the default location (the active one with the lowest
    /// priority, then code), or the reservation's location for release and commit.
    pub location: Option<String>,
    /// The destination of a transfer (required for transfers, refused otherwise).
    pub to_location: Option<String>,
    /// The reservation a release or commit settles: the `event_id` of its reserve movement
    /// (required for release and commit, refused otherwise).
    pub reservation: Option<String>,
    /// Where the movement came from: a channel or source name (≤ 100 characters).
    pub origin: Option<String>,
    /// An outside reference such as an order id (≤ 200 characters).
    pub reference: Option<String>,
    /// A free note (≤ 1000 characters).
    pub note: Option<String>,
    /// When a reservation lapses (unix seconds; reserve only). A time already past is accepted:
    /// the next [`LedgerStore::expire_reservations`] releases it.
    pub expires_at: Option<i64>,
}

impl MovementRequest {
    /// A request with a quantity at the default location; add details with the builder methods.
    pub fn new(event_id: impl Into<String>, sku: impl Into<String>, kind: MovementKind, quantity: i64) -> Self {
        MovementRequest {
            event_id: event_id.into(),
            sku: sku.into(),
            kind,
            quantity: Some(quantity),
            location: None,
            to_location: None,
            reservation: None,
            origin: None,
            reference: None,
            note: None,
            expires_at: None,
        }
    }

    /// A release or commit of everything that remains of `reservation`.
    pub fn settle(
        event_id: impl Into<String>,
        sku: impl Into<String>,
        kind: MovementKind,
        reservation: impl Into<String>,
    ) -> Self {
        MovementRequest {
            quantity: None,
            reservation: Some(reservation.into()),
            ..MovementRequest::new(event_id, sku, kind, 0)
        }
    }

    /// At this location instead of the default one.
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// To this destination (transfers).
    pub fn to(mut self, location: impl Into<String>) -> Self {
        self.to_location = Some(location.into());
        self
    }

    /// With this quantity.
    pub fn with_quantity(mut self, quantity: i64) -> Self {
        self.quantity = Some(quantity);
        self
    }

    /// Settling this reservation (release, commit).
    pub fn for_reservation(mut self, reservation: impl Into<String>) -> Self {
        self.reservation = Some(reservation.into());
        self
    }

    /// Coming from this channel or source.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// With this outside reference (order id, …).
    pub fn with_reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// With this note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Lapsing at this time (reserve).
    pub fn expiring_at(mut self, expires_at: i64) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// The request checked and normalised (texts trimmed, empty optional texts dropped), or a
    /// validation error naming the first offending field.
    pub fn validated(&self) -> Result<MovementRequest> {
        rules::validate_request(self)
    }
}

/// One row of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// Ledger position: increases with every movement recorded; the cursor for history and
    /// incremental sync.
    pub id: i64,
    /// The idempotency key of the event that recorded it (a transfer's two rows share it).
    pub event_id: String,
    /// The SKU.
    pub sku: String,
    /// The location this row changed.
    pub location: String,
    /// What the movement did.
    pub kind: MovementKind,
    /// The quantity as applied: units moved, or the absolute value set (adjustment, incoming),
    /// or the units of the reservation settled (release, commit with a defaulted quantity).
    pub quantity: i64,
    /// Change of on hand at this location (for an adjustment: new − old).
    pub delta: i64,
    /// On hand at this location after the movement.
    pub on_hand: i64,
    /// Reserved at this location after the movement.
    pub reserved: i64,
    /// Incoming at this location after the movement.
    pub incoming: i64,
    /// The reservation a reserve created, or a release or commit settled.
    pub reservation: Option<String>,
    /// The channel or source it came from.
    pub origin: Option<String>,
    /// Outside reference (order id, …).
    pub reference: Option<String>,
    /// Free note.
    pub note: Option<String>,
    /// When it was recorded (unix seconds).
    pub recorded_at: i64,
}

impl Movement {
    /// The stock level this movement left at its location.
    pub fn level(&self) -> StockLevel {
        StockLevel {
            sku: self.sku.clone(),
            location: self.location.clone(),
            on_hand: self.on_hand,
            reserved: self.reserved,
            incoming: self.incoming,
        }
    }
}

/// What recording an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementOutcome {
    /// The movements of the event: one, or two for a transfer (source first).
    pub movements: Vec<Movement>,
    /// The stock levels the movements left, one per movement, in the same order.
    pub levels: Vec<StockLevel>,
    /// True when the event had been recorded before: this is the original outcome and nothing
    /// changed.
    pub replayed: bool,
    /// True when the event left on hand below zero at one of its locations.
    pub oversold: bool,
}

impl MovementOutcome {
    /// The outcome of an event from its stored movements.
    pub fn from_movements(movements: Vec<Movement>, replayed: bool) -> Self {
        let levels: Vec<StockLevel> = movements.iter().map(Movement::level).collect();
        let oversold = levels.iter().any(|l| l.on_hand < 0);
        MovementOutcome {
            movements,
            levels,
            replayed,
            oversold,
        }
    }
}

/// Which items to list: an optional prefix filter and a keyset page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemQuery {
    /// Keep items whose SKU starts with this (case-sensitive) or whose name starts with it
    /// (ASCII case-insensitive). Trimmed; empty means all.
    pub search: Option<String>,
    /// Start after this SKU (the previous page's `next_after`).
    pub after: Option<String>,
    /// Page size, 1–[`MAX_PAGE`].
    pub limit: u32,
}

impl Default for ItemQuery {
    fn default() -> Self {
        ItemQuery {
            search: None,
            after: None,
            limit: 50,
        }
    }
}

/// A page of items, ordered by SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPage {
    /// The items.
    pub items: Vec<Item>,
    /// Pass as [`ItemQuery::after`] for the next page; `None` on the last page.
    pub next_after: Option<String>,
}

/// Which movements to show: newest first, before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only this SKU.
    pub sku: Option<String>,
    /// Only movements with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1–[`MAX_PAGE`].
    pub limit: u32,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery {
            sku: None,
            before: None,
            limit: 50,
        }
    }
}

/// A page of movements, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The movements.
    pub movements: Vec<Movement>,
    /// Pass as [`HistoryQuery::before`] for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// SKUs whose stock changed after a movement id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedSkus {
    /// Distinct SKUs, sorted.
    pub skus: Vec<String>,
    /// The highest movement id seen (or the id asked about when nothing changed): store it and
    /// ask again with it next time.
    pub cursor: i64,
}

/// The ledger store: items, locations, stock levels and the append-only movement ledger; and
/// the state PHP workers share around it: API keys, rate limits, the security and inbound logs,
/// listings, the outbox of push jobs.
///
/// Every write takes `now` (unix seconds) and runs in one write transaction that is rolled back
/// unless it completes. Recording is idempotent per `event_id`, also across processes; so is
/// logging an inbound event per (provider, dedup key).
pub trait LedgerStore {
    /// Creates or updates an item (by SKU) and returns it as stored. Keeps `created_at` and the
    /// oversold flag.
    fn upsert_item(&self, item: &ItemInput, now: i64) -> Result<Item>;

    /// The item with this SKU, if any.
    fn get_item(&self, sku: &str) -> Result<Option<Item>>;

    /// A page of items ordered by SKU.
    fn list_items(&self, query: &ItemQuery) -> Result<ItemPage>;

    /// Creates or updates a location (by code) and returns it as stored.
    fn upsert_location(&self, location: &Location, now: i64) -> Result<Location>;

    /// Every location, ordered by priority, then code.
    fn list_locations(&self) -> Result<Vec<Location>>;

    /// Records one movement. An `event_id` seen before returns the original outcome with
    /// `replayed: true` and changes nothing; the same `event_id` with different content (kind,
    /// SKU, quantity, location, destination, reservation, expiry — not origin, reference or
    /// note) is an [`Error::Conflict`]. A refused reservation records nothing, so a later replay
    /// of it is evaluated afresh and may succeed.
    ///
    /// Errors, each leaving the ledger unchanged: [`Error::Validation`] (bad input, naming the
    /// field), [`Error::NotFound`] (unknown SKU, location or reservation), [`Error::Conflict`]
    /// (reservation not covered by available, settling more than a reservation holds, event id
    /// reused for other content), [`Error::Ledger`] (storage; retryable when the file was busy).
    fn record(&self, request: &MovementRequest, now: i64) -> Result<MovementOutcome>;

    /// Records several movements in one transaction, each with its own outcome: a refused or
    /// invalid request does not undo the others. Only a storage failure fails the whole batch
    /// (and then nothing of it is kept).
    fn record_batch(&self, requests: &[MovementRequest], now: i64) -> Result<Vec<Result<MovementOutcome>>>;

    /// Current stock of one SKU ([`Error::NotFound`] for an unknown SKU).
    fn stock(&self, sku: &str) -> Result<SkuStock>;

    /// Current stock of several SKUs, read consistently, in the order asked; unknown SKUs are
    /// left out.
    fn stock_many(&self, skus: &[&str]) -> Result<Vec<SkuStock>>;

    /// Hands `visit` the current stock of every item, one SKU after the other in SKU order (by
    /// the bytes of the SKU), each as [`LedgerStore::stock`] gives it (an item without any
    /// movement has no levels): the whole catalogue from one consistent state, for a full sync.
    ///
    /// Built for volume: the store streams the catalogue with a few set-based queries and
    /// reuses one [`SkuStock`] for every SKU, so `visit` sees each only for the length of its
    /// call (clone what must outlive it). `visit` runs while the store is being read and must
    /// not call the store. An error from `visit` stops the walk and is returned.
    fn for_each_stock(&self, visit: &mut dyn FnMut(&SkuStock) -> Result<()>) -> Result<()>;

    /// Movements newest first, paged by movement id.
    fn history(&self, query: &HistoryQuery) -> Result<HistoryPage>;

    /// Net units sold of a SKU recorded at or after `since`: sales + commits − returns (can be
    /// negative when returns outweigh sales). [`Error::NotFound`] for an unknown SKU.
    fn units_sold_since(&self, sku: &str, since: i64) -> Result<i64>;

    /// Releases what remains of every reservation whose `expires_at` ≤ `now`, each as a release
    /// movement with the event id `ledger:expire:<reservation>`, so running it again is harmless.
    /// Returns the outcomes of the releases recorded by this call.
    fn expire_reservations(&self, now: i64) -> Result<Vec<MovementOutcome>>;

    /// SKUs with a movement whose id is above `after` (for incremental sync). Relies on
    /// movement ids becoming visible in increasing order, which SQLite's single writer gives;
    /// another backend must guarantee the same.
    fn skus_changed_since(&self, after: i64) -> Result<ChangedSkus>;

    /// The outcome an event was recorded with (what recording it again would return, so
    /// `replayed: true`), or `None` when no event has this id. Callers use it to act only on
    /// what happened, e.g. to return stock on an order cancellation only for the lines whose
    /// sale was recorded.
    fn find_event(&self, event_id: &str) -> Result<Option<MovementOutcome>>;

    // -- API keys (see [`access`]) ---------------------------------------------------------------

    /// Issues an API key made from `secret_bytes` (32–64 bytes from a cryptographic random
    /// source, which the caller draws: the core never does). The plaintext is returned once in
    /// [`IssuedApiKey::plaintext`]; the store keeps only its SHA-256 and display prefix.
    ///
    /// Errors: [`Error::Validation`] (bad input naming the field, an expiry not after `now`,
    /// too few or non-random bytes), [`Error::NotFound`] (a location that does not exist),
    /// [`Error::Conflict`] (these bytes were issued before: the caller reused its randomness).
    fn issue_api_key(&self, key: &NewApiKey, secret_bytes: &[u8], now: i64) -> Result<IssuedApiKey>;

    /// Looks a presented key up by its hash. A valid key gets `last_used_at = now`; an unknown,
    /// revoked (checked first) or expired key is reported as such and changes nothing. Text not
    /// shaped like a key is [`KeyCheck::Unknown`] without a lookup. Only storage failures are
    /// errors.
    fn authenticate_api_key(&self, plaintext: &str, now: i64) -> Result<KeyCheck>;

    /// Every key, revoked and expired ones included, in the order issued.
    fn list_api_keys(&self) -> Result<Vec<ApiKey>>;

    /// Revokes a key for good and returns it; revoking it again keeps the first `revoked_at`.
    /// [`Error::NotFound`] for an unknown id.
    fn revoke_api_key(&self, id: i64, now: i64) -> Result<ApiKey>;

    // -- Rate limits --------------------------------------------------------------------------

    /// Counts one request against `bucket` (e.g. `key:12`, `ip:203.0.113.9`): allowed while
    /// fewer than `limit` requests were allowed in the fixed window of `window_seconds`
    /// containing `now`; a refused request is not counted. Atomic across processes (one write
    /// transaction), so all workers share the count exactly. Windows that have ended are pruned.
    /// [`Error::Validation`] for an empty bucket, a limit of 0 or a window of 0.
    fn rate_limit(&self, bucket: &str, limit: u32, window_seconds: u32, now: i64) -> Result<RateDecision>;

    // -- Security log -------------------------------------------------------------------------

    /// Logs a refused request (validated; whole API keys in its texts are cut to their prefix)
    /// and returns the record.
    fn record_security(&self, event: &SecurityEvent, now: i64) -> Result<SecurityRecord>;

    /// Refusals newest first, paged by id, optionally of one reason.
    fn list_security(&self, query: &SecurityQuery) -> Result<SecurityPage>;

    /// Deletes refusals logged before `older_than` (unix seconds); returns how many.
    fn prune_security(&self, older_than: i64) -> Result<usize>;

    // -- Inbound API request metrics (see [`requests`]) ------------------------------------------

    /// Counts one answered request in the counters of the hour holding `now` (validated).
    fn record_api_request(&self, request: &ApiRequest, now: i64) -> Result<()>;

    /// Requests answered in `[since, until)` per bucket of `query` (its `kind` is ignored),
    /// every bucket oldest first, empty ones too. Hours are the unit: a span should start and
    /// end on the hour.
    fn api_activity(&self, query: &ActivityQuery) -> Result<Vec<RequestBucket>>;

    /// Requests answered in `[since, until)` per route and method, busiest first.
    fn api_routes(&self, since: i64, until: i64) -> Result<Vec<RouteStats>>;

    /// Deletes the counters of hours that ended before `older_than`; returns how many rows.
    fn prune_api_requests(&self, older_than: i64) -> Result<usize>;

    // -- Inbound events log (see [`inbound`]) -----------------------------------------------------

    /// Logs an inbound event once per (provider, dedup key). A key already recorded returns the
    /// existing record with `duplicate: true` and changes nothing (the new outcome, summary and
    /// counts are dropped: the first delivery is the one that acted).
    fn record_inbound(&self, event: &InboundEvent, now: i64) -> Result<InboundRecord>;

    /// The record of a (provider, dedup key), if any.
    fn find_inbound(&self, provider: &str, dedup_key: &str) -> Result<Option<InboundRecord>>;

    /// Inbound events newest first, paged by id, optionally of one provider and one outcome.
    fn list_inbound(&self, query: &InboundQuery) -> Result<InboundPage>;

    /// Deletes inbound events received before `older_than` (unix seconds); returns how many.
    /// Their dedup keys are forgotten, so keep them longer than providers redeliver.
    fn prune_inbound(&self, older_than: i64) -> Result<usize>;

    // -- Listings (see [`listing`]) -------------------------------------------------------------

    /// The listing of a SKU on a channel, if any.
    fn listing(&self, channel: &str, sku: &str) -> Result<Option<Listing>>;

    /// The listing of a channel that carries this remote id, if any.
    fn listing_by_remote_id(&self, channel: &str, remote_id: &str) -> Result<Option<Listing>>;

    /// Sets (or, with `None`, clears) the remote id of a SKU on a channel, creating the listing
    /// when needed, and returns it. The remote id is taken from any other SKU of the channel
    /// that had it. [`Error::NotFound`] for an unknown SKU.
    fn upsert_listing_remote_id(&self, channel: &str, sku: &str, remote_id: Option<&str>, now: i64) -> Result<Listing>;

    /// Records that `quantity` (0–[`MAX_QUANTITY`]) was pushed to the channel at `now`.
    /// [`Error::NotFound`] for an unknown SKU.
    fn record_listing_pushed(&self, channel: &str, sku: &str, quantity: i64, now: i64) -> Result<Listing>;

    /// Records that the channel reported `quantity` (±[`MAX_QUANTITY`]) at `now`.
    /// [`Error::NotFound`] for an unknown SKU.
    fn record_listing_seen(&self, channel: &str, sku: &str, quantity: i64, now: i64) -> Result<Listing>;

    // -- Outbox (see [`job`]) ------------------------------------------------------------------

    /// Enqueues quantities to push, in one transaction (all or nothing, at most
    /// [`job::MAX_ENQUEUE`]), coalesced: a (channel, SKU) with a pending job gets its desired
    /// quantity replaced (newest wins; place in line, attempts and backoff kept); otherwise a
    /// pending job is created, also beside a running one, which is never modified. Entries are
    /// applied in order, so the last of a pair in one batch wins. One [`JobRef`] per entry.
    ///
    /// Errors: [`Error::Validation`] naming the entry (`jobs[3].desired`), [`Error::NotFound`]
    /// for an unknown SKU.
    fn enqueue_jobs(&self, jobs: &[NewJob], now: i64) -> Result<Vec<JobRef>>;

    /// Claims for `owner` (a name unique to this runner's run) up to `limit` (1–
    /// [`job::MAX_CLAIM`]) jobs, of one channel or all, for `claim_seconds` (1–
    /// [`job::MAX_CLAIM_SECONDS`]; longer than a push can take): pending jobs due at `now` whose
    /// (channel, SKU) has no job running, and running jobs whose claim expired (a stopped
    /// runner). Zero-stock and quantity drops (below the listing's last pushed quantity) come
    /// first, then priority jobs, then the oldest. Each claim counts an attempt. Exclusive across
    /// processes: one write transaction reads and claims.
    ///
    /// Before claiming, an expired claim whose pair has a newer pending job is superseded
    /// (failed; the newer job takes over its attempts), and one that used up its attempts dies.
    fn claim_jobs(
        &self,
        owner: &str,
        channel: Option<&str>,
        limit: u32,
        claim_seconds: u32,
        now: i64,
    ) -> Result<Vec<Job>>;

    /// Marks a job `owner` claimed as done and records its desired quantity as pushed on the
    /// listing (for echo suppression and level reports); returns the job. Older dead jobs of the
    /// pair become failed (superseded). An expired claim still counts while nobody took it over.
    ///
    /// Errors: [`Error::NotFound`] (unknown job), [`Error::Conflict`] when `owner` does not hold
    /// the claim (it expired and another runner took it, or the job moved on): nothing is written,
    /// so a late runner never overwrites a newer claim.
    fn complete_job(&self, id: i64, owner: &str, now: i64) -> Result<Job>;

    /// Marks several jobs `owner` claimed as done, as [`LedgerStore::complete_job`] does for
    /// each, in one write transaction; returns one result per id, in order. A job whose claim
    /// was lost ([`Error::Conflict`]) or that does not exist ([`Error::NotFound`]) gets that
    /// error and nothing is written for it; the others are still completed.
    ///
    /// Errors: [`Error::Validation`] for an invalid `owner`; a storage error fails the whole
    /// call and completes none of them.
    fn complete_jobs(&self, ids: &[i64], owner: &str, now: i64) -> Result<Vec<Result<Job>>>;

    /// Completes a pushed batch as [`LedgerStore::complete_jobs`] does and, in the same write
    /// transaction, records on the listing of each job completed the remote id given with it
    /// (taken from any other SKU of the channel that had it, as
    /// [`LedgerStore::upsert_listing_remote_id`] does). A job whose claim was lost gets its error
    /// and its remote id is not recorded. One transaction for the whole batch: a queue runner
    /// calls this once per push.
    ///
    /// Errors: [`Error::Validation`] for an invalid `owner` or remote id (naming the entry,
    /// `completions[3].remote_id`), before anything is written; a storage error fails the whole
    /// call.
    fn complete_pushed(&self, completions: &[Completion], owner: &str, now: i64) -> Result<Vec<Result<Job>>>;

    /// Records a failed push of a job `owner` claimed; returns the job. `error` says why (cleaned
    /// and cut to [`job::MAX_ERROR_CHARS`]). Permanent (`retryable: false`) → dead with the
    /// reason. Retryable with attempts left → pending again after [`Backoff::delay_seconds`]
    /// (never before `retry_after_seconds`); if a newer pending job of the pair exists, this one
    /// is superseded (failed) and the newer one takes over attempts, backoff and error.
    /// Retryable at the attempt limit → dead, "gave up after N attempts: …".
    ///
    /// Errors: as [`LedgerStore::complete_job`], and [`Error::Validation`] for an empty `error`.
    fn fail_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retryable: bool,
        retry_after_seconds: Option<u32>,
        now: i64,
    ) -> Result<Job>;

    /// Gives back every job `owner` holds, unpushed (a runner stopping early): each is due again
    /// with its attempt returned, or superseded by a newer pending job of its pair. Returns how
    /// many were released.
    fn release_claims(&self, owner: &str, now: i64) -> Result<usize>;

    /// The jobs `owner` holds (running, claimed by it) with ids above `after_id`, by id, at most
    /// `limit` (1–[`job::MAX_CLAIM`]): a page (a feed's 25,000 jobs are read a page at a time).
    fn jobs_held_by(&self, owner: &str, after_id: i64, limit: u32) -> Result<Vec<Job>>;

    /// Moves every claim `owner` holds to expire at `now + claim_seconds` (1 s–24 h); returns how
    /// many (a feed's jobs stay held while the channel works on it).
    fn extend_claims(&self, owner: &str, claim_seconds: u32, now: i64) -> Result<usize>;

    /// Starts a feed of `channel` ([`feed`]): in one write transaction, a `submitting` feed and
    /// the hand-over to its owner `feed:<id>` of the jobs of `job_ids` that `from` holds on that
    /// channel (others are left alone and not counted in [`Feed::messages`]), each claim then
    /// expiring at `now + claim_seconds`.
    fn begin_feed(&self, channel: &str, job_ids: &[i64], from: &str, claim_seconds: u32, now: i64) -> Result<Feed>;

    /// Changes feed `id` ([`FeedUpdate`]); [`Error::NotFound`] when there is none.
    fn update_feed(&self, id: i64, update: &FeedUpdate, now: i64) -> Result<Feed>;

    /// The feed with this id.
    fn get_feed(&self, id: i64) -> Result<Option<Feed>>;

    /// Feeds still holding jobs, of one channel or all, oldest first.
    fn live_feeds(&self, channel: Option<&str>) -> Result<Vec<Feed>>;

    /// The newest `limit` (1–1,000) feeds, of one channel or all, newest first.
    fn recent_feeds(&self, channel: Option<&str>, limit: u32) -> Result<Vec<Feed>>;

    /// How many feeds `channel` started at or after `since` (its submission quota).
    fn feeds_started_since(&self, channel: &str, since: i64) -> Result<u32>;

    /// The job with this id, if any.
    fn get_job(&self, id: i64) -> Result<Option<Job>>;

    /// Puts a dead or failed job back in line: pending, due at `now`, attempts reset, same
    /// idempotency key; returns the job that will carry the retry. When a newer pending job of
    /// the pair exists, that one carries it (its attempts reset, due now) and a dead job becomes
    /// failed (superseded): an old quantity is never pushed over a newer one.
    ///
    /// Errors: [`Error::NotFound`], [`Error::Conflict`] for a job that is not dead or failed,
    /// whose pair has a newer job running, done or dead (retry that one), or a failed job whose
    /// newer job is gone (cleared or pruned: its quantity is out of date).
    fn retry_job(&self, id: i64, now: i64) -> Result<Job>;

    /// Retries every dead job, of one channel or all, as [`LedgerStore::retry_job`] (newest
    /// first; those that conflict are skipped). Returns how many left the dead letters.
    fn retry_all(&self, channel: Option<&str>, now: i64) -> Result<usize>;

    /// Deletes the jobs `filter` names (never running ones); returns how many.
    fn clear_jobs(&self, filter: &ClearJobs) -> Result<usize>;

    /// Jobs newest first, paged by id, optionally of one channel and one status.
    fn list_jobs(&self, query: &JobQuery) -> Result<JobPage>;

    /// How many jobs are in each status, of one channel or all.
    fn job_counts(&self, channel: Option<&str>) -> Result<JobCounts>;

    /// Deletes done and failed (superseded) jobs last changed before `older_than` (unix seconds);
    /// returns how many. Dead jobs are kept until an admin retries or clears them.
    fn prune_done_jobs(&self, older_than: i64) -> Result<usize>;

    // -- Sync engine: channels, pacing, runs, drift, state (see [`channel`], [`run`]) ---------

    /// Creates a channel, or updates the one with the same key, and returns it as stored (its id
    /// and `created_at` are kept on update; credentials as [`ChannelInput::credentials`] says).
    ///
    /// Errors: [`Error::Validation`] naming the field, [`Error::NotFound`] for an eligible
    /// location that does not exist.
    fn save_channel(&self, input: &ChannelInput, now: i64) -> Result<ChannelConfig>;

    /// The channel with this key, if any.
    fn channel(&self, key: &str) -> Result<Option<ChannelConfig>>;

    /// Every channel, in the order they were added.
    fn list_channels(&self) -> Result<Vec<ChannelConfig>>;

    /// Deletes a channel, with its listings, its finished jobs and its pacing bucket (a channel
    /// added again later under the same key starts from nothing: an old listing would make the
    /// planner believe the channel already shows a quantity). Returns what was deleted.
    ///
    /// Errors: [`Error::NotFound`]; [`Error::Conflict`] while the channel has pending or running
    /// jobs — deleting would drop pushes silently: disable it and clear its pending jobs first.
    fn delete_channel(&self, key: &str) -> Result<ChannelConfig>;

    /// Takes one call's token from the channel's bucket (`burst` tokens refilled at
    /// `rate_per_second`), shared by every process: 0 means call now; otherwise the milliseconds
    /// to wait before calling. The token is reserved either way, so concurrent runners queue up
    /// behind each other instead of overshooting. `rate_per_second` 0 means no limit (always 0,
    /// nothing stored). One write transaction; `now_ms` is unix milliseconds.
    ///
    /// Errors: [`Error::Validation`] for an empty channel or a rate that is negative or not
    /// finite.
    fn take_pacing_token(&self, channel: &str, rate_per_second: f64, burst: u32, now_ms: i64) -> Result<u64>;

    /// Every listing of these SKUs, on every channel, by SKU then channel (for planning many
    /// SKUs at once). Unknown SKUs have none.
    fn listings_of(&self, skus: &[&str]) -> Result<Vec<Listing>>;

    /// Which of these SKUs are items linked to a product of this store (`product_id` set), in
    /// any order: the local channel is planned for those only.
    fn linked_skus(&self, skus: &[&str]) -> Result<Vec<String>>;

    /// The pending and running jobs of these SKUs, on every channel, by id: what the channels
    /// are about to get (for planning).
    fn open_jobs(&self, skus: &[&str]) -> Result<Vec<Job>>;

    /// A page of one channel's listings, by SKU, after the SKU `after` (for reconciliation).
    /// `limit` is 1–[`MAX_PAGE`].
    fn channel_listings(&self, channel: &str, after: Option<&str>, limit: u32) -> Result<Vec<Listing>>;

    /// A page of the items that have no remote id on `channel` yet (unmapped), by SKU, after the
    /// SKU `after`. `limit` is 1–[`MAX_PAGE`].
    fn unmapped_skus(&self, channel: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>>;

    /// Records that a sync run started; returns it (status running).
    fn start_sync_run(&self, kind: SyncKind, now: i64) -> Result<SyncRun>;

    /// Records the end of a run with its counts: done, or failed when `error` is given (cleaned
    /// and cut to [`run::MAX_RUN_ERROR_CHARS`]). Errors: [`Error::NotFound`];
    /// [`Error::Conflict`] for a run already finished.
    fn finish_sync_run(&self, id: i64, counts: &SyncCounts, error: Option<&str>, now: i64) -> Result<SyncRun>;

    /// Runs newest first, paged by id, optionally of one kind and one status.
    fn list_sync_runs(&self, query: &SyncRunQuery) -> Result<SyncRunPage>;

    /// Runs started in `[since, until)` counted per bucket, every bucket oldest first (empty
    /// ones too): for the dashboard's and the reports' activity charts.
    fn sync_activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityBucket>>;

    /// Runs started in `[since, until)` counted per hour of the site's day (24 buckets, `start`
    /// = the hour 0–23): when failures happen. `bucket_seconds` must be 3,600.
    fn sync_activity_by_hour(&self, query: &ActivityQuery) -> Result<Vec<ActivityBucket>>;

    /// The most frequent error texts of the runs started since `since`: (error, runs, last
    /// started), most frequent first, at most `limit` (1–100).
    fn sync_errors(&self, since: i64, limit: u32) -> Result<Vec<(String, u64, i64)>>;

    /// Deletes finished runs started before `older_than` (unix seconds); returns how many.
    fn prune_sync_runs(&self, older_than: i64) -> Result<usize>;

    /// Appends drift records (at most [`job::MAX_ENQUEUE`] per call, all or nothing); returns
    /// how many. [`Error::Validation`] naming the entry (`drift[2].expected`).
    fn record_drift(&self, records: &[NewDrift], now: i64) -> Result<usize>;

    /// Drift records newest first, paged by id, optionally of one channel and one SKU.
    fn list_drift(&self, query: &DriftQuery) -> Result<DriftPage>;

    /// Deletes drift records found before `older_than` (unix seconds); returns how many.
    fn prune_drift(&self, older_than: i64) -> Result<usize>;

    /// A named value the sync engine keeps between runs (a cursor), if set.
    fn sync_state(&self, name: &str) -> Result<Option<String>>;

    /// Sets a named value (name 1–100 characters, value up to 4000).
    fn set_sync_state(&self, name: &str, value: &str, now: i64) -> Result<()>;

    // -- Message outbox (see [`message`]) --------------------------------------------------------

    /// Enqueues a message unless one with its key exists; returns the stored message and whether
    /// it was created (false: the key was known, nothing changed).
    fn enqueue_message(&self, message: &NewMessage, now: i64) -> Result<(Message, bool)>;

    /// Claims up to `limit` due messages (pending and due, or running with an expired claim)
    /// for `owner` for `claim_seconds`; each claim counts an attempt.
    fn claim_messages(&self, owner: &str, limit: u32, claim_seconds: u32, now: i64) -> Result<Vec<Message>>;

    /// Marks a message `owner` claimed as delivered. [`Error::Conflict`] when `owner` does not
    /// hold the claim.
    fn complete_message(&self, id: i64, owner: &str, now: i64) -> Result<Message>;

    /// Records a failed send: dead when not retryable or out of attempts, else pending after the
    /// backoff (never before `retry_after_seconds`).
    fn fail_message(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retryable: bool,
        retry_after_seconds: Option<u32>,
        now: i64,
    ) -> Result<Message>;

    /// Puts a dead message back in line (attempts reset). [`Error::Conflict`] for another status.
    fn retry_message(&self, id: i64, now: i64) -> Result<Message>;

    /// The message with this unique key (`NewMessage::key`), if any.
    fn find_message(&self, key: &str) -> Result<Option<Message>>;

    /// Messages newest first, of one destination and status or all.
    fn list_messages(&self, query: &MessageQuery) -> Result<MessagePage>;

    /// Deletes delivered messages last changed before `older_than` (unix seconds); returns how
    /// many. Pending, running and dead messages are kept.
    fn prune_done_messages(&self, older_than: i64) -> Result<usize>;
}

impl ItemInput {
    /// The input checked and normalised (texts trimmed), or a validation error naming the field.
    pub fn validated(&self) -> Result<ItemInput> {
        rules::validate_item(self)
    }
}

impl Location {
    /// The location checked and normalised (texts trimmed), or a validation error naming the
    /// field.
    pub fn validated(&self) -> Result<Location> {
        rules::validate_location(self)
    }
}
