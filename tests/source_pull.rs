//! Pulling from a primary source against the loopback ERP (`tests/fakes/erp_source.rs`).

mod fakes;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fakes::erp_source::{ErpSource, Paging};
use fakes::Misbehave;
use inventory_sync::channels::source::{PrimarySource, SkippedEntry, SourceConfig, SourceLevel};
use inventory_sync::channels::{Pacer, Secret};
use inventory_sync::error::ErrorKind;
use serde_json::json;

const TOKEN: &str = "erp_token_0123456789";

fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_323_045)
}

fn source(erp: &ErpSource, token: &str, per_page: usize) -> PrimarySource {
    let mut config = SourceConfig::new(erp.url(), Secret::new(token));
    config.per_page = per_page;
    config.http = fakes::fast_http();
    config.now = fixed_now;
    PrimarySource::new(config).expect("source")
}

fn level(sku: &str, location: &str, quantity: i64) -> SourceLevel {
    SourceLevel {
        sku: sku.into(),
        location: Some(location.into()),
        quantity,
    }
}

/// Seven well-formed entries: three pages of three at `per_page = 3`.
fn seven(erp: &ErpSource) -> Vec<SourceLevel> {
    (0..7)
        .map(|i| {
            let location = if i % 2 == 0 { "WH1" } else { "WH2" };
            erp.add(&format!("SKU-{i}"), location, i * 10);
            level(&format!("SKU-{i}"), location, i * 10)
        })
        .collect()
}

struct CountingPacer(Arc<AtomicUsize>);

impl Pacer for CountingPacer {
    fn before_call(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn pages_are_followed_to_the_end_with_the_bearer_token() {
    let erp = ErpSource::new(TOKEN);
    let expected = seven(&erp);
    let count = Arc::new(AtomicUsize::new(0));
    let mut pull = source(&erp, TOKEN, 3).with_pacer(Box::new(CountingPacer(count.clone())));
    let snapshot = pull.fetch_all(10).expect("pull");
    assert_eq!(snapshot.levels, expected);
    assert!(snapshot.skipped.is_empty());
    assert_eq!(snapshot.pages, 3);
    assert_eq!(snapshot.calls.len(), 3);
    assert!(snapshot
        .calls
        .iter()
        .all(|c| c.method == "GET" && c.path == "/api/inventory" && c.status == Some(200)));
    assert_eq!(count.load(Ordering::SeqCst), 3);

    let requests = erp.requests();
    assert!(requests
        .iter()
        .all(|r| r.authorization.as_deref() == Some("Bearer erp_token_0123456789")));
    let pages: Vec<Vec<(String, String)>> = requests.into_iter().map(|r| r.query).collect();
    let q = |page: &str| {
        vec![
            ("per_page".to_string(), "3".to_string()),
            ("page".to_string(), page.to_string()),
        ]
    };
    assert_eq!(pages, vec![q("1"), q("2"), q("3")]);
    assert!(pull.last_failure().is_none());
    assert!(!format!("{pull:?}").contains(TOKEN));
}

#[test]
fn cursor_paging_is_followed_too() {
    let erp = ErpSource::new(TOKEN);
    let expected = seven(&erp);
    erp.paging(Paging::Cursor);
    let snapshot = source(&erp, TOKEN, 2).fetch_all(10).expect("pull");
    assert_eq!(snapshot.levels, expected);
    assert_eq!(snapshot.pages, 4);
    let cursors: Vec<Option<String>> = erp
        .requests()
        .iter()
        .map(|r| r.query.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v.clone()))
        .collect();
    assert_eq!(
        cursors,
        vec![None, Some("off-2".into()), Some("off-4".into()), Some("off-6".into())]
    );
}

#[test]
fn an_empty_source_is_one_page_of_nothing() {
    let erp = ErpSource::new(TOKEN);
    let snapshot = source(&erp, TOKEN, 50).fetch_all(1).expect("pull");
    assert!(snapshot.levels.is_empty());
    assert_eq!(snapshot.pages, 1);
}

#[test]
fn a_bad_token_fails_permanently() {
    let erp = ErpSource::new(TOKEN);
    seven(&erp);
    let mut pull = source(&erp, "wrong-token", 3);
    let error = pull.fetch_all(10).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Channel);
    assert!(!error.is_retryable());
    assert_eq!(
        error.to_string(),
        "channel source: page 1: HTTP 401 Unauthorized: invalid or missing bearer token"
    );
    assert!(!error.to_string().contains("wrong-token"));
    assert_eq!(pull.last_failure().and_then(|f| f.code.as_deref()), Some("401"));
    let calls = pull.take_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, Some(401));
}

#[test]
fn a_failure_mid_paging_returns_nothing() {
    let cases: Vec<(Misbehave, bool, Option<u64>, &str)> = vec![
        (Misbehave::Status(503, Some("30".into())), true, Some(30), "503"),
        (
            Misbehave::Status(429, Some("Fri, 02 Jan 2026 03:05:05 GMT".into())),
            true,
            Some(60),
            "429",
        ),
        (Misbehave::Drop, true, None, "connection"),
        (Misbehave::Status(400, None), false, None, "400"),
    ];
    for (what, retryable, retry_after, code) in cases {
        let erp = ErpSource::new(TOKEN);
        seven(&erp);
        erp.fail_page(2, what.clone());
        let mut pull = source(&erp, TOKEN, 3);
        let error = pull
            .fetch_all(10)
            .err()
            .unwrap_or_else(|| panic!("{what:?} was applied"));
        assert_eq!(error.is_retryable(), retryable, "{what:?}: {error}");
        assert!(error.to_string().starts_with("channel source: page 2: "), "{error}");
        let failure = pull.last_failure().cloned().expect("failure");
        assert_eq!(failure.retry_after, retry_after, "{what:?}");
        assert_eq!(failure.code.as_deref(), Some(code), "{what:?}");
        assert_eq!(pull.take_calls().len(), 2, "{what:?}: no page after the failed one");
        assert_eq!(erp.requests().len(), 2);
    }
    // The 400's plain-text body is quoted, shortly.
    let erp = ErpSource::new(TOKEN);
    seven(&erp);
    erp.fail_page(3, Misbehave::Status(400, None));
    let error = source(&erp, TOKEN, 3).fetch_all(10).expect_err("refused");
    assert_eq!(
        error.to_string(),
        "channel source: page 3: HTTP 400 Bad Request: upstream said no (400)"
    );
}

#[test]
fn a_slow_page_times_out_and_nothing_is_returned() {
    let erp = ErpSource::new(TOKEN);
    seven(&erp);
    erp.fail_page(3, Misbehave::Slow(Duration::from_secs(2)));
    let mut pull = source(&erp, TOKEN, 3);
    let error = pull.fetch_all(10).expect_err("timed out");
    assert!(error.is_retryable());
    assert_eq!(pull.last_failure().and_then(|f| f.code.as_deref()), Some("timeout"));
    let calls = pull.take_calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[2].status, None);
}

#[test]
fn malformed_entries_are_skipped_with_reasons() {
    let erp = ErpSource::new(TOKEN);
    erp.add("GOOD-1", "WH1", 5);
    erp.add_raw(json!({ "location": "WH1", "quantity": 3 }));
    erp.add_raw(json!({ "sku": "NEG", "location": "WH1", "quantity": -2 }));
    erp.add_raw(json!({ "sku": "HUGE", "location": "WH1", "quantity": 5_000_000_000i64 }));
    erp.add_raw(json!({ "sku": "HALF", "location": "WH1", "quantity": 1.5 }));
    erp.add_raw(json!("GOOD-2,WH1,4"));
    erp.add_raw(json!({ "sku": "TEXT", "location": "WH1", "quantity": "12" }));
    erp.add("GOOD-1", "WH1", 9); // listed again
    erp.add_raw(json!({ "sku": "NOLOC", "quantity": 2 }));
    let snapshot = source(&erp, TOKEN, 4).fetch_all(10).expect("pull");
    assert_eq!(
        snapshot.levels,
        vec![
            level("GOOD-1", "WH1", 5),
            level("TEXT", "WH1", 12),
            SourceLevel {
                sku: "NOLOC".into(),
                location: None,
                quantity: 2
            },
        ]
    );
    let skipped = |page: u32, index: usize, sku: Option<&str>, reason: &str| SkippedEntry {
        page,
        index,
        sku: sku.map(Into::into),
        reason: reason.into(),
    };
    assert_eq!(
        snapshot.skipped,
        vec![
            skipped(1, 1, None, "missing sku"),
            skipped(1, 2, Some("NEG"), "negative quantity -2"),
            skipped(1, 3, Some("HUGE"), "quantity 5000000000 is above 1000000000"),
            skipped(2, 0, Some("HALF"), "quantity 1.5 is not a whole number"),
            skipped(2, 1, None, "unknown entry shape: not an object"),
            skipped(
                2,
                3,
                Some("GOOD-1"),
                "SKU GOOD-1 at WH1 was listed earlier in this pull; the first entry counts"
            ),
        ]
    );
    assert_eq!(snapshot.pages, 3);
}

#[test]
fn endless_paging_is_stopped() {
    // A source that ignores ?page= serves page 1 forever.
    let erp = ErpSource::new(TOKEN);
    seven(&erp);
    erp.paging(Paging::IgnoresPage);
    let mut pull = source(&erp, TOKEN, 3);
    let error = pull.fetch_all(100).expect_err("stopped");
    assert!(!error.is_retryable());
    assert_eq!(
        error.to_string(),
        "channel source: page 2: the source answered page 2 with the same entries as page 1 \
         (does it ignore the page parameter?)"
    );
    assert_eq!(pull.take_calls().len(), 2);

    // The last page points back to the first.
    let erp = ErpSource::new(TOKEN);
    seven(&erp);
    erp.paging(Paging::PointsBack);
    let error = source(&erp, TOKEN, 3).fetch_all(100).expect_err("stopped");
    assert_eq!(
        error.to_string(),
        "channel source: page 3: page 3 points back to page 1; paging would never end"
    );
    assert_eq!(erp.requests().len(), 3);

    // A cursor sent twice.
    let erp = ErpSource::new(TOKEN);
    seven(&erp);
    erp.paging(Paging::SameCursor);
    let error = source(&erp, TOKEN, 3).fetch_all(100).expect_err("stopped");
    assert!(error.to_string().contains("a cursor it had sent before"), "{error}");
    assert_eq!(erp.requests().len(), 2);

    // More pages than allowed: nothing is returned, and no request beyond the limit is made.
    let erp = ErpSource::new(TOKEN);
    seven(&erp);
    let mut pull = source(&erp, TOKEN, 2);
    let error = pull.fetch_all(3).expect_err("stopped");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("more than 3 pages"), "{error}");
    assert_eq!(pull.last_failure().and_then(|f| f.code.as_deref()), Some("paging"));
    assert_eq!(erp.requests().len(), 3);
    // Exactly enough pages is fine.
    assert_eq!(source(&erp, TOKEN, 2).fetch_all(4).expect("pull").levels.len(), 7);
}
