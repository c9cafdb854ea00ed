//! The message outbox: signed messages to partners (a supplier's order endpoint), each sent at
//! least once and counted once by its key.
//!
//! Unlike channel jobs, messages are not coalesced: each carries its own payload (an order's
//! lines for one supplier). A message's **key** (`order:1001:supplier:Orchard`) is unique:
//! enqueueing the same key again returns the stored message and changes nothing, so a re-fired
//! hook never sends twice. The key is also the `webhook-id` the receiver dedupes on, so a message
//! re-sent after a lost answer is recognised there. Claims, backoff and dead letters follow the
//! channel jobs' rules ([`super::job`]).

use super::job::{self, Backoff};
use crate::{Error, Result};

/// The longest payload, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// The longest key, destination or topic, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Where it goes (a supplier's name; the sender looks its endpoint up).
    pub destination: String,
    /// What it is (`order.paid`).
    pub topic: String,
    /// Its unique key (see the module documentation).
    pub key: String,
    /// The JSON body.
    pub payload: String,
}

impl NewMessage {
    /// The message checked and trimmed, or a validation error naming the field.
    pub fn validated(&self) -> Result<NewMessage> {
        let name = |field: &str, value: &str| -> Result<String> {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > MAX_NAME_CHARS || value.chars().any(char::is_control) {
                return Err(Error::validation(
                    field,
                    format!("must be 1–{MAX_NAME_CHARS} characters on one line"),
                ));
            }
            Ok(value.to_string())
        };
        if self.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::validation(
                "payload",
                format!("must be at most {MAX_PAYLOAD_BYTES} bytes"),
            ));
        }
        if serde_json::from_str::<serde_json::Value>(&self.payload).is_err() {
            return Err(Error::validation("payload", "must be JSON"));
        }
        Ok(NewMessage {
            destination: name("destination", &self.destination)?,
            topic: name("topic", &self.topic)?,
            key: name("key", &self.key)?,
            payload: self.payload.clone(),
        })
    }
}

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// Waiting for its next attempt (new, or retrying with `last_error` saying why).
    Pending,
    /// Claimed by a sender until `claim_expires_at`.
    Running,
    /// Delivered (the receiver answered 2xx).
    Done,
    /// Given up (refused, or out of attempts), waiting for an admin's retry.
    Dead,
}

impl MessageStatus {
    /// Every status.
    pub const ALL: [MessageStatus; 4] = [
        MessageStatus::Pending,
        MessageStatus::Running,
        MessageStatus::Done,
        MessageStatus::Dead,
    ];

    /// The status's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Running => "running",
            MessageStatus::Done => "done",
            MessageStatus::Dead => "dead",
        }
    }

    /// Parses a status name (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        MessageStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| {
                Error::validation(
                    "status",
                    format!("unknown message status {text:?}; expected pending, running, done or dead"),
                )
            })
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Queue position; the paging cursor.
    pub id: i64,
    /// Where it goes.
    pub destination: String,
    /// What it is.
    pub topic: String,
    /// Its unique key, sent as `webhook-id`.
    pub key: String,
    /// The JSON body.
    pub payload: String,
    /// Where it is.
    pub status: MessageStatus,
    /// Send attempts started (claims), reset by an admin's retry.
    pub attempts: u32,
    /// When it may be claimed (unix seconds).
    pub next_attempt_at: i64,
    /// The sender holding it; set exactly while running.
    pub claim_owner: Option<String>,
    /// When the claim lapses; set exactly while running.
    pub claim_expires_at: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// Which messages to list: newest first, before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQuery {
    /// Only this destination.
    pub destination: Option<String>,
    /// Only this status.
    pub status: Option<MessageStatus>,
    /// Only ids below this.
    pub before: Option<i64>,
    /// Page size, 1–[`super::MAX_PAGE`].
    pub limit: u32,
}

impl Default for MessageQuery {
    fn default() -> Self {
        MessageQuery {
            destination: None,
            status: None,
            before: None,
            limit: 50,
        }
    }
}

/// One page of messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePage {
    /// The messages.
    pub messages: Vec<Message>,
    /// Pass as [`MessageQuery::before`] for the next page.
    pub next_before: Option<i64>,
}

/// What a failed attempt does to a message: dead when refused or out of attempts, else pending
/// again after the backoff (never before `retry_after`). Returns (status, next attempt time,
/// error text kept).
pub(crate) fn after_failure(
    message: &Message,
    error: &str,
    retryable: bool,
    retry_after: Option<u32>,
    backoff: &Backoff,
    now: i64,
) -> (MessageStatus, i64, String) {
    if !retryable {
        return (MessageStatus::Dead, message.next_attempt_at, error.to_string());
    }
    if message.attempts >= backoff.max_attempts {
        return (
            MessageStatus::Dead,
            message.next_attempt_at,
            format!("gave up after {} attempts: {error}", message.attempts),
        );
    }
    let delay = backoff.delay_seconds(message.id, message.attempts.max(1), retry_after);
    (MessageStatus::Pending, now + i64::from(delay), error.to_string())
}

/// Refuses to act for `owner` on a message it does not hold (not running, or claimed by another).
pub(crate) fn check_claimed(message: &Message, owner: &str) -> Result<()> {
    if message.status != MessageStatus::Running || message.claim_owner.as_deref() != Some(owner) {
        return Err(Error::Conflict(format!(
            "message {} is not claimed by {owner} (it is {})",
            message.id,
            message.status.as_str()
        )));
    }
    Ok(())
}

/// Refuses to put back in line a message that is not dead.
pub(crate) fn check_retryable(message: &Message) -> Result<()> {
    if message.status != MessageStatus::Dead {
        return Err(Error::Conflict(format!(
            "message {} is {}; only dead messages are retried",
            message.id,
            message.status.as_str()
        )));
    }
    Ok(())
}

/// Checks a claim's owner, limit and duration (the channel jobs' rules).
pub(crate) fn claim_args(owner: &str, limit: u32, claim_seconds: u32) -> Result<String> {
    job::claim_limits(limit, claim_seconds)?;
    job::owner(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(attempts: u32) -> Message {
        Message {
            id: 7,
            destination: "Orchard".into(),
            topic: "order.paid".into(),
            key: "order:1:supplier:Orchard".into(),
            payload: "{}".into(),
            status: MessageStatus::Running,
            attempts,
            next_attempt_at: 100,
            claim_owner: Some("r".into()),
            claim_expires_at: Some(400),
            last_error: None,
            created_at: 100,
            updated_at: 100,
        }
    }

    #[test]
    fn a_refusal_is_dead_at_once_and_a_retryable_failure_backs_off_until_the_limit() {
        let backoff = Backoff::default();
        let (status, _, _) = after_failure(&message(1), "HTTP 400", false, None, &backoff, 1000);
        assert_eq!(status, MessageStatus::Dead);
        let (status, next, _) = after_failure(&message(1), "HTTP 503", true, Some(120), &backoff, 1000);
        assert_eq!(status, MessageStatus::Pending);
        assert!(next >= 1120, "Retry-After honoured: {next}");
        let (status, _, text) = after_failure(&message(backoff.max_attempts), "HTTP 503", true, None, &backoff, 1000);
        assert_eq!(status, MessageStatus::Dead);
        assert!(text.starts_with("gave up after"));
    }

    #[test]
    fn messages_are_checked_field_by_field() {
        let ok = NewMessage {
            destination: " Orchard ".into(),
            topic: "order.paid".into(),
            key: "order:1:supplier:Orchard".into(),
            payload: r#"{"a":1}"#.into(),
        };
        assert_eq!(ok.validated().unwrap().destination, "Orchard");
        let bad_json = NewMessage {
            payload: "{".into(),
            ..ok.clone()
        };
        assert!(bad_json.validated().unwrap_err().full_message().contains("payload"));
        let no_key = NewMessage {
            key: " ".into(),
            ..ok.clone()
        };
        assert!(no_key.validated().unwrap_err().full_message().starts_with("key"));
        let big = NewMessage {
            payload: format!("\"{}\"", "x".repeat(MAX_PAYLOAD_BYTES)),
            ..ok
        };
        assert!(big.validated().is_err());
    }
}
