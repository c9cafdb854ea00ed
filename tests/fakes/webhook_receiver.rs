//! A Standard Webhooks receiver (an ERP's endpoint), strict like the reference libraries, with
//! its own verification (the `hmac` crate directly, not the engine's `signature` module):
//! HMAC-SHA256 under the base64-decoded `whsec_` key over `"{webhook-id}.{webhook-timestamp}.{raw
//! body}"`, any `v1,<base64>` entry of the space-separated `webhook-signature` accepted, the
//! timestamp within ±300 s of the receiver's clock. A bad or missing signature gets 401.
//!
//! Accepted events are recorded once per `webhook-id`; a redelivery gets 200 and is counted as a
//! duplicate. Scripted misbehaviour (429 + `Retry-After`, 5xx, 400, slow, dropped connection)
//! applies to the next correctly signed request. With [`WebhookReceiver::set_rate_limit`] it
//! also enforces a rate limit, answering 429 with `Retry-After` before anything else.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{too_many_requests, LimitStats, Limiter, Misbehave, Reply, Request, Server};

/// One request that reached the receiver.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    /// The status answered (`None`: dropped).
    pub status: Option<u16>,
}

/// One accepted, first-seen event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: u64,
    pub event: Value,
}

#[derive(Default)]
struct State {
    key: Vec<u8>,
    now: u64,
    script: VecDeque<Misbehave>,
    attempts: Vec<Attempt>,
    events: Vec<Delivery>,
    seen: HashSet<String>,
    duplicates: usize,
    limit: Option<Limiter>,
}

pub struct WebhookReceiver {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl WebhookReceiver {
    /// A receiver holding `secret` (`whsec_` + base64) whose clock reads `now` (unix seconds).
    pub fn new(secret: &str, now: u64) -> WebhookReceiver {
        let key = STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .expect("whsec_ secret");
        let state = Arc::new(Mutex::new(State {
            key,
            now,
            ..State::default()
        }));
        let shared = state.clone();
        let server = Server::start(move |request| handle(&shared, request));
        WebhookReceiver { state, server }
    }

    pub fn url(&self) -> String {
        format!("{}/hooks/stock", self.server.url())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("receiver state")
    }

    pub fn misbehave(&self, what: Misbehave) {
        self.lock().script.push_back(what);
    }

    pub fn events(&self) -> Vec<Delivery> {
        self.lock().events.clone()
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    pub fn duplicates(&self) -> usize {
        self.lock().duplicates
    }

    /// Enforces `rate` requests per second, `burst` at once, from now on.
    pub fn set_rate_limit(&self, rate: f64, burst: u32) {
        self.lock().limit = Some(Limiter::new(rate, burst));
    }

    /// What the rate limit admitted and refused (`None` without one).
    pub fn limit_stats(&self) -> Option<LimitStats> {
        self.lock().limit.as_ref().map(Limiter::stats)
    }
}

fn verify(key: &[u8], request: &Request) -> Result<(String, u64), &'static str> {
    let id = request.header("webhook-id").ok_or("missing webhook-id")?;
    let timestamp = request.header("webhook-timestamp").ok_or("missing webhook-timestamp")?;
    let signatures = request.header("webhook-signature").ok_or("missing webhook-signature")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| "bad key")?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let matched = signatures.split(' ').any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|tag| mac.clone().verify_slice(&tag).is_ok())
    });
    if !matched {
        return Err("no matching signature");
    }
    let seconds: u64 = timestamp.parse().map_err(|_| "bad timestamp")?;
    Ok((id.to_string(), seconds))
}

fn handle(state: &Arc<Mutex<State>>, request: Request) -> Reply {
    let mut state = state.lock().expect("receiver state");
    let mut attempt = Attempt {
        id: request.header("webhook-id").map(str::to_string),
        timestamp: request.header("webhook-timestamp").map(str::to_string),
        signature: request.header("webhook-signature").map(str::to_string),
        content_type: request.header("content-type").map(str::to_string),
        status: None,
    };
    let (reply, status) = answer(&mut state, &request);
    attempt.status = status;
    state.attempts.push(attempt);
    reply
}

fn answer(state: &mut State, request: &Request) -> (Reply, Option<u16>) {
    if request.method != "POST" || request.path != "/hooks/stock" {
        return (Reply::json(404, json!({ "message": "no such hook" })), Some(404));
    }
    if let Some(Err(retry_after)) = state.limit.as_mut().map(Limiter::admit) {
        let body = json!({ "message": "rate limit exceeded" });
        return (too_many_requests(retry_after, body), Some(429));
    }
    let (id, timestamp) = match verify(&state.key, request) {
        Ok(verified) => verified,
        Err(why) => {
            return (
                Reply::json(401, json!({ "message": format!("signature: {why}") })),
                Some(401),
            )
        }
    };
    if timestamp.abs_diff(state.now) > 300 {
        return (
            Reply::json(401, json!({ "message": "signature: timestamp outside tolerance" })),
            Some(401),
        );
    }
    if let Some(what) = state.script.pop_front() {
        return match what {
            Misbehave::Status(status, retry_after) => {
                let mut headers = vec![("Content-Type".to_string(), "text/plain".to_string())];
                if let Some(value) = retry_after {
                    headers.push(("Retry-After".into(), value));
                }
                let body = match status {
                    400 => "rejected: unknown\r\nlocation   code\tWH9".to_string(),
                    _ => format!("error {status}"),
                };
                (Reply::Respond { status, headers, body }, Some(status))
            }
            Misbehave::Slow(delay) => (
                Reply::Slow(delay, Box::new(Reply::json(200, json!({ "ok": true })))),
                Some(200),
            ),
            Misbehave::Drop | Misbehave::Throttled => (Reply::Drop, None),
        };
    }
    let Ok(event) = serde_json::from_slice::<Value>(&request.body) else {
        return (Reply::json(400, json!({ "message": "body is not JSON" })), Some(400));
    };
    if !state.seen.insert(id.clone()) {
        state.duplicates += 1;
        return (Reply::json(200, json!({ "ok": true, "duplicate": true })), Some(200));
    }
    state.events.push(Delivery { id, timestamp, event });
    (
        Reply::Respond {
            status: 204,
            headers: Vec::new(),
            body: String::new(),
        },
        Some(204),
    )
}
