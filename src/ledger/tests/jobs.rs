//! The outbox through [`LedgerStore`], on every backend: coalescing, claims, every transition, backoff,
//! supersession, admin operations, and several connections claiming from one store.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{fresh_and_reopened, item, setup, Backend, TestStore, T0};
use crate::error::ErrorKind;
use crate::ledger::{Backoff, ClearJobs, Completion, Enqueued, Job, JobCounts, JobQuery, JobRef, JobStatus, NewJob};
use crate::Error;
use JobStatus::*;

const CH: &str = "shopify:demo.myshopify.com";
const OTHER: &str = "woocommerce_remote:https://shop.example/";

/// Small numbers, so tests reach the limits quickly.
const BACKOFF: Backoff = Backoff {
    base_seconds: 10,
    cap_seconds: 80,
    max_attempts: 3,
};

/// A new set-up store with [`BACKOFF`].
fn ledger(backend: &dyn Backend) -> Box<dyn TestStore> {
    let ledger = backend.open_with(&BACKOFF);
    setup(&*ledger);
    ledger
}

fn enqueue(ledger: &dyn TestStore, sku: &str, desired: i64, now: i64) -> i64 {
    let refs = ledger.enqueue_jobs(&[NewJob::new(CH, sku, desired)], now).unwrap();
    refs[0].id
}

fn job(ledger: &dyn TestStore, id: i64) -> Job {
    ledger.get_job(id).unwrap().unwrap()
}

fn claim(ledger: &dyn TestStore, owner: &str, now: i64) -> Vec<i64> {
    let jobs = ledger.claim_jobs(owner, None, 100, 60, now).unwrap();
    jobs.iter().map(|j| j.id).collect()
}

// ---------------------------------------------------------------------------------------------
// Enqueuing and coalescing
// ---------------------------------------------------------------------------------------------

/// (job, now, outcome, which job (index into the ids seen), desired, revision, priority).
type CoalesceStep = (NewJob, i64, Enqueued, usize, i64, u32, bool);

fn enqueuing_coalesces_per_channel_and_sku_and_the_newest_value_wins(backend: &dyn Backend) {
    fresh_and_reopened(backend, "jobs-coalesce", |name, ledger| {
        let steps: Vec<CoalesceStep> = vec![
            (NewJob::new(CH, "A", 5), T0, Enqueued::Created, 0, 5, 0, false),
            (NewJob::new(CH, " A ", 3), T0 + 1, Enqueued::Replaced, 0, 3, 1, false),
            (NewJob::new(CH, "A", 3), T0 + 2, Enqueued::Unchanged, 0, 3, 1, false),
            (
                NewJob {
                    priority: true,
                    ..NewJob::new(CH, "A", 3)
                },
                T0 + 3,
                Enqueued::Unchanged,
                0,
                3,
                1,
                true,
            ),
            // Priority, once set, stays; back to an earlier value is still a new revision.
            (NewJob::new(CH, "A", 5), T0 + 4, Enqueued::Replaced, 0, 5, 2, true),
            // Another SKU or another channel is another job.
            (NewJob::new(CH, "B", 5), T0 + 5, Enqueued::Created, 1, 5, 0, false),
            (NewJob::new(OTHER, "A", 5), T0 + 6, Enqueued::Created, 2, 5, 0, false),
        ];
        let mut ids: Vec<i64> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        for (i, (new, now, outcome, which, desired, revision, priority)) in steps.into_iter().enumerate() {
            let r = ledger.enqueue_jobs(&[new], now).unwrap().remove(0);
            assert_eq!(r.outcome, outcome, "{name}: step {i}");
            if which == ids.len() {
                ids.push(r.id);
            }
            assert_eq!(r.id, ids[which], "{name}: step {i}");
            let stored = job(ledger, r.id);
            assert_eq!(
                (
                    stored.status,
                    stored.desired,
                    stored.revision,
                    stored.priority,
                    stored.attempts
                ),
                (Pending, desired, revision, priority, 0),
                "{name}: step {i}"
            );
            assert_eq!(stored.idempotency_key, r.idempotency_key, "{name}: step {i}");
            // The job keeps its place in line.
            assert!(
                stored.created_at <= T0 + 6 && stored.next_attempt_at == stored.created_at,
                "{name}"
            );
            match outcome {
                Enqueued::Unchanged => assert!(keys.contains(&r.idempotency_key), "{name}: step {i}"),
                _ => assert!(
                    !keys.contains(&r.idempotency_key),
                    "{name}: step {i}: a new value gets a new key"
                ),
            }
            keys.push(r.idempotency_key);
        }
        assert_eq!(job(ledger, ids[0]).created_at, T0, "{name}");

        // In one batch, entries apply in order: the last of a pair wins.
        let refs = ledger
            .enqueue_jobs(
                &[
                    NewJob::new(CH, "B", 9),
                    NewJob::new(CH, "A", 7),
                    NewJob::new(CH, "B", 8),
                ],
                T0 + 10,
            )
            .unwrap();
        let outcomes: Vec<(i64, Enqueued)> = refs.iter().map(|r| (r.id, r.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                (ids[1], Enqueued::Replaced),
                (ids[0], Enqueued::Replaced),
                (ids[1], Enqueued::Replaced)
            ],
            "{name}"
        );
        assert_eq!(job(ledger, ids[1]).desired, 8, "{name}");
        assert_eq!(ledger.job_counts(None).unwrap().pending, 3, "{name}");
    });
}

fn a_running_job_is_untouched_and_its_successor_waits_for_it(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let first = enqueue(&*ledger, "A", 5, T0);
    assert_eq!(claim(&*ledger, "r1", T0), [first]);
    let before = job(&*ledger, first);

    let second = enqueue(&*ledger, "A", 3, T0 + 1);
    assert_ne!(second, first, "a new pending job beside the running one");
    assert_eq!(job(&*ledger, first), before, "the running job is not modified");
    assert_eq!(enqueue(&*ledger, "A", 2, T0 + 2), second, "and the new one coalesces");

    // Two pushes of one SKU to one channel never overlap: the successor waits.
    assert!(claim(&*ledger, "r2", T0 + 3).is_empty());
    ledger.complete_job(first, "r1", T0 + 4).unwrap();
    assert_eq!(claim(&*ledger, "r2", T0 + 5), [second]);
    ledger.complete_job(second, "r2", T0 + 6).unwrap();
    let listing = ledger.listing(CH, "A").unwrap().unwrap();
    assert_eq!(
        (listing.last_pushed_quantity, listing.last_pushed_at),
        (Some(2), Some(T0 + 6))
    );
}

fn enqueuing_is_checked_and_all_or_nothing(backend: &dyn Backend) {
    let ledger = ledger(backend);
    enqueue(&*ledger, "A", 1, T0);
    let before = ledger.dump();
    let cases: Vec<(Vec<NewJob>, ErrorKind, &str)> = vec![
        (
            vec![NewJob::new(CH, "B", 1), NewJob::new(CH, "A", -1)],
            ErrorKind::Validation,
            "jobs[1].desired",
        ),
        (
            vec![NewJob::new(CH, "B", 1), NewJob::new("", "A", 1)],
            ErrorKind::Validation,
            "jobs[1].channel",
        ),
        (
            vec![NewJob::new(CH, "A", 2), NewJob::new(CH, "NOPE", 1)],
            ErrorKind::NotFound,
            "NOPE",
        ),
        (
            vec![NewJob::new(CH, "A", 2); crate::ledger::job::MAX_ENQUEUE + 1],
            ErrorKind::Validation,
            "jobs",
        ),
    ];
    for (jobs, kind, text) in cases {
        let error = ledger.enqueue_jobs(&jobs, T0 + 1).unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        let field_or_message = match &error {
            Error::Validation { field, .. } => field.clone(),
            other => other.to_string(),
        };
        assert!(field_or_message.contains(text), "{error}");
        assert_eq!(ledger.dump(), before, "{error}: nothing changes");
    }
}

// ---------------------------------------------------------------------------------------------
// Every transition
// ---------------------------------------------------------------------------------------------

/// One operation on SKU A's job(s) on [`CH`], at `T0 + seconds`.
#[derive(Debug, Clone)]
enum Op {
    /// Enqueue this desired quantity.
    Enqueue(i64),
    /// Claim everything due for this owner (60-second claims).
    Claim(&'static str),
    /// Complete job `n` (1-based, in creation order) as this owner.
    Complete(usize, &'static str),
    /// Fail job `n` as this owner: retryable?, Retry-After.
    Fail(usize, &'static str, bool, Option<u32>),
    /// Release this owner's claims.
    Release(&'static str),
    /// Retry job `n` as an admin.
    Retry(usize),
}

/// Operations with their times (seconds after `T0`).
type Steps = Vec<(i64, Op)>;

/// What the last step must leave: job `n`'s status, attempts, claim owner and a text its last
/// error contains; or a refusal that changes nothing.
enum Expect {
    Job(usize, JobStatus, u32, Option<&'static str>, Option<&'static str>),
    Refused(ErrorKind, &'static str),
}

fn check(backend: &dyn Backend, name: &str, steps: &[(i64, Op)], expect: Expect) {
    let ledger = ledger(backend);
    let mut ids: Vec<i64> = Vec::new();
    let id = |ids: &Vec<i64>, n: usize| ids.get(n - 1).copied().unwrap_or(999);
    let (last, given) = steps.split_last().unwrap();
    let run = |ids: &mut Vec<i64>, (at, op): &(i64, Op)| -> crate::Result<()> {
        let now = T0 + at;
        match op {
            Op::Enqueue(desired) => {
                let r = ledger.enqueue_jobs(&[NewJob::new(CH, "A", *desired)], now)?.remove(0);
                if !ids.contains(&r.id) {
                    ids.push(r.id);
                }
            }
            Op::Claim(owner) => {
                ledger.claim_jobs(owner, None, 10, 60, now)?;
            }
            Op::Complete(n, owner) => {
                ledger.complete_job(id(ids, *n), owner, now)?;
            }
            Op::Fail(n, owner, retryable, after) => {
                ledger.fail_job(id(ids, *n), owner, "HTTP 503", *retryable, *after, now)?;
            }
            Op::Release(owner) => {
                ledger.release_claims(owner, now)?;
            }
            Op::Retry(n) => {
                ledger.retry_job(id(ids, *n), now)?;
            }
        }
        Ok(())
    };
    for (i, step) in given.iter().enumerate() {
        run(&mut ids, step).unwrap_or_else(|e| panic!("{name}: step {i} {step:?}: {e}"));
    }
    let before = ledger.dump();
    let result = run(&mut ids, last);
    match expect {
        Expect::Job(n, status, attempts, owner, error) => {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = job(&*ledger, id(&ids, n));
            assert_eq!(
                (got.status, got.attempts, got.claim_owner.as_deref()),
                (status, attempts, owner),
                "{name}: {got:?}"
            );
            assert_eq!(got.claim_expires_at.is_some(), status == Running, "{name}: {got:?}");
            match error {
                Some(text) => assert!(
                    got.last_error.as_deref().unwrap_or_default().contains(text),
                    "{name}: {:?} should contain {text:?}",
                    got.last_error
                ),
                None => assert_eq!(got.last_error, None, "{name}"),
            }
        }
        Expect::Refused(kind, text) => {
            let error = result.expect_err(name);
            assert_eq!(error.kind(), kind, "{name}: {error}");
            assert!(error.to_string().contains(text), "{name}: {error}");
            assert_eq!(ledger.dump(), before, "{name}: a refusal changes nothing");
        }
    }
}

fn every_transition(backend: &dyn Backend) {
    use Expect::{Job as J, Refused};
    use Op::*;
    let conflict = ErrorKind::Conflict;
    let cases: Vec<(&str, Steps, Expect)> = vec![
        ("enqueue → pending", vec![(0, Enqueue(5))], J(1, Pending, 0, None, None)),
        (
            "claim → running",
            vec![(0, Enqueue(5)), (1, Claim("r1"))],
            J(1, Running, 1, Some("r1"), None),
        ),
        (
            "not due yet → stays pending",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Fail(1, "r1", true, None)),
                (3, Claim("r2")),
            ],
            J(1, Pending, 1, None, Some("HTTP 503")),
        ),
        (
            "complete → done",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (2, Complete(1, "r1"))],
            J(1, Done, 1, None, None),
        ),
        (
            "retryable failure → pending with backoff",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (2, Fail(1, "r1", true, None))],
            J(1, Pending, 1, None, Some("HTTP 503")),
        ),
        (
            "due again after the backoff → running",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Fail(1, "r1", true, None)),
                (2 + 10, Claim("r2")),
            ],
            J(1, Running, 2, Some("r2"), Some("HTTP 503")),
        ),
        (
            "permanent failure → dead with the reason",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (2, Fail(1, "r1", false, None))],
            J(1, Dead, 1, None, Some("HTTP 503")),
        ),
        (
            "retryable failure at the attempt limit → dead",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Fail(1, "r1", true, None)),
                (100, Claim("r1")),
                (101, Fail(1, "r1", true, None)),
                (300, Claim("r1")),
                (301, Fail(1, "r1", true, None)),
            ],
            J(1, Dead, 3, None, Some("gave up after 3 attempts: HTTP 503")),
        ),
        (
            "release → pending, the attempt given back",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (2, Release("r1"))],
            J(1, Pending, 0, None, None),
        ),
        (
            "expired claim → claimed again by another runner",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (61, Claim("r2"))],
            J(1, Running, 2, Some("r2"), None),
        ),
        (
            "a valid claim is not taken",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (60, Claim("r2"))],
            J(1, Running, 1, Some("r1"), None),
        ),
        (
            "expired claim at the attempt limit → dead",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (62, Claim("r2")),
                (123, Claim("r3")),
                (184, Claim("r4")),
            ],
            J(
                1,
                Dead,
                3,
                None,
                Some("gave up after 3 attempts: the claim of r3 expired"),
            ),
        ),
        (
            "the holder of an expired claim may still complete it",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (500, Complete(1, "r1"))],
            J(1, Done, 1, None, None),
        ),
        (
            "retry dead → pending, attempts reset",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Fail(1, "r1", false, None)),
                (3, Retry(1)),
            ],
            J(1, Pending, 0, None, Some("HTTP 503")),
        ),
        (
            "retryable failure with a newer pending job → failed (superseded)",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Enqueue(3)),
                (3, Fail(1, "r1", true, None)),
            ],
            J(1, Failed, 1, None, Some("superseded by job #2: HTTP 503")),
        ),
        (
            "… and the newer job takes over attempts and error",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Enqueue(3)),
                (3, Fail(1, "r1", true, None)),
                (4, Claim("r2")),
            ],
            J(2, Pending, 1, None, Some("HTTP 503")),
        ),
        (
            "release with a newer pending job → failed (superseded)",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (2, Enqueue(3)), (3, Release("r1"))],
            J(
                1,
                Failed,
                0,
                None,
                Some("released by r1 before it was pushed; superseded by job #2"),
            ),
        ),
        (
            "expired claim with a newer pending job → failed, the newer one claimed",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (2, Enqueue(3)), (61, Claim("r2"))],
            J(2, Running, 2, Some("r2"), Some("the claim of r1 expired")),
        ),
        (
            "retry of a dead job with a newer pending job → that one carries it",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Enqueue(3)),
                (3, Fail(1, "r1", false, None)),
                (4, Retry(1)),
            ],
            J(1, Failed, 1, None, Some("superseded by job #2: HTTP 503")),
        ),
        (
            "a newer job done makes an older dead one failed",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Enqueue(3)),
                (3, Fail(1, "r1", false, None)),
                (4, Claim("r1")),
                (5, Complete(2, "r1")),
            ],
            J(1, Failed, 1, None, Some("superseded by job #2: HTTP 503")),
        ),
        // Refusals.
        (
            "complete by another owner",
            vec![(0, Enqueue(5)), (1, Claim("r1")), (2, Complete(1, "r2"))],
            Refused(conflict, "claimed by r1"),
        ),
        (
            "complete after the claim was taken over",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (61, Claim("r2")),
                (62, Complete(1, "r1")),
            ],
            Refused(conflict, "job #1 is claimed by r2 until"),
        ),
        (
            "fail after the claim was taken over",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (61, Claim("r2")),
                (62, Fail(1, "r1", false, None)),
            ],
            Refused(conflict, "the claim of r1 expired and was taken over"),
        ),
        (
            "complete after a release",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Release("r1")),
                (3, Complete(1, "r1")),
            ],
            Refused(conflict, "job #1 is pending, not claimed by r1"),
        ),
        (
            "complete a job never claimed",
            vec![(0, Enqueue(5)), (1, Complete(1, "r1"))],
            Refused(conflict, "is pending"),
        ),
        (
            "complete twice",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Complete(1, "r1")),
                (3, Complete(1, "r1")),
            ],
            Refused(conflict, "is done"),
        ),
        (
            "fail a superseded job",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Enqueue(3)),
                (61, Claim("r2")),
                (62, Fail(1, "r1", true, None)),
            ],
            Refused(conflict, "job #1 is failed"),
        ),
        (
            "retry a pending job",
            vec![(0, Enqueue(5)), (1, Retry(1))],
            Refused(conflict, "only dead or failed"),
        ),
        (
            "retry when a newer job is running",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Enqueue(3)),
                (3, Fail(1, "r1", false, None)),
                (4, Claim("r1")),
                (5, Retry(1)),
            ],
            Refused(conflict, "job #2 (running) carries a newer quantity"),
        ),
        (
            "retry a superseded job whose newer job was pushed",
            vec![
                (0, Enqueue(5)),
                (1, Claim("r1")),
                (2, Enqueue(3)),
                (3, Fail(1, "r1", true, None)),
                (100, Claim("r1")),
                (101, Complete(2, "r1")),
                (102, Retry(1)),
            ],
            Refused(conflict, "job #2 (done) carries a newer quantity"),
        ),
        (
            "complete an unknown job",
            vec![(0, Complete(7, "r1"))],
            Refused(ErrorKind::NotFound, "unknown job"),
        ),
        (
            "retry an unknown job",
            vec![(0, Retry(7))],
            Refused(ErrorKind::NotFound, "unknown job"),
        ),
    ];
    for (name, steps, expect) in cases {
        check(backend, name, &steps, expect);
    }
}

fn claim_and_failure_inputs_are_checked(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let id = enqueue(&*ledger, "A", 5, T0);
    claim(&*ledger, "r1", T0);
    let before = ledger.dump();
    let field_of = |error: Error| match error {
        Error::Validation { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let cases: Vec<(crate::Result<()>, &str)> = vec![
        (ledger.claim_jobs(" ", None, 1, 60, T0).map(drop), "owner"),
        (ledger.claim_jobs("r", Some(""), 1, 60, T0).map(drop), "channel"),
        (ledger.claim_jobs("r", None, 0, 60, T0).map(drop), "limit"),
        (ledger.claim_jobs("r", None, 1, 0, T0).map(drop), "claim_seconds"),
        (ledger.fail_job(id, "r1", " ", true, None, T0).map(drop), "error"),
        (ledger.complete_job(id, "", T0).map(drop), "owner"),
        (
            ledger
                .list_jobs(&JobQuery {
                    limit: 0,
                    ..JobQuery::default()
                })
                .map(drop),
            "limit",
        ),
        (
            ledger.clear_jobs(&ClearJobs::Pending { channel: " ".into() }).map(drop),
            "channel",
        ),
    ];
    for (result, field) in cases {
        assert_eq!(field_of(result.unwrap_err()), field);
    }
    assert_eq!(ledger.dump(), before);
    let bad = Backoff {
        max_attempts: 0,
        ..BACKOFF
    };
    assert_eq!(
        field_of(backend.try_open_with(&bad).map(drop).unwrap_err()),
        "backoff.max_attempts"
    );
}

// ---------------------------------------------------------------------------------------------
// Ordering, backoff
// ---------------------------------------------------------------------------------------------

fn drops_and_zero_stock_are_claimed_first_then_priority_then_the_oldest(backend: &dyn Backend) {
    fresh_and_reopened(backend, "jobs-order", |name, ledger| {
        for sku in ["C", "D", "E"] {
            ledger.upsert_item(&item(sku, sku), T0).unwrap();
        }
        // Last pushed: A 10, B 4, C 10; D and E never pushed.
        for (sku, pushed) in [("A", 10), ("B", 4), ("C", 10)] {
            ledger.record_listing_pushed(CH, sku, pushed, T0).unwrap();
        }
        // (sku, desired, priority), oldest first.
        let jobs = [
            ("E", 7, false),  // never pushed, oldest
            ("C", 20, false), // a rise
            ("A", 4, false),  // a drop
            ("D", 5, true),   // priority
            ("B", 0, false),  // zero stock
            ("A", 9, false),  // (coalesces: A is now 9, still a drop from 10)
        ];
        let mut ids = BTreeMap::new();
        for (i, (sku, desired, priority)) in jobs.into_iter().enumerate() {
            let new = NewJob {
                priority,
                ..NewJob::new(CH, sku, desired)
            };
            let r = ledger.enqueue_jobs(&[new], T0 + 1 + i as i64).unwrap().remove(0);
            ids.insert(r.id, sku);
        }
        // Another channel's job, older than all, is not claimed for this channel.
        ledger.enqueue_jobs(&[NewJob::new(OTHER, "A", 0)], T0).unwrap();
        let order = |jobs: Vec<Job>| -> Vec<String> { jobs.into_iter().map(|j| ids[&j.id].to_owned()).collect() };
        let first = ledger.claim_jobs("r1", Some(CH), 2, 60, T0 + 10).unwrap();
        assert_eq!(order(first), ["A", "B"], "{name}: drops and zeros, oldest first");
        let rest = ledger.claim_jobs("r1", Some(CH), 10, 60, T0 + 10).unwrap();
        assert_eq!(order(rest), ["D", "E", "C"], "{name}: then priority, then the oldest");
        assert_eq!(ledger.job_counts(Some(OTHER)).unwrap().pending, 1, "{name}");
        assert_eq!(
            ledger.claim_jobs("r1", None, 10, 60, T0 + 10).unwrap().len(),
            1,
            "{name}"
        );
    });
}

fn failures_back_off_exponentially_within_the_cap_and_honour_retry_after(backend: &dyn Backend) {
    let generous = Backoff {
        max_attempts: 10,
        ..BACKOFF
    };
    let many = backend.open_with(&generous);
    setup(&*many);
    let id = enqueue(&*many, "A", 5, T0);

    // (retry_after, expected delay range): base 10, cap 80.
    let steps: Vec<(Option<u32>, (i64, i64))> = vec![
        (None, (5, 10)),
        (None, (10, 20)),
        (Some(300), (300, 300)), // Retry-After wins when longer
        (None, (40, 80)),
        (Some(1), (40, 80)), // … and not when shorter: the cap is reached
        (None, (40, 80)),
    ];
    let mut now = T0;
    let mut delays = Vec::new();
    for (attempt, (retry_after, (low, high))) in steps.into_iter().enumerate() {
        let attempt = attempt as u32 + 1;
        assert_eq!(claim(&*many, "r", now), [id], "attempt {attempt}");
        let failed = many.fail_job(id, "r", "timeout", true, retry_after, now).unwrap();
        let delay = failed.next_attempt_at - now;
        assert!((low..=high).contains(&delay), "attempt {attempt}: {delay}");
        assert_eq!(
            delay,
            i64::from(BACKOFF.delay_seconds(id, attempt, retry_after)),
            "attempt {attempt}: the store uses the pure rule"
        );
        assert!(
            claim(&*many, "r", failed.next_attempt_at - 1).is_empty(),
            "not before its time"
        );
        delays.push(delay);
        now = failed.next_attempt_at;
    }
    // Deterministic: the same job failing the same way waits the same time.
    let again = backend.open_with(&generous);
    setup(&*again);
    enqueue(&*again, "A", 5, T0);
    claim(&*again, "r", T0);
    let same = again.fail_job(id, "r", "timeout", true, None, T0).unwrap();
    assert_eq!(same.next_attempt_at - T0, delays[0]);
}

// ---------------------------------------------------------------------------------------------
// Admin operations
// ---------------------------------------------------------------------------------------------

/// Makes a dead job of `sku` on `channel` (permanent failure) and returns its id.
fn dead_job(ledger: &dyn TestStore, channel: &str, sku: &str, now: i64) -> i64 {
    let id = ledger.enqueue_jobs(&[NewJob::new(channel, sku, 1)], now).unwrap()[0].id;
    let claimed = ledger.claim_jobs("admin-test", Some(channel), 100, 60, now).unwrap();
    assert!(claimed.iter().any(|j| j.id == id));
    ledger
        .fail_job(id, "admin-test", "HTTP 404: no such product", false, None, now)
        .unwrap();
    ledger.release_claims("admin-test", now).unwrap();
    id
}

fn retry_all_clear_prune_list_and_counts(backend: &dyn Backend) {
    fresh_and_reopened(backend, "jobs-admin", |name, ledger| {
        let dead_a = dead_job(ledger, CH, "A", T0);
        let dead_b = dead_job(ledger, CH, "B", T0 + 1);
        let dead_other = dead_job(ledger, OTHER, "A", T0 + 2);
        let pending = enqueue(ledger, "A", 2, T0 + 3);
        let counts = ledger.job_counts(None).unwrap();
        assert_eq!(
            counts,
            JobCounts {
                pending: 1,
                dead: 3,
                ..JobCounts::default()
            },
            "{name}"
        );
        assert_eq!(ledger.job_counts(Some(CH)).unwrap().dead, 2, "{name}");

        // Retry all of one channel: B requeued; A merged into its newer pending job.
        assert_eq!(ledger.retry_all(Some(CH), T0 + 10).unwrap(), 2, "{name}");
        assert_eq!(job(ledger, dead_b).status, Pending, "{name}");
        assert_eq!(job(ledger, dead_a).status, Failed, "{name}");
        assert_eq!(job(ledger, pending).attempts, 0, "{name}");
        assert_eq!(job(ledger, dead_other).status, Dead, "{name}: other channel untouched");
        assert_eq!(ledger.retry_all(Some(CH), T0 + 10).unwrap(), 0, "{name}: nothing left");
        let counts = ledger.job_counts(None).unwrap();
        assert_eq!(
            [Pending, Running, Done, Failed, Dead].map(|s| counts.of(s)),
            [2, 0, 0, 1, 1],
            "{name}"
        );

        // Push everything through; B fails once first, so it shows as retrying.
        let claimed = ledger.claim_jobs("r", None, 10, 60, T0 + 20).unwrap();
        assert_eq!(claimed.len(), 2, "{name}");
        ledger.fail_job(dead_b, "r", "timeout", true, None, T0 + 20).unwrap();
        assert_eq!(ledger.job_counts(None).unwrap().retrying, 1, "{name}");
        ledger.complete_job(pending, "r", T0 + 21).unwrap();
        claim(ledger, "r", T0 + 100);
        ledger.complete_job(dead_b, "r", T0 + 101).unwrap();

        // Listing: newest first, filtered, paged.
        let page = ledger
            .list_jobs(&JobQuery {
                channel: Some(CH.into()),
                limit: 2,
                ..JobQuery::default()
            })
            .unwrap();
        assert_eq!(
            page.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
            [pending, dead_b],
            "{name}"
        );
        let rest = ledger
            .list_jobs(&JobQuery {
                channel: Some(CH.into()),
                before: page.next_before,
                limit: 2,
                ..JobQuery::default()
            })
            .unwrap();
        assert_eq!(rest.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [dead_a], "{name}");
        assert_eq!(rest.next_before, None, "{name}");
        let dead = ledger
            .list_jobs(&JobQuery {
                status: Some(Dead),
                ..JobQuery::default()
            })
            .unwrap();
        assert_eq!(
            dead.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
            [dead_other],
            "{name}"
        );

        // Prune: done and failed before the cut; dead stays.
        assert_eq!(
            ledger.prune_done_jobs(T0 + 50).unwrap(),
            2,
            "{name}: A (failed) and the pending-then-done job"
        );
        assert_eq!(ledger.prune_done_jobs(T0 + 200).unwrap(), 1, "{name}: B");
        assert_eq!(ledger.job_counts(None).unwrap().dead, 1, "{name}");

        // Clear: pending of one channel; dead letters.
        enqueue(ledger, "A", 1, T0 + 300);
        ledger.enqueue_jobs(&[NewJob::new(OTHER, "B", 1)], T0 + 300).unwrap();
        assert_eq!(
            ledger.clear_jobs(&ClearJobs::Pending { channel: CH.into() }).unwrap(),
            1,
            "{name}"
        );
        assert_eq!(
            ledger
                .clear_jobs(&ClearJobs::Dead {
                    channel: Some(CH.into())
                })
                .unwrap(),
            0,
            "{name}"
        );
        assert_eq!(
            ledger.clear_jobs(&ClearJobs::Dead { channel: None }).unwrap(),
            1,
            "{name}"
        );
        assert_eq!(
            ledger.job_counts(None).unwrap(),
            JobCounts {
                pending: 1,
                ..JobCounts::default()
            },
            "{name}"
        );
        // Running jobs are never cleared.
        claim(ledger, "r", T0 + 400);
        assert_eq!(
            ledger
                .clear_jobs(&ClearJobs::Pending { channel: OTHER.into() })
                .unwrap(),
            0
        );
        assert_eq!(ledger.clear_jobs(&ClearJobs::Finished { channel: None }).unwrap(), 0);
        assert_eq!(ledger.job_counts(None).unwrap().running, 1, "{name}");
    });
}

fn a_superseded_job_whose_newer_job_is_gone_is_never_pushed_again(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let old = enqueue(&*ledger, "A", 5, T0);
    claim(&*ledger, "r1", T0);
    let newer = enqueue(&*ledger, "A", 3, T0 + 1);
    ledger.fail_job(old, "r1", "timeout", true, None, T0 + 2).unwrap();
    assert_eq!(job(&*ledger, old).status, Failed);
    // The owner disconnects the channel: its pending jobs are cleared.
    assert_eq!(
        ledger.clear_jobs(&ClearJobs::Pending { channel: CH.into() }).unwrap(),
        1
    );
    assert!(ledger.get_job(newer).unwrap().is_none());
    let before = ledger.dump();
    let error = ledger.retry_job(old, T0 + 3).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert!(error.to_string().contains("out of date"), "{error}");
    assert_eq!(ledger.dump(), before);
    assert_eq!(
        ledger.retry_all(None, T0 + 3).unwrap(),
        0,
        "failed jobs are not in retry_all"
    );
}

fn a_crashed_runner_s_jobs_are_re_run_by_another(backend: &dyn Backend) {
    let shared = backend.shared();
    setup(&*shared.connect());
    let first = shared.connect();
    let ids: Vec<i64> = ["A", "B"].iter().map(|sku| enqueue(&*first, sku, 3, T0)).collect();
    let taken = first.claim_jobs("runner-1", None, 10, 120, T0).unwrap();
    assert_eq!(taken.len(), 2);
    drop(first); // the runner dies without a word

    let second = shared.connect();
    assert!(second
        .claim_jobs("runner-2", None, 10, 120, T0 + 119)
        .unwrap()
        .is_empty());
    let rerun = second.claim_jobs("runner-2", None, 10, 120, T0 + 120).unwrap();
    assert_eq!(rerun.iter().map(|j| j.id).collect::<Vec<_>>(), ids);
    for job in &rerun {
        assert_eq!((job.attempts, job.claim_owner.as_deref()), (2, Some("runner-2")));
        assert_eq!(
            job.idempotency_key,
            taken[0..2].iter().find(|t| t.id == job.id).unwrap().idempotency_key
        );
        second.complete_job(job.id, "runner-2", T0 + 121).unwrap();
    }
    // The first runner comes back late: its results are refused, the newer ones kept.
    let late = shared.connect();
    let error = late.complete_job(ids[0], "runner-1", T0 + 122).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert_eq!(job(&*late, ids[0]).status, Done);
}

// ---------------------------------------------------------------------------------------------
// Concurrency: several connections to one store
// ---------------------------------------------------------------------------------------------

fn concurrent_runners_never_claim_a_job_twice_and_every_job_ends_done_once(backend: &dyn Backend) {
    const THREADS: usize = 4;
    const SKUS: usize = 40;
    let channels = [CH, OTHER, "ebay:EBAY_US", "amazon:ATVPDKIKX0DER"];
    let shared = backend.shared();
    {
        let ledger = shared.connect();
        setup(&*ledger);
        let mut new = Vec::new();
        for s in 0..SKUS {
            ledger.upsert_item(&item(&format!("S{s}"), "x"), T0).unwrap();
            for channel in channels {
                new.push(NewJob::new(channel, format!("S{s}"), s as i64));
            }
        }
        ledger.enqueue_jobs(&new, T0).unwrap();
    }
    let total = SKUS * channels.len();
    // Every claim seen, as (job id, owner), and every completion.
    let claims: Mutex<Vec<(i64, String)>> = Mutex::new(Vec::new());
    let barrier = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (shared, barrier, claims) = (&shared, &barrier, &claims);
            scope.spawn(move || {
                let ledger = shared.connect();
                let owner = format!("runner-{t}");
                barrier.wait();
                // Claims last an hour and time stands still: every claim stays valid, so a job
                // seen twice would be a double claim.
                let channel = (t % 2 == 1).then_some(channels[t % channels.len()]);
                let mut first = true;
                loop {
                    let mut jobs = ledger.claim_jobs(&owner, channel, 7, 3600, T0).unwrap();
                    if jobs.is_empty() && channel.is_some() {
                        jobs = ledger.claim_jobs(&owner, None, 7, 3600, T0).unwrap();
                    }
                    if jobs.is_empty() {
                        break;
                    }
                    claims
                        .lock()
                        .unwrap()
                        .extend(jobs.iter().map(|j| (j.id, owner.clone())));
                    if first {
                        // Every runner holds a claim before any finishes (4 × 7 < 160 jobs), so
                        // the work is shared whatever the scheduler does.
                        first = false;
                        barrier.wait();
                    }
                    for job in jobs {
                        ledger.complete_job(job.id, &owner, T0).unwrap();
                    }
                }
            });
        }
    });
    let claims = claims.into_inner().unwrap();
    let mut per_job: BTreeMap<i64, usize> = BTreeMap::new();
    for (id, _) in &claims {
        *per_job.entry(*id).or_default() += 1;
    }
    assert_eq!(per_job.len(), total, "every job was claimed");
    assert!(per_job.values().all(|&n| n == 1), "no job was claimed twice");
    let owners: std::collections::BTreeSet<&str> = claims.iter().map(|(_, o)| o.as_str()).collect();
    assert_eq!(owners.len(), THREADS, "the runners shared the work: {owners:?}");

    let ledger = shared.connect();
    assert_eq!(
        ledger.job_counts(None).unwrap(),
        JobCounts {
            done: total as u64,
            ..JobCounts::default()
        }
    );
    assert_eq!(ledger.query_i64("SELECT COUNT(*) FROM jobs WHERE attempts != 1"), 0);
    for s in 0..SKUS {
        for channel in channels {
            let listing = ledger.listing(channel, &format!("S{s}")).unwrap().unwrap();
            assert_eq!(listing.last_pushed_quantity, Some(s as i64));
        }
    }
}

/// Enqueuers on several connections creating the same pairs' jobs at once: every call succeeds
/// (the second creator of a pair's job coalesces into the first's), each pair ends with one
/// pending job that every enqueuer's quantity went through, and the lanes are exact.
fn enqueuers_on_several_connections_coalesce_into_one_pending_job_per_pair(backend: &dyn Backend) {
    const THREADS: usize = 4;
    const SKUS: usize = 20;
    let shared = backend.shared();
    {
        let ledger = shared.connect();
        setup(&*ledger);
        for s in 0..SKUS {
            ledger.upsert_item(&item(&format!("S{s}"), "x"), T0).unwrap();
        }
    }
    let barrier = std::sync::Barrier::new(THREADS);
    let refs: Vec<Vec<JobRef>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    let ledger = shared.connect();
                    barrier.wait();
                    // One entry a call, so the connections' calls interleave pair by pair; each
                    // thread's quantities differ from the others' (every enqueue changes the job).
                    (0..SKUS)
                        .map(|s| {
                            let new = NewJob::new(CH, format!("S{s}"), (t * 100 + s) as i64);
                            ledger.enqueue_jobs(&[new], T0).unwrap().remove(0)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ledger = shared.connect();
    assert_eq!(
        ledger.job_counts(None).unwrap(),
        JobCounts {
            pending: SKUS as u64,
            ..JobCounts::default()
        }
    );
    for s in 0..SKUS {
        let ids: std::collections::BTreeSet<i64> = refs.iter().map(|r| r[s].id).collect();
        assert_eq!(ids.len(), 1, "S{s}: every enqueuer's quantity went to one job: {ids:?}");
        let created = refs.iter().filter(|r| r[s].outcome == Enqueued::Created).count();
        assert_eq!(created, 1, "S{s}: created once");
        let stored = job(&*ledger, refs[0][s].id);
        assert_eq!(
            stored.revision,
            THREADS as u32 - 1,
            "S{s}: replaced by each later enqueuer"
        );
        let last = refs.iter().find(|r| r[s].idempotency_key == stored.idempotency_key);
        assert!(
            last.is_some(),
            "S{s}: the stored key is the last enqueuer's: {stored:?}"
        );
    }
    assert_eq!(stale_lanes(&*ledger), 0);
}

/// How many jobs waiting or running have a stored claim lane other than the one their quantity,
/// priority and listing give (zero when the schema's triggers kept every lane exact).
fn stale_lanes(ledger: &dyn TestStore) -> i64 {
    ledger.query_i64(
        "SELECT COUNT(*) FROM jobs j LEFT JOIN listings l ON l.channel = j.channel AND l.sku = j.sku
         WHERE j.status IN ('pending', 'running')
           AND j.lane != CASE WHEN j.desired = 0 OR j.desired < l.last_pushed_quantity THEN 0
                              WHEN j.priority THEN 1 ELSE 2 END",
    )
}

fn the_stored_claim_lane_follows_quantities_priorities_and_pushes(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.upsert_item(&item("C", "C"), T0).unwrap();
    let a = enqueue(&*ledger, "A", 5, T0);
    assert_eq!(claim(&*ledger, "r1", T0), [a]);
    // A's successor is a rise from nothing pushed yet; once 5 is pushed, 3 is a drop.
    let a2 = enqueue(&*ledger, "A", 3, T0 + 1);
    assert_eq!(job(&*ledger, a2).desired, 3);
    assert_eq!(stale_lanes(&*ledger), 0);
    ledger.complete_job(a, "r1", T0 + 2).unwrap();
    assert_eq!(ledger.query_i64(&format!("SELECT lane FROM jobs WHERE id = {a2}")), 0);
    // Coalescing to a rise, then priority, then zero.
    enqueue(&*ledger, "A", 9, T0 + 3);
    assert_eq!(ledger.query_i64(&format!("SELECT lane FROM jobs WHERE id = {a2}")), 2);
    ledger
        .enqueue_jobs(
            &[NewJob {
                priority: true,
                ..NewJob::new(CH, "A", 9)
            }],
            T0 + 4,
        )
        .unwrap();
    assert_eq!(ledger.query_i64(&format!("SELECT lane FROM jobs WHERE id = {a2}")), 1);
    enqueue(&*ledger, "A", 0, T0 + 5);
    assert_eq!(ledger.query_i64(&format!("SELECT lane FROM jobs WHERE id = {a2}")), 0);
    // A listing recorded directly, and a failed push back in line.
    let c = enqueue(&*ledger, "C", 4, T0 + 6);
    ledger.record_listing_pushed(CH, "C", 8, T0 + 7).unwrap();
    assert_eq!(ledger.query_i64(&format!("SELECT lane FROM jobs WHERE id = {c}")), 0);
    assert_eq!(stale_lanes(&*ledger), 0);
    let claimed = claim(&*ledger, "r2", T0 + 8);
    assert_eq!(claimed, [a2, c], "zeros and drops, oldest first");
    ledger.fail_job(c, "r2", "timeout", true, None, T0 + 9).unwrap();
    ledger.complete_job(a2, "r2", T0 + 9).unwrap();
    assert_eq!(stale_lanes(&*ledger), 0);
}

fn completing_a_batch_records_each_job_and_skips_lost_claims(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger.upsert_item(&item("C", "C"), T0).unwrap();
    let ids: Vec<i64> = [("A", 1), ("B", 2), ("C", 3)]
        .into_iter()
        .map(|(sku, q)| enqueue(&*ledger, sku, q, T0))
        .collect();
    assert_eq!(ledger.claim_jobs("r1", None, 100, 60, T0).unwrap().len(), 3);
    // B's claim was taken over by r2.
    ledger.execute_raw(&format!("UPDATE jobs SET claim_owner = 'r2' WHERE id = {}", ids[1]));
    let before_b = job(&*ledger, ids[1]);

    let results = ledger.complete_jobs(&ids, "r1", T0 + 2).unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().status, Done);
    assert!(matches!(results[1], Err(Error::Conflict(_))), "{:?}", results[1]);
    assert_eq!(results[2].as_ref().unwrap().status, Done);
    assert_eq!(job(&*ledger, ids[1]), before_b, "nothing written for the lost claim");
    assert_eq!(ledger.listing(CH, "B").unwrap(), None);
    assert_eq!(ledger.listing(CH, "C").unwrap().unwrap().last_pushed_quantity, Some(3));
    assert!(ledger.complete_jobs(&[], "r1", T0 + 3).unwrap().is_empty());
    assert_eq!(
        ledger.complete_jobs(&[ids[0]], " ", T0 + 3).unwrap_err().kind(),
        ErrorKind::Validation
    );
}

fn completing_a_pushed_batch_records_remote_ids_in_the_same_transaction(backend: &dyn Backend) {
    fresh_and_reopened(backend, "jobs-complete-pushed", |name, ledger| {
        for sku in ["C", "D"] {
            ledger.upsert_item(&item(sku, sku), T0).unwrap();
        }
        // D's listing carries the remote id that the channel now says is C's; A has one already.
        ledger.upsert_listing_remote_id(CH, "D", Some("r-moved"), T0).unwrap();
        ledger.upsert_listing_remote_id(CH, "A", Some("r-a"), T0).unwrap();
        let ids: Vec<i64> = [("A", 1), ("B", 2), ("C", 3), ("D", 4)]
            .into_iter()
            .map(|(sku, q)| enqueue(ledger, sku, q, T0))
            .collect();
        assert_eq!(ledger.claim_jobs("r1", None, 100, 60, T0).unwrap().len(), 4);
        ledger.release_claims("r1", T0).unwrap();
        assert_eq!(ledger.claim_jobs("r1", None, 100, 60, T0 + 1).unwrap().len(), 4);
        // D's claim is lost; it is asked twice for A (the second time it is no longer claimed).
        ledger.complete_job(ids[3], "r1", T0 + 1).unwrap();
        let bad = [
            Completion::of(ids[0]),
            Completion {
                id: ids[1],
                remote_id: Some("r\nb".into()),
            },
        ];
        let error = ledger.complete_pushed(&bad, "r1", T0 + 2).unwrap_err();
        assert!(
            matches!(&error, Error::Validation { field, .. } if field == "completions[1].remote_id"),
            "{name}: {error:?}"
        );
        assert_eq!(job(ledger, ids[0]).status, Running, "{name}: nothing written");

        let completions = [
            Completion::of(ids[0]),
            Completion {
                id: ids[1],
                remote_id: Some(" r-b ".into()),
            },
            Completion {
                id: ids[2],
                remote_id: Some("r-moved".into()),
            },
            Completion {
                id: ids[3],
                remote_id: Some("r-d".into()),
            },
            Completion::of(ids[0]),
        ];
        let results = ledger.complete_pushed(&completions, "r1", T0 + 3).unwrap();
        assert_eq!(results.len(), 5, "{name}");
        for (i, result) in results.iter().enumerate() {
            match i {
                3 | 4 => assert!(matches!(result, Err(Error::Conflict(_))), "{name}: {i}: {result:?}"),
                _ => {
                    let done = result.as_ref().unwrap();
                    assert_eq!(done, &job(ledger, ids[i]), "{name}: the job as stored");
                    assert_eq!((done.status, done.claim_owner.as_deref()), (Done, None), "{name}");
                }
            }
        }
        let listing = |sku: &str| ledger.listing(CH, sku).unwrap().unwrap();
        let shown = |sku: &str| {
            let l = listing(sku);
            (l.remote_id, l.last_pushed_quantity, l.last_pushed_at)
        };
        assert_eq!(shown("A"), (Some("r-a".into()), Some(1), Some(T0 + 3)), "{name}");
        assert_eq!(shown("B"), (Some("r-b".into()), Some(2), Some(T0 + 3)), "{name}");
        assert_eq!(shown("C"), (Some("r-moved".into()), Some(3), Some(T0 + 3)), "{name}");
        // D kept its own completion (T0 + 1) and lost the remote id to C; r-d was not recorded.
        assert_eq!(shown("D"), (None, Some(4), Some(T0 + 1)), "{name}");
        assert!(ledger.complete_pushed(&[], "r1", T0 + 4).unwrap().is_empty());
    });
}

fn completing_a_pushed_batch_retires_older_dead_letters_of_its_pairs(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let dead = dead_job(&*ledger, CH, "A", T0);
    let newer = enqueue(&*ledger, "A", 7, T0 + 1);
    let other = enqueue(&*ledger, "B", 2, T0 + 1);
    assert_eq!(claim(&*ledger, "r1", T0 + 2), [newer, other]);
    let results = ledger
        .complete_pushed(&[Completion::of(newer), Completion::of(other)], "r1", T0 + 3)
        .unwrap();
    assert!(results.iter().all(Result::is_ok));
    let retired = job(&*ledger, dead);
    assert_eq!(retired.status, Failed);
    assert!(
        retired
            .last_error
            .as_deref()
            .unwrap_or_default()
            .starts_with(&format!("superseded by job #{newer}")),
        "{:?}",
        retired.last_error
    );
    assert_eq!(ledger.job_counts(None).unwrap().dead, 0);
}

/// Two processes claiming big batches from one store at once: each job is claimed by exactly one
/// of them, every claimed job comes back as stored (running, its owner, its expiry, one attempt
/// more) and in claim order, and a job whose pair is being pushed under a valid claim waits.
fn two_claimers_racing_for_batches_split_the_queue_and_keep_the_claim_order(backend: &dyn Backend) {
    const SKUS: usize = 600;
    let shared = backend.shared();
    let (busy, expired_ids, waiting) = {
        let ledger = shared.connect();
        setup(&*ledger);
        let mut new = Vec::new();
        for s in 0..SKUS {
            ledger.upsert_item(&item(&format!("S{s:03}"), "x"), T0).unwrap();
            // Every seventh quantity is 0: those are claimed first.
            new.push(NewJob::new(CH, format!("S{s:03}"), (s % 7) as i64));
        }
        for chunk in new.chunks(500) {
            ledger.enqueue_jobs(chunk, T0).unwrap();
        }
        // S000–S009 are being pushed by a runner whose claim stays valid, each with a newer job
        // waiting; S010–S019 were claimed by a runner whose claim expires before the race.
        let busy = ledger.claim_jobs("busy", Some(CH), 10, 3600, T0).unwrap();
        let expired = ledger.claim_jobs("crashed", Some(CH), 10, 30, T0).unwrap();
        let waiting: Vec<i64> = busy
            .iter()
            .map(|j| {
                ledger
                    .enqueue_jobs(&[NewJob::new(CH, j.sku.clone(), 50)], T0 + 1)
                    .unwrap()[0]
                    .id
            })
            .collect();
        let ids = |jobs: &[Job]| jobs.iter().map(|j| j.id).collect::<Vec<_>>();
        (ids(&busy), ids(&expired), waiting)
    };
    let now = T0 + 100;
    let barrier = std::sync::Barrier::new(2);
    let batches: Mutex<Vec<(String, Vec<Job>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (shared, barrier, batches) = (&shared, &barrier, &batches);
            scope.spawn(move || {
                let ledger = shared.connect();
                let owner = format!("claimer-{t}");
                barrier.wait();
                let mut first = true;
                loop {
                    let jobs = ledger.claim_jobs(&owner, Some(CH), 64, 600, now).unwrap();
                    if jobs.is_empty() {
                        break;
                    }
                    batches.lock().unwrap().push((owner.clone(), jobs));
                    if first {
                        // Both hold a batch before either goes on, whatever the scheduler does.
                        first = false;
                        barrier.wait();
                    }
                }
            });
        }
    });
    let batches = batches.into_inner().unwrap();
    let ledger = shared.connect();
    let mut seen: BTreeMap<i64, &str> = BTreeMap::new();
    for (owner, jobs) in &batches {
        assert!(jobs.len() <= 64);
        for job in jobs {
            assert!(seen.insert(job.id, owner).is_none(), "job #{} claimed twice", job.id);
            assert_eq!(job, &self::job(&*ledger, job.id), "a claimed job comes back as stored");
            assert_eq!(
                (job.status, job.claim_owner.as_deref(), job.claim_expires_at),
                (Running, Some(owner.as_str()), Some(now + 600))
            );
            let attempts = if expired_ids.contains(&job.id) { 2 } else { 1 };
            assert_eq!(job.attempts, attempts, "job #{}", job.id);
        }
    }
    // Claim order: zeros first, then the oldest (here: the lowest id), within each batch and
    // from one batch of a claimer to its next (what is left later comes after what it took).
    for claimer in ["claimer-0", "claimer-1"] {
        let order: Vec<(bool, i64, i64)> = batches
            .iter()
            .filter(|(owner, _)| owner == claimer)
            .flat_map(|(_, jobs)| jobs.iter().map(|j| (j.desired != 0, j.created_at, j.id)))
            .collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "{claimer} got its jobs in claim order");
    }
    let owners: std::collections::BTreeSet<&str> = seen.values().copied().collect();
    assert_eq!(owners.len(), 2, "both claimers got batches");
    // Everything was claimed but the busy pairs' jobs (theirs and the ones waiting behind them).
    let expected = SKUS - busy.len();
    assert_eq!(seen.len(), expected);
    for id in busy.iter().chain(&waiting) {
        assert!(!seen.contains_key(id), "job #{id} was claimed while its pair was busy");
    }
    assert_eq!(job(&*ledger, busy[0]).claim_owner.as_deref(), Some("busy"));
    assert_eq!(job(&*ledger, waiting[0]).status, Pending);
    assert!(
        expired_ids.iter().all(|id| seen.contains_key(id)),
        "expired claims are taken again"
    );
}

fn new_jobs_get_fresh_ids_and_their_keys_even_after_the_newest_jobs_are_deleted(backend: &dyn Backend) {
    fresh_and_reopened(backend, "jobs-ids", |name, ledger| {
        for sku in ["C", "D"] {
            ledger.upsert_item(&item(sku, sku), T0).unwrap();
        }
        let first = ledger
            .enqueue_jobs(&[NewJob::new(CH, "A", 1), NewJob::new(CH, "B", 2)], T0)
            .unwrap();
        assert_eq!(first[1].id, first[0].id + 1, "{name}");
        // The newest jobs go (cleared): their ids are not handed out again.
        ledger.clear_jobs(&ClearJobs::Pending { channel: CH.into() }).unwrap();
        let batch = [
            NewJob::new(CH, "C", 3),
            NewJob::new(CH, "C", 4), // coalesces into the job just created
            NewJob::new(OTHER, "C", 5),
            NewJob::new(CH, "D", 6),
        ];
        let refs = ledger.enqueue_jobs(&batch, T0 + 1).unwrap();
        let outcomes: Vec<Enqueued> = refs.iter().map(|r| r.outcome).collect();
        use Enqueued::*;
        assert_eq!(outcomes, [Created, Replaced, Created, Created], "{name}");
        let ids: Vec<i64> = refs.iter().map(|r| r.id).collect();
        let after = first[1].id;
        assert_eq!(ids, [after + 1, after + 1, after + 2, after + 3], "{name}");
        // (The first key was replaced by the second entry's.)
        for r in &refs[1..] {
            assert_eq!(job(ledger, r.id).idempotency_key, r.idempotency_key, "{name}");
        }
        assert_eq!(
            job(ledger, after + 2).idempotency_key,
            crate::ledger::job::idempotency_key(after + 2, T0 + 1, 0, 5),
            "{name}"
        );
        // An unknown SKU is refused and nothing of the batch stays; the next id is still fresh.
        let error = ledger
            .enqueue_jobs(&[NewJob::new(CH, "A", 9), NewJob::new(CH, "NOPE", 1)], T0 + 2)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{name}");
        let next = ledger.enqueue_jobs(&[NewJob::new(CH, "A", 9)], T0 + 3).unwrap();
        assert_eq!(next[0].id, after + 4, "{name}");
        assert_eq!(stale_lanes(ledger), 0, "{name}");
    });
}

store_tests!([sqlite, mariadb]:
    enqueuing_coalesces_per_channel_and_sku_and_the_newest_value_wins,
    a_running_job_is_untouched_and_its_successor_waits_for_it,
    enqueuing_is_checked_and_all_or_nothing,
    every_transition,
    claim_and_failure_inputs_are_checked,
    drops_and_zero_stock_are_claimed_first_then_priority_then_the_oldest,
    failures_back_off_exponentially_within_the_cap_and_honour_retry_after,
    retry_all_clear_prune_list_and_counts,
    a_superseded_job_whose_newer_job_is_gone_is_never_pushed_again,
    the_stored_claim_lane_follows_quantities_priorities_and_pushes,
    completing_a_batch_records_each_job_and_skips_lost_claims,
    completing_a_pushed_batch_records_remote_ids_in_the_same_transaction,
    completing_a_pushed_batch_retires_older_dead_letters_of_its_pairs,
    new_jobs_get_fresh_ids_and_their_keys_even_after_the_newest_jobs_are_deleted,
    enqueuers_on_several_connections_coalesce_into_one_pending_job_per_pair,
);

// Also where claims take turns under a named lock (servers without SKIP LOCKED).
store_tests!([sqlite, mariadb, mariadb_get_lock]:
    a_crashed_runner_s_jobs_are_re_run_by_another,
    concurrent_runners_never_claim_a_job_twice_and_every_job_ends_done_once,
    two_claimers_racing_for_batches_split_the_queue_and_keep_the_claim_order,
);
