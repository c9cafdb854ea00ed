//! A strict fake of Login with Amazon's token endpoint and the SP-API Listings Items 2021-08-01
//! operations the adapter uses: `POST /auth/o2/token` (refresh-token grant, client id and secret
//! in the form), `GET` and `PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=…`.
//! Tokens it issued are checked in `x-amz-access-token` on every call; a missing, unknown or
//! expired one is answered like SP-API does it: **403** `{"errors":[{"code":"Unauthorized",…}]}`.
//!
//! Shapes chosen where `channel-apis.md` has no confirmed text (UNCONFIRMED):
//! * a wrong `productType`: HTTP 200, `status: INVALID`, issue `4000003` severity `ERROR`;
//! * a PATCH of a SKU without a listing: 404 `NOT_FOUND`;
//! * unknown body fields, a bad op or path, bad `fulfillment_availability` fields: 400
//!   `InvalidInput`;
//! * `ACCEPTED` writes are applied at once, or held until [`AmazonFake::process`] when
//!   [`AmazonFake::defer`] is on;
//! * with [`AmazonFake::set_rate_limit`], Listings Items calls over the limit get SP-API's 429
//!   `QuotaExceeded`, with a `Retry-After` (which SP-API does not document) so clients can be
//!   checked to honour it; the token endpoint is not limited (Login with Amazon is another host).
//!
//! Feeds API 2021-06-30 (`JSON_LISTINGS_FEED`): `POST /feeds/2021-06-30/documents` → 201
//! `{feedDocumentId, url}` with an upload URL on this fake (`PUT /s3/upload/<doc>`, which refuses
//! an access token and any content type but the one asked for); `POST /feeds/2021-06-30/feeds`
//! → 202 `{feedId}` (the document must have been uploaded); `GET /feeds/2021-06-30/feeds/{id}`;
//! `GET /feeds/2021-06-30/feeds?feedTypes=…&createdSince=…` (and `nextToken`);
//! `GET /feeds/2021-06-30/documents/{id}` → the report's URL (`GET /s3/report/<doc>`), gzip
//! with [`AmazonFake::gzip_reports`]. A feed is processed when it is created, or after
//! [`AmazonFake::feed_polls`] polls; each message is checked as a `PATCH` is (seller, product
//! type, known SKU, [`AmazonFake::fail_sku`]) and either applied or reported as an `ERROR` issue.
//! [`AmazonFake::twist_next_feed`] makes the next feed FATAL (half applied), CANCELLED, lost
//! (created, then the connection dropped) or reported with a feed-level issue.
//! [`AmazonFake::writes`] lists every value applied to a SKU, by PATCH or feed, in order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use inventory_sync::channels::oauth2::Clock;
use serde_json::{json, Value};

use super::{decode_segment, form, too_many_requests, LimitStats, Limiter, Misbehave, Reply, Request, Server};

pub const START: i64 = 1_700_000_000;
pub const TOKEN_PATH: &str = "/auth/o2/token";
pub const MARKETPLACE: &str = "ATVPDKIKX0DER";
const TOKEN_LIFETIME: i64 = 3600;
const PREFIX: &str = "/listings/2021-08-01/items/";
const FEEDS_PREFIX: &str = "/feeds/2021-06-30/";
pub const FEED_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

#[derive(Debug, Clone)]
pub struct Listing {
    pub product_type: String,
    pub quantity: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The raw path (percent-encoded as sent).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub token: Option<String>,
    pub body: Value,
}

/// What the next feed does unusually.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedTwist {
    /// Processing stops: the first half of its messages applied, status FATAL, no report.
    Fatal,
    /// Cancelled before processing: nothing applied.
    Cancel,
    /// Created and processed, but the createFeed connection is dropped (no answer).
    DropAnswer,
    /// Processed, but the report carries an ERROR issue naming no message.
    FeedIssue,
}

#[derive(Debug, Clone)]
pub struct FakeFeed {
    pub id: String,
    pub document: String,
    pub status: String,
    pub created_at: i64,
    pub messages: usize,
    pub result_document: Option<String>,
    polls_left: u32,
    twist: Option<FeedTwist>,
}

#[derive(Default)]
struct State {
    base_url: String,
    uploads: HashMap<String, Option<Vec<u8>>>,
    reports: HashMap<String, String>,
    feeds: Vec<FakeFeed>,
    feed_polls: u32,
    twists: VecDeque<FeedTwist>,
    gzip: bool,
    documents: u64,
    history: HashMap<String, Vec<i64>>,
    client_id: String,
    client_secret: String,
    refresh_token: String,
    seller_id: String,
    tokens: HashMap<String, i64>,
    issued: u64,
    listings: BTreeMap<String, Listing>,
    pending: Vec<(String, i64)>,
    defer: bool,
    script: VecDeque<Misbehave>,
    token_script: VecDeque<Misbehave>,
    fail_skus: HashMap<String, String>,
    requests: Vec<Recorded>,
    submissions: u64,
    limit: Option<Limiter>,
}

pub struct AmazonFake {
    state: Arc<Mutex<State>>,
    now: Arc<AtomicI64>,
    server: Server,
}

impl AmazonFake {
    pub fn new(seller_id: &str, client_id: &str, client_secret: &str, refresh_token: &str) -> AmazonFake {
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
            seller_id: seller_id.into(),
            ..State::default()
        }));
        let now = Arc::new(AtomicI64::new(START));
        let (shared, clock) = (state.clone(), now.clone());
        let server = Server::start(move |request| handle(&shared, clock.load(Ordering::SeqCst), request));
        state.lock().expect("fake state").base_url = server.url();
        AmazonFake { state, now, server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn clock(&self) -> Clock {
        let now = self.now.clone();
        Clock::new(move || now.load(Ordering::SeqCst))
    }

    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake state")
    }

    pub fn add_listing(&self, sku: &str, product_type: &str, quantity: i64) {
        self.lock().listings.insert(
            sku.into(),
            Listing {
                product_type: product_type.into(),
                quantity: Some(quantity),
            },
        );
    }

    pub fn quantity(&self, sku: &str) -> Option<i64> {
        self.lock().listings.get(sku).and_then(|l| l.quantity)
    }

    /// Holds accepted writes until `process` (Amazon processes them asynchronously).
    pub fn defer(&self, on: bool) {
        self.lock().defer = on;
    }

    /// Applies the held writes.
    pub fn process(&self) {
        let mut state = self.lock();
        for (sku, quantity) in std::mem::take(&mut state.pending) {
            apply(&mut state, &sku, quantity);
        }
    }

    pub fn misbehave(&self, what: Misbehave) {
        self.lock().script.push_back(what);
    }

    pub fn misbehave_token(&self, what: Misbehave) {
        self.lock().token_script.push_back(what);
    }

    /// Every patch of `sku` is INVALID with an ERROR issue of this code.
    pub fn fail_sku(&self, sku: &str, code: &str) {
        self.lock().fail_skus.insert(sku.into(), code.into());
    }

    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn token_requests(&self) -> usize {
        self.requests().iter().filter(|r| r.path == TOKEN_PATH).count()
    }

    pub fn patches(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method == "PATCH").collect()
    }

    /// Enforces `rate` Listings Items requests per second, `burst` at once, from now on.
    pub fn set_rate_limit(&self, rate: f64, burst: u32) {
        self.lock().limit = Some(Limiter::new(rate, burst));
    }

    /// What the rate limit admitted and refused (`None` without one).
    pub fn limit_stats(&self) -> Option<LimitStats> {
        self.lock().limit.as_ref().map(Limiter::stats)
    }

    /// Feeds stay IN_QUEUE / IN_PROGRESS for this many polls before they are processed.
    pub fn feed_polls(&self, polls: u32) {
        self.lock().feed_polls = polls;
    }

    /// The next feed created goes this way.
    pub fn twist_next_feed(&self, twist: FeedTwist) {
        self.lock().twists.push_back(twist);
    }

    /// Result documents are served gzip-compressed.
    pub fn gzip_reports(&self, on: bool) {
        self.lock().gzip = on;
    }

    pub fn feeds(&self) -> Vec<FakeFeed> {
        self.lock().feeds.clone()
    }

    /// Every quantity applied to `sku`, by PATCH or feed, in order.
    pub fn writes(&self, sku: &str) -> Vec<i64> {
        self.lock().history.get(sku).cloned().unwrap_or_default()
    }

    /// Requests to the Feeds API (and the document uploads/downloads), as `METHOD path`.
    pub fn feed_calls(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.path.starts_with(FEEDS_PREFIX) || r.path.starts_with("/s3/"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn gets(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with(PREFIX))
            .count()
    }
}

fn sp_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({ "errors": [{ "code": code, "message": message, "details": "" }] }),
    )
}

fn misbehaviour(what: Misbehave) -> Reply {
    match what {
        Misbehave::Status(status, retry_after) => {
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            if let Some(value) = retry_after {
                headers.push(("Retry-After".into(), value));
            }
            let (code, message) = if status == 429 {
                (
                    "QuotaExceeded",
                    "You exceeded your quota for the requested resource.".to_string(),
                )
            } else {
                ("InternalFailure", format!("fake status {status}"))
            };
            let body = json!({ "errors": [{ "code": code, "message": message, "details": "" }] });
            Reply::Respond {
                status,
                headers,
                body: body.to_string(),
            }
        }
        Misbehave::Slow(delay) => Reply::Slow(delay, Box::new(Reply::json(200, json!({})))),
        Misbehave::Drop => Reply::Drop,
        Misbehave::Throttled => misbehaviour(Misbehave::Status(429, None)),
    }
}

fn handle(shared: &Arc<Mutex<State>>, now: i64, request: Request) -> Reply {
    let mut state = shared.lock().expect("fake state");
    let body: Value = if request.path == TOKEN_PATH || request.path.starts_with("/s3/") {
        Value::Null
    } else {
        serde_json::from_slice(&request.body).unwrap_or(Value::Null)
    };
    state.requests.push(Recorded {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        token: request.header("x-amz-access-token").map(str::to_string),
        body: body.clone(),
    });
    if request.path == TOKEN_PATH {
        return token(&mut state, now, &request);
    }
    if let Some(rest) = request.path.strip_prefix("/s3/") {
        return document(&mut state, rest, &request);
    }
    if let Some(Err(retry_after)) = state.limit.as_mut().map(Limiter::admit) {
        let body = json!({ "errors": [{ "code": "QuotaExceeded",
                           "message": "You exceeded your quota for the requested resource.", "details": "" }] });
        return too_many_requests(retry_after, body);
    }
    let denied = |details: &str| {
        Reply::json(
            403,
            json!({ "errors": [{ "code": "Unauthorized", "message": "Access to requested resource is denied.", "details": details }] }),
        )
    };
    match request.header("x-amz-access-token").map(|t| state.tokens.get(t)) {
        None => return denied(""),
        Some(None) => return denied("The access token you provided is revoked, malformed or invalid."),
        Some(Some(&expires)) if now >= expires => return denied("The access token you provided has expired."),
        Some(Some(_)) => {}
    }
    if let Some(what) = state.script.pop_front() {
        return misbehaviour(what);
    }
    if let Some(rest) = request.path.strip_prefix(FEEDS_PREFIX) {
        return feeds_api(&mut state, now, rest, &request, &body);
    }
    let Some(rest) = request.path.strip_prefix(PREFIX) else {
        return sp_error(404, "NotFound", "Resource not found");
    };
    let segments: Vec<String> = rest.split('/').map(decode_segment).collect();
    let [seller, sku] = segments.as_slice() else {
        return sp_error(404, "NotFound", "Resource not found");
    };
    if seller != &state.seller_id {
        return sp_error(
            400,
            "InvalidInput",
            "The seller id does not match the authorized selling partner.",
        );
    }
    match request.param("marketplaceIds") {
        None => return sp_error(400, "InvalidInput", "Missing required 'marketplaceIds'."),
        Some(m) if m != MARKETPLACE => return sp_error(400, "InvalidInput", &format!("Invalid marketplaceIds: {m}")),
        Some(_) => {}
    }
    match request.method.as_str() {
        "GET" => get_item(&state, sku, &request),
        "PATCH" => {
            if request.header("content-type") != Some("application/json") {
                return sp_error(415, "InvalidInput", "Unsupported media type");
            }
            patch_item(&mut state, sku, &request, &body)
        }
        _ => sp_error(405, "MethodNotAllowed", "Method not allowed"),
    }
}

fn token(state: &mut State, now: i64, request: &Request) -> Reply {
    if let Some(what) = state.token_script.pop_front() {
        return misbehaviour(what);
    }
    let oauth_error = |status: u16, error: &str, description: &str| {
        Reply::json(status, json!({ "error_description": description, "error": error }))
    };
    if request.method != "POST"
        || !request
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return oauth_error(
            400,
            "invalid_request",
            "The request is missing a required parameter : grant_type",
        );
    }
    let fields = form(&request.body);
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some((name, _)) = fields
        .iter()
        .find(|(k, _)| !["grant_type", "refresh_token", "client_id", "client_secret"].contains(&k.as_str()))
    {
        return oauth_error(400, "invalid_request", &format!("Unexpected parameter : {name}"));
    }
    if field("grant_type") != Some("refresh_token") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported",
        );
    }
    if field("client_id") != Some(state.client_id.as_str())
        || field("client_secret") != Some(state.client_secret.as_str())
    {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    if field("refresh_token") != Some(state.refresh_token.as_str()) {
        return oauth_error(
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        );
    }
    state.issued += 1;
    let access = format!("Atza|fake-{}", state.issued);
    state.tokens.insert(access.clone(), now + TOKEN_LIFETIME);
    Reply::json(
        200,
        json!({ "access_token": access, "refresh_token": state.refresh_token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME }),
    )
}

const INCLUDED: &[&str] = &[
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
];

fn get_item(state: &State, sku: &str, request: &Request) -> Reply {
    if let Some((name, _)) = request
        .query
        .iter()
        .find(|(k, _)| !["marketplaceIds", "issueLocale", "includedData"].contains(&k.as_str()))
    {
        return sp_error(400, "InvalidInput", &format!("Unknown parameter {name}"));
    }
    let included: Vec<&str> = request
        .param("includedData")
        .unwrap_or("summaries")
        .split(',')
        .collect();
    if let Some(bad) = included.iter().find(|i| !INCLUDED.contains(i)) {
        return sp_error(400, "InvalidInput", &format!("Invalid includedData value {bad}"));
    }
    let Some(listing) = state.listings.get(sku) else {
        return sp_error(
            404,
            "NOT_FOUND",
            &format!("SKU '{sku}' not found in marketplace {MARKETPLACE}"),
        );
    };
    let mut answer = json!({ "sku": sku });
    if included.contains(&"summaries") {
        answer["summaries"] = json!([{ "marketplaceId": MARKETPLACE, "asin": "B000FAKE00", "productType": listing.product_type,
            "conditionType": "new_new", "status": ["BUYABLE", "DISCOVERABLE"], "itemName": format!("Item {sku}"),
            "createdDate": "2025-01-01T00:00:00Z", "lastUpdatedDate": "2025-06-01T00:00:00Z" }]);
    }
    if included.contains(&"fulfillmentAvailability") {
        answer["fulfillmentAvailability"] = match listing.quantity {
            Some(q) => json!([{ "fulfillmentChannelCode": "DEFAULT", "quantity": q }]),
            None => json!([]),
        };
    }
    Reply::json(200, answer)
}

const AVAILABILITY_FIELDS: &[&str] = &[
    "fulfillment_channel_code",
    "quantity",
    "lead_time_to_ship_max_days",
    "restock_date",
    "is_inventory_available",
];

fn patch_item(state: &mut State, sku: &str, request: &Request, body: &Value) -> Reply {
    if let Some((name, _)) = request
        .query
        .iter()
        .find(|(k, _)| !["marketplaceIds", "issueLocale", "includedData", "mode"].contains(&k.as_str()))
    {
        return sp_error(400, "InvalidInput", &format!("Unknown parameter {name}"));
    }
    let Some(object) = body.as_object() else {
        return sp_error(400, "InvalidInput", "Request body is not valid JSON");
    };
    if let Some(key) = object
        .keys()
        .find(|k| !["productType", "patches"].contains(&k.as_str()))
    {
        return sp_error(400, "InvalidInput", &format!("Unrecognized field '{key}'"));
    }
    let Some(product_type) = body["productType"].as_str() else {
        return sp_error(400, "InvalidInput", "Missing required 'productType'");
    };
    let Some(patches) = body["patches"].as_array().filter(|p| !p.is_empty()) else {
        return sp_error(400, "InvalidInput", "Missing required 'patches'");
    };
    let quantity = match quantity_of(patches) {
        Ok(quantity) => quantity,
        Err(message) => return sp_error(400, "InvalidInput", &message),
    };
    state.submissions += 1;
    let submission = format!("{:032x}", state.submissions);
    let Some(listing) = state.listings.get(sku) else {
        return sp_error(
            404,
            "NOT_FOUND",
            &format!("SKU '{sku}' not found in marketplace {MARKETPLACE}"),
        );
    };
    let invalid = |code: &str, message: String| {
        Reply::json(
            200,
            json!({ "sku": sku, "status": "INVALID", "submissionId": submission,
                    "issues": [{ "code": code, "message": message, "severity": "ERROR",
                                 "attributeNames": ["fulfillment_availability"], "categories": [] }] }),
        )
    };
    if listing.product_type != product_type {
        return invalid(
            "4000003",
            format!(
                "The provided product type '{product_type}' does not match the product type '{}' of the listing.",
                listing.product_type
            ),
        );
    }
    if let Some(code) = state.fail_skus.get(sku) {
        return invalid(code, format!("fake refusal {code}"));
    }
    let Some(quantity) = quantity else {
        return invalid("90220", "'quantity' is required but not supplied.".into());
    };
    let quantity = quantity as i64;
    if state.defer {
        state.pending.push((sku.to_string(), quantity));
    } else {
        apply(state, sku, quantity);
    }
    Reply::json(
        200,
        json!({ "sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": [] }),
    )
}

/// Sets a listing's quantity and records the write.
fn apply(state: &mut State, sku: &str, quantity: i64) {
    if let Some(listing) = state.listings.get_mut(sku) {
        listing.quantity = Some(quantity);
        state.history.entry(sku.to_string()).or_default().push(quantity);
    }
}

/// The `DEFAULT` quantity a list of patches sets, or why the patches are invalid.
fn quantity_of(patches: &[Value]) -> Result<Option<u64>, String> {
    let mut quantity = None;
    for patch in patches {
        let Some(fields) = patch.as_object() else {
            return Err("A patch must be an object".into());
        };
        if let Some(key) = fields.keys().find(|k| !["op", "path", "value"].contains(&k.as_str())) {
            return Err(format!("Unrecognized field 'patches.{key}'"));
        }
        if !["add", "replace", "merge", "delete"].contains(&patch["op"].as_str().unwrap_or_default()) {
            return Err("Invalid 'op'".into());
        }
        let path = patch["path"].as_str().unwrap_or_default();
        if path != "/attributes/fulfillment_availability" {
            return Err(format!("The fake only patches fulfillment_availability, not {path}"));
        }
        let Some(values) = patch["value"].as_array() else {
            return Err("'value' must be an array".into());
        };
        for value in values {
            let Some(value) = value.as_object() else {
                return Err("'value' entries must be objects".into());
            };
            if let Some(key) = value.keys().find(|k| !AVAILABILITY_FIELDS.contains(&k.as_str())) {
                return Err(format!("Unrecognized field 'fulfillment_availability.{key}'"));
            }
            if value.get("fulfillment_channel_code").and_then(Value::as_str) == Some("DEFAULT") {
                quantity = value.get("quantity").and_then(Value::as_u64);
            }
        }
    }
    Ok(quantity)
}

/// The pre-signed document URLs: uploads (`PUT /s3/upload/<doc>`) and reports
/// (`GET /s3/report/<doc>`). They carry their own authorization, so an access token is refused.
fn document(state: &mut State, rest: &str, request: &Request) -> Reply {
    let s3_error = |status: u16, code: &str| Reply::Respond {
        status,
        headers: vec![("Content-Type".into(), "application/xml".into())],
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code></Error>"),
    };
    if request.header("x-amz-access-token").is_some() {
        return s3_error(400, "InvalidArgument");
    }
    match (request.method.as_str(), rest.split_once('/')) {
        ("PUT", Some(("upload", id))) => {
            if request.header("content-type") != Some(FEED_CONTENT_TYPE) {
                return s3_error(403, "SignatureDoesNotMatch");
            }
            match state.uploads.get_mut(id) {
                Some(slot) => {
                    *slot = Some(request.body.clone());
                    Reply::Respond {
                        status: 200,
                        headers: vec![],
                        body: String::new(),
                    }
                }
                None => s3_error(403, "AccessDenied"),
            }
        }
        ("GET", Some(("report", id))) => match state.reports.get(id) {
            Some(report) if state.gzip => {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(report.as_bytes()).expect("gzip");
                Reply::Raw {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                    body: encoder.finish().expect("gzip"),
                }
            }
            Some(report) => Reply::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: report.clone(),
            },
            None => s3_error(404, "NoSuchKey"),
        },
        _ => s3_error(403, "AccessDenied"),
    }
}

fn feed_json(feed: &FakeFeed) -> Value {
    let mut answer = json!({
        "feedId": feed.id, "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [MARKETPLACE],
        "createdTime": inventory_sync::channels::webhook::rfc3339(feed.created_at as u64),
        "processingStatus": feed.status,
    });
    if let Some(document) = &feed.result_document {
        answer["resultFeedDocumentId"] = json!(document);
    }
    answer
}

/// The Feeds API (the token was checked).
fn feeds_api(state: &mut State, now: i64, rest: &str, request: &Request, body: &Value) -> Reply {
    match (request.method.as_str(), rest) {
        ("POST", "documents") => {
            if body["contentType"].as_str().is_none() {
                return sp_error(400, "InvalidInput", "Missing required 'contentType'");
            }
            state.documents += 1;
            let id = format!("amzn1.tortuga.4.na.doc-{}", state.documents);
            state.uploads.insert(id.clone(), None);
            let url = format!("{}/s3/upload/{id}", state.base_url);
            Reply::json(201, json!({ "feedDocumentId": id, "url": url }))
        }
        ("POST", "feeds") => create_feed(state, now, body),
        ("GET", "feeds") => {
            let since = request.param("createdSince").map(str::to_string);
            let (start, types_ok) = match request.param("nextToken") {
                Some(token) => (token.parse::<usize>().unwrap_or(usize::MAX), true),
                None => (0, request.param("feedTypes") == Some("JSON_LISTINGS_FEED")),
            };
            if !types_ok || (request.param("nextToken").is_none() && since.is_none()) {
                return sp_error(400, "InvalidInput", "feedTypes and createdSince are required here");
            }
            let since = since.unwrap_or_default();
            let matching: Vec<Value> = state
                .feeds
                .iter()
                .map(feed_json)
                .filter(|f| f["createdTime"].as_str().unwrap_or_default() >= since.as_str())
                .collect();
            let page: Vec<Value> = matching.iter().skip(start).take(2).cloned().collect();
            let mut answer = json!({ "feeds": page });
            if start + 2 < matching.len() {
                answer["nextToken"] = json!((start + 2).to_string());
            }
            Reply::json(200, answer)
        }
        ("GET", rest) if rest.starts_with("feeds/") => {
            let id = decode_segment(&rest["feeds/".len()..]);
            let Some(index) = state.feeds.iter().position(|f| f.id == id) else {
                return sp_error(404, "NotFound", "Feed not found");
            };
            if state.feeds[index].polls_left > 0 {
                state.feeds[index].polls_left -= 1;
                state.feeds[index].status = "IN_PROGRESS".into();
                if state.feeds[index].polls_left == 0 {
                    process(state, index);
                }
            }
            Reply::json(200, feed_json(&state.feeds[index]))
        }
        ("GET", rest) if rest.starts_with("documents/") => {
            let id = decode_segment(&rest["documents/".len()..]);
            if !state.reports.contains_key(&id) {
                return sp_error(404, "NotFound", "Document not found");
            }
            let mut answer = json!({ "feedDocumentId": id, "url": format!("{}/s3/report/{id}", state.base_url) });
            if state.gzip {
                answer["compressionAlgorithm"] = json!("GZIP");
            }
            Reply::json(200, answer)
        }
        _ => sp_error(404, "NotFound", "Resource not found"),
    }
}

fn create_feed(state: &mut State, now: i64, body: &Value) -> Reply {
    if let Some(key) = body.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["feedType", "marketplaceIds", "inputFeedDocumentId", "feedOptions"].contains(&k.as_str()))
    }) {
        return sp_error(400, "InvalidInput", &format!("Unrecognized field '{key}'"));
    }
    if body["feedType"] != "JSON_LISTINGS_FEED" {
        return sp_error(400, "InvalidInput", "The fake takes JSON_LISTINGS_FEED only");
    }
    if body["marketplaceIds"] != json!([MARKETPLACE]) {
        return sp_error(400, "InvalidInput", "Invalid marketplaceIds");
    }
    let document = body["inputFeedDocumentId"].as_str().unwrap_or_default().to_string();
    if !matches!(state.uploads.get(&document), Some(Some(_))) {
        return sp_error(400, "InvalidInput", "The input feed document was not uploaded");
    }
    let id = format!("{}", 50_000_000_000_u64 + state.feeds.len() as u64 + 1);
    let twist = state.twists.pop_front();
    state.feeds.push(FakeFeed {
        id: id.clone(),
        document,
        status: "IN_QUEUE".into(),
        created_at: now,
        messages: 0,
        result_document: None,
        polls_left: state.feed_polls,
        twist,
    });
    let index = state.feeds.len() - 1;
    if state.feed_polls == 0 {
        process(state, index);
    }
    if twist == Some(FeedTwist::DropAnswer) {
        return Reply::Drop;
    }
    Reply::json(202, json!({ "feedId": id }))
}

/// Processes feed `index`: applies its valid messages and writes its report.
fn process(state: &mut State, index: usize) {
    let twist = state.feeds[index].twist;
    if twist == Some(FeedTwist::Cancel) {
        state.feeds[index].status = "CANCELLED".into();
        return;
    }
    let upload = state
        .uploads
        .get(&state.feeds[index].document)
        .cloned()
        .flatten()
        .unwrap_or_default();
    let feed: Value = serde_json::from_slice(&upload).unwrap_or(Value::Null);
    let mut issues: Vec<Value> = Vec::new();
    let header = &feed["header"];
    let messages = feed["messages"].as_array().cloned().unwrap_or_default();
    state.feeds[index].messages = messages.len();
    let header_ok = header["sellerId"].as_str() == Some(state.seller_id.as_str()) && header["version"] == "2.0";
    if !header_ok || messages.is_empty() || messages.len() > 25_000 {
        issues.push(
            json!({ "code": "100001", "severity": "ERROR", "message": "The feed header or its messages are invalid." }),
        );
    }
    let mut seen = std::collections::HashSet::new();
    let (mut accepted, mut invalid) = (0_u64, 0_u64);
    let applied_until = if twist == Some(FeedTwist::Fatal) {
        messages.len() / 2
    } else {
        messages.len()
    };
    for (position, message) in messages.iter().enumerate() {
        if !header_ok {
            break;
        }
        let Some(message_id) = message["messageId"]
            .as_u64()
            .filter(|id| (1..=i32::MAX as u64).contains(id))
        else {
            issues
                .push(json!({ "code": "100002", "severity": "ERROR", "message": "A message has no valid messageId." }));
            invalid += 1;
            continue;
        };
        let mut refuse = |code: &str, text: String| {
            issues.push(json!({ "messageId": message_id, "code": code, "severity": "ERROR", "message": text }));
        };
        if !seen.insert(message_id) {
            refuse("100003", format!("messageId {message_id} is repeated"));
            invalid += 1;
            continue;
        }
        let sku = message["sku"].as_str().unwrap_or_default().to_string();
        if message["operationType"] != "PATCH" {
            refuse("100004", "The fake takes PATCH messages only".into());
            invalid += 1;
            continue;
        }
        let quantity = match message["patches"].as_array().map(|p| quantity_of(p)) {
            Some(Ok(Some(quantity))) => quantity as i64,
            Some(Ok(None)) => {
                refuse("90220", "'quantity' is required but not supplied.".into());
                invalid += 1;
                continue;
            }
            Some(Err(text)) => {
                refuse("100005", text);
                invalid += 1;
                continue;
            }
            None => {
                refuse("100005", "Missing 'patches'".into());
                invalid += 1;
                continue;
            }
        };
        let Some(listing) = state.listings.get(&sku) else {
            refuse(
                "NOT_FOUND",
                format!("SKU '{sku}' not found in marketplace {MARKETPLACE}"),
            );
            invalid += 1;
            continue;
        };
        let product_type = message["productType"].as_str().unwrap_or_default();
        if listing.product_type != product_type {
            let expected = listing.product_type.clone();
            refuse(
                "4000003",
                format!("The provided product type '{product_type}' does not match the product type '{expected}' of the listing."),
            );
            invalid += 1;
            continue;
        }
        if let Some(code) = state.fail_skus.get(&sku).cloned() {
            refuse(&code, format!("fake refusal {code}"));
            invalid += 1;
            continue;
        }
        accepted += 1;
        if position < applied_until {
            apply(state, &sku, quantity);
        }
    }
    if twist == Some(FeedTwist::Fatal) {
        state.feeds[index].status = "FATAL".into();
        return;
    }
    if twist == Some(FeedTwist::FeedIssue) {
        issues.push(
            json!({ "code": "100010", "severity": "ERROR", "message": "The feed could not be fully processed." }),
        );
    }
    let errors = issues.len();
    let report = json!({
        "header": { "sellerId": state.seller_id, "version": "2.0", "feedId": state.feeds[index].id },
        "issues": issues,
        "summary": { "errors": errors, "warnings": 0, "messagesProcessed": accepted + invalid,
                     "messagesAccepted": accepted, "messagesInvalid": invalid },
    });
    state.documents += 1;
    let document = format!("amzn1.tortuga.4.na.report-{}", state.documents);
    state.reports.insert(document.clone(), report.to_string());
    state.feeds[index].result_document = Some(document);
    state.feeds[index].status = "DONE".into();
}
