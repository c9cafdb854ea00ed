//! Items, locations, stock levels and movements on MariaDB/MySQL: the SQL of the stock methods.
//! The decisions (planning, settling, applying a leg) are [`plan`]'s and `rules`', shared with
//! SQLite.
//!
//! Every transaction that writes movements or locations takes the movement lock first
//! ([`Head::lock`]); under it the idempotency check, the locations read once per transaction and
//! the movement ids are exact, as under SQLite's single writer.

use mysql::prelude::FromValue;
use mysql::{params, Row};

use super::Tx;
use crate::error::{ErrorKind, MySqlFailure};
use crate::ledger::plan::{self, next_page, not_found, Locations, Plan, Reservation};
use crate::ledger::rules::{Leg, Quantities};
use crate::ledger::{
    AlertThresholds, ChangedSkus, HistoryPage, HistoryQuery, Item, ItemInput, ItemPage, ItemQuery, Location,
    LocationStock, Movement, MovementKind, MovementOutcome, MovementRequest, SkuStock,
};
use crate::{Error, Result};

const ITEM_COLUMNS: &str = "sku, name, product_id, alert_critical, alert_low, alert_warning, lead_time_days, moq, \
                            pack_size, supplier, oversold, created_at, updated_at";

const MOVEMENT_COLUMNS: &str = "id, event_id, sku, location, kind, quantity, delta, on_hand, reserved, incoming, \
                                reservation, origin, reference, note, recorded_at";

/// Column `index` of a row, converted.
pub(super) fn column<T: FromValue>(row: &mut Row, index: usize) -> Result<T> {
    match row.take_opt::<T, usize>(index) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(Error::ledger(
            format!("cannot read column {index} of a ledger row"),
            mysql::Error::FromValueError(e.0),
        )),
        None => Err(Error::Ledger {
            message: format!("a ledger row has no column {index}"),
            source: None,
        }),
    }
}

fn item_from_row(mut row: Row) -> Result<Item> {
    let critical: Option<i64> = column(&mut row, 3)?;
    let low: Option<i64> = column(&mut row, 4)?;
    let warning: Option<i64> = column(&mut row, 5)?;
    let thresholds = match (critical, low, warning) {
        (Some(critical), Some(low), Some(warning)) => Some(AlertThresholds { critical, low, warning }),
        _ => None,
    };
    Ok(Item {
        sku: column(&mut row, 0)?,
        name: column(&mut row, 1)?,
        product_id: column(&mut row, 2)?,
        thresholds,
        lead_time_days: column(&mut row, 6)?,
        moq: column(&mut row, 7)?,
        pack_size: column(&mut row, 8)?,
        supplier: column(&mut row, 9)?,
        oversold: column(&mut row, 10)?,
        created_at: column(&mut row, 11)?,
        updated_at: column(&mut row, 12)?,
    })
}

fn movement_from_row(mut row: Row) -> Result<Movement> {
    let kind: String = column(&mut row, 4)?;
    Ok(Movement {
        id: column(&mut row, 0)?,
        event_id: column(&mut row, 1)?,
        sku: column(&mut row, 2)?,
        location: column(&mut row, 3)?,
        kind: MovementKind::parse(&kind)?,
        quantity: column(&mut row, 5)?,
        delta: column(&mut row, 6)?,
        on_hand: column(&mut row, 7)?,
        reserved: column(&mut row, 8)?,
        incoming: column(&mut row, 9)?,
        reservation: column(&mut row, 10)?,
        origin: column(&mut row, 11)?,
        reference: column(&mut row, 12)?,
        note: column(&mut row, 13)?,
        recorded_at: column(&mut row, 14)?,
    })
}

fn location_from_row(mut row: Row) -> Result<Location> {
    Ok(Location {
        code: column(&mut row, 0)?,
        name: column(&mut row, 1)?,
        priority: column(&mut row, 2)?,
        active: column(&mut row, 3)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Items and locations
// ---------------------------------------------------------------------------------------------

pub(super) fn upsert_item(tx: &mut Tx<'_>, item: &ItemInput, now: i64) -> Result<Item> {
    let t = item.thresholds;
    tx.exec_drop(
        "INSERT INTO {p}items (sku, name, product_id, alert_critical, alert_low, alert_warning, lead_time_days,
                               moq, pack_size, supplier, oversold, created_at, updated_at)
         VALUES (:sku, :name, :product_id, :critical, :low, :warning, :lead_time_days, :moq, :pack_size,
                 :supplier, 0, :now, :now)
         ON DUPLICATE KEY UPDATE name = VALUES(name), product_id = VALUES(product_id),
             alert_critical = VALUES(alert_critical), alert_low = VALUES(alert_low),
             alert_warning = VALUES(alert_warning), lead_time_days = VALUES(lead_time_days),
             moq = VALUES(moq), pack_size = VALUES(pack_size), supplier = VALUES(supplier),
             updated_at = VALUES(updated_at)",
        params! {
            "sku" => &item.sku,
            "name" => &item.name,
            "product_id" => item.product_id,
            "critical" => t.map(|t| t.critical),
            "low" => t.map(|t| t.low),
            "warning" => t.map(|t| t.warning),
            "lead_time_days" => item.lead_time_days,
            "moq" => item.moq,
            "pack_size" => item.pack_size,
            "supplier" => &item.supplier,
            "now" => now,
        },
    )?;
    find_item(tx, &item.sku)?.ok_or_else(|| not_found("sku", &item.sku))
}

pub(super) fn find_item(tx: &mut Tx<'_>, sku: &str) -> Result<Option<Item>> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM {{p}}items WHERE sku = ?");
    tx.exec_first::<Row>(&sql, (sku,))?.map(item_from_row).transpose()
}

pub(super) fn list_items(tx: &mut Tx<'_>, query: &ItemQuery, limit: u32) -> Result<ItemPage> {
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let after = query.after.as_deref().map(str::trim).filter(|s| !s.is_empty());
    // The name prefix compares lowercased: Unicode-aware here, where SQLite folds ASCII only.
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM {{p}}items
         WHERE (:after IS NULL OR sku > :after)
           AND (:search IS NULL OR LEFT(sku, CHAR_LENGTH(:search)) = :search
                OR LOWER(LEFT(name, CHAR_LENGTH(:search))) = LOWER(:search))
         ORDER BY sku LIMIT :fetch"
    );
    let rows: Vec<Row> = tx.exec(
        &sql,
        params! { "after" => after, "search" => search, "fetch" => i64::from(limit) + 1 },
    )?;
    let mut items = rows.into_iter().map(item_from_row).collect::<Result<Vec<_>>>()?;
    let next_after = next_page(&mut items, limit).map(|last| last.sku.clone());
    Ok(ItemPage { items, next_after })
}

fn item_exists(tx: &mut Tx<'_>, sku: &str) -> Result<bool> {
    Ok(tx
        .exec_first::<i64>("SELECT 1 FROM {p}items WHERE sku = ?", (sku,))?
        .is_some())
}

pub(super) fn require_item(tx: &mut Tx<'_>, sku: &str) -> Result<()> {
    if item_exists(tx, sku)? {
        Ok(())
    } else {
        Err(not_found("sku", sku))
    }
}

pub(super) fn location_exists(tx: &mut Tx<'_>, code: &str) -> Result<bool> {
    Ok(tx
        .exec_first::<i64>("SELECT 1 FROM {p}locations WHERE code = ?", (code,))?
        .is_some())
}

pub(super) fn upsert_location(tx: &mut Tx<'_>, location: &Location, now: i64) -> Result<Location> {
    // Under the movement lock: a batch recording meanwhile keeps the locations it read.
    Head::lock(tx)?;
    tx.exec_drop(
        "INSERT INTO {p}locations (code, name, priority, active, created_at, updated_at)
         VALUES (:code, :name, :priority, :active, :now, :now)
         ON DUPLICATE KEY UPDATE name = VALUES(name), priority = VALUES(priority), active = VALUES(active),
             updated_at = VALUES(updated_at)",
        params! {
            "code" => &location.code,
            "name" => &location.name,
            "priority" => location.priority,
            "active" => location.active,
            "now" => now,
        },
    )?;
    Ok(location.clone())
}

/// Every location, ordered by priority, then code.
pub(super) fn all_locations(tx: &mut Tx<'_>) -> Result<Vec<Location>> {
    let rows: Vec<Row> = tx.exec(
        "SELECT code, name, priority, active FROM {p}locations ORDER BY priority, code",
        (),
    )?;
    rows.into_iter().map(location_from_row).collect()
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

/// The movement lock, held until the transaction ends, and the last movement id given out.
struct Head {
    last_movement_id: i64,
    /// The id stored in the row, to write back only a change.
    stored: i64,
}

impl Head {
    /// Takes the movement lock: waits for any other movement writer to commit or roll back.
    fn lock(tx: &mut Tx<'_>) -> Result<Head> {
        let last: Option<i64> = tx.exec_first(
            "SELECT last_movement_id FROM {p}ledger_head WHERE id = 1 FOR UPDATE",
            (),
        )?;
        let last = last.ok_or_else(|| Error::Ledger {
            message: "the ledger_head row is missing; the schema is damaged".into(),
            source: None,
        })?;
        Ok(Head {
            last_movement_id: last,
            stored: last,
        })
    }

    /// The id of the next movement row.
    fn next_id(&mut self) -> i64 {
        self.last_movement_id += 1;
        self.last_movement_id
    }

    /// Writes the last id given out back, before the transaction commits.
    fn save(&self, tx: &mut Tx<'_>) -> Result<()> {
        if self.last_movement_id != self.stored {
            tx.exec_drop(
                "UPDATE {p}ledger_head SET last_movement_id = ? WHERE id = 1",
                (self.last_movement_id,),
            )?;
        }
        Ok(())
    }
}

pub(super) fn record(tx: &mut Tx<'_>, request: &MovementRequest, now: i64) -> Result<MovementOutcome> {
    let mut head = Head::lock(tx)?;
    let outcome = record_entry(tx, &mut head, &mut Locations::default(), request, now)??;
    head.save(tx)?;
    Ok(outcome)
}

pub(super) fn record_batch(
    tx: &mut Tx<'_>,
    requests: &[MovementRequest],
    now: i64,
) -> Result<Vec<Result<MovementOutcome>>> {
    let mut head = Head::lock(tx)?;
    let mut locations = Locations::default();
    let outcomes = requests
        .iter()
        .map(|request| match request.validated() {
            Ok(request) => record_entry(tx, &mut head, &mut locations, &request, now),
            Err(error) => Ok(Err(error)),
        })
        .collect::<Result<Vec<_>>>()?;
    head.save(tx)?;
    Ok(outcomes)
}

/// One validated request inside a savepoint, so a refusal undoes only itself (a transfer's first
/// leg). A storage failure ends the whole transaction. A duplicate key on the movements (the
/// event was recorded meanwhile, which the movement lock should rule out) undoes the entry and
/// runs it again, which then finds the event and replays it.
fn record_entry(
    tx: &mut Tx<'_>,
    head: &mut Head,
    locations: &mut Locations,
    request: &MovementRequest,
    now: i64,
) -> Result<Result<MovementOutcome>> {
    let mut tries = 0;
    loop {
        tries += 1;
        let before = head.last_movement_id;
        // A savepoint of the same name replaces the last entry's (no RELEASE round trip); the
        // commit ends them all.
        tx.query_drop("SAVEPOINT batch_entry")?;
        match record_in(tx, head, locations, request, now) {
            Ok(outcome) => return Ok(Ok(outcome)),
            Err(error) if error.mysql_failure() == Some(MySqlFailure::DuplicateKey) && tries < 2 => {
                tx.query_drop("ROLLBACK TO SAVEPOINT batch_entry")?;
                head.last_movement_id = before;
            }
            Err(error) if error.kind() == ErrorKind::Ledger => return Err(error),
            Err(error) => {
                tx.query_drop("ROLLBACK TO SAVEPOINT batch_entry")?;
                head.last_movement_id = before;
                return Ok(Err(error));
            }
        }
    }
}

/// Records a validated request under the movement lock: the idempotency check, the plan, the
/// legs, the reservation, the oversold flag.
fn record_in(
    tx: &mut Tx<'_>,
    head: &mut Head,
    locations: &mut Locations,
    request: &MovementRequest,
    now: i64,
) -> Result<MovementOutcome> {
    let recorded = event_movements(tx, &request.event_id)?;
    if let Some(replay) = plan::replay(request, recorded, || reservation(tx, &request.event_id, false))? {
        return Ok(replay);
    }
    require_item(tx, &request.sku)?;
    let plan = if request.kind.settles_reservation() {
        let id = request.reservation.as_deref().unwrap_or_default();
        plan::plan_settlement(reservation(tx, id, true)?, request)?
    } else {
        plan::plan_movement(locations.get(|| all_locations(tx))?, request)?
    };
    let mut movements = Vec::with_capacity(if plan.destination.is_some() { 2 } else { 1 });
    let (movement, mut crossed_zero) = write_leg(tx, head, request, Leg::Source, &plan.source, &plan, now)?;
    movements.push(movement);
    if let Some(destination) = &plan.destination {
        let (movement, crossed) = write_leg(tx, head, request, Leg::Destination, destination, &plan, now)?;
        movements.push(movement);
        crossed_zero |= crossed;
    }
    match (&plan.settles, request.kind) {
        (Some(held), _) => {
            let (remaining, status) = plan::settled(held, request, plan.quantity);
            tx.exec_drop(
                "UPDATE {p}reservations SET remaining = ?, status = ?, updated_at = ? WHERE id = ?",
                (remaining, status, now, &held.id),
            )?;
        }
        (None, MovementKind::Reserve) => {
            tx.exec_drop(
                "INSERT INTO {p}reservations (id, sku, location, quantity, remaining, status, expires_at,
                                              created_at, updated_at)
                 VALUES (:id, :sku, :location, :quantity, :quantity, 'open', :expires_at, :now, :now)",
                params! {
                    "id" => &request.event_id,
                    "sku" => &request.sku,
                    "location" => &plan.source,
                    "quantity" => plan.quantity,
                    "expires_at" => request.expires_at,
                    "now" => now,
                },
            )?;
        }
        (None, _) => {}
    }
    // The item's oversold flag (some level below zero) can only change when a level crossed
    // zero; then it is rewritten only if it does change. A round trip saved on most movements.
    if crossed_zero {
        tx.exec_drop(
            "UPDATE {p}items SET oversold = EXISTS (SELECT 1 FROM {p}stock_levels WHERE sku = :sku AND on_hand < 0)
         WHERE sku = :sku
           AND NOT (oversold <=> EXISTS (SELECT 1 FROM {p}stock_levels WHERE sku = :sku AND on_hand < 0))",
            params! { "sku" => &request.sku },
        )?;
    }
    Ok(MovementOutcome::from_movements(movements, false))
}

/// Applies the request to one stock level (read `FOR UPDATE`) and appends its movement row with
/// the next id; returns the row as written, and whether the level's on hand crossed zero (went
/// below it or came back).
fn write_leg(
    tx: &mut Tx<'_>,
    head: &mut Head,
    request: &MovementRequest,
    leg: Leg,
    location: &str,
    plan: &Plan,
    now: i64,
) -> Result<(Movement, bool)> {
    let sku = request.sku.as_str();
    let level: Option<(i64, i64, i64)> = tx.exec_first(
        "SELECT on_hand, reserved, incoming FROM {p}stock_levels WHERE sku = ? AND location = ? FOR UPDATE",
        (sku, location),
    )?;
    let before = level
        .map(|(on_hand, reserved, incoming)| Quantities {
            on_hand,
            reserved,
            incoming,
        })
        .unwrap_or_default();
    let (after, delta) = plan::apply_leg(request, leg, location, plan.quantity, before)?;
    let crossed_zero = (before.on_hand < 0) != (after.on_hand < 0);
    tx.exec_drop(
        "INSERT INTO {p}stock_levels (sku, location, on_hand, reserved, incoming, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE on_hand = VALUES(on_hand), reserved = VALUES(reserved),
             incoming = VALUES(incoming), updated_at = VALUES(updated_at)",
        (sku, location, after.on_hand, after.reserved, after.incoming, now),
    )?;
    let movement = plan::movement(head.next_id(), request, location, plan.quantity, (after, delta), now);
    tx.exec_drop(
        "INSERT INTO {p}movements (id, event_id, leg, sku, location, kind, quantity, delta, on_hand, reserved,
                                   incoming, reservation, origin, reference, note, recorded_at)
         VALUES (:id, :event_id, :leg, :sku, :location, :kind, :quantity, :delta, :on_hand, :reserved, :incoming,
                 :reservation, :origin, :reference, :note, :recorded_at)",
        params! {
            "id" => movement.id,
            "event_id" => &movement.event_id,
            "leg" => leg.number(),
            "sku" => &movement.sku,
            "location" => &movement.location,
            "kind" => movement.kind.as_str(),
            "quantity" => movement.quantity,
            "delta" => movement.delta,
            "on_hand" => movement.on_hand,
            "reserved" => movement.reserved,
            "incoming" => movement.incoming,
            "reservation" => &movement.reservation,
            "origin" => &movement.origin,
            "reference" => &movement.reference,
            "note" => &movement.note,
            "recorded_at" => movement.recorded_at,
        },
    )?;
    Ok((movement, crossed_zero))
}

pub(super) fn expire_reservations(tx: &mut Tx<'_>, now: i64) -> Result<Vec<MovementOutcome>> {
    let mut head = Head::lock(tx)?;
    let due: Vec<(String, String, String)> = tx.exec(
        "SELECT id, sku, location FROM {p}reservations WHERE remaining > 0 AND expires_at <= ?
         ORDER BY expires_at, id FOR UPDATE",
        (now,),
    )?;
    let mut locations = Locations::default();
    let mut outcomes = Vec::with_capacity(due.len());
    for (id, sku, location) in due {
        let release = plan::expiry_release(id, sku, location);
        let outcome = record_in(tx, &mut head, &mut locations, &release, now)?;
        if !outcome.replayed {
            outcomes.push(outcome);
        }
    }
    head.save(tx)?;
    Ok(outcomes)
}

/// A reservation as stored; `FOR UPDATE` when it is about to be settled.
fn reservation(tx: &mut Tx<'_>, id: &str, for_update: bool) -> Result<Option<Reservation>> {
    let sql = if for_update {
        "SELECT id, sku, location, remaining, status, expires_at FROM {p}reservations WHERE id = ? FOR UPDATE"
    } else {
        "SELECT id, sku, location, remaining, status, expires_at FROM {p}reservations WHERE id = ?"
    };
    let row: Option<(String, String, String, i64, String, Option<i64>)> = tx.exec_first(sql, (id,))?;
    Ok(
        row.map(|(id, sku, location, remaining, status, expires_at)| Reservation {
            id,
            sku,
            location,
            remaining,
            status,
            expires_at,
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// The movements of one event, source leg first (empty when the event is new).
fn event_movements(tx: &mut Tx<'_>, event_id: &str) -> Result<Vec<Movement>> {
    movements_where(tx, "event_id = :a ORDER BY leg", params! { "a" => event_id })
}

/// Movements selected by a `WHERE` clause (with its ordering and limit).
fn movements_where(tx: &mut Tx<'_>, clause: &str, params: mysql::Params) -> Result<Vec<Movement>> {
    let sql = format!("SELECT {MOVEMENT_COLUMNS} FROM {{p}}movements WHERE {clause}");
    let rows: Vec<Row> = tx.exec(&sql, params)?;
    rows.into_iter().map(movement_from_row).collect()
}

pub(super) fn find_event(tx: &mut Tx<'_>, event_id: &str) -> Result<Option<MovementOutcome>> {
    let movements = event_movements(tx, event_id)?;
    Ok((!movements.is_empty()).then(|| MovementOutcome::from_movements(movements, true)))
}

pub(super) fn sku_stock(tx: &mut Tx<'_>, sku: &str) -> Result<SkuStock> {
    let rows: Vec<(String, bool, i64, i64, i64)> = tx.exec(
        "SELECT s.location, l.active, s.on_hand, s.reserved, s.incoming
         FROM {p}stock_levels s JOIN {p}locations l ON l.code = s.location
         WHERE s.sku = ? ORDER BY l.priority, l.code",
        (sku,),
    )?;
    let levels = rows
        .into_iter()
        .map(|(location, active, on_hand, reserved, incoming)| {
            let q = Quantities {
                on_hand,
                reserved,
                incoming,
            };
            LocationStock {
                location,
                active,
                on_hand,
                reserved,
                incoming,
                available: q.available(),
            }
        })
        .collect();
    Ok(SkuStock::from_levels(sku.to_owned(), levels))
}

pub(super) fn stock_many(tx: &mut Tx<'_>, skus: &[&str]) -> Result<Vec<SkuStock>> {
    let mut stocks = Vec::with_capacity(skus.len());
    for sku in skus.iter().map(|s| s.trim()) {
        if item_exists(tx, sku)? {
            stocks.push(sku_stock(tx, sku)?);
        }
    }
    Ok(stocks)
}

/// [`LedgerStore::for_each_stock`](crate::ledger::LedgerStore::for_each_stock): one streamed
/// scan of the items joined to their levels in SKU order (the protocol allows one open result
/// per connection, so SQLite's two merged scans become a join), the locations read once.
pub(super) fn each_stock(tx: &mut Tx<'_>, visit: &mut dyn FnMut(&SkuStock) -> Result<()>) -> Result<()> {
    let locations = all_locations(tx)?;
    let sql = tx.sql(
        "SELECT i.sku, s.location, s.on_hand, s.reserved, s.incoming
         FROM {p}items i LEFT JOIN {p}stock_levels s ON s.sku = i.sku
         ORDER BY i.sku, s.location",
    );
    let rows = mysql::prelude::Queryable::exec_iter(&mut tx.inner, sql, ())?;
    let mut stock = SkuStock::from_levels(String::new(), Vec::new());
    let mut current: Option<String> = None;
    // The current SKU's levels: (location position, quantities).
    let mut found: Vec<(usize, Quantities)> = Vec::new();
    let mut emit = |sku: &str, found: &mut Vec<(usize, Quantities)>, stock: &mut SkuStock| {
        found.sort_unstable_by_key(|(position, _)| *position);
        plan::fill(stock, sku, found, &locations);
        found.clear();
        visit(stock)
    };
    for row in rows {
        let mut row = row?;
        let sku: String = column(&mut row, 0)?;
        if current.as_deref() != Some(sku.as_str()) {
            if let Some(previous) = current.take() {
                emit(&previous, &mut found, &mut stock)?;
            }
            current = Some(sku);
        }
        let code: Option<String> = column(&mut row, 1)?;
        // Like `sku_stock`'s join, a level counts only at a known location.
        if let Some(position) = code.and_then(|code| locations.iter().position(|l| l.code == code)) {
            found.push((
                position,
                Quantities {
                    on_hand: column(&mut row, 2)?,
                    reserved: column(&mut row, 3)?,
                    incoming: column(&mut row, 4)?,
                },
            ));
        }
    }
    if let Some(last) = current {
        emit(&last, &mut found, &mut stock)?;
    }
    Ok(())
}

pub(super) fn history(tx: &mut Tx<'_>, query: &HistoryQuery, limit: u32) -> Result<HistoryPage> {
    let sku = query.sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let before = query.before.unwrap_or(i64::MAX);
    let fetch = i64::from(limit) + 1; // one more than asked, to know whether a next page exists
    let mut movements = match sku {
        Some(sku) => movements_where(
            tx,
            "sku = :sku AND id < :before ORDER BY id DESC LIMIT :fetch",
            params! { "sku" => sku, "before" => before, "fetch" => fetch },
        )?,
        None => movements_where(
            tx,
            "id < :before ORDER BY id DESC LIMIT :fetch",
            params! { "before" => before, "fetch" => fetch },
        )?,
    };
    let next_before = next_page(&mut movements, limit).map(|last| last.id);
    Ok(HistoryPage { movements, next_before })
}

pub(super) fn units_sold_since(tx: &mut Tx<'_>, sku: &str, since: i64) -> Result<i64> {
    require_item(tx, sku)?;
    let sold: Option<i64> = tx.exec_first(
        "SELECT CAST(COALESCE(SUM(CASE kind WHEN 'sale' THEN quantity WHEN 'commit' THEN quantity
                                           WHEN 'return' THEN -quantity ELSE 0 END), 0) AS SIGNED)
         FROM {p}movements WHERE sku = ? AND recorded_at >= ?",
        (sku, since),
    )?;
    Ok(sold.unwrap_or(0))
}

/// Safe as a cursor because movement ids are given out under the movement lock, so they become
/// visible in increasing order.
pub(super) fn skus_changed_since(tx: &mut Tx<'_>, after: i64) -> Result<ChangedSkus> {
    let rows: Vec<(String, i64)> = tx.exec(
        "SELECT sku, MAX(id) FROM {p}movements WHERE id > ? GROUP BY sku ORDER BY sku",
        (after,),
    )?;
    let cursor = rows.iter().map(|(_, id)| *id).fold(after, i64::max);
    Ok(ChangedSkus {
        skus: rows.into_iter().map(|(sku, _)| sku).collect(),
        cursor,
    })
}
