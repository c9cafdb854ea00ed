//! API keys, rate limits and the security log through [`LedgerStore`], on every backend; the
//! SQLite file is also searched for the keys themselves.

use std::collections::BTreeSet;

use super::{fresh_and_reopened, ledger, setup, Backend, TempDir, T0};
use crate::error::ErrorKind;
use crate::ledger::{
    ItemInput, KeyCheck, LedgerStore, NewApiKey, Scope, SecurityEvent, SecurityQuery, SqliteLedger, MAX_PAGE,
};
use crate::Error;

/// 32 distinct bytes starting at `seed`: stands in for the caller's random bytes.
fn bytes(seed: u8) -> Vec<u8> {
    (0..32u8).map(|i| seed.wrapping_add(i.wrapping_mul(7))).collect()
}

fn new_key(name: &str, scopes: &[Scope]) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        scopes: scopes.iter().copied().collect(),
        ..NewApiKey::default()
    }
}

/// What authenticating should report: "valid", "unknown", "revoked" or "expired".
fn verdict(check: &KeyCheck) -> &'static str {
    match check {
        KeyCheck::Valid(_) => "valid",
        KeyCheck::Unknown => "unknown",
        KeyCheck::Revoked(_) => "revoked",
        KeyCheck::Expired(_) => "expired",
    }
}

enum Step {
    /// Present key `n` (or, with `Some`, this text instead) at a time; expect a verdict.
    Present(usize, Option<String>, i64, &'static str),
    /// Revoke key `n` at a time; expect this `revoked_at`.
    Revoke(usize, i64, i64),
    /// Expect key `n`'s `last_used_at`.
    LastUsed(usize, Option<i64>),
}

fn keys_are_issued_authenticated_expired_and_revoked(backend: &dyn Backend) {
    fresh_and_reopened(backend, "keys-lifecycle", |name, ledger| {
        let issued: Vec<_> = [
            (new_key("reader", &[Scope::Read]), 1),
            (
                NewApiKey {
                    expires_at: Some(T0 + 100),
                    ..new_key("writer", &[Scope::Write])
                },
                2,
            ),
            (new_key("both", &[Scope::Read, Scope::Write]), 3),
        ]
        .into_iter()
        .map(|(key, seed)| ledger.issue_api_key(&key, &bytes(seed), T0).unwrap())
        .collect();
        let ids: Vec<i64> = issued.iter().map(|i| i.key.id).collect();
        let plaintext = |n: usize| issued[n].plaintext.clone();
        let mut tampered = plaintext(0);
        tampered.replace_range(20..21, if &tampered[20..21] == "A" { "B" } else { "A" });

        use Step::*;
        let steps = [
            LastUsed(0, None),
            Present(0, None, T0 + 10, "valid"),
            LastUsed(0, Some(T0 + 10)),
            Present(0, Some(format!("  {}\r\n", plaintext(0))), T0 + 11, "valid"),
            Present(0, None, T0 + 5, "valid"),
            LastUsed(0, Some(T0 + 11)), // never moves backwards
            Present(0, Some(tampered), T0 + 12, "unknown"),
            Present(0, Some(plaintext(0).to_lowercase()), T0 + 12, "unknown"),
            Present(
                0,
                Some("isk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
                T0,
                "unknown",
            ),
            Present(0, Some("not a key".into()), T0, "unknown"),
            Present(0, Some(String::new()), T0, "unknown"),
            Present(1, None, T0 + 99, "valid"),
            Present(1, None, T0 + 100, "expired"),
            LastUsed(1, Some(T0 + 99)), // a refused key is not stamped
            Revoke(0, T0 + 20, T0 + 20),
            Present(0, None, T0 + 30, "revoked"),
            Revoke(0, T0 + 40, T0 + 20), // revoking again keeps the first time
            LastUsed(0, Some(T0 + 11)),
            Revoke(1, T0 + 200, T0 + 200),
            Present(1, None, T0 + 300, "revoked"), // revoked beats expired
            Present(2, None, T0 + 300, "valid"),
        ];
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Present(n, text, now, want) => {
                    let text = text.unwrap_or_else(|| plaintext(n));
                    let check = ledger.authenticate_api_key(&text, now).unwrap();
                    assert_eq!(verdict(&check), want, "{name}: step {i}");
                    if let Some(key) = check.key() {
                        assert_eq!(key.id, ids[n], "{name}: step {i}");
                    }
                    let reason = check.refusal_reason();
                    assert_eq!(reason.is_none(), want == "valid", "{name}: step {i}: {reason:?}");
                }
                Revoke(n, now, want) => {
                    let key = ledger.revoke_api_key(ids[n], now).unwrap();
                    assert_eq!(key.revoked_at, Some(want), "{name}: step {i}");
                }
                LastUsed(n, want) => {
                    let keys = ledger.list_api_keys().unwrap();
                    assert_eq!(keys[n].last_used_at, want, "{name}: step {i}");
                }
            }
        }

        let keys = ledger.list_api_keys().unwrap();
        let listed: Vec<(i64, &str, String, Option<i64>)> = keys
            .iter()
            .map(|k| (k.id, k.name.as_str(), Scope::join(&k.scopes), k.expires_at))
            .collect();
        assert_eq!(
            listed,
            [
                (ids[0], "reader", "read".to_owned(), None),
                (ids[1], "writer", "write".to_owned(), Some(T0 + 100)),
                (ids[2], "both", "read write".to_owned(), None)
            ],
            "{name}"
        );
        for (key, issued) in keys.iter().zip(&issued) {
            assert_eq!(key.prefix, issued.plaintext[..12], "{name}");
            assert_eq!(key.created_at, T0, "{name}");
            assert!(!format!("{key:?}").contains(&issued.plaintext[12..]), "{name}");
            assert!(!format!("{issued:?}").contains(&issued.plaintext[12..]), "{name}");
        }
        assert!(matches!(
            ledger.revoke_api_key(9999, T0).unwrap_err(),
            Error::NotFound { what: "api key", .. }
        ));
    });
}

fn issuing_refuses_bad_input_and_changes_nothing(backend: &dyn Backend) {
    let ledger = ledger(backend);
    ledger
        .issue_api_key(&new_key("first", &[Scope::Read]), &bytes(1), T0)
        .unwrap();
    let before = ledger.dump();
    let cases: Vec<(NewApiKey, Vec<u8>, ErrorKind, &str)> = vec![
        (
            new_key("again", &[Scope::Read]),
            bytes(1),
            ErrorKind::Conflict,
            "already issued",
        ),
        (
            NewApiKey {
                locations: Some(vec!["WH1".into(), "WH9".into()]),
                ..new_key("k", &[Scope::Read])
            },
            bytes(2),
            ErrorKind::NotFound,
            "unknown location: WH9",
        ),
        (
            NewApiKey {
                expires_at: Some(T0),
                ..new_key("k", &[Scope::Read])
            },
            bytes(2),
            ErrorKind::Validation,
            "expires_at: must be in the future",
        ),
        (
            new_key("k", &[]),
            bytes(2),
            ErrorKind::Validation,
            "scopes: at least one",
        ),
        (
            new_key("k", &[Scope::Read]),
            vec![7; 32],
            ErrorKind::Validation,
            "secret_bytes",
        ),
        (
            new_key("k", &[Scope::Read]),
            bytes(2)[..31].to_vec(),
            ErrorKind::Validation,
            "got 31",
        ),
    ];
    for (key, secret, kind, text) in cases {
        let error = ledger.issue_api_key(&key, &secret, T0).unwrap_err();
        assert_eq!(error.kind(), kind, "{key:?}: {error}");
        assert!(error.to_string().contains(text), "{key:?}: {error} lacks {text:?}");
        assert_eq!(ledger.dump(), before, "{key:?}: a refused key must change nothing");
    }
}

/// Every byte of every file in `dir` (the ledger, its WAL and shared memory, if present).
fn bytes_in(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn only_the_hash_of_a_key_is_stored() {
    let dir = TempDir::new("keys-hashed");
    let path = dir.path().join("ledger.sqlite");
    let ledger = SqliteLedger::open(&path).unwrap();
    setup(&ledger);
    let secret = bytes(42);
    let issued = ledger
        .issue_api_key(
            &NewApiKey {
                signing_secret: Some("request-signing-secret-1".into()),
                ..new_key("erp", &[Scope::Write])
            },
            &secret,
            T0,
        )
        .unwrap();
    assert!(issued.plaintext.starts_with("isk_") && issued.plaintext.len() == 47);
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(issued.plaintext.as_bytes()));
    let body = &issued.plaintext[4..];
    let checks = |files: &[u8], when: &str| {
        assert!(
            !contains(files, issued.plaintext.as_bytes()),
            "{when}: the key is in the file"
        );
        assert!(
            !contains(files, body.as_bytes()),
            "{when}: the key's body is in the file"
        );
        assert!(!contains(files, &secret), "{when}: the key's bytes are in the file");
        assert!(contains(files, hash.as_bytes()), "{when}: the hash should be stored");
        assert!(
            contains(files, issued.key.prefix.as_bytes()),
            "{when}: the prefix should be stored"
        );
        // Stored in the clear on purpose (see NewApiKey::signing_secret).
        assert!(contains(files, b"request-signing-secret-1"), "{when}");
    };
    // While open (the row may still be in the WAL) and after closing (checkpointed).
    checks(&bytes_in(dir.path()), "open");
    drop(ledger);
    checks(&bytes_in(dir.path()), "closed");

    let reopened = SqliteLedger::open(&path).unwrap();
    let check = reopened.authenticate_api_key(&issued.plaintext, T0 + 1).unwrap();
    let key = check.valid().unwrap();
    assert!(key.requires_signing());
    assert_eq!(key.signing_secret(), Some("request-signing-secret-1"));
}

fn a_key_limited_to_a_supplier_and_locations(backend: &dyn Backend) {
    fresh_and_reopened(backend, "keys-limits", |name, ledger| {
        ledger
            .upsert_item(
                &ItemInput {
                    sku: "ACME-1".into(),
                    name: "Acme widget".into(),
                    supplier: Some("Acme".into()),
                    ..ItemInput::default()
                },
                T0,
            )
            .unwrap();
        let limited = NewApiKey {
            supplier: Some(" Acme ".into()),
            locations: Some(vec!["WH2".into(), " WH1".into(), "WH2".into()]),
            ..new_key("supplier portal", &[Scope::Read, Scope::Write])
        };
        let issued = ledger.issue_api_key(&limited, &bytes(9), T0).unwrap();
        let unlimited = ledger
            .issue_api_key(&new_key("all", &[Scope::Read]), &bytes(10), T0)
            .unwrap();
        let key = |plaintext: &str| match ledger.authenticate_api_key(plaintext, T0 + 1).unwrap() {
            KeyCheck::Valid(key) => key,
            other => panic!("{name}: {other:?}"),
        };
        let limited = key(&issued.plaintext);
        let unlimited = key(&unlimited.plaintext);
        assert_eq!(limited.supplier.as_deref(), Some("Acme"), "{name}");
        assert_eq!(
            limited.locations,
            Some(vec!["WH2".to_owned(), "WH1".to_owned()]),
            "{name}"
        );
        assert_eq!(unlimited.locations, None, "{name}");
        assert!(!limited.requires_signing(), "{name}");

        let item = |sku: &str| ledger.get_item(sku).unwrap().unwrap();
        let cases = [
            ("ACME-1", "WH1", true, true, true, true),
            ("ACME-1", "WH0", true, false, true, true),
            ("A", "WH2", false, true, true, true),
            ("B", "WH0", false, false, true, true),
        ];
        for (sku, code, item_ok, location_ok, all_item_ok, all_location_ok) in cases {
            let item = item(sku);
            assert_eq!(limited.allows_item(&item), item_ok, "{name}: {sku}");
            assert_eq!(limited.allows_location(code), location_ok, "{name}: {code}");
            assert_eq!(unlimited.allows_item(&item), all_item_ok, "{name}: {sku}");
            assert_eq!(unlimited.allows_location(code), all_location_ok, "{name}: {code}");
        }
        assert!(
            limited.has_scope(Scope::Write) && unlimited.has_scope(Scope::Read),
            "{name}"
        );
        assert!(!unlimited.has_scope(Scope::Write), "{name}");
        assert_eq!(limited.scopes, BTreeSet::from([Scope::Read, Scope::Write]), "{name}");
    });
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

fn rate_limits_count_per_bucket_in_fixed_windows(backend: &dyn Backend) {
    fresh_and_reopened(backend, "rate-windows", |name, ledger| {
        let start = T0 - T0.rem_euclid(60);
        // (bucket, seconds into the first window, allowed, remaining, retry after)
        let steps = [
            ("key:1", 0, true, 2, 0),
            ("key:1", 10, true, 1, 0),
            ("key:2", 10, true, 2, 0), // another bucket counts apart
            ("key:1", 20, true, 0, 0),
            ("key:1", 21, false, 0, 39),
            ("key:1", 59, false, 0, 1),
            ("key:2", 59, true, 1, 0),
            ("key:1", 60, true, 2, 0), // the next window
            ("key:1", 119, true, 1, 0),
            ("key:1", 120, true, 2, 0),
            ("key:1", 3600, true, 2, 0),
        ];
        for (i, (bucket, offset, allowed, remaining, retry)) in steps.into_iter().enumerate() {
            let now = start + offset;
            let d = ledger.rate_limit(bucket, 3, 60, now).unwrap();
            assert_eq!(
                (d.allowed, d.remaining, d.retry_after_seconds, d.limit),
                (allowed, remaining, retry, 3),
                "{name}: step {i}"
            );
            assert_eq!(d.reset_at, now - now.rem_euclid(60) + 60, "{name}: step {i}");
            // Windows that have ended are gone.
            assert_eq!(
                ledger.query_i64(&format!("SELECT COUNT(*) FROM rate_limits WHERE window_end <= {now}")),
                0,
                "{name}: step {i}"
            );
        }
        assert_eq!(ledger.query_i64("SELECT COUNT(*) FROM rate_limits"), 1, "{name}");

        let before = ledger.dump();
        for (bucket, limit, window, field) in [
            (" ", 3, 60, "bucket"),
            ("k", 0, 60, "limit"),
            ("k", 3, 0, "window_seconds"),
        ] {
            let error = ledger.rate_limit(bucket, limit, window, T0).unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field: f, .. } if f == field),
                "{name}: {error}"
            );
        }
        assert_eq!(ledger.dump(), before, "{name}");
    });
}

fn a_rate_limit_is_exact_across_connections(backend: &dyn Backend) {
    const THREADS: usize = 4;
    const CALLS: usize = 30;
    const LIMIT: u32 = 50;
    let shared = backend.shared();
    drop(shared.connect());
    let start = T0 - T0.rem_euclid(60);
    let barrier = std::sync::Barrier::new(THREADS);
    // Per window, the `remaining` of every allowed request, from every thread.
    let results: Vec<[Vec<u32>; 2]> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (shared, barrier) = (&shared, &barrier);
                scope.spawn(move || {
                    let ledger = shared.connect();
                    let mut allowed: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
                    for (window, now) in [start + 5, start + 65].into_iter().enumerate() {
                        barrier.wait();
                        for i in 0..CALLS {
                            let d = ledger.rate_limit("key:7", LIMIT, 60, now + (i % 50) as i64).unwrap();
                            if d.allowed {
                                allowed[window].push(d.remaining);
                            } else {
                                assert!(d.retry_after_seconds >= 1, "thread {t}: {d:?}");
                            }
                        }
                    }
                    allowed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for window in 0..2 {
        let mut remaining: Vec<u32> = results.iter().flat_map(|r| r[window].iter().copied()).collect();
        remaining.sort_unstable();
        // Exactly LIMIT allowed, each seeing a distinct count: no two workers read the same one.
        assert_eq!(remaining, (0..LIMIT).collect::<Vec<_>>(), "window {window}");
    }
}

// ---------------------------------------------------------------------------------------------
// Security log
// ---------------------------------------------------------------------------------------------

fn refusal(reason: &str, detail: &str) -> SecurityEvent {
    SecurityEvent {
        route: "POST /inventory-sync/v1/movements".into(),
        reason: reason.into(),
        key_prefix: None,
        remote_addr: Some("203.0.113.9".into()),
        detail: detail.into(),
    }
}

fn the_security_log_pages_newest_first_and_prunes(backend: &dyn Backend) {
    fresh_and_reopened(backend, "security-log", |name, ledger| {
        let reasons = ["bad_signature", "unknown_key", "rate_limited"];
        for i in 0..25 {
            let record = ledger
                .record_security(&refusal(reasons[i % 3], &format!("request {i}")), T0 + i as i64)
                .unwrap();
            assert_eq!(
                (record.recorded_at, record.detail),
                (T0 + i as i64, format!("request {i}"))
            );
        }
        let pages = |reason: Option<&str>, limit: u32| {
            let mut sizes = Vec::new();
            let mut seen = Vec::new();
            let mut before = None;
            loop {
                let page = ledger
                    .list_security(&SecurityQuery {
                        reason: reason.map(str::to_owned),
                        before,
                        limit,
                    })
                    .unwrap();
                sizes.push(page.records.len());
                assert!(page
                    .records
                    .iter()
                    .all(|r| reason.is_none_or(|want| r.reason == want.trim())));
                seen.extend(page.records.iter().map(|r| r.id));
                match page.next_before {
                    Some(cursor) => before = Some(cursor),
                    None => break,
                }
            }
            assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first: {seen:?}");
            sizes
        };
        let cases: Vec<(Option<&str>, u32, Vec<usize>)> = vec![
            (None, 10, vec![10, 10, 5]),
            (None, MAX_PAGE, vec![25]),
            (Some("bad_signature"), 4, vec![4, 4, 1]),
            (Some(" unknown_key "), 100, vec![8]),
            (Some("scope"), 10, vec![0]),
        ];
        for (reason, limit, sizes) in cases {
            assert_eq!(pages(reason, limit), sizes, "{name}: {reason:?} by {limit}");
        }
        assert!(ledger
            .list_security(&SecurityQuery {
                limit: 0,
                ..SecurityQuery::default()
            })
            .is_err());

        assert_eq!(ledger.prune_security(T0 + 10).unwrap(), 10, "{name}");
        assert_eq!(ledger.prune_security(T0 + 10).unwrap(), 0, "{name}");
        assert_eq!(pages(None, 100), [15], "{name}");
        // Ids are cursors: never reused after pruning.
        let next = ledger.record_security(&refusal("too_large", ""), T0 + 30).unwrap();
        assert_eq!(next.id, 26, "{name}");
    });
}

fn the_security_log_never_keeps_a_whole_key(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let issued = ledger
        .issue_api_key(&new_key("k", &[Scope::Read]), &bytes(5), T0)
        .unwrap();
    let record = ledger
        .record_security(
            &SecurityEvent {
                key_prefix: Some(issued.plaintext.clone()),
                ..refusal("revoked_key", &format!("presented {}", issued.plaintext))
            },
            T0,
        )
        .unwrap();
    assert_eq!(record.key_prefix.as_deref(), Some(issued.key.prefix.as_str()));
    assert_eq!(record.detail, format!("presented {}…", issued.key.prefix));
    let listed = ledger.list_security(&SecurityQuery::default()).unwrap();
    assert_eq!(listed.records, [record]);

    let before = ledger.dump();
    let error = ledger.record_security(&refusal("Not A Code", ""), T0).unwrap_err();
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "reason"),
        "{error}"
    );
    assert_eq!(ledger.dump(), before);
}

store_tests!([sqlite, mariadb]:
    keys_are_issued_authenticated_expired_and_revoked,
    issuing_refuses_bad_input_and_changes_nothing,
    a_key_limited_to_a_supplier_and_locations,
    rate_limits_count_per_bucket_in_fixed_windows,
    a_rate_limit_is_exact_across_connections,
    the_security_log_pages_newest_first_and_prunes,
    the_security_log_never_keeps_a_whole_key,
);
