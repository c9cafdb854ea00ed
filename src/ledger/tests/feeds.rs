//! Feeds through [`LedgerStore`], on every backend: the hand-over of claims, updates, live and recent
//! feeds, the quota count, and claims that outlive ordinary ones.

use super::{setup, Backend, TestStore, T0};
use crate::error::ErrorKind;
use crate::ledger::{FeedState, FeedUpdate, JobStatus, NewJob};

const CH: &str = "amazon:ATVPDKIKX0DER";
const OTHER: &str = "shopify:demo.myshopify.com";

fn ledger(backend: &dyn Backend) -> Box<dyn TestStore> {
    let ledger = backend.open();
    setup(&*ledger);
    ledger
}

fn a_feed_takes_over_the_claims_its_starter_holds_and_nothing_else(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let mine = ledger
        .enqueue_jobs(&[NewJob::new(CH, "A", 4), NewJob::new(CH, "B", 5)], T0)
        .unwrap();
    let other_channel = ledger.enqueue_jobs(&[NewJob::new(OTHER, "A", 4)], T0).unwrap();
    let claimed = ledger.claim_jobs("run-1", None, 10, 60, T0).unwrap();
    assert_eq!(claimed.len(), 3);
    let unclaimed = ledger.enqueue_jobs(&[NewJob::new(CH, "A", 9)], T0).unwrap(); // pending beside A's

    // Ids of jobs run-1 does not hold on this channel are left alone and not counted.
    let ids = [mine[0].id, mine[1].id, other_channel[0].id, unclaimed[0].id, 999_999];
    let feed = ledger.begin_feed(CH, &ids, "run-1", 21_600, T0 + 1).unwrap();
    assert_eq!(
        (
            feed.state,
            feed.messages,
            feed.created_at,
            feed.next_poll_at,
            feed.remote_id.clone()
        ),
        (FeedState::Submitting, 2, T0 + 1, T0 + 1, None)
    );
    assert_eq!(feed.owner(), format!("feed:{}", feed.id));
    let held = ledger.jobs_held_by(&feed.owner(), 0, 1000).unwrap();
    assert_eq!(held.iter().map(|j| j.id).collect::<Vec<_>>(), [mine[0].id, mine[1].id]);
    assert!(held
        .iter()
        .all(|j| j.status == JobStatus::Running && j.claim_expires_at == Some(T0 + 1 + 21_600)));
    // A page at a time, by id: after an id, at most the limit.
    let page = |after: i64, limit: u32| -> Vec<i64> {
        ledger
            .jobs_held_by(&feed.owner(), after, limit)
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect()
    };
    assert_eq!(page(0, 1), [mine[0].id]);
    assert_eq!(page(mine[0].id, 1), [mine[1].id]);
    assert!(page(mine[1].id, 1000).is_empty());
    assert!(ledger.jobs_held_by(&feed.owner(), 0, 0).is_err());
    // The starter's release gives back only what it still holds.
    assert_eq!(ledger.release_claims("run-1", T0 + 2).unwrap(), 1);
    assert_eq!(ledger.jobs_held_by(&feed.owner(), 0, 1000).unwrap().len(), 2);

    // An ordinary claim after the run's 60 s cannot take the feed's jobs.
    let later = ledger.claim_jobs("run-2", Some(CH), 10, 60, T0 + 3600).unwrap();
    assert!(later.is_empty(), "{later:?}");
    // Extending moves every claim of the feed.
    assert_eq!(ledger.extend_claims(&feed.owner(), 21_600, T0 + 7200).unwrap(), 2);
    assert!(ledger
        .jobs_held_by(&feed.owner(), 0, 1000)
        .unwrap()
        .iter()
        .all(|j| j.claim_expires_at == Some(T0 + 7200 + 21_600)));
    // Past the claim, a live feed's jobs are still not taken (nor superseded or killed): only
    // the feed's end lets an expired claim go.
    let far = T0 + 100_000;
    assert!(ledger.claim_jobs("run-3", Some(CH), 10, 60, far).unwrap().is_empty());
    assert_eq!(ledger.jobs_held_by(&feed.owner(), 0, 1000).unwrap().len(), 2);
    ledger
        .update_feed(
            feed.id,
            &FeedUpdate {
                state: Some(FeedState::Abandoned),
                ..FeedUpdate::default()
            },
            far,
        )
        .unwrap();
    let taken = ledger.claim_jobs("run-3", Some(CH), 10, 60, far).unwrap();
    // B's expired claim is taken again; A's old job is superseded by its newer pending one (9).
    assert_eq!(
        taken.iter().map(|j| (j.sku.as_str(), j.desired)).collect::<Vec<_>>(),
        [("B", 5), ("A", 9)],
        "{taken:?}"
    );
    assert_eq!(ledger.get_job(mine[0].id).unwrap().unwrap().status, JobStatus::Failed);
    assert!(ledger.jobs_held_by(&feed.owner(), 0, 1000).unwrap().is_empty());
    // Bad input changes nothing.
    for (error, field) in [
        (ledger.begin_feed(" ", &ids, "run-1", 60, T0).unwrap_err(), "channel"),
        (ledger.begin_feed(CH, &ids, "", 60, T0).unwrap_err(), "owner"),
        (
            ledger.begin_feed(CH, &ids, "run-1", 0, T0).unwrap_err(),
            "claim_seconds",
        ),
        (
            ledger.extend_claims(&feed.owner(), 86_401, T0).unwrap_err(),
            "claim_seconds",
        ),
        (ledger.recent_feeds(None, 0).unwrap_err(), "limit"),
    ] {
        assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
        assert!(error.to_string().starts_with(field), "{error}");
    }
    assert_eq!(ledger.recent_feeds(None, 10).unwrap().len(), 1);
}

fn updates_record_the_channel_id_polls_counts_and_the_end(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let feed = ledger.begin_feed(CH, &[], "run-1", 60, T0).unwrap();
    assert_eq!(feed.messages, 0);
    let submitted = ledger
        .update_feed(
            feed.id,
            &FeedUpdate {
                state: Some(FeedState::Submitted),
                remote_id: Some(" 50012345 ".into()),
                processing_status: Some("IN_QUEUE".into()),
                next_poll_at: Some(T0 + 30),
                polled: true,
                last_error: Some("slow".into()),
                ..FeedUpdate::default()
            },
            T0 + 5,
        )
        .unwrap();
    assert_eq!(
        (
            submitted.state,
            submitted.remote_id.as_deref(),
            submitted.submitted_at,
            submitted.next_poll_at,
            submitted.polls,
            submitted.last_error.as_deref(),
            submitted.finished_at
        ),
        (
            FeedState::Submitted,
            Some("50012345"),
            Some(T0 + 5),
            T0 + 30,
            1,
            Some("slow"),
            None
        )
    );
    // A second id does not move `submitted_at`; an empty error clears it; counts add up.
    let done = ledger
        .update_feed(
            feed.id,
            &FeedUpdate {
                state: Some(FeedState::Done),
                processing_status: Some("DONE".into()),
                polled: true,
                applied: 7,
                refused: 2,
                last_error: Some(String::new()),
                ..FeedUpdate::default()
            },
            T0 + 90,
        )
        .unwrap();
    assert_eq!(
        (
            done.state,
            done.polls,
            done.applied,
            done.refused,
            done.last_error,
            done.finished_at,
            done.submitted_at
        ),
        (FeedState::Done, 2, 7, 2, None, Some(T0 + 90), Some(T0 + 5))
    );
    assert!(ledger.live_feeds(None).unwrap().is_empty());
    let error = ledger.update_feed(feed.id + 1, &FeedUpdate::default(), T0).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

fn live_and_recent_feeds_and_the_quota_count(backend: &dyn Backend) {
    let ledger = ledger(backend);
    let a = ledger.begin_feed(CH, &[], "r", 60, T0).unwrap();
    let b = ledger.begin_feed(OTHER, &[], "r", 60, T0 + 100).unwrap();
    let c = ledger.begin_feed(CH, &[], "r", 60, T0 + 200).unwrap();
    ledger
        .update_feed(
            a.id,
            &FeedUpdate {
                state: Some(FeedState::Abandoned),
                ..FeedUpdate::default()
            },
            T0 + 300,
        )
        .unwrap();
    let ids = |feeds: Vec<crate::ledger::Feed>| feeds.iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(ids(ledger.live_feeds(None).unwrap()), [b.id, c.id]);
    assert_eq!(ids(ledger.live_feeds(Some(CH)).unwrap()), [c.id]);
    assert_eq!(ids(ledger.recent_feeds(Some(CH), 10).unwrap()), [c.id, a.id]);
    assert_eq!(ids(ledger.recent_feeds(None, 2).unwrap()), [c.id, b.id]);
    assert_eq!(ledger.feeds_started_since(CH, T0).unwrap(), 2);
    assert_eq!(ledger.feeds_started_since(CH, T0 + 1).unwrap(), 1);
    assert_eq!(ledger.feeds_started_since("nobody", T0).unwrap(), 0);
    assert_eq!(ledger.get_feed(b.id).unwrap().unwrap().channel, OTHER);
    assert_eq!(ledger.get_feed(999).unwrap(), None);
}

store_tests!([sqlite, mariadb]:
    a_feed_takes_over_the_claims_its_starter_holds_and_nothing_else,
    updates_record_the_channel_id_polls_counts_and_the_end,
    live_and_recent_feeds_and_the_quota_count,
);
