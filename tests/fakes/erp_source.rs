//! A fake ERP inventory endpoint speaking the primary-source wire format
//! (`src/channels/source.rs`): `GET /api/inventory?per_page=M&page=N` (or `&cursor=…`) with
//! `Authorization: Bearer <token>` (anything else → 401), answering
//! `{"items":[{"sku","location","quantity"}],"next_page":n|null}` (or `next_cursor`).
//!
//! It serves whatever entries it is given, malformed ones included, can fail a chosen page
//! (429 / 5xx / 400 / slow / drop) and can page badly: ignore the page parameter, point back to
//! page 1, or repeat a cursor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::{Misbehave, Reply, Request, Server};

/// How the fake pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `page` / `next_page`, as documented.
    Pages,
    /// `cursor` / `next_cursor` (the cursor is `off-<offset>`).
    Cursor,
    /// Always serves the first page but claims a next page (a source ignoring `?page=`).
    IgnoresPage,
    /// Pages normally, but the last page's `next_page` points back to page 1.
    PointsBack,
    /// `next_cursor` is always the same.
    SameCursor,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub query: Vec<(String, String)>,
}

struct State {
    token: String,
    entries: Vec<Value>,
    paging: Paging,
    failures: HashMap<u64, Misbehave>,
    requests: Vec<Recorded>,
}

pub struct ErpSource {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl ErpSource {
    pub fn new(token: &str) -> ErpSource {
        let state = Arc::new(Mutex::new(State {
            token: token.into(),
            entries: Vec::new(),
            paging: Paging::Pages,
            failures: HashMap::new(),
            requests: Vec::new(),
        }));
        let shared = state.clone();
        let server = Server::start(move |request| handle(&shared, request));
        ErpSource { state, server }
    }

    pub fn url(&self) -> String {
        format!("{}/api/inventory", self.server.url())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("erp state")
    }

    pub fn add(&self, sku: &str, location: &str, quantity: i64) {
        self.add_raw(json!({ "sku": sku, "location": location, "quantity": quantity }));
    }

    /// Any entry, malformed ones included.
    pub fn add_raw(&self, entry: Value) {
        self.lock().entries.push(entry);
    }

    pub fn paging(&self, paging: Paging) {
        self.lock().paging = paging;
    }

    /// Fail every request for page `page` (1-based; with cursors, the page at that position).
    pub fn fail_page(&self, page: u64, what: Misbehave) {
        self.lock().failures.insert(page, what);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }
}

fn handle(state: &Arc<Mutex<State>>, request: Request) -> Reply {
    let mut state = state.lock().expect("erp state");
    state.requests.push(Recorded {
        authorization: request.header("authorization").map(str::to_string),
        query: request.query.clone(),
    });
    if request.method != "GET" || request.path != "/api/inventory" {
        return Reply::json(404, json!({ "message": "not found" }));
    }
    if request.header("authorization") != Some(format!("Bearer {}", state.token).as_str()) {
        return Reply::json(401, json!({ "message": "invalid or missing bearer token" }));
    }
    let per_page: usize = request
        .param("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .max(1);
    let offset: usize = match (request.param("cursor"), request.param("page")) {
        (Some(cursor), _) => match cursor.strip_prefix("off-").and_then(|n| n.parse().ok()) {
            Some(offset) => offset,
            None => return Reply::json(400, json!({ "message": "bad cursor" })),
        },
        (None, Some(page)) => match page.parse::<usize>() {
            Ok(page) if page >= 1 => (page - 1) * per_page,
            _ => return Reply::json(400, json!({ "message": "bad page" })),
        },
        (None, None) => 0,
    };
    let page_number = (offset / per_page + 1) as u64;
    if let Some(what) = state.failures.get(&page_number).cloned() {
        return match what {
            Misbehave::Status(status, retry_after) => {
                let mut headers = vec![("Content-Type".to_string(), "text/plain".to_string())];
                if let Some(value) = retry_after {
                    headers.push(("Retry-After".into(), value));
                }
                Reply::Respond {
                    status,
                    headers,
                    body: format!("upstream said no ({status})"),
                }
            }
            Misbehave::Slow(delay) => Reply::Slow(delay, Box::new(Reply::json(200, json!({ "items": [] })))),
            Misbehave::Drop | Misbehave::Throttled => Reply::Drop,
        };
    }
    let offset = if state.paging == Paging::IgnoresPage { 0 } else { offset };
    let end = (offset + per_page).min(state.entries.len());
    let items: Vec<Value> = state.entries.get(offset..end).unwrap_or_default().to_vec();
    let more = end < state.entries.len();
    let body = match state.paging {
        Paging::Pages => {
            json!({ "items": items, "next_page": if more { json!(page_number + 1) } else { Value::Null } })
        }
        Paging::IgnoresPage => json!({ "items": items, "next_page": page_number + 1 }),
        Paging::PointsBack => json!({ "items": items, "next_page": if more { page_number + 1 } else { 1 } }),
        Paging::Cursor => {
            json!({ "items": items, "next_cursor": if more { json!(format!("off-{end}")) } else { Value::Null } })
        }
        Paging::SameCursor => json!({ "items": items, "next_cursor": format!("off-{per_page}") }),
    };
    Reply::json(200, body)
}
