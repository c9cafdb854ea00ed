//! How a validated movement resolves against the stored state, for every backend: where and how
//! much it moves, which reservation it settles and what that leaves, what each level becomes.
//! A backend reads the state (the locations, the reservation, the levels) inside its write
//! transaction and writes what these functions decide; the decisions themselves are made once,
//! here, so SQLite and MariaDB cannot drift apart.

use super::rules::{self, At, Leg, Quantities};
use super::{
    Location, LocationStock, Movement, MovementKind, MovementOutcome, MovementRequest, SkuStock, LEDGER_EVENT_PREFIX,
};
use crate::{Error, Result};

/// Prefix (after [`LEDGER_EVENT_PREFIX`]) of the event ids of releases recorded by reservation
/// expiry.
const EXPIRY_PREFIX: &str = "expire:";

/// A reservation as stored.
pub(crate) struct Reservation {
    pub id: String,
    pub sku: String,
    pub location: String,
    pub remaining: i64,
    pub status: String,
    pub expires_at: Option<i64>,
}

/// Where and how much a request moves, resolved against the stored state.
pub(crate) struct Plan {
    pub source: String,
    pub destination: Option<String>,
    pub quantity: i64,
    /// The reservation a release or commit settles.
    pub settles: Option<Reservation>,
}

/// The locations, read at most once per write transaction. Recording never changes them, and
/// the backend's write lock keeps every other connection from changing them meanwhile, so a
/// batch looks them up in memory instead of querying for each movement.
#[derive(Default)]
pub(crate) struct Locations {
    /// Ordered by priority, then code (as [`LedgerStore::list_locations`](super::LedgerStore));
    /// `None` until needed.
    all: Option<Vec<Location>>,
}

impl Locations {
    /// The locations, loaded by `load` the first time.
    pub fn get(&mut self, load: impl FnOnce() -> Result<Vec<Location>>) -> Result<&[Location]> {
        if self.all.is_none() {
            self.all = Some(load()?);
        }
        Ok(self.all.as_deref().unwrap_or_default())
    }
}

/// The location with this code, or [`Error::NotFound`].
fn require<'a>(locations: &'a [Location], code: &str) -> Result<&'a Location> {
    locations
        .iter()
        .find(|location| location.code == code)
        .ok_or_else(|| not_found("location", code))
}

/// The outcome of a request whose event is already `recorded` (its movements, source leg
/// first): the original outcome, replayed, if the content is the same, else [`Error::Conflict`];
/// `None` for a new event. `reservation` reads the reservation a recorded reserve opened, whose
/// expiry is part of the content.
pub(crate) fn replay(
    request: &MovementRequest,
    recorded: Vec<Movement>,
    reservation: impl FnOnce() -> Result<Option<Reservation>>,
) -> Result<Option<MovementOutcome>> {
    if recorded.is_empty() {
        return Ok(None);
    }
    let expires_at = match request.kind {
        MovementKind::Reserve => reservation()?.and_then(|r| r.expires_at),
        _ => None,
    };
    rules::check_same_content(request, &recorded, expires_at)?;
    Ok(Some(MovementOutcome::from_movements(recorded, true)))
}

/// A movement that settles no reservation, against every location (priority, then code order):
/// the source defaults to the first active location; a reservation needs an active one.
pub(crate) fn plan_movement(locations: &[Location], request: &MovementRequest) -> Result<Plan> {
    let source = match &request.location {
        Some(code) => require(locations, code)?.code.clone(),
        None => locations
            .iter()
            .find(|location| location.active)
            .map(|location| location.code.clone())
            .ok_or_else(|| Error::validation("location", "no active location to default to; name one or create one"))?,
    };
    let quantity = request
        .quantity
        .ok_or_else(|| Error::validation("quantity", "is required"))?;
    if request.kind == MovementKind::Reserve && !require(locations, &source)?.active {
        return Err(Error::Conflict(format!(
            "reserve {quantity} of {} at {source}: the location is inactive",
            request.sku
        )));
    }
    let destination = match &request.to_location {
        Some(code) if *code == source => return Err(Error::validation("to_location", "must differ from location")),
        Some(code) => Some(require(locations, code)?.code.clone()),
        None => None,
    };
    Ok(Plan {
        source,
        destination,
        quantity,
        settles: None,
    })
}

/// A release or commit of `held` (the reservation the request names, if stored): the
/// reservation decides the SKU, location and default quantity.
pub(crate) fn plan_settlement(held: Option<Reservation>, request: &MovementRequest) -> Result<Plan> {
    let id = request.reservation.as_deref().unwrap_or_default();
    let held = held.ok_or_else(|| not_found("reservation", id))?;
    let elsewhere = request.location.as_ref().is_some_and(|l| *l != held.location);
    if held.sku != request.sku || elsewhere {
        return Err(Error::validation(
            "reservation",
            format!(
                "reservation {id} holds {} at {}, not {} at {}",
                held.sku,
                held.location,
                request.sku,
                request.location.as_deref().unwrap_or(&held.location)
            ),
        ));
    }
    let kind = request.kind;
    if held.remaining == 0 {
        return Err(Error::Conflict(format!(
            "{kind} of reservation {id}: it is already {}",
            held.status
        )));
    }
    let quantity = request.quantity.unwrap_or(held.remaining);
    if quantity > held.remaining {
        return Err(Error::Conflict(format!(
            "{kind} {quantity} of reservation {id}: only {} remain",
            held.remaining
        )));
    }
    Ok(Plan {
        source: held.location.clone(),
        destination: None,
        quantity,
        settles: Some(held),
    })
}

/// What settling `quantity` of `held` leaves: (remaining, status).
pub(crate) fn settled(held: &Reservation, request: &MovementRequest, quantity: i64) -> (i64, &'static str) {
    let remaining = held.remaining - quantity;
    let status = match (remaining, request.kind) {
        (0, MovementKind::Commit) => "committed",
        // The ledger's own releases (ids under its reserved prefix) come only from expiry.
        (0, _) if request.event_id.starts_with(LEDGER_EVENT_PREFIX) => "expired",
        (0, _) => "released",
        _ => "open",
    };
    (remaining, status)
}

/// One leg applied to the level it moves (`before`): the level after, and the change of on hand.
pub(crate) fn apply_leg(
    request: &MovementRequest,
    leg: Leg,
    location: &str,
    quantity: i64,
    before: Quantities,
) -> Result<(Quantities, i64)> {
    let sku = request.sku.as_str();
    let after = rules::apply(request.kind, leg, before, quantity, At { sku, location })?;
    let delta = after.on_hand.checked_sub(before.on_hand).ok_or_else(|| {
        Error::Conflict(format!(
            "{} {quantity} of {sku} at {location}: the quantity would overflow",
            request.kind
        ))
    })?;
    Ok((after, delta))
}

/// The movement row one leg appends, as written (so an outcome needs no read back): `id` is
/// the backend's to give; `after` and `delta` are [`apply_leg`]'s.
pub(crate) fn movement(
    id: i64,
    request: &MovementRequest,
    location: &str,
    quantity: i64,
    (after, delta): (Quantities, i64),
    now: i64,
) -> Movement {
    // The reservation a row names: its own event for a reserve, else the one it settles.
    let reservation = match request.kind {
        MovementKind::Reserve => Some(request.event_id.clone()),
        _ => request.reservation.clone(),
    };
    Movement {
        id,
        event_id: request.event_id.clone(),
        sku: request.sku.clone(),
        location: location.to_owned(),
        kind: request.kind,
        quantity,
        delta,
        on_hand: after.on_hand,
        reserved: after.reserved,
        incoming: after.incoming,
        reservation,
        origin: request.origin.clone(),
        reference: request.reference.clone(),
        note: request.note.clone(),
        recorded_at: now,
    }
}

/// The release that expires reservation `id` (of `sku` at `location`), under the ledger's own
/// event id for it, so expiring twice records it once.
pub(crate) fn expiry_release(id: String, sku: String, location: String) -> MovementRequest {
    MovementRequest::settle(
        format!("{LEDGER_EVENT_PREFIX}{EXPIRY_PREFIX}{id}"),
        sku,
        MovementKind::Release,
        id,
    )
    .at(location)
    .with_origin("ledger")
    .with_note("reservation expired")
}

/// Overwrites `stock` with a SKU and its levels (`found`: positions in `locations`, and
/// quantities, in order), reusing its strings: once it has grown, a SKU costs no allocation.
pub(crate) fn fill(stock: &mut SkuStock, sku: &str, found: &[(usize, Quantities)], locations: &[Location]) {
    stock.sku.clear();
    stock.sku.push_str(sku);
    let mut count = 0;
    for (position, q) in found {
        let Some(location) = locations.get(*position) else {
            continue;
        };
        let mut code = match stock.levels.get_mut(count) {
            Some(kept) => std::mem::take(&mut kept.location),
            None => String::new(),
        };
        if code != location.code {
            code.clear();
            code.push_str(&location.code);
        }
        let level = LocationStock {
            location: code,
            active: location.active,
            on_hand: q.on_hand,
            reserved: q.reserved,
            incoming: q.incoming,
            available: q.available(),
        };
        match stock.levels.get_mut(count) {
            Some(kept) => *kept = level,
            None => stock.levels.push(level),
        }
        count += 1;
    }
    stock.levels.truncate(count);
    stock.recount();
}

/// Keeps the first `limit` rows and returns the last kept one when more rows followed.
pub(crate) fn next_page<T>(rows: &mut Vec<T>, limit: u32) -> Option<&T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last()
}

/// [`Error::NotFound`] for `what` with this key.
pub(crate) fn not_found(what: &'static str, key: &str) -> Error {
    Error::NotFound {
        what,
        key: key.to_owned(),
    }
}
