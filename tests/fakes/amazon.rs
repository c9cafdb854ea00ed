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

#[derive(Default)]
struct State {
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
            if let Some(listing) = state.listings.get_mut(&sku) {
                listing.quantity = Some(quantity);
            }
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
    let body: Value = if request.path == TOKEN_PATH {
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
    let mut quantity = None;
    for patch in patches {
        let Some(fields) = patch.as_object() else {
            return sp_error(400, "InvalidInput", "A patch must be an object");
        };
        if let Some(key) = fields.keys().find(|k| !["op", "path", "value"].contains(&k.as_str())) {
            return sp_error(400, "InvalidInput", &format!("Unrecognized field 'patches.{key}'"));
        }
        if !["add", "replace", "merge", "delete"].contains(&patch["op"].as_str().unwrap_or_default()) {
            return sp_error(400, "InvalidInput", "Invalid 'op'");
        }
        let path = patch["path"].as_str().unwrap_or_default();
        if path != "/attributes/fulfillment_availability" {
            return sp_error(
                400,
                "InvalidInput",
                &format!("The fake only patches fulfillment_availability, not {path}"),
            );
        }
        let Some(values) = patch["value"].as_array() else {
            return sp_error(400, "InvalidInput", "'value' must be an array");
        };
        for value in values {
            let Some(value) = value.as_object() else {
                return sp_error(400, "InvalidInput", "'value' entries must be objects");
            };
            if let Some(key) = value.keys().find(|k| !AVAILABILITY_FIELDS.contains(&k.as_str())) {
                return sp_error(
                    400,
                    "InvalidInput",
                    &format!("Unrecognized field 'fulfillment_availability.{key}'"),
                );
            }
            if value.get("fulfillment_channel_code").and_then(Value::as_str) == Some("DEFAULT") {
                quantity = value.get("quantity").and_then(Value::as_u64);
            }
        }
    }
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
    } else if let Some(listing) = state.listings.get_mut(sku) {
        listing.quantity = Some(quantity);
    }
    Reply::json(
        200,
        json!({ "sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": [] }),
    )
}
