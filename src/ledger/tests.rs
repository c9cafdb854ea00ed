//! Behaviour of the ledger through [`LedgerStore`], on every backend ([`backend`]); the tests of
//! an SQLite file as such are at the end of "Opening files".

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

use super::*;
use crate::error::ErrorKind;
use MovementKind::*;

#[macro_use]
mod backend;
mod channel_logs;
mod feeds;
mod jobs;
mod keys;
mod messages;
mod sync;

pub(crate) use backend::{Backend, TestDatabase, TestStore, DUMPED_TABLES, LEDGER_TABLES};

const T0: i64 = 1_700_000_000;

/// A directory under the system temp dir, unique per test, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "inventory-sync-{label}-{}-{nanos}-{unique}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn item(sku: &str, name: &str) -> ItemInput {
    ItemInput {
        sku: sku.into(),
        name: name.into(),
        ..ItemInput::default()
    }
}

fn location(code: &str, priority: i64, active: bool) -> Location {
    Location {
        code: code.into(),
        name: format!("Warehouse {code}"),
        priority,
        active,
    }
}

/// Items A and B; WH0 (inactive, first by priority), WH1 (the default), WH2.
fn setup(ledger: &dyn TestStore) {
    for sku in ["A", "B"] {
        ledger.upsert_item(&item(sku, &format!("Item {sku}")), T0).unwrap();
    }
    for (code, priority, active) in [("WH0", 0, false), ("WH1", 1, true), ("WH2", 2, true)] {
        ledger.upsert_location(&location(code, priority, active), T0).unwrap();
    }
}

/// A new set-up store.
fn ledger(backend: &dyn Backend) -> Box<dyn TestStore> {
    let ledger = backend.open();
    setup(&*ledger);
    ledger
}

/// Runs `check` on a new set-up store, then on a shared one set up through one connection and
/// checked through another (on SQLite: in memory, then a file closed and reopened before the
/// check, so it reads what was persisted).
fn fresh_and_reopened(backend: &dyn Backend, label: &str, check: impl Fn(&str, &dyn TestStore)) {
    check(&format!("{label} (fresh)"), &*ledger(backend));
    let shared = backend.shared();
    setup(&*shared.connect());
    check(&format!("{label} (reopened)"), &*shared.connect());
}

fn req(event_id: &str, kind: MovementKind, quantity: i64) -> MovementRequest {
    MovementRequest::new(event_id, "A", kind, quantity)
}

fn settle(event_id: &str, kind: MovementKind, reservation: &str) -> MovementRequest {
    MovementRequest::settle(event_id, "A", kind, reservation)
}

/// One stock level a movement left: (location, delta, on hand, reserved, incoming).
type Leg = (&'static str, i64, i64, i64, i64);

enum Expect {
    /// The movements recorded, whether the outcome says oversold, and the item's flag after.
    Recorded(Vec<Leg>, bool, bool),
    /// Refused with this kind of error, whose message contains the text; nothing changes.
    Refused(ErrorKind, &'static str),
}

fn check(backend: &dyn Backend, name: &str, given: Vec<MovementRequest>, request: MovementRequest, expect: Expect) {
    let ledger = ledger(backend);
    for (i, setup) in given.iter().enumerate() {
        ledger
            .record(setup, T0 + i as i64)
            .unwrap_or_else(|e| panic!("{name}: setup {i}: {e}"));
    }
    let before = ledger.dump();
    let result = ledger.record(&request, T0 + 100);
    match (result, expect) {
        (Ok(outcome), Expect::Recorded(legs, oversold, item_oversold)) => {
            let got: Vec<Leg> = outcome
                .movements
                .iter()
                .map(|m| (leak(&m.location), m.delta, m.on_hand, m.reserved, m.incoming))
                .collect();
            assert_eq!(got, legs, "{name}");
            assert!(!outcome.replayed, "{name}");
            assert_eq!(outcome.oversold, oversold, "{name}: outcome oversold");
            assert_eq!(
                outcome.levels,
                outcome.movements.iter().map(Movement::level).collect::<Vec<_>>(),
                "{name}"
            );
            assert!(
                outcome.movements.iter().all(|m| m.event_id == request.event_id.trim()),
                "{name}"
            );
            let item = ledger.get_item("A").unwrap().unwrap();
            assert_eq!(item.oversold, item_oversold, "{name}: item oversold flag");
        }
        (Err(error), Expect::Refused(kind, text)) => {
            assert_eq!(error.kind(), kind, "{name}: {error}");
            assert!(error.to_string().contains(text), "{name}: {error:?} lacks {text:?}");
            assert_eq!(ledger.dump(), before, "{name}: a refused request must change nothing");
        }
        (Ok(outcome), Expect::Refused(..)) => panic!("{name}: expected a refusal, got {outcome:?}"),
        (Err(error), Expect::Recorded(..)) => panic!("{name}: expected a movement, got {error}"),
    }
}

/// Location codes in the table are static strings; map a stored code back to one.
fn leak(code: &str) -> &'static str {
    match code {
        "WH0" => "WH0",
        "WH1" => "WH1",
        "WH2" => "WH2",
        other => panic!("unexpected location {other}"),
    }
}

fn every_movement_kind(backend: &dyn Backend) {
    use Expect::*;
    let stock = |q| req("s0", Receive, q);
    let reserve = |q| req("r1", Reserve, q);
    check(
        backend,
        "sale at the default location",
        vec![stock(10)],
        req("e", Sale, 3),
        Recorded(vec![("WH1", -3, 7, 0, 0)], false, false),
    );
    check(
        backend,
        "a sale is a fact: recorded below zero and flags the item",
        vec![stock(2)],
        req("e", Sale, 5),
        Recorded(vec![("WH1", -5, -3, 0, 0)], true, true),
    );
    check(
        backend,
        "a sale below reserved stock is still recorded",
        vec![stock(5), reserve(4)],
        req("e", Sale, 3),
        Recorded(vec![("WH1", -3, 2, 4, 0)], false, false),
    );
    check(
        backend,
        "a return that brings stock back clears the oversold flag",
        vec![req("s", Sale, 2)],
        req("e", Return, 2),
        Recorded(vec![("WH1", 2, 0, 0, 0)], false, false),
    );
    check(
        backend,
        "a return that leaves stock below zero keeps it",
        vec![req("s", Sale, 5)],
        req("e", Return, 2),
        Recorded(vec![("WH1", 2, -3, 0, 0)], true, true),
    );
    check(
        backend,
        "receive at a named location",
        vec![],
        req("e", Receive, 4).at("WH2"),
        Recorded(vec![("WH2", 4, 4, 0, 0)], false, false),
    );
    check(
        backend,
        "receive at an inactive location is a fact too",
        vec![],
        req("e", Receive, 4).at("WH0"),
        Recorded(vec![("WH0", 4, 4, 0, 0)], false, false),
    );
    check(
        backend,
        "adjustment stores the delta",
        vec![stock(10)],
        req("e", Adjustment, 4),
        Recorded(vec![("WH1", -6, 4, 0, 0)], false, false),
    );
    check(
        backend,
        "adjustment up from below zero",
        vec![req("s", Sale, 3)],
        req("e", Adjustment, 0),
        Recorded(vec![("WH1", 3, 0, 0, 0)], false, false),
    );
    check(
        backend,
        "adjustment on a new level",
        vec![],
        req("e", Adjustment, 0),
        Recorded(vec![("WH1", 0, 0, 0, 0)], false, false),
    );
    check(
        backend,
        "incoming is set absolutely",
        vec![req("i", Incoming, 9).at("WH2")],
        req("e", Incoming, 20).at("WH2"),
        Recorded(vec![("WH2", 0, 0, 0, 20)], false, false),
    );
    check(
        backend,
        "reserve within available",
        vec![stock(5)],
        reserve(3),
        Recorded(vec![("WH1", 0, 5, 3, 0)], false, false),
    );
    check(
        backend,
        "reserve all that is available",
        vec![stock(5)],
        reserve(5),
        Recorded(vec![("WH1", 0, 5, 5, 0)], false, false),
    );
    check(
        backend,
        "reserve more than available is refused",
        vec![stock(5), req("r0", Reserve, 2)],
        reserve(4),
        Refused(ErrorKind::Conflict, "reserve 4 of A at WH1: only 3 available"),
    );
    check(
        backend,
        "reserve counts only this location",
        vec![stock(5)],
        reserve(1).at("WH2"),
        Refused(ErrorKind::Conflict, "reserve 1 of A at WH2: only 0 available"),
    );
    check(
        backend,
        "reserve at an inactive location is refused",
        vec![req("s0", Receive, 5).at("WH0")],
        reserve(1).at("WH0"),
        Refused(ErrorKind::Conflict, "the location is inactive"),
    );
    check(
        backend,
        "release all that remains",
        vec![stock(5), reserve(3)],
        settle("e", Release, "r1"),
        Recorded(vec![("WH1", 0, 5, 0, 0)], false, false),
    );
    check(
        backend,
        "release part",
        vec![stock(5), reserve(3)],
        settle("e", Release, "r1").with_quantity(1),
        Recorded(vec![("WH1", 0, 5, 2, 0)], false, false),
    );
    check(
        backend,
        "commit turns reserved into sold",
        vec![stock(5), reserve(3)],
        settle("e", Commit, "r1"),
        Recorded(vec![("WH1", -3, 2, 0, 0)], false, false),
    );
    check(
        backend,
        "commit the rest after a partial commit",
        vec![stock(5), reserve(3), settle("c1", Commit, "r1").with_quantity(2)],
        settle("e", Commit, "r1"),
        Recorded(vec![("WH1", -1, 2, 0, 0)], false, false),
    );
    check(
        backend,
        "commit settles at the reservation's location",
        vec![req("s0", Receive, 5).at("WH2"), reserve(3).at("WH2")],
        settle("e", Commit, "r1"),
        Recorded(vec![("WH2", -3, 2, 0, 0)], false, false),
    );
    check(
        backend,
        "commit more than remains",
        vec![stock(5), reserve(3)],
        settle("e", Commit, "r1").with_quantity(4),
        Refused(ErrorKind::Conflict, "commit 4 of reservation r1: only 3 remain"),
    );
    check(
        backend,
        "commit after a full release",
        vec![stock(5), reserve(3), settle("x", Release, "r1")],
        settle("e", Commit, "r1"),
        Refused(ErrorKind::Conflict, "it is already released"),
    );
    check(
        backend,
        "release of an unknown reservation",
        vec![],
        settle("e", Release, "nope"),
        Refused(ErrorKind::NotFound, "unknown reservation: nope"),
    );
    check(
        backend,
        "release naming another SKU",
        vec![stock(5), reserve(3)],
        MovementRequest::settle("e", "B", Release, "r1"),
        Refused(ErrorKind::Validation, "reservation r1 holds A at WH1, not B"),
    );
    check(
        backend,
        "release naming another location",
        vec![stock(5), reserve(3)],
        settle("e", Release, "r1").at("WH2"),
        Refused(
            ErrorKind::Validation,
            "reservation: reservation r1 holds A at WH1, not A at WH2",
        ),
    );
    check(
        backend,
        "transfer moves stock in one event",
        vec![stock(5)],
        req("e", Transfer, 2).to("WH2"),
        Recorded(vec![("WH1", -2, 3, 0, 0), ("WH2", 2, 2, 0, 0)], false, false),
    );
    check(
        backend,
        "transfer out of missing stock is recorded and oversold",
        vec![],
        req("e", Transfer, 2).at("WH2").to("WH1"),
        Recorded(vec![("WH2", -2, -2, 0, 0), ("WH1", 2, 2, 0, 0)], true, true),
    );
    check(
        backend,
        "transfer to an unknown location",
        vec![stock(5)],
        req("e", Transfer, 2).to("WH9"),
        Refused(ErrorKind::NotFound, "unknown location: WH9"),
    );
    check(
        backend,
        "transfer to the default location itself",
        vec![stock(5)],
        req("e", Transfer, 2).to("WH1"),
        Refused(ErrorKind::Validation, "to_location: must differ"),
    );
    check(
        backend,
        "unknown SKU",
        vec![],
        MovementRequest::new("e", "Z", Sale, 1),
        Refused(ErrorKind::NotFound, "unknown sku: Z"),
    );
    check(
        backend,
        "SKUs are case-sensitive",
        vec![],
        MovementRequest::new("e", "a", Sale, 1),
        Refused(ErrorKind::NotFound, "unknown sku: a"),
    );
    check(
        backend,
        "unknown location",
        vec![],
        req("e", Sale, 1).at("WH9"),
        Refused(ErrorKind::NotFound, "unknown location: WH9"),
    );
    check(
        backend,
        "invalid input",
        vec![],
        req("e", Sale, 0),
        Refused(ErrorKind::Validation, "quantity: must be between 1"),
    );
}

fn a_transfer_that_fails_halfway_leaves_nothing_behind(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.record(&req("s0", Receive, 5), T0).unwrap();
    ledger.record(&req("s1", Receive, 1).at("WH2"), T0).unwrap();
    // On hand at the destination is at the limit, so its leg overflows after the source leg.
    ledger.execute_raw(&format!(
        "UPDATE stock_levels SET on_hand = {} WHERE location = 'WH2'",
        i64::MAX
    ));
    let before = ledger.dump();
    let error = ledger.record(&req("t", Transfer, 2).to("WH2"), T0 + 1).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert_eq!(ledger.dump(), before);
    assert_eq!(ledger.stock("A").unwrap().levels[0].on_hand, 5);
}

fn no_active_location_to_default_to(backend: &dyn Backend) {
    let ledger = backend.open();
    ledger.upsert_item(&item("A", "Item A"), T0).unwrap();
    ledger.upsert_location(&location("WH0", 0, false), T0).unwrap();
    let error = ledger.record(&req("e", Sale, 1), T0).unwrap_err();
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "location"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

fn a_replay_returns_the_original_outcome_and_changes_nothing(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let requests = [
        req("sale-1", Sale, 3).with_origin("shopify").with_reference("order 7"),
        req("tr-1", Transfer, 2).to("WH2"),
        req("res-1", Reserve, 1).at("WH2").expiring_at(T0 + 999),
        settle("com-1", Commit, "res-1"),
        req("adj-1", Adjustment, 40),
    ];
    for request in &requests {
        let first = ledger.record(request, T0).unwrap();
        // Something else happens in between, so the current level differs from the original.
        ledger
            .record(&req(&format!("between-{}", request.event_id), Receive, 1), T0 + 1)
            .unwrap();
        let state = ledger.dump();
        let again = ledger.record(request, T0 + 50).unwrap();
        assert!(!first.replayed && again.replayed, "{request:?}");
        assert_eq!(again.movements, first.movements, "{request:?}");
        assert_eq!(again.levels, first.levels, "{request:?}");
        assert_eq!(again.oversold, first.oversold, "{request:?}");
        assert_eq!(ledger.dump(), state, "{request:?}: a replay must change nothing");
    }
}

fn a_replay_with_defaults_or_other_metadata_is_the_same_event(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.record(&req("s0", Receive, 9), T0).unwrap();
    ledger.record(&req("r1", Reserve, 3), T0).unwrap();
    let cases = [
        // Recorded with an explicit location; replayed without one (the default then applied).
        (req("e1", Sale, 1).at("WH1"), req("e1", Sale, 1)),
        (req("e2", Sale, 1), req("e2", Sale, 1).at("WH1")),
        // Origin, reference and note are metadata, not content.
        (
            req("e3", Sale, 1).with_note("first"),
            req("e3", Sale, 1).with_note("second").with_origin("ebay"),
        ),
        // A settlement replayed with the quantity it resolved to.
        (
            settle("e4", Release, "r1"),
            settle("e4", Release, "r1").with_quantity(3),
        ),
        (
            req("e5", Receive, 1),
            MovementRequest {
                kind: MovementKind::parse("restock").unwrap(),
                ..req("e5", Receive, 1)
            },
        ),
    ];
    for (original, replay) in cases {
        let first = ledger.record(&original, T0).unwrap();
        let again = ledger.record(&replay, T0 + 1).unwrap();
        assert!(again.replayed, "{replay:?}");
        assert_eq!(again.movements, first.movements);
    }
}

fn the_same_event_with_different_content_is_refused(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.record(&req("s0", Receive, 9), T0).unwrap();
    ledger.record(&req("e1", Sale, 3).at("WH1"), T0).unwrap();
    ledger.record(&req("t1", Transfer, 2).to("WH2"), T0).unwrap();
    ledger.record(&req("r1", Reserve, 2).expiring_at(T0 + 60), T0).unwrap();
    let state = ledger.dump();
    let cases = [
        (req("e1", Sale, 5), "differs in quantity"),
        (MovementRequest::new("e1", "B", Sale, 3), "differs in sku"),
        (req("e1", Return, 3), "differs in kind"),
        (req("e1", Sale, 3).at("WH2"), "differs in location"),
        (req("e1", Sale, 4).at("WH2"), "differs in quantity, location"),
        (req("e1", Transfer, 3).to("WH2"), "differs in kind, to_location"),
        (
            req("t1", Transfer, 2).to("WH0"),
            "already recorded as transfer of 2 × A from WH1 to WH2",
        ),
        (req("r1", Reserve, 2).expiring_at(T0 + 61), "differs in expires_at"),
        (req("r1", Reserve, 2), "differs in expires_at"),
    ];
    for (request, text) in cases {
        let error = ledger.record(&request, T0 + 1).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conflict, "{request:?}: {error}");
        assert!(error.to_string().contains(text), "{request:?}: {error} lacks {text:?}");
        assert!(error.to_string().contains("nothing was changed"), "{error}");
        assert_eq!(ledger.dump(), state);
    }
    assert!(ledger
        .record(&req("e1", Sale, 4), T0 + 2)
        .unwrap_err()
        .to_string()
        .contains("already recorded as sale of 3 × A at WH1"));
}

fn a_recorded_event_can_be_looked_up(backend: &dyn Backend) {
    fresh_and_reopened(backend, "find-event", |name, ledger| {
        ledger.record(&req("s0", Receive, 5), T0).unwrap();
        let cases: Vec<(MovementRequest, Option<&str>)> = vec![
            (req("sale-1", Sale, 2).with_reference("order 7 line 1"), Some("sale-1")),
            (req("tr-1", Transfer, 1).to("WH2"), Some(" tr-1 ")),
            (req("res-1", Reserve, 99), None), // refused: never recorded
        ];
        for (request, lookup) in cases {
            let recorded = ledger.record(&request, T0 + 1).ok();
            // Something else happens afterwards, so the current level differs from the original.
            ledger
                .record(&req(&format!("after-{}", request.event_id), Receive, 1), T0 + 2)
                .unwrap();
            let found = ledger.find_event(lookup.unwrap_or(&request.event_id)).unwrap();
            match (recorded, found) {
                (Some(recorded), Some(found)) => {
                    assert!(found.replayed, "{name}: {request:?}");
                    assert_eq!(found.movements, recorded.movements, "{name}: {request:?}");
                    assert_eq!(found.levels, recorded.levels, "{name}: {request:?}");
                    assert_eq!(found.oversold, recorded.oversold, "{name}: {request:?}");
                }
                (None, None) => {}
                (recorded, found) => panic!("{name}: {request:?}: recorded {recorded:?}, found {found:?}"),
            }
        }
        assert_eq!(ledger.find_event("never").unwrap(), None, "{name}");
        assert_eq!(ledger.find_event("").unwrap(), None, "{name}");
    });
}

fn a_refused_reservation_is_not_recorded_so_a_later_replay_can_succeed(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.record(&req("s0", Receive, 2), T0).unwrap();
    let reserve = req("r1", Reserve, 5);
    let error = ledger.record(&reserve, T0).unwrap_err();
    assert_eq!(error.to_string(), "reserve 5 of A at WH1: only 2 available");
    assert_eq!(ledger.history(&HistoryQuery::default()).unwrap().movements.len(), 1);
    ledger.record(&req("s1", Receive, 3), T0 + 1).unwrap();
    let outcome = ledger.record(&reserve, T0 + 2).unwrap();
    assert!(!outcome.replayed);
    assert_eq!(outcome.levels[0].reserved, 5);
    assert!(ledger.record(&reserve, T0 + 3).unwrap().replayed);
}

// ---------------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------------

fn a_batch_keeps_each_outcome_and_a_refusal_undoes_only_itself(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.record(&req("s1", Receive, 1).at("WH2"), T0).unwrap();
    ledger.execute_raw(&format!(
        "UPDATE stock_levels SET on_hand = {} WHERE location = 'WH2'",
        i64::MAX - 1
    ));
    let batch = [
        req("b1", Receive, 10),
        req("b2", Reserve, 20),
        req("b3", Sale, 3),
        req("b4", Sale, 0),
        req("b1", Receive, 10),
        req("b5", Transfer, 4).to("WH2"),
        req("b6", Reserve, 7),
        req("b1", Receive, 11),
    ];
    let outcomes = ledger.record_batch(&batch, T0 + 1).unwrap();
    let summary: Vec<String> = outcomes
        .iter()
        .map(|o| match o {
            Ok(o) => format!("ok replayed={} on_hand={}", o.replayed, o.levels[0].on_hand),
            Err(e) => format!("{:?}: {e}", e.kind()),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "ok replayed=false on_hand=10",
            "Conflict: reserve 20 of A at WH1: only 10 available",
            "ok replayed=false on_hand=7",
            "Validation: quantity: must be between 1 and 1000000000, got 0",
            "ok replayed=true on_hand=10",
            "Conflict: transfer 4 of A at WH2: the quantity would overflow",
            "ok replayed=false on_hand=7",
            "Conflict: event b1 was already recorded as receive of 10 × A at WH1; this request differs in quantity, so nothing was changed",
        ]
    );
    let stock = ledger.stock("A").unwrap();
    assert_eq!(
        (
            stock.levels[0].location.as_str(),
            stock.levels[0].on_hand,
            stock.levels[0].reserved
        ),
        ("WH1", 7, 7)
    );
    assert_eq!(ledger.history(&HistoryQuery::default()).unwrap().movements.len(), 4);
}

fn a_batch_outcome_is_what_the_ledger_stored(backend: &dyn Backend) {
    // Outcomes are built from the rows as they are written, not read back: they must be exactly
    // what a later lookup reads (ids, defaults resolved, texts trimmed, settled quantities).
    fresh_and_reopened(backend, "batch-outcomes", |name, ledger| {
        let batch = [
            req(" r1 ", Receive, 12)
                .with_origin(" shop ")
                .with_reference("PO 1")
                .with_note("a\nnote"),
            req("s1", Sale, 15).at("WH1"),
            req("t1", Transfer, 4).at("WH1").to("WH2"),
            req("res1", Reserve, 3).at("WH2").expiring_at(T0 + 60),
            settle("rel1", Release, "res1"),
            req("res2", Reserve, 1).at("WH2"),
            settle("com1", Commit, "res2").with_quantity(1),
            req("adj1", Adjustment, 4).at("WH2"),
            req("inc1", Incoming, 9),
            req("r2", Receive, 20),
        ];
        let outcomes = ledger.record_batch(&batch, T0 + 5).unwrap();
        assert_eq!(outcomes.len(), batch.len(), "{name}");
        for (request, outcome) in batch.iter().zip(outcomes) {
            let outcome = outcome.unwrap_or_else(|e| panic!("{name}: {}: {e}", request.event_id));
            let stored = ledger.find_event(request.event_id.trim()).unwrap().unwrap();
            assert!(!outcome.replayed && stored.replayed, "{name}: {}", request.event_id);
            assert_eq!(outcome.movements, stored.movements, "{name}: {}", request.event_id);
            assert_eq!(outcome.levels, stored.levels, "{name}: {}", request.event_id);
            assert_eq!(outcome.oversold, stored.oversold, "{name}: {}", request.event_id);
        }
        // The sale took WH1 below zero and the last receipt brought it back: the flag followed.
        assert!(!ledger.get_item("A").unwrap().unwrap().oversold, "{name}");
    });
}

fn the_oversold_flag_follows_every_movement_of_a_batch(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let flag = |ledger: &dyn TestStore| ledger.get_item("A").unwrap().unwrap().oversold;
    ledger.record_batch(&[req("s1", Sale, 2)], T0).unwrap();
    assert!(flag(&*ledger));
    ledger.record_batch(&[req("r1", Receive, 1)], T0).unwrap();
    assert!(flag(&*ledger), "still one below zero");
    ledger
        .record_batch(&[req("r2", Receive, 1), req("s2", Sale, 1).at("WH2")], T0)
        .unwrap();
    assert!(flag(&*ledger), "WH1 is back at zero, WH2 went below");
    ledger.record_batch(&[req("r3", Receive, 1).at("WH2")], T0).unwrap();
    assert!(!flag(&*ledger));
}

fn each_batch_sees_the_locations_as_they_are_now(backend: &dyn Backend) {
    // Locations are looked up once per write transaction; a change between two calls counts.
    let ledger = ledger(backend);
    ledger.record_batch(&[req("r1", Receive, 5)], T0).unwrap();
    ledger.upsert_location(&location("WH1", 1, false), T0).unwrap();
    ledger.upsert_location(&location("WH3", 3, true), T0).unwrap();
    let outcomes = ledger
        .record_batch(&[req("res1", Reserve, 1).at("WH1"), req("r2", Receive, 1)], T0)
        .unwrap();
    let error = outcomes[0].as_ref().unwrap_err();
    assert!(error.to_string().contains("the location is inactive"), "{error}");
    assert_eq!(
        outcomes[1].as_ref().unwrap().movements[0].location,
        "WH2",
        "the new default"
    );
    let outcome = ledger.record(&req("r3", Receive, 1).at("WH3"), T0).unwrap();
    assert_eq!(outcome.movements[0].location, "WH3");
}

fn every_items_stock_comes_in_sku_order_as_stock_gives_it(backend: &dyn Backend) {
    fresh_and_reopened(backend, "for-each-stock", |name, ledger| {
        // W0 sorts first by code but last by priority: levels must follow priority.
        ledger.upsert_location(&location("W0", 9, true), T0).unwrap();
        for sku in ["C-none", "Ä-1", "10", "b"] {
            ledger.upsert_item(&item(sku, "Other item"), T0).unwrap();
        }
        let movements = [
            req("1", Receive, 5).at("W0"),
            req("2", Receive, 3).at("WH2"),
            req("3", Sale, 2).at("WH1"),
            req("4", Receive, 7).at("WH0"),
            req("5", Reserve, 2).at("WH2"),
            MovementRequest::new("6", "B", Receive, 4).at("WH2"),
            MovementRequest::new("7", "10", Incoming, 6).at("W0"),
            MovementRequest::new("8", "Ä-1", Receive, 1),
            MovementRequest::new("9", "b", Sale, 1),
        ];
        for movement in &movements {
            ledger.record(movement, T0).unwrap();
        }
        let mut seen: Vec<SkuStock> = Vec::new();
        ledger
            .for_each_stock(&mut |stock| {
                seen.push(stock.clone());
                Ok(())
            })
            .unwrap();
        let skus: Vec<&str> = seen.iter().map(|s| s.sku.as_str()).collect();
        assert_eq!(
            skus,
            ["10", "A", "B", "C-none", "b", "Ä-1"],
            "{name}: every item, by bytes"
        );
        for stock in &seen {
            assert_eq!(stock, &ledger.stock(&stock.sku).unwrap(), "{name}: {}", stock.sku);
        }
        let a = &seen[1];
        let codes: Vec<&str> = a.levels.iter().map(|l| l.location.as_str()).collect();
        assert_eq!(codes, ["WH0", "WH1", "WH2", "W0"], "{name}");
        assert!(
            seen[3].levels.is_empty(),
            "{name}: an item without movements has no levels"
        );
    });
}

fn walking_the_stock_stops_at_the_first_error_and_leaves_the_store_usable(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let mut visited = 0;
    let error = ledger
        .for_each_stock(&mut |_| {
            visited += 1;
            Err(Error::Conflict("enough".into()))
        })
        .unwrap_err();
    assert_eq!((visited, error.kind()), (1, ErrorKind::Conflict));
    ledger.record(&req("r1", Receive, 1), T0).unwrap();
    let empty = backend.open();
    empty
        .for_each_stock(&mut |stock| panic!("no items, yet visited {stock:?}"))
        .unwrap();
}

fn a_batch_that_is_too_large_is_refused_whole(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let batch: Vec<MovementRequest> = (0..=MAX_BATCH).map(|i| req(&format!("e{i}"), Receive, 1)).collect();
    let error = ledger.record_batch(&batch, T0).unwrap_err();
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "requests"),
        "{error}"
    );
    assert!(ledger.record_batch(&[], T0).unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

fn history_pages_newest_first_by_cursor(backend: &dyn Backend) {
    let ledger = ledger(backend);
    for i in 0..25 {
        let sku = if i % 2 == 0 { "A" } else { "B" };
        ledger
            .record(&MovementRequest::new(format!("e{i}"), sku, Receive, 1), T0 + i)
            .unwrap();
    }
    let check = |sku: Option<&str>, limit: u32, pages: &[usize]| {
        let mut seen = Vec::new();
        let mut before = None;
        let mut sizes = Vec::new();
        loop {
            let query = HistoryQuery {
                sku: sku.map(str::to_owned),
                before,
                limit,
            };
            let page = ledger.history(&query).unwrap();
            sizes.push(page.movements.len());
            seen.extend(page.movements.iter().map(|m| m.id));
            assert!(page.movements.iter().all(|m| sku.is_none_or(|s| m.sku == s)));
            match page.next_before {
                Some(cursor) => before = Some(cursor),
                None => break,
            }
        }
        assert_eq!(sizes, pages, "{sku:?} by {limit}");
        assert!(
            seen.windows(2).all(|w| w[0] > w[1]),
            "newest first, no repeats: {seen:?}"
        );
    };
    check(None, 10, &[10, 10, 5]);
    check(None, 5, &[5, 5, 5, 5, 5]);
    check(None, 1000, &[25]);
    check(Some("A"), 5, &[5, 5, 3]);
    check(Some("B"), 12, &[12]);
    check(Some("Z"), 10, &[0]);
    let error = ledger
        .history(&HistoryQuery {
            limit: 0,
            ..HistoryQuery::default()
        })
        .unwrap_err();
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "limit"),
        "{error}"
    );
    assert!(ledger
        .history(&HistoryQuery {
            limit: MAX_PAGE + 1,
            ..HistoryQuery::default()
        })
        .is_err());
}

fn stock_per_location_and_totals(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let moves = [
        req("a", Receive, 4).at("WH0"),
        req("b", Receive, 9),
        req("c", Reserve, 3),
        req("d", Sale, 2).at("WH2"),
        req("e", Incoming, 12).at("WH2"),
    ];
    for m in &moves {
        ledger.record(m, T0).unwrap();
    }
    let stock = ledger.stock("A").unwrap();
    let levels: Vec<(&str, bool, i64, i64, i64, i64)> = stock
        .levels
        .iter()
        .map(|l| {
            (
                l.location.as_str(),
                l.active,
                l.on_hand,
                l.reserved,
                l.incoming,
                l.available,
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("WH0", false, 4, 0, 0, 4),
            ("WH1", true, 9, 3, 0, 6),
            ("WH2", true, -2, 0, 12, 0)
        ]
    );
    // Physical totals count every location; available counts active ones, each at least 0.
    assert_eq!(
        (stock.on_hand, stock.reserved, stock.incoming, stock.available),
        (11, 3, 12, 6)
    );

    let many = ledger.stock_many(&["B", "Z", "A"]).unwrap();
    assert_eq!(many.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["B", "A"]);
    assert_eq!(many[1], stock);
    assert!(many[0].levels.is_empty() && many[0].available == 0);
    assert!(matches!(
        ledger.stock("Z").unwrap_err(),
        Error::NotFound { what: "sku", .. }
    ));
}

fn units_sold_count_sales_and_commits_net_of_returns(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let moves = [
        (req("s0", Receive, 50), T0),
        (req("s1", Sale, 5), T0),
        (req("s2", Sale, 2), T0 + 100),
        (req("r1", Reserve, 4), T0 + 100),
        (settle("c1", Commit, "r1").with_quantity(3), T0 + 100),
        (req("ret", Return, 1), T0 + 100),
        (req("adj", Adjustment, 10), T0 + 100),
        (MovementRequest::new("b", "B", Sale, 7), T0 + 100),
    ];
    for (m, now) in &moves {
        ledger.record(m, *now).unwrap();
    }
    let cases = [(T0, 9), (T0 + 50, 4), (T0 + 100, 4), (T0 + 101, 0)];
    for (since, sold) in cases {
        assert_eq!(ledger.units_sold_since("A", since).unwrap(), sold, "since {since}");
    }
    assert_eq!(ledger.units_sold_since("B", T0).unwrap(), 7);
    assert!(matches!(
        ledger.units_sold_since("Z", T0).unwrap_err(),
        Error::NotFound { .. }
    ));
}

fn skus_changed_since_a_cursor(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let none = ledger.skus_changed_since(0).unwrap();
    assert_eq!((none.skus.len(), none.cursor), (0, 0));
    ledger.record(&req("a", Receive, 1), T0).unwrap();
    ledger.record(&MovementRequest::new("b", "B", Receive, 1), T0).unwrap();
    let first = ledger.skus_changed_since(0).unwrap();
    assert_eq!(first.skus, ["A", "B"]);
    assert_eq!(
        ledger.skus_changed_since(first.cursor).unwrap(),
        ChangedSkus {
            skus: vec![],
            cursor: first.cursor
        }
    );
    ledger
        .record(&MovementRequest::new("t", "B", Transfer, 1).to("WH2"), T0)
        .unwrap();
    let next = ledger.skus_changed_since(first.cursor).unwrap();
    assert_eq!(next.skus, ["B"]);
    assert_eq!(next.cursor, first.cursor + 2);
}

fn expired_reservations_are_released_once(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.record(&req("s0", Receive, 20), T0).unwrap();
    ledger.record(&req("r1", Reserve, 3).expiring_at(T0 + 100), T0).unwrap();
    ledger.record(&req("r2", Reserve, 2), T0).unwrap();
    ledger.record(&req("r3", Reserve, 4).expiring_at(T0 + 200), T0).unwrap();
    ledger
        .record(&settle("p3", Release, "r3").with_quantity(1), T0)
        .unwrap();
    ledger.record(&req("r4", Reserve, 1).expiring_at(T0 + 50), T0).unwrap();
    ledger.record(&settle("c4", Commit, "r4"), T0).unwrap();

    assert!(ledger.expire_reservations(T0 + 99).unwrap().is_empty());
    let expired = ledger.expire_reservations(T0 + 150).unwrap();
    let released: Vec<(&str, i64, i64)> = expired
        .iter()
        .map(|o| {
            (
                o.movements[0].event_id.as_str(),
                o.movements[0].quantity,
                o.levels[0].reserved,
            )
        })
        .collect();
    assert_eq!(released, [("ledger:expire:r1", 3, 5)]);
    assert_eq!(expired[0].movements[0].kind, Release);
    assert_eq!(expired[0].movements[0].reservation.as_deref(), Some("r1"));

    let state = ledger.dump();
    assert!(
        ledger.expire_reservations(T0 + 150).unwrap().is_empty(),
        "a re-run is harmless"
    );
    assert_eq!(ledger.dump(), state);

    let error = ledger.record(&settle("late", Commit, "r1"), T0 + 160).unwrap_err();
    assert_eq!(error.to_string(), "commit of reservation r1: it is already expired");

    let expired = ledger.expire_reservations(T0 + 1000).unwrap();
    assert_eq!(
        expired.len(),
        1,
        "only r3's remaining 3; r2 never expires, r4 was committed"
    );
    assert_eq!(
        (expired[0].movements[0].quantity, expired[0].levels[0].reserved),
        (3, 2)
    );
    assert_eq!(ledger.stock("A").unwrap().reserved, 2);
}

fn items_are_upserted_listed_and_searched(backend: &dyn Backend) {
    let ledger = backend.open();
    let full = ItemInput {
        sku: " MUG-1 ".into(),
        name: "Blue mug".into(),
        product_id: Some(42),
        thresholds: Some(AlertThresholds {
            critical: 2,
            low: 5,
            warning: 9,
        }),
        lead_time_days: Some(10),
        moq: Some(12),
        pack_size: Some(6),
        supplier: Some("Acme".into()),
    };
    let stored = ledger.upsert_item(&full, T0).unwrap();
    assert_eq!(stored.sku, "MUG-1");
    assert_eq!(
        (stored.thresholds, stored.moq, stored.created_at, stored.updated_at),
        (full.thresholds, Some(12), T0, T0)
    );
    let renamed = ledger
        .upsert_item(
            &ItemInput {
                name: "Red mug".into(),
                ..item("MUG-1", "")
            },
            T0 + 5,
        )
        .unwrap();
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.thresholds,
            renamed.created_at,
            renamed.updated_at
        ),
        ("Red mug", None, T0, T0 + 5)
    );
    assert_eq!(ledger.get_item(" MUG-1 ").unwrap(), Some(renamed));
    assert_eq!(ledger.get_item("mug-1").unwrap(), None);
    for (sku, name) in [
        ("MUG-2", "Green mug"),
        ("CUP-1", "Teacup"),
        ("cup-9", "Mugwort tea"),
        ("PLATE", "Plate"),
    ] {
        ledger.upsert_item(&item(sku, name), T0).unwrap();
    }
    let list = |search: Option<&str>, after: Option<&str>, limit: u32| {
        let query = ItemQuery {
            search: search.map(str::to_owned),
            after: after.map(str::to_owned),
            limit,
        };
        let page = ledger.list_items(&query).unwrap();
        (
            page.items.iter().map(|i| i.sku.clone()).collect::<Vec<_>>(),
            page.next_after,
        )
    };
    assert_eq!(
        list(None, None, 50),
        (
            vec![
                "CUP-1".into(),
                "MUG-1".into(),
                "MUG-2".into(),
                "PLATE".into(),
                "cup-9".into()
            ],
            None
        )
    );
    assert_eq!(
        list(None, None, 2),
        (vec!["CUP-1".into(), "MUG-1".into()], Some("MUG-1".into()))
    );
    assert_eq!(
        list(None, Some("MUG-1"), 2),
        (vec!["MUG-2".into(), "PLATE".into()], Some("PLATE".into()))
    );
    assert_eq!(list(None, Some("PLATE"), 2), (vec!["cup-9".into()], None));
    // SKU prefix is case-sensitive; name prefix is not.
    assert_eq!(list(Some("MUG"), None, 50).0, ["MUG-1", "MUG-2", "cup-9"]);
    assert_eq!(list(Some("mug"), None, 50).0, ["cup-9"]);
    assert_eq!(list(Some("CUP"), None, 50).0, ["CUP-1"]);
    assert_eq!(list(Some("tea"), None, 50).0, ["CUP-1"]);
    assert_eq!(list(Some("  "), None, 50).0.len(), 5);
    assert!(ledger
        .list_items(&ItemQuery {
            limit: 0,
            ..ItemQuery::default()
        })
        .is_err());
    assert!(matches!(
        ledger.upsert_item(&item("", "x"), T0).unwrap_err(),
        Error::Validation { .. }
    ));
}

fn locations_are_upserted_and_listed_by_priority(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.upsert_location(&location("WH2", -5, true), T0 + 1).unwrap();
    let codes: Vec<String> = ledger.list_locations().unwrap().into_iter().map(|l| l.code).collect();
    assert_eq!(codes, ["WH2", "WH0", "WH1"]);
    // The default follows priority: WH2 is now first.
    let outcome = ledger.record(&req("e", Receive, 1), T0).unwrap();
    assert_eq!(outcome.movements[0].location, "WH2");
    let error = ledger.upsert_location(&location(" ", 1, true), T0).unwrap_err();
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "code"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Opening files
// ---------------------------------------------------------------------------------------------

#[test]
fn opening_a_file() {
    let dir = TempDir::new("open");
    let path = dir.path().join("ledger.sqlite");
    let ledger = SqliteLedger::open(&path).unwrap();
    assert_eq!(ledger.journal_mode().unwrap(), "wal");
    setup(&ledger);
    ledger.record(&req("e", Receive, 3), T0).unwrap();
    drop(ledger);
    let reopened = SqliteLedger::open(&path).unwrap();
    assert_eq!(reopened.stock("A").unwrap().on_hand, 3);
    assert_eq!(
        SqliteLedger::open_in_memory().unwrap().journal_mode().unwrap(),
        "memory"
    );

    let missing = dir.path().join("no-such-dir").join("ledger.sqlite");
    let error = SqliteLedger::open(&missing).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Ledger);
    assert!(error.to_string().contains("cannot open the ledger file"), "{error}");
    assert!(!missing.parent().unwrap().exists(), "no directories are created");

    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
    let error = SqliteLedger::open(&garbage).unwrap_err();
    assert!(
        error.full_message().contains("not a database"),
        "{}",
        error.full_message()
    );
}

#[test]
fn a_busy_ledger_is_a_retryable_error() {
    let dir = TempDir::new("busy");
    let path = dir.path().join("ledger.sqlite");
    let options = SqliteOptions {
        busy_timeout: std::time::Duration::from_millis(50),
        ..SqliteOptions::default()
    };
    let ledger = SqliteLedger::open_with(&path, &options).unwrap();
    setup(&ledger);
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let error = ledger.record(&req("e", Receive, 1), T0).unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().contains("busy"), "{error}");
    blocker.execute_batch("ROLLBACK").unwrap();
    assert!(!ledger.record(&req("e", Receive, 1), T0).unwrap().replayed);
}

#[test]
fn a_writer_waits_for_another_writers_lock_within_the_busy_timeout() {
    let dir = TempDir::new("busy-wait");
    let path = dir.path().join("ledger.sqlite");
    let ledger = SqliteLedger::open_with(&path, &SqliteOptions::default()).unwrap();
    setup(&ledger);
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(80));
        blocker.execute_batch("COMMIT").unwrap();
    });
    // Taken while the other connection holds the write lock: waits, then records.
    let outcome = ledger.record(&req("waited", Receive, 3), T0).unwrap();
    assert!(!outcome.replayed);
    release.join().unwrap();
    assert_eq!(ledger.stock("A").unwrap().on_hand, 3);
}

#[test]
fn the_store_is_usable_as_a_trait_object_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SqliteLedger>();
    let ledger = SqliteLedger::open_in_memory().unwrap();
    setup(&ledger);
    let store: Box<dyn LedgerStore + Send + Sync> = Box::new(ledger);
    assert!(store.get_item("A").unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Concurrency: several connections to one store
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (SplitMix64), so threads agree on the events without a seed
/// being passed around.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const SKUS: [&str; 3] = ["A", "B", "C"];
const LOCATIONS: [&str; 2] = ["WH1", "WH2"];

/// Event `n`: a receive, sale, return, transfer or reserve of 1–5 units. Pre-stock is large, so
/// every reservation succeeds in any order and the totals do not depend on the interleaving.
fn event(n: u64) -> MovementRequest {
    let r = mix(n);
    let kind = [Receive, Sale, Return, Transfer, Reserve][(r % 5) as usize];
    let sku = SKUS[((r >> 8) % 3) as usize];
    let from = ((r >> 16) % 2) as usize;
    let request = MovementRequest::new(format!("ev-{n}"), sku, kind, 1 + ((r >> 24) % 5) as i64).at(LOCATIONS[from]);
    match kind {
        Transfer => request.to(LOCATIONS[1 - from]),
        _ => request,
    }
}

fn prestock() -> Vec<MovementRequest> {
    let mut requests = Vec::new();
    for sku in SKUS {
        for code in LOCATIONS {
            requests.push(MovementRequest::new(format!("stock-{sku}-{code}"), sku, Receive, 10_000).at(code));
        }
    }
    requests
}

/// What the events add up to: on hand and reserved per (sku, location), and movement rows.
/// (on hand, reserved) per (sku, location).
type Totals = std::collections::BTreeMap<(String, String), (i64, i64)>;

fn expected_totals(events: &[MovementRequest]) -> (Totals, usize) {
    let mut totals = std::collections::BTreeMap::new();
    let mut rows = 0;
    for e in events {
        let q = e.quantity.unwrap_or_default();
        let from = e.location.clone().unwrap_or_default();
        let mut add = |location: &str, on_hand: i64, reserved: i64| {
            let entry = totals.entry((e.sku.clone(), location.to_owned())).or_insert((0, 0));
            entry.0 += on_hand;
            entry.1 += reserved;
        };
        match e.kind {
            Receive | Return => add(&from, q, 0),
            Sale => add(&from, -q, 0),
            Reserve => add(&from, 0, q),
            Transfer => {
                add(&from, -q, 0);
                add(e.to_location.as_deref().unwrap_or_default(), q, 0);
                rows += 1;
            }
            _ => unreachable!(),
        }
        rows += 1;
    }
    (totals, rows)
}

fn actual_totals(ledger: &dyn TestStore) -> Totals {
    let mut totals = std::collections::BTreeMap::new();
    for stock in ledger.stock_many(&SKUS).unwrap() {
        for level in stock.levels {
            totals.insert((stock.sku.clone(), level.location), (level.on_hand, level.reserved));
        }
    }
    totals
}

fn several_connections_record_interleaved_duplicates_exactly_once(backend: &dyn Backend) {
    const THREADS: u64 = 4;
    const EVENTS: u64 = 240;
    let shared = backend.shared();
    let barrier = std::sync::Barrier::new(THREADS as usize);
    let first_records: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    // Every thread opens the fresh store at once: migration must happen once.
                    let ledger = shared.connect();
                    for sku in SKUS {
                        ledger.upsert_item(&item(sku, sku), T0).unwrap();
                    }
                    for (i, code) in LOCATIONS.iter().enumerate() {
                        ledger.upsert_location(&location(code, i as i64, true), T0).unwrap();
                    }
                    let mut mine: Vec<MovementRequest> = prestock();
                    // Own events, plus ~20% of the next thread's (recorded concurrently by both).
                    let mut own: Vec<(u64, MovementRequest)> = (0..EVENTS)
                        .filter(|n| n % THREADS == t || (n % THREADS == (t + 1) % THREADS && mix(n ^ 0xD0D0) % 5 == 0))
                        .map(|n| (mix(n ^ t), event(n)))
                        .collect();
                    own.sort_by_key(|(key, _)| *key);
                    mine.extend(own.into_iter().map(|(_, e)| e));
                    let mut recorded = 0;
                    for (i, chunk) in mine.chunks(7).enumerate() {
                        if mix(i as u64 ^ t) % 2 == 0 {
                            for outcome in ledger.record_batch(chunk, T0).unwrap() {
                                recorded += usize::from(!outcome.unwrap().replayed);
                            }
                        } else {
                            for request in chunk {
                                recorded += usize::from(!ledger.record(request, T0).unwrap().replayed);
                            }
                        }
                    }
                    recorded
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ledger = shared.connect();
    let mut all = prestock();
    all.extend((0..EVENTS).map(event));
    let (totals, rows) = expected_totals(&all);
    assert_eq!(
        first_records.iter().sum::<usize>(),
        all.len(),
        "each event is first-recorded exactly once"
    );
    assert_eq!(actual_totals(&*ledger), totals);
    assert_eq!(ledger.query_i64("SELECT COUNT(*) FROM movements") as usize, rows);
    assert_eq!(ledger.schema_version(), ledger.latest_schema_version());
}

fn concurrent_reservations_never_oversell(backend: &dyn Backend) {
    const CONNECTIONS: usize = 8;
    let shared = backend.shared();
    let first = shared.connect();
    setup(&*first);
    first.record(&req("stock", Receive, 5), T0).unwrap();
    let connections: Vec<Box<dyn TestStore>> = (0..CONNECTIONS).map(|_| shared.connect()).collect();
    let barrier = std::sync::Barrier::new(CONNECTIONS);
    let results: Vec<Result<MovementOutcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = connections
            .iter()
            .enumerate()
            .map(|(n, ledger)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    ledger.record(&req(&format!("order-{n}"), Reserve, 1), T0 + 1)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let reserved = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(reserved, 5, "{results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.kind(), ErrorKind::Conflict, "{refused}");
    }
    let stock = first.stock("A").unwrap();
    assert_eq!((stock.on_hand, stock.reserved, stock.available), (5, 5, 0));
    assert_eq!(first.query_i64("SELECT COUNT(*) FROM reservations"), 5);
    assert_consistent(&*first);
}

fn changed_skus_cursor_never_skips(backend: &dyn Backend) {
    const WRITERS: usize = 3;
    const SKUS_EACH: usize = 40;
    let shared = backend.shared();
    let first = shared.connect();
    setup(&*first);
    let writers: Vec<Box<dyn TestStore>> = (0..WRITERS).map(|_| shared.connect()).collect();
    let reader = shared.connect();
    let writing = std::sync::atomic::AtomicUsize::new(WRITERS);
    let (seen, polls) = std::thread::scope(|scope| {
        for (w, ledger) in writers.iter().enumerate() {
            let writing = &writing;
            scope.spawn(move || {
                for i in 0..SKUS_EACH {
                    let sku = format!("W{w}-{i:02}");
                    ledger.upsert_item(&item(&sku, "Written"), T0).unwrap();
                    let receive = MovementRequest::new(format!("in-{sku}"), &sku, Receive, 1);
                    if i % 3 == 0 {
                        // A transfer's two legs and a batch: several ids in one transaction.
                        let transfer = MovementRequest::new(format!("mv-{sku}"), &sku, Transfer, 1).to("WH2");
                        for outcome in ledger.record_batch(&[receive, transfer], T0).unwrap() {
                            outcome.unwrap();
                        }
                    } else {
                        ledger.record(&receive, T0).unwrap();
                    }
                }
                writing.fetch_sub(1, Ordering::SeqCst);
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = 0;
        let mut polls = 0;
        loop {
            // Read whether writers are done before following the cursor: the last poll then
            // starts after the last write committed.
            let done = writing.load(Ordering::SeqCst) == 0;
            let changed = reader.skus_changed_since(cursor).unwrap();
            assert!(changed.cursor >= cursor);
            cursor = changed.cursor;
            seen.extend(changed.skus);
            polls += 1;
            if done {
                break (seen, polls);
            }
        }
    });
    let expected: std::collections::BTreeSet<String> = (0..WRITERS)
        .flat_map(|w| (0..SKUS_EACH).map(move |i| format!("W{w}-{i:02}")))
        .collect();
    assert_eq!(seen, expected, "after {polls} polls");
    assert!(
        polls > 2,
        "the reader followed the cursor while writers wrote ({polls} polls)"
    );
}

// ---------------------------------------------------------------------------------------------
// Property: replaying anything a second time changes nothing
// ---------------------------------------------------------------------------------------------

/// A generated movement: (kind, sku, location, quantity, earlier reservation pick, with quantity,
/// expiry offset). Quantities are small so refusals and oversells both happen.
type Op = (usize, usize, usize, i64, usize, bool, Option<i64>);

fn op() -> impl Strategy<Value = Op> {
    (
        0..9usize,
        0..2usize,
        0..3usize,
        0..8i64,
        any::<usize>(),
        any::<bool>(),
        proptest::option::of(1..40i64),
    )
}

fn request_for(i: usize, (kind, sku, loc, quantity, pick, with_quantity, expiry): Op) -> MovementRequest {
    let kind = MovementKind::ALL[kind];
    let codes = ["WH0", "WH1", "WH2"];
    let mut request = MovementRequest::new(format!("e{i}"), ["A", "B"][sku], kind, quantity.max(1)).at(codes[loc]);
    match kind {
        Adjustment | Incoming => request.quantity = Some(quantity),
        Transfer => request = request.to(codes[(loc + 1) % 3]),
        Reserve => request.expires_at = expiry.map(|e| T0 + e),
        Release | Commit => {
            request.location = None;
            request.reservation = Some(format!("e{}", pick % i.max(1)));
            request.quantity = with_quantity.then_some(quantity.max(1));
        }
        _ => {}
    }
    request
}

/// Invariants that hold after any sequence: levels agree with the movements and reservations.
pub(crate) fn assert_consistent(ledger: &dyn TestStore) {
    for (what, sql) in super::copy::CONSISTENCY_CHECKS {
        assert_eq!(ledger.query_i64(&sql.replace("{p}", "")), 0, "{what}");
    }
}

fn replaying_any_sequence_changes_nothing(backend: &dyn Backend) {
    let config = ProptestConfig {
        cases: backend.property_cases(96),
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in proptest::collection::vec(op(), 1..40), seed in any::<u64>())| {
        let ledger = ledger(backend);
        let requests: Vec<MovementRequest> = ops.into_iter().enumerate().map(|(i, op)| request_for(i, op)).collect();
        let mut recorded = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            if i % 5 == 4 {
                ledger.expire_reservations(T0 + i as i64).unwrap();
            }
            if let Ok(outcome) = ledger.record(request, T0 + i as i64) {
                prop_assert!(!outcome.replayed);
                recorded.push((request.clone(), outcome));
            }
        }
        assert_consistent(&*ledger);
        let state = ledger.dump();

        // Second pass: every recorded event once or twice, in a shuffled interleaving, some of
        // them in batches, all at a later time.
        let mut replays: Vec<(u64, usize)> = Vec::new();
        for i in 0..recorded.len() {
            let r = mix(seed ^ i as u64);
            replays.push((r, i));
            if r % 3 == 0 {
                replays.push((mix(r), i));
            }
        }
        replays.sort();
        let order: Vec<usize> = replays.into_iter().map(|(_, i)| i).collect();
        for (n, chunk) in order.chunks(4).enumerate() {
            let outcomes: Vec<MovementOutcome> = if n % 2 == 0 {
                chunk.iter().map(|&i| ledger.record(&recorded[i].0, T0 + 10_000).unwrap()).collect()
            } else {
                let batch: Vec<MovementRequest> = chunk.iter().map(|&i| recorded[i].0.clone()).collect();
                ledger.record_batch(&batch, T0 + 10_000).unwrap().into_iter().map(|o| o.unwrap()).collect()
            };
            for (&i, outcome) in chunk.iter().zip(outcomes) {
                let original = &recorded[i].1;
                prop_assert!(outcome.replayed);
                prop_assert_eq!(&outcome.movements, &original.movements);
                prop_assert_eq!(&outcome.levels, &original.levels);
                prop_assert_eq!(outcome.oversold, original.oversold);
            }
        }
        prop_assert_eq!(ledger.dump(), state);
    });
}

store_tests!([sqlite, mariadb]:
    every_movement_kind,
    a_transfer_that_fails_halfway_leaves_nothing_behind,
    no_active_location_to_default_to,
    a_replay_returns_the_original_outcome_and_changes_nothing,
    a_replay_with_defaults_or_other_metadata_is_the_same_event,
    the_same_event_with_different_content_is_refused,
    a_recorded_event_can_be_looked_up,
    a_refused_reservation_is_not_recorded_so_a_later_replay_can_succeed,
    a_batch_keeps_each_outcome_and_a_refusal_undoes_only_itself,
    a_batch_outcome_is_what_the_ledger_stored,
    the_oversold_flag_follows_every_movement_of_a_batch,
    each_batch_sees_the_locations_as_they_are_now,
    every_items_stock_comes_in_sku_order_as_stock_gives_it,
    walking_the_stock_stops_at_the_first_error_and_leaves_the_store_usable,
    a_batch_that_is_too_large_is_refused_whole,
    history_pages_newest_first_by_cursor,
    stock_per_location_and_totals,
    units_sold_count_sales_and_commits_net_of_returns,
    skus_changed_since_a_cursor,
    expired_reservations_are_released_once,
    items_are_upserted_listed_and_searched,
    locations_are_upserted_and_listed_by_priority,
    several_connections_record_interleaved_duplicates_exactly_once,
    concurrent_reservations_never_oversell,
    changed_skus_cursor_never_skips,
    replaying_any_sequence_changes_nothing,
);
