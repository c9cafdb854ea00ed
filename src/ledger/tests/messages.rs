//! The message outbox through [`LedgerStore`], on every backend.

use std::collections::BTreeSet;

use super::{Backend, T0};
use crate::error::ErrorKind;
use crate::ledger::message::{MessageQuery, MessageStatus, NewMessage};
use crate::ledger::Backoff;

fn new_message(key: &str) -> NewMessage {
    NewMessage {
        destination: "acme".into(),
        topic: "order.paid".into(),
        key: key.into(),
        payload: format!(r#"{{"key":"{key}"}}"#),
    }
}

fn messages_are_enqueued_once_claimed_completed_failed_and_retried(backend: &dyn Backend) {
    let backoff = Backoff {
        max_attempts: 2,
        ..Backoff::default()
    };
    let ledger = backend.open_with(&backoff);

    let (first, created) = ledger.enqueue_message(&new_message("m1"), T0).unwrap();
    assert!(created);
    assert_eq!(
        (first.status, first.attempts, first.next_attempt_at),
        (MessageStatus::Pending, 0, T0)
    );
    // The same key again is the same message, unchanged.
    let (again, created) = ledger
        .enqueue_message(
            &NewMessage {
                payload: "{}".into(),
                ..new_message(" m1 ")
            },
            T0 + 1,
        )
        .unwrap();
    assert!(!created);
    assert_eq!(again, first);
    let (second, _) = ledger.enqueue_message(&new_message("m2"), T0 + 1).unwrap();
    let (third, _) = ledger.enqueue_message(&new_message("m3"), T0 + 100).unwrap();
    assert_eq!(ledger.find_message("m3").unwrap(), Some(third.clone()));
    assert_eq!(ledger.find_message("nope").unwrap(), None);

    // Only due messages are claimed, oldest due first.
    let claimed = ledger.claim_messages("w1", 10, 60, T0 + 10).unwrap();
    assert_eq!(claimed.iter().map(|m| m.id).collect::<Vec<_>>(), [first.id, second.id]);
    for m in &claimed {
        assert_eq!(m.status, MessageStatus::Running);
        assert_eq!(
            (m.attempts, m.claim_owner.as_deref(), m.claim_expires_at),
            (1, Some("w1"), Some(T0 + 70))
        );
    }
    assert!(ledger.claim_messages("w2", 10, 60, T0 + 10).unwrap().is_empty());

    // Only the holder finishes a message.
    let error = ledger.complete_message(first.id, "w2", T0 + 11).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    let done = ledger.complete_message(first.id, "w1", T0 + 11).unwrap();
    assert_eq!(
        (done.status, done.claim_owner, done.updated_at),
        (MessageStatus::Done, None, T0 + 11)
    );
    let error = ledger.complete_message(first.id, "w1", T0 + 12).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");

    // A retryable failure backs off; the second one runs out of attempts.
    let failed = ledger
        .fail_message(second.id, "w1", "timeout", true, Some(30), T0 + 12)
        .unwrap();
    assert_eq!(failed.status, MessageStatus::Pending);
    assert!(failed.next_attempt_at >= T0 + 42, "{failed:?}");
    assert_eq!(failed.last_error.as_deref(), Some("timeout"));
    let error = ledger.retry_message(second.id, T0 + 13).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    let later = failed.next_attempt_at;
    let claimed = ledger.claim_messages("w1", 1, 60, later).unwrap();
    assert_eq!((claimed[0].id, claimed[0].attempts), (second.id, 2));
    let dead = ledger
        .fail_message(second.id, "w1", "timeout", true, None, later)
        .unwrap();
    assert_eq!(dead.status, MessageStatus::Dead);
    assert!(dead.last_error.unwrap().contains("gave up after 2 attempts"));

    // A lapsed claim is claimed again; a refusal is dead at once.
    let taken = ledger.claim_messages("w1", 1, 60, T0 + 100).unwrap();
    assert_eq!(taken[0].id, third.id);
    let retaken = ledger.claim_messages("w2", 1, 60, T0 + 160).unwrap();
    assert_eq!((retaken[0].id, retaken[0].attempts), (third.id, 2));
    let error = ledger
        .fail_message(third.id, "w1", "late", true, None, T0 + 161)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    let refused = ledger
        .fail_message(third.id, "w2", "400 bad request", false, None, T0 + 161)
        .unwrap();
    assert_eq!(refused.status, MessageStatus::Dead);

    // A dead message goes back in line, attempts reset.
    let back = ledger.retry_message(third.id, T0 + 200).unwrap();
    assert_eq!(
        (back.status, back.attempts, back.next_attempt_at),
        (MessageStatus::Pending, 0, T0 + 200)
    );
    assert_eq!(ledger.retry_message(999, T0).unwrap_err().kind(), ErrorKind::NotFound);

    // Listing: newest first, filtered, paged.
    let all = ledger.list_messages(&MessageQuery::default()).unwrap();
    assert_eq!(
        all.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        [third.id, second.id, first.id]
    );
    assert_eq!(all.next_before, None);
    let dead = ledger
        .list_messages(&MessageQuery {
            status: Some(MessageStatus::Dead),
            ..MessageQuery::default()
        })
        .unwrap();
    assert_eq!(dead.messages.iter().map(|m| m.id).collect::<Vec<_>>(), [second.id]);
    let page = ledger
        .list_messages(&MessageQuery {
            limit: 2,
            ..MessageQuery::default()
        })
        .unwrap();
    assert_eq!(page.messages.len(), 2);
    let rest = ledger
        .list_messages(&MessageQuery {
            before: page.next_before,
            limit: 2,
            ..MessageQuery::default()
        })
        .unwrap();
    assert_eq!(rest.messages.iter().map(|m| m.id).collect::<Vec<_>>(), [first.id]);
    let elsewhere = MessageQuery {
        destination: Some("other".into()),
        ..MessageQuery::default()
    };
    assert!(ledger.list_messages(&elsewhere).unwrap().messages.is_empty());

    // Pruning removes delivered messages only.
    assert_eq!(ledger.prune_done_messages(T0 + 11).unwrap(), 0);
    assert_eq!(ledger.prune_done_messages(T0 + 1_000).unwrap(), 1);
    assert_eq!(ledger.find_message("m1").unwrap(), None);
    assert!(ledger.find_message("m2").unwrap().is_some());
}

fn senders_on_several_connections_claim_each_message_once(backend: &dyn Backend) {
    const THREADS: usize = 4;
    const MESSAGES: usize = 60;
    let shared = backend.shared();
    {
        let ledger = shared.connect();
        for i in 0..MESSAGES {
            ledger.enqueue_message(&new_message(&format!("m{i}")), T0).unwrap();
        }
    }
    let barrier = std::sync::Barrier::new(THREADS);
    let claims: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    let ledger = shared.connect();
                    let owner = format!("sender-{t}");
                    barrier.wait();
                    let mut ids = Vec::new();
                    loop {
                        let claimed = ledger.claim_messages(&owner, 3, 600, T0 + 1).unwrap();
                        if claimed.is_empty() {
                            return ids;
                        }
                        for m in claimed {
                            assert_eq!((m.attempts, m.claim_owner.as_deref()), (1, Some(owner.as_str())));
                            ledger.complete_message(m.id, &owner, T0 + 2).unwrap();
                            ids.push(m.id);
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total: usize = claims.iter().map(Vec::len).sum();
    let distinct: BTreeSet<i64> = claims.iter().flatten().copied().collect();
    assert_eq!(
        (total, distinct.len()),
        (MESSAGES, MESSAGES),
        "each message claimed once: {claims:?}"
    );
    let ledger = shared.connect();
    let done = ledger
        .list_messages(&MessageQuery {
            status: Some(MessageStatus::Done),
            limit: 100,
            ..MessageQuery::default()
        })
        .unwrap();
    assert_eq!(done.messages.len(), MESSAGES);
    assert!(done.messages.iter().all(|m| m.attempts == 1));
}

fn enqueuers_on_several_connections_create_each_key_once(backend: &dyn Backend) {
    const THREADS: usize = 4;
    const KEYS: usize = 20;
    let shared = backend.shared();
    drop(shared.connect());
    let barrier = std::sync::Barrier::new(THREADS);
    let created: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    let ledger = shared.connect();
                    barrier.wait();
                    (0..KEYS)
                        .filter(|i| ledger.enqueue_message(&new_message(&format!("k{i}")), T0).unwrap().1)
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        created.iter().sum::<usize>(),
        KEYS,
        "each key created once: {created:?}"
    );
    let all = shared
        .connect()
        .list_messages(&MessageQuery {
            limit: 100,
            ..MessageQuery::default()
        })
        .unwrap();
    assert_eq!(all.messages.len(), KEYS);
}

store_tests!([sqlite, mariadb]:
    messages_are_enqueued_once_claimed_completed_failed_and_retried,
    enqueuers_on_several_connections_create_each_key_once,
);

// Also where claims take turns under a named lock (servers without SKIP LOCKED).
store_tests!([sqlite, mariadb, mariadb_get_lock]:
    senders_on_several_connections_claim_each_message_once,
);
