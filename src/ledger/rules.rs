//! What a movement may do, independent of storage: input validation, the change each kind makes
//! to a stock level, and the "same event, same content" check behind idempotent replays. Every
//! backend calls these, so SQLite and a later MariaDB store follow exactly the same rules.

use super::{
    AlertThresholds, ItemInput, Location, Movement, MovementKind, MovementRequest, LEDGER_EVENT_PREFIX,
    MAX_EVENT_ID_CHARS, MAX_QUANTITY, MAX_SKU_CHARS,
};
use crate::{Error, Result};

/// Longest location code, in characters.
pub(super) const MAX_LOCATION_CHARS: usize = 50;
/// Longest item or location name, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Longest origin, in characters.
const MAX_ORIGIN_CHARS: usize = 100;
/// Longest reference or supplier, in characters.
pub(super) const MAX_REFERENCE_CHARS: usize = 200;
/// Longest note, in characters.
const MAX_NOTE_CHARS: usize = 1000;
/// Longest lead time, in days (ten years).
const MAX_LEAD_TIME_DAYS: i64 = 3650;

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// A required single-line text: trimmed, 1–`max` characters, no control characters.
pub(super) fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::validation(field, "is required"));
    }
    single_line(field, value, max)
}

/// An optional single-line text; empty after trimming counts as absent.
pub(super) fn optional(field: &str, value: Option<&String>, max: usize) -> Result<Option<String>> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(v) => single_line(field, v, max).map(Some),
        None => Ok(None),
    }
}

fn single_line(field: &str, value: &str, max: usize) -> Result<String> {
    let chars = value.chars().count();
    if chars > max {
        return Err(Error::validation(
            field,
            format!("must be at most {max} characters, got {chars}"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::validation(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A free note: trimmed, up to `MAX_NOTE_CHARS`, line breaks and tabs allowed.
fn note(value: Option<&String>) -> Result<Option<String>> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(value) => multi_line("note", value, MAX_NOTE_CHARS).map(Some),
        None => Ok(None),
    }
}

/// A free text: trimmed, up to `max` characters, line breaks and tabs allowed; may be empty.
pub(super) fn multi_line(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars > max {
        return Err(Error::validation(
            field,
            format!("must be at most {max} characters, got {chars}"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Error::validation(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

pub(super) fn in_range(field: &str, value: i64, min: i64, max: i64) -> Result<i64> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Error::validation(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ))
    }
}

fn optional_in_range(field: &str, value: Option<i64>, min: i64, max: i64) -> Result<Option<i64>> {
    value.map(|v| in_range(field, v, min, max)).transpose()
}

/// A SKU as stored: trimmed, 1–100 characters, case kept.
pub(crate) fn sku(field: &str, value: &str) -> Result<String> {
    required(field, value, MAX_SKU_CHARS)
}

/// Checks and normalises a movement request. Depends on nothing but the request.
pub(crate) fn validate_request(r: &MovementRequest) -> Result<MovementRequest> {
    let event_id = required("event_id", &r.event_id, MAX_EVENT_ID_CHARS)?;
    if event_id.starts_with(LEDGER_EVENT_PREFIX) {
        return Err(Error::validation(
            "event_id",
            format!("ids starting with {LEDGER_EVENT_PREFIX:?} are reserved for the ledger's own events"),
        ));
    }
    let valid = MovementRequest {
        event_id,
        sku: sku("sku", &r.sku)?,
        kind: r.kind,
        quantity: quantity(r.kind, r.quantity)?,
        location: optional("location", r.location.as_ref(), MAX_LOCATION_CHARS)?,
        to_location: optional("to_location", r.to_location.as_ref(), MAX_LOCATION_CHARS)?,
        reservation: optional("reservation", r.reservation.as_ref(), MAX_EVENT_ID_CHARS)?,
        origin: optional("origin", r.origin.as_ref(), MAX_ORIGIN_CHARS)?,
        reference: optional("reference", r.reference.as_ref(), MAX_REFERENCE_CHARS)?,
        note: note(r.note.as_ref())?,
        expires_at: r.expires_at,
    };
    check_kind_fields(&valid)?;
    Ok(valid)
}

fn quantity(kind: MovementKind, quantity: Option<i64>) -> Result<Option<i64>> {
    let min = if kind.is_absolute() { 0 } else { 1 };
    match quantity {
        Some(q) => in_range("quantity", q, min, MAX_QUANTITY).map(Some),
        None if kind.settles_reservation() => Ok(None),
        None => Err(Error::validation("quantity", format!("is required for a {kind}"))),
    }
}

/// The fields that only some kinds take.
fn check_kind_fields(r: &MovementRequest) -> Result<()> {
    match (r.kind, &r.to_location) {
        (MovementKind::Transfer, None) => {
            return Err(Error::validation("to_location", "is required for a transfer"));
        }
        (MovementKind::Transfer, Some(to)) if r.location.as_ref() == Some(to) => {
            return Err(Error::validation("to_location", "must differ from location"));
        }
        (MovementKind::Transfer, Some(_)) | (_, None) => {}
        (kind, Some(_)) => {
            return Err(Error::validation(
                "to_location",
                format!("only a transfer has a destination, not a {kind}"),
            ));
        }
    }
    match (r.kind.settles_reservation(), &r.reservation) {
        (true, None) => {
            return Err(Error::validation(
                "reservation",
                format!("a {} needs the id of the reservation it settles", r.kind),
            ));
        }
        (false, Some(_)) => {
            return Err(Error::validation(
                "reservation",
                "only release and commit refer to a reservation",
            ));
        }
        _ => {}
    }
    match (r.kind, r.expires_at) {
        (MovementKind::Reserve, Some(t)) if t <= 0 => Err(Error::validation(
            "expires_at",
            format!("must be a unix time in seconds, got {t}"),
        )),
        (MovementKind::Reserve, _) | (_, None) => Ok(()),
        (kind, Some(_)) => Err(Error::validation(
            "expires_at",
            format!("only a reservation can expire, not a {kind}"),
        )),
    }
}

/// Checks and normalises an item.
pub(crate) fn validate_item(item: &ItemInput) -> Result<ItemInput> {
    Ok(ItemInput {
        sku: sku("sku", &item.sku)?,
        name: required("name", &item.name, MAX_NAME_CHARS)?,
        product_id: optional_in_range("product_id", item.product_id, 1, i64::MAX)?,
        thresholds: item.thresholds.map(thresholds).transpose()?,
        lead_time_days: optional_in_range("lead_time_days", item.lead_time_days, 0, MAX_LEAD_TIME_DAYS)?,
        moq: optional_in_range("moq", item.moq, 1, MAX_QUANTITY)?,
        pack_size: optional_in_range("pack_size", item.pack_size, 1, MAX_QUANTITY)?,
        supplier: optional("supplier", item.supplier.as_ref(), MAX_REFERENCE_CHARS)?,
    })
}

fn thresholds(t: AlertThresholds) -> Result<AlertThresholds> {
    for value in [t.critical, t.low, t.warning] {
        in_range("thresholds", value, 0, MAX_QUANTITY)?;
    }
    if t.critical <= t.low && t.low <= t.warning {
        Ok(t)
    } else {
        Err(Error::validation(
            "thresholds",
            format!(
                "must satisfy critical ≤ low ≤ warning, got {}/{}/{}",
                t.critical, t.low, t.warning
            ),
        ))
    }
}

/// Checks and normalises a location.
pub(crate) fn validate_location(location: &Location) -> Result<Location> {
    Ok(Location {
        code: required("code", &location.code, MAX_LOCATION_CHARS)?,
        name: required("name", &location.name, MAX_NAME_CHARS)?,
        priority: in_range("priority", location.priority, -MAX_QUANTITY, MAX_QUANTITY)?,
        active: location.active,
    })
}

/// A list of texts as every backend stores it: a JSON array.
pub(crate) fn encode_list(list: &[String]) -> Result<String> {
    serde_json::to_string(list).map_err(|e| Error::ledger("cannot encode a list for the ledger", e))
}

/// A stored list of texts ([`encode_list`]).
pub(crate) fn decode_list(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| Error::ledger("cannot read a list stored in the ledger", e))
}

/// Refuses a batch of more than [`MAX_BATCH`](super::MAX_BATCH) movements, whole.
pub(crate) fn batch_size(len: usize) -> Result<()> {
    if len > super::MAX_BATCH {
        return Err(Error::validation(
            "requests",
            format!("at most {} movements per batch, got {len}", super::MAX_BATCH),
        ));
    }
    Ok(())
}

/// Checks a page size.
pub(crate) fn page_limit(limit: u32) -> Result<u32> {
    if (1..=super::MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::validation(
            "limit",
            format!("must be between 1 and {}, got {limit}", super::MAX_PAGE),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// What each kind does to a stock level
// ---------------------------------------------------------------------------------------------

/// The quantities of one SKU at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Quantities {
    pub on_hand: i64,
    pub reserved: i64,
    pub incoming: i64,
}

impl Quantities {
    /// `max(0, on_hand − reserved)`.
    pub fn available(self) -> i64 {
        super::available(self.on_hand, self.reserved)
    }
}

/// Which side of a movement a stock level is on. Only a transfer has a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leg {
    Source,
    Destination,
}

impl Leg {
    /// The leg's number as stored (0 for the source, 1 for a transfer's destination).
    pub fn number(self) -> i64 {
        match self {
            Leg::Source => 0,
            Leg::Destination => 1,
        }
    }
}

/// Where a movement applies, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a> {
    pub sku: &'a str,
    pub location: &'a str,
}

/// The level after a movement of `kind` and `quantity`, or [`Error::Conflict`] when a guarded
/// request cannot be met. Facts are never refused (short of arithmetic overflow).
pub(crate) fn apply(kind: MovementKind, leg: Leg, before: Quantities, quantity: i64, at: At<'_>) -> Result<Quantities> {
    let overflow = || {
        Error::Conflict(format!(
            "{kind} {quantity} of {} at {}: the quantity would overflow",
            at.sku, at.location
        ))
    };
    let add = |value: i64, by: i64| value.checked_add(by).ok_or_else(overflow);
    let mut after = before;
    match (kind, leg) {
        (MovementKind::Sale, _) | (MovementKind::Transfer, Leg::Source) => {
            after.on_hand = add(before.on_hand, -quantity)?
        }
        (MovementKind::Return | MovementKind::Receive, _) | (MovementKind::Transfer, Leg::Destination) => {
            after.on_hand = add(before.on_hand, quantity)?;
        }
        (MovementKind::Adjustment, _) => after.on_hand = quantity,
        (MovementKind::Incoming, _) => after.incoming = quantity,
        (MovementKind::Reserve, _) => {
            let available = before.available();
            if available < quantity {
                return Err(Error::Conflict(format!(
                    "reserve {quantity} of {} at {}: only {available} available",
                    at.sku, at.location
                )));
            }
            after.reserved = add(before.reserved, quantity)?;
        }
        (MovementKind::Release | MovementKind::Commit, _) => {
            if before.reserved < quantity {
                return Err(Error::Conflict(format!(
                    "{kind} {quantity} of {} at {}: only {} reserved",
                    at.sku, at.location, before.reserved
                )));
            }
            after.reserved = before.reserved - quantity;
            if kind == MovementKind::Commit {
                after.on_hand = add(before.on_hand, -quantity)?;
            }
        }
    }
    Ok(after)
}

// ---------------------------------------------------------------------------------------------
// Idempotency: the same event must carry the same content
// ---------------------------------------------------------------------------------------------

/// Succeeds when `request` (validated) describes the event already recorded as `recorded`
/// (its movements, source first) and, for a reservation, `expires_at`. Fields the request leaves
/// to a default (location, a settlement's quantity) match whatever was resolved then.
pub(crate) fn check_same_content(
    request: &MovementRequest,
    recorded: &[Movement],
    expires_at: Option<i64>,
) -> Result<()> {
    let Some(first) = recorded.first() else {
        return Err(Error::Ledger {
            message: format!("event {} has no movements", request.event_id),
            source: None,
        });
    };
    let destination = recorded.get(1).map(|m| m.location.as_str());
    let mut different = Vec::new();
    if request.kind != first.kind {
        different.push("kind");
    }
    if request.sku != first.sku {
        different.push("sku");
    }
    if request.quantity.is_some_and(|q| q != first.quantity) {
        different.push("quantity");
    }
    if request.location.as_ref().is_some_and(|l| *l != first.location) {
        different.push("location");
    }
    if request.to_location.as_deref() != destination {
        different.push("to_location");
    }
    if request.reservation.is_some() && request.reservation != first.reservation {
        different.push("reservation");
    }
    if request.kind == MovementKind::Reserve && request.expires_at != expires_at {
        different.push("expires_at");
    }
    if different.is_empty() {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "event {} was already recorded as {}; this request differs in {}, so nothing was changed",
        request.event_id,
        describe(recorded),
        different.join(", ")
    )))
}

/// "sale of 3 × A at WH1", "transfer of 2 × A from WH1 to WH2".
fn describe(recorded: &[Movement]) -> String {
    match recorded {
        [from, to, ..] => format!(
            "{} of {} × {} from {} to {}",
            from.kind, from.quantity, from.sku, from.location, to.location
        ),
        [only] => format!("{} of {} × {} at {}", only.kind, only.quantity, only.sku, only.location),
        [] => "nothing".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn level(on_hand: i64, reserved: i64, incoming: i64) -> Quantities {
        Quantities {
            on_hand,
            reserved,
            incoming,
        }
    }

    fn check(kind: MovementKind, leg: Leg, before: Quantities, quantity: i64, expected: Result<Quantities, &str>) {
        let got = apply(
            kind,
            leg,
            before,
            quantity,
            At {
                sku: "A",
                location: "WH1",
            },
        );
        match (got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{kind} {quantity} on {before:?}"),
            (Err(got), Err(want)) => {
                assert_eq!(got.kind(), ErrorKind::Conflict, "{got}");
                assert_eq!(got.to_string(), want);
            }
            (got, want) => panic!("{kind} {quantity} on {before:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn what_each_kind_does_to_a_level() {
        use Leg::*;
        use MovementKind::*;
        check(Sale, Source, level(5, 0, 0), 3, Ok(level(2, 0, 0)));
        check(Sale, Source, level(2, 1, 0), 5, Ok(level(-3, 1, 0)));
        check(Return, Source, level(-3, 0, 0), 4, Ok(level(1, 0, 0)));
        check(Receive, Source, level(1, 0, 7), 10, Ok(level(11, 0, 7)));
        check(Adjustment, Source, level(11, 2, 0), 4, Ok(level(4, 2, 0)));
        check(Adjustment, Source, level(-2, 0, 0), 0, Ok(level(0, 0, 0)));
        check(Incoming, Source, level(3, 0, 9), 20, Ok(level(3, 0, 20)));
        check(Reserve, Source, level(5, 2, 0), 3, Ok(level(5, 5, 0)));
        check(
            Reserve,
            Source,
            level(5, 2, 0),
            4,
            Err("reserve 4 of A at WH1: only 3 available"),
        );
        check(
            Reserve,
            Source,
            level(-1, 0, 0),
            1,
            Err("reserve 1 of A at WH1: only 0 available"),
        );
        check(Release, Source, level(5, 5, 0), 2, Ok(level(5, 3, 0)));
        check(
            Release,
            Source,
            level(5, 1, 0),
            2,
            Err("release 2 of A at WH1: only 1 reserved"),
        );
        check(Commit, Source, level(5, 5, 0), 2, Ok(level(3, 3, 0)));
        check(Transfer, Source, level(5, 0, 0), 2, Ok(level(3, 0, 0)));
        check(Transfer, Destination, level(0, 0, 0), 2, Ok(level(2, 0, 0)));
        check(
            Receive,
            Source,
            level(i64::MAX, 0, 0),
            1,
            Err("receive 1 of A at WH1: the quantity would overflow"),
        );
    }

    fn request_error(request: MovementRequest) -> Option<(String, String)> {
        match request.validated() {
            Ok(_) => None,
            Err(Error::Validation { field, message }) => Some((field, message)),
            Err(other) => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn request_validation_names_the_field() {
        use MovementKind::*;
        let sale = |q| MovementRequest::new("e1", "A", Sale, q);
        let cases: Vec<(MovementRequest, Option<&str>, &str)> = vec![
            (sale(1), None, ""),
            (sale(1).at(" WH1 ").with_note("line 1\nline 2"), None, ""),
            (
                MovementRequest::new("  ", "A", Sale, 1),
                Some("event_id"),
                "is required",
            ),
            (
                MovementRequest::new("e".repeat(201), "A", Sale, 1),
                Some("event_id"),
                "at most 200",
            ),
            (
                MovementRequest::new("ledger:expire:r1", "A", Sale, 1),
                Some("event_id"),
                "reserved",
            ),
            (MovementRequest::new("e1", "", Sale, 1), Some("sku"), "is required"),
            (
                MovementRequest::new("e1", "A".repeat(101), Sale, 1),
                Some("sku"),
                "at most 100",
            ),
            (MovementRequest::new("e1", "A\u{0}", Sale, 1), Some("sku"), "control"),
            (sale(0), Some("quantity"), "between 1 and 1000000000, got 0"),
            (sale(-4), Some("quantity"), "got -4"),
            (sale(1_000_000_001), Some("quantity"), "got 1000000001"),
            (
                MovementRequest {
                    quantity: None,
                    ..sale(1)
                },
                Some("quantity"),
                "is required for a sale",
            ),
            (MovementRequest::new("e1", "A", Adjustment, 0), None, ""),
            (
                MovementRequest::new("e1", "A", Incoming, -1),
                Some("quantity"),
                "between 0 and",
            ),
            (
                MovementRequest::new("e1", "A", Transfer, 1),
                Some("to_location"),
                "required for a transfer",
            ),
            (
                MovementRequest::new("e1", "A", Transfer, 1).at("WH1").to("WH1"),
                Some("to_location"),
                "must differ",
            ),
            (sale(1).to("WH2"), Some("to_location"), "only a transfer"),
            (
                MovementRequest {
                    quantity: None,
                    ..MovementRequest::new("e1", "A", Release, 1)
                },
                Some("reservation"),
                "needs the id",
            ),
            (MovementRequest::settle("e1", "A", Commit, "r1"), None, ""),
            (
                MovementRequest::settle("e1", "A", Commit, "r1").with_quantity(0),
                Some("quantity"),
                "between 1",
            ),
            (
                sale(1).for_reservation("r1"),
                Some("reservation"),
                "only release and commit",
            ),
            (sale(1).expiring_at(100), Some("expires_at"), "only a reservation"),
            (
                MovementRequest::new("e1", "A", Reserve, 1).expiring_at(0),
                Some("expires_at"),
                "unix time",
            ),
            (MovementRequest::new("e1", "A", Reserve, 1).expiring_at(100), None, ""),
            (sale(1).at("W".repeat(51)), Some("location"), "at most 50"),
            (sale(1).with_origin("o".repeat(101)), Some("origin"), "at most 100"),
            (sale(1).with_reference("r\u{7}"), Some("reference"), "control"),
            (sale(1).with_note("n".repeat(1001)), Some("note"), "at most 1000"),
        ];
        for (request, field, fragment) in cases {
            let got = request_error(request.clone());
            match (got, field) {
                (None, None) => {}
                (Some((got_field, message)), Some(want_field)) => {
                    assert_eq!(got_field, want_field, "{request:?}: {message}");
                    assert!(
                        message.contains(fragment),
                        "{request:?}: {message:?} lacks {fragment:?}"
                    );
                }
                (got, want) => panic!("{request:?}: got {got:?}, want error on {want:?}"),
            }
        }
    }

    #[test]
    fn validation_normalises_texts() {
        let request = MovementRequest::new(" e1 ", " A ", MovementKind::Sale, 1)
            .at(" WH1 ")
            .with_origin("  ")
            .with_note(" hello ");
        let valid = request.validated().unwrap();
        assert_eq!((valid.event_id.as_str(), valid.sku.as_str()), ("e1", "A"));
        assert_eq!(valid.location.as_deref(), Some("WH1"));
        assert_eq!(valid.origin, None);
        assert_eq!(valid.note.as_deref(), Some("hello"));
    }

    #[test]
    fn kinds_parse_and_print() {
        for kind in MovementKind::ALL {
            assert_eq!(MovementKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert_eq!(MovementKind::parse(" Restock ").unwrap(), MovementKind::Receive);
        let error = MovementKind::parse("steal").unwrap_err();
        assert!(
            matches!(&error, Error::Validation { field, .. } if field == "kind"),
            "{error}"
        );
    }

    #[test]
    fn item_and_location_validation_names_the_field() {
        let item = ItemInput {
            sku: " A-1 ".into(),
            name: "Mug".into(),
            ..ItemInput::default()
        };
        assert_eq!(item.validated().unwrap().sku, "A-1");
        let bad_items: Vec<(ItemInput, &str)> = vec![
            (
                ItemInput {
                    sku: "".into(),
                    ..item.clone()
                },
                "sku",
            ),
            (
                ItemInput {
                    name: " ".into(),
                    ..item.clone()
                },
                "name",
            ),
            (
                ItemInput {
                    product_id: Some(0),
                    ..item.clone()
                },
                "product_id",
            ),
            (
                ItemInput {
                    thresholds: Some(AlertThresholds {
                        critical: 9,
                        low: 5,
                        warning: 30,
                    }),
                    ..item.clone()
                },
                "thresholds",
            ),
            (
                ItemInput {
                    thresholds: Some(AlertThresholds {
                        critical: -1,
                        low: 5,
                        warning: 30,
                    }),
                    ..item.clone()
                },
                "thresholds",
            ),
            (
                ItemInput {
                    lead_time_days: Some(-1),
                    ..item.clone()
                },
                "lead_time_days",
            ),
            (
                ItemInput {
                    moq: Some(0),
                    ..item.clone()
                },
                "moq",
            ),
            (
                ItemInput {
                    pack_size: Some(2_000_000_000),
                    ..item.clone()
                },
                "pack_size",
            ),
            (
                ItemInput {
                    supplier: Some("s".repeat(201)),
                    ..item.clone()
                },
                "supplier",
            ),
        ];
        for (input, field) in bad_items {
            let error = input.validated().unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field: f, .. } if f == field),
                "{input:?}: {error}"
            );
        }
        let location = Location {
            code: "WH1".into(),
            name: "Main".into(),
            priority: 1,
            active: true,
        };
        let bad_locations: Vec<(Location, &str)> = vec![
            (
                Location {
                    code: "".into(),
                    ..location.clone()
                },
                "code",
            ),
            (
                Location {
                    name: "".into(),
                    ..location.clone()
                },
                "name",
            ),
            (
                Location {
                    priority: i64::MAX,
                    ..location.clone()
                },
                "priority",
            ),
        ];
        for (input, field) in bad_locations {
            let error = input.validated().unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field: f, .. } if f == field),
                "{input:?}: {error}"
            );
        }
    }
}
