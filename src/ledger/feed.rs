//! Feeds: bulk submissions a channel processes asynchronously (Amazon's `JSON_LISTINGS_FEED`),
//! carrying up to tens of thousands of queued jobs at once. Plain values shared by every backend.
//!
//! A feed's jobs stay claimed while the channel works on it, under the owner
//! [`Feed::owner`] (`feed:<id>`), with a long claim that every poll extends: nobody else pushes
//! them, and a sale meanwhile makes a new pending job of the pair that waits until the feed is
//! settled (one path at a time per SKU, so an older quantity never lands after a newer one).
//!
//! States: `submitting` (jobs handed over, the submission under way or its fate unknown),
//! `submitted` (the channel gave its feed id; polled), then one of `done` (settled from the
//! channel's report), `failed` (the channel refused or lost it; its jobs failed, retryably),
//! `cancelled` (its jobs released) or `abandoned` (never reached the channel, or its fate stayed
//! unknown; its jobs released or failed).

use std::fmt;

use crate::error::{Error, Result};

/// Where a feed is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedState {
    /// Jobs handed over; the submission is under way, or crashed with its fate unknown.
    Submitting,
    /// The channel has it (its feed id is known); waiting for the channel's processing.
    Submitted,
    /// Processed and settled from the channel's report.
    Done,
    /// Refused or lost by the channel; its jobs failed (retryably).
    Failed,
    /// Cancelled on the channel; its jobs released.
    Cancelled,
    /// Never reached the channel, or its fate stayed unknown; its jobs released or failed.
    Abandoned,
}

impl FeedState {
    /// Every state, in life order.
    pub const ALL: [FeedState; 6] = [
        FeedState::Submitting,
        FeedState::Submitted,
        FeedState::Done,
        FeedState::Failed,
        FeedState::Cancelled,
        FeedState::Abandoned,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::Submitting => "submitting",
            FeedState::Submitted => "submitted",
            FeedState::Done => "done",
            FeedState::Failed => "failed",
            FeedState::Cancelled => "cancelled",
            FeedState::Abandoned => "abandoned",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Result<Self> {
        FeedState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| Error::validation("state", format!("unknown feed state {text:?}")))
    }

    /// Whether the feed still holds its jobs (submitting or submitted).
    pub fn is_live(self) -> bool {
        matches!(self, FeedState::Submitting | FeedState::Submitted)
    }
}

impl fmt::Display for FeedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// Our id.
    pub id: i64,
    /// The channel key.
    pub channel: String,
    /// Where it is.
    pub state: FeedState,
    /// The channel's feed id, once it gave one.
    pub remote_id: Option<String>,
    /// Jobs (messages) it carries.
    pub messages: u32,
    /// What the channel last said of its processing (`IN_QUEUE`, `IN_PROGRESS`, `DONE`, …).
    pub processing_status: Option<String>,
    /// When the jobs were handed over (unix seconds).
    pub created_at: i64,
    /// When the channel took it (unix seconds).
    pub submitted_at: Option<i64>,
    /// When to ask the channel about it next (unix seconds).
    pub next_poll_at: i64,
    /// How many times the channel was asked.
    pub polls: u32,
    /// Jobs completed from its report.
    pub applied: u32,
    /// Jobs failed from its report (refused messages, or all when the feed failed).
    pub refused: u32,
    /// The last problem met with it, readable by a store owner.
    pub last_error: Option<String>,
    /// When it ended (unix seconds).
    pub finished_at: Option<i64>,
}

impl Feed {
    /// The claim owner its jobs are held under.
    pub fn owner(&self) -> String {
        owner_of(self.id)
    }
}

/// The claim owner of feed `id`'s jobs: `feed:<id>`.
pub fn owner_of(id: i64) -> String {
    format!("feed:{id}")
}

/// A change to a feed; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedUpdate {
    /// The new state (setting an ended state also sets `finished_at`).
    pub state: Option<FeedState>,
    /// The channel's feed id (setting it also sets `submitted_at`).
    pub remote_id: Option<String>,
    /// What the channel said of its processing.
    pub processing_status: Option<String>,
    /// When to poll next.
    pub next_poll_at: Option<i64>,
    /// Count one more poll.
    pub polled: bool,
    /// Jobs completed / failed from its report, added to the counts.
    pub applied: u32,
    /// See `applied`.
    pub refused: u32,
    /// The last problem (`Some("")` clears it).
    pub last_error: Option<String>,
}

/// Longest stored feed id, status or error text, in characters.
pub const MAX_FEED_TEXT: usize = 500;

/// Most feeds [`LedgerStore::recent_feeds`](super::LedgerStore::recent_feeds) returns.
pub const MAX_RECENT_FEEDS: u32 = 1000;

/// A page size of recent feeds, checked (1–[`MAX_RECENT_FEEDS`]).
pub(crate) fn recent_limit(limit: u32) -> Result<u32> {
    if !(1..=MAX_RECENT_FEEDS).contains(&limit) {
        return Err(Error::validation(
            "limit",
            format!("must be between 1 and {MAX_RECENT_FEEDS}, got {limit}"),
        ));
    }
    Ok(limit)
}

/// A text for a feed column: trimmed and cut to [`MAX_FEED_TEXT`] characters; empty is none.
pub(crate) fn text(value: Option<&str>) -> Option<String> {
    let value = value?.trim();
    (!value.is_empty()).then(|| value.chars().take(MAX_FEED_TEXT).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_print_and_parse() {
        for state in FeedState::ALL {
            assert_eq!(FeedState::parse(state.as_str()).unwrap(), state);
        }
        assert!(FeedState::parse("DONE").is_err());
        assert_eq!(
            FeedState::ALL.iter().filter(|s| s.is_live()).count(),
            2,
            "submitting and submitted hold jobs"
        );
    }

    #[test]
    fn owners_and_texts() {
        assert_eq!(owner_of(42), "feed:42");
        assert_eq!(text(Some("  ")), None);
        assert_eq!(text(None), None);
        assert_eq!(text(Some(" IN_QUEUE ")).as_deref(), Some("IN_QUEUE"));
        assert_eq!(
            text(Some(&"é".repeat(600))).map(|t| t.chars().count()),
            Some(MAX_FEED_TEXT)
        );
    }
}
