//! A strict fake of eBay's OAuth token endpoint and the Sell Inventory API calls the adapter
//! uses: `POST /identity/v1/oauth2/token` (refresh-token grant, HTTP Basic client credentials,
//! scope checked), `GET /sell/inventory/v1/offer?sku=`, `POST …/bulk_update_price_quantity` and
//! `POST …/bulk_get_inventory_item`. Access tokens it issued are checked on every call (unknown
//! or expired → 401 `errorId 1001`), against the fake's own clock, which the tests move.
//!
//! Shapes chosen where `channel-apis.md` has no confirmed text (UNCONFIRMED):
//! * more than 25 request elements or offers: HTTP 400, `errorId 25709` "Invalid value for
//!   requests…";
//! * an unknown field: HTTP 400, `errorId 2004` "Invalid request" with the field in `parameters`;
//! * a bulk answer with any failed element is HTTP 207, else 200; an element per offer, or one for
//!   the inventory item when no offers were sent;
//! * `getOffers` for an unknown SKU: 400 `25702`; for a SKU without offers: 404 `25713`;
//! * an unknown or foreign offer id in a bulk update: element `statusCode 404`, `errorId 25713`;
//! * within one SKU, nothing is applied when any of its elements fails.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use inventory_sync::channels::oauth2::Clock;
use serde_json::{json, Value};

use super::{form, Misbehave, Reply, Request, Server};

pub const START: i64 = 1_700_000_000;
pub const TOKEN_PATH: &str = "/identity/v1/oauth2/token";
pub const SCOPE: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory";
const TOKEN_LIFETIME: i64 = 7200;

#[derive(Debug, Clone)]
pub struct Offer {
    pub offer_id: String,
    pub marketplace: String,
    pub status: String,
    pub available: i64,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub quantity: i64,
    pub offers: Vec<Offer>,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    tokens: HashMap<String, i64>,
    issued: u64,
    items: BTreeMap<String, Item>,
    next_offer: u64,
    script: VecDeque<Misbehave>,
    token_script: VecDeque<Misbehave>,
    fail_skus: HashMap<String, (i64, u16)>,
    requests: Vec<Recorded>,
}

pub struct EbayFake {
    state: Arc<Mutex<State>>,
    now: Arc<AtomicI64>,
    server: Server,
}

impl EbayFake {
    pub fn new(client_id: &str, client_secret: &str, refresh_token: &str) -> EbayFake {
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
            next_offer: 5_000_000_000,
            ..State::default()
        }));
        let now = Arc::new(AtomicI64::new(START));
        let (shared, clock) = (state.clone(), now.clone());
        let server = Server::start(move |request| handle(&shared, clock.load(Ordering::SeqCst), request));
        EbayFake { state, now, server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// How many connections clients have opened so far (each stays open for further calls).
    pub fn connections(&self) -> u64 {
        self.server.connections()
    }

    /// The fake's clock, for the adapter's configuration.
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

    /// An inventory item with `offers` published offers on EBAY_US; returns the offer ids.
    pub fn add_item(&self, sku: &str, quantity: i64, offers: usize) -> Vec<String> {
        let specs: Vec<(&str, &str)> = (0..offers).map(|_| ("EBAY_US", "PUBLISHED")).collect();
        self.add_item_with(sku, quantity, &specs)
    }

    /// An inventory item with offers given as (marketplace, status); returns the offer ids.
    pub fn add_item_with(&self, sku: &str, quantity: i64, offers: &[(&str, &str)]) -> Vec<String> {
        let mut state = self.lock();
        let mut list = Vec::new();
        for (marketplace, status) in offers {
            state.next_offer += 1;
            list.push(Offer {
                offer_id: state.next_offer.to_string(),
                marketplace: marketplace.to_string(),
                status: status.to_string(),
                available: quantity,
            });
        }
        let ids = list.iter().map(|o| o.offer_id.clone()).collect();
        state.items.insert(sku.into(), Item { quantity, offers: list });
        ids
    }

    /// Ends the SKU's offers and publishes new ones (a relisting); returns the new ids.
    pub fn relist(&self, sku: &str) -> Vec<String> {
        let count = self.lock().items.get(sku).map_or(0, |i| i.offers.len());
        let quantity = self.quantity(sku).unwrap_or(0);
        self.add_item(sku, quantity, count)
    }

    pub fn quantity(&self, sku: &str) -> Option<i64> {
        self.lock().items.get(sku).map(|i| i.quantity)
    }

    pub fn offer_quantities(&self, sku: &str) -> Vec<i64> {
        self.lock()
            .items
            .get(sku)
            .map(|i| i.offers.iter().map(|o| o.available).collect())
            .unwrap_or_default()
    }

    /// The next API request (not token request) misbehaves.
    pub fn misbehave(&self, what: Misbehave) {
        self.lock().script.push_back(what);
    }

    /// The next token request misbehaves.
    pub fn misbehave_token(&self, what: Misbehave) {
        self.lock().token_script.push_back(what);
    }

    /// Every update of `sku` fails with this `errorId` and element `statusCode`.
    pub fn fail_sku(&self, sku: &str, error_id: i64, status: u16) {
        self.lock().fail_skus.insert(sku.into(), (error_id, status));
    }

    /// Invalidates every access token issued so far (eBay revoked them).
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn count(&self, path_end: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(path_end))
            .collect()
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.count(TOKEN_PATH)
    }

    pub fn bulk_updates(&self) -> Vec<Recorded> {
        self.count("/bulk_update_price_quantity")
    }

    pub fn offer_lookups(&self) -> usize {
        self.count("/sell/inventory/v1/offer").len()
    }
}

fn ebay_error(status: u16, id: i64, domain: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({ "errors": [{ "errorId": id, "domain": domain, "category": "REQUEST", "message": message }] }),
    )
}

fn unknown_field(field: &str) -> Reply {
    Reply::json(
        400,
        json!({ "errors": [{ "errorId": 2004, "domain": "ACCESS", "category": "REQUEST", "message": "Invalid request",
                              "longMessage": "The request has errors. For help, see the documentation for this API.",
                              "parameters": [{ "name": "reason", "value": format!("Could not serialize field [{field}]") }] }] }),
    )
}

fn misbehaviour(what: Misbehave) -> Reply {
    match what {
        Misbehave::Status(status, retry_after) => {
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            if let Some(value) = retry_after {
                headers.push(("Retry-After".into(), value));
            }
            let body = json!({ "errors": [{ "errorId": if status == 429 { 2001 } else { 25001 }, "domain": "API_INVENTORY",
                                            "category": "APPLICATION", "message": format!("fake status {status}") }] });
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
        authorization: request.header("authorization").map(str::to_string),
        body: body.clone(),
    });
    if request.path == TOKEN_PATH {
        return token(&mut state, now, &request);
    }
    let bearer = request.header("authorization").and_then(|h| h.strip_prefix("Bearer "));
    let valid = bearer
        .and_then(|t| state.tokens.get(t))
        .is_some_and(|&expires| now < expires);
    if !valid {
        return Reply::json(
            401,
            json!({ "errors": [{ "errorId": 1001, "domain": "OAuth", "category": "REQUEST", "message": "Invalid access token",
                                  "longMessage": "Invalid access token. Check the value of the Authorization HTTP request header." }] }),
        );
    }
    if let Some(what) = state.script.pop_front() {
        return misbehaviour(what);
    }
    if request.method != "GET" && request.header("content-type") != Some("application/json") {
        return ebay_error(415, 2007, "ACCESS", "Unsupported media type");
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/sell/inventory/v1/offer") => get_offers(&state, &request),
        ("POST", "/sell/inventory/v1/bulk_update_price_quantity") => bulk_update(&mut state, &body),
        ("POST", "/sell/inventory/v1/bulk_get_inventory_item") => bulk_get(&state, &body),
        _ => ebay_error(404, 2002, "ACCESS", "Resource not found"),
    }
}

fn token(state: &mut State, now: i64, request: &Request) -> Reply {
    if let Some(what) = state.token_script.pop_front() {
        return misbehaviour(what);
    }
    let oauth_error = |status: u16, error: &str, description: &str| {
        Reply::json(status, json!({ "error": error, "error_description": description }))
    };
    if request.method != "POST"
        || !request
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return oauth_error(
            400,
            "invalid_request",
            "request is missing a required parameter or malformed",
        );
    }
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", state.client_id, state.client_secret));
    if request.header("authorization") != Some(format!("Basic {expected}").as_str()) {
        return oauth_error(401, "invalid_client", "client authentication failed");
    }
    let fields = form(&request.body);
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some((name, _)) = fields
        .iter()
        .find(|(k, _)| !["grant_type", "refresh_token", "scope"].contains(&k.as_str()))
    {
        return oauth_error(400, "invalid_request", &format!("unexpected parameter {name}"));
    }
    if field("grant_type") != Some("refresh_token") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "grant type in request is not supported by the authorization server",
        );
    }
    if field("refresh_token") != Some(state.refresh_token.as_str()) {
        return oauth_error(
            400,
            "invalid_grant",
            "the provided authorization refresh token is invalid or was issued to another client",
        );
    }
    let scopes: Vec<&str> = field("scope").unwrap_or_default().split(' ').collect();
    if !scopes.contains(&SCOPE)
        || scopes
            .iter()
            .any(|s| !s.starts_with("https://api.ebay.com/oauth/api_scope"))
    {
        return oauth_error(
            400,
            "invalid_scope",
            "The requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client",
        );
    }
    state.issued += 1;
    let access = format!("v^1.1#i^1#fake-{}", state.issued);
    state.tokens.insert(access.clone(), now + TOKEN_LIFETIME);
    Reply::json(
        200,
        json!({ "access_token": access, "expires_in": TOKEN_LIFETIME, "token_type": "User Access Token" }),
    )
}

fn get_offers(state: &State, request: &Request) -> Reply {
    if let Some((name, _)) = request
        .query
        .iter()
        .find(|(k, _)| !["sku", "marketplace_id", "format", "limit", "offset"].contains(&k.as_str()))
    {
        return unknown_field(name);
    }
    let Some(sku) = request.param("sku") else {
        return ebay_error(400, 25707, "API_INVENTORY", "This is an invalid value for a SKU.");
    };
    let Some(item) = state.items.get(sku) else {
        return ebay_error(
            400,
            SKU_NOT_AVAILABLE,
            "API_INVENTORY",
            &format!("SKU {sku} is not available in the system"),
        );
    };
    let marketplace = request.param("marketplace_id");
    let offers: Vec<Value> = item
        .offers
        .iter()
        .filter(|o| marketplace.is_none_or(|m| m == o.marketplace))
        .map(|o| {
            json!({ "offerId": o.offer_id, "sku": sku, "marketplaceId": o.marketplace, "format": "FIXED_PRICE",
                    "availableQuantity": o.available, "status": o.status,
                    "listing": { "listingId": format!("11{}", o.offer_id), "listingStatus": "ACTIVE" } })
        })
        .collect();
    if offers.is_empty() {
        return ebay_error(
            404,
            OFFER_NOT_AVAILABLE,
            "API_INVENTORY",
            "This Offer is not available.",
        );
    }
    Reply::json(
        200,
        json!({ "href": format!("https://api.ebay.com/sell/inventory/v1/offer?sku={sku}"), "limit": 25,
                "offers": offers, "size": offers.len(), "total": offers.len() }),
    )
}

const SKU_NOT_AVAILABLE: i64 = 25702;
const OFFER_NOT_AVAILABLE: i64 = 25713;

fn too_many() -> Reply {
    ebay_error(
        400,
        25709,
        "API_INVENTORY",
        "Invalid value for requests. A maximum of 25 inventory items and offers may be updated per call.",
    )
}

fn bulk_update(state: &mut State, body: &Value) -> Reply {
    let Some(object) = body.as_object() else {
        return unknown_field("(body)");
    };
    if let Some(key) = object.keys().find(|k| *k != "requests") {
        return unknown_field(key);
    }
    let Some(requests) = body["requests"].as_array() else {
        return unknown_field("requests");
    };
    if requests.is_empty() {
        return ebay_error(400, 25709, "API_INVENTORY", "Invalid value for requests.");
    }
    let offers_total: usize = requests
        .iter()
        .map(|r| r["offers"].as_array().map_or(0, Vec::len))
        .sum();
    if requests.len() > 25 || offers_total > 25 {
        return too_many();
    }
    for request in requests {
        let Some(fields) = request.as_object() else {
            return unknown_field("requests");
        };
        if let Some(key) = fields
            .keys()
            .find(|k| !["sku", "shipToLocationAvailability", "offers"].contains(&k.as_str()))
        {
            return unknown_field(&format!("requests.{key}"));
        }
        if let Some(ship) = fields.get("shipToLocationAvailability") {
            let Some(ship) = ship.as_object() else {
                return unknown_field("requests.shipToLocationAvailability");
            };
            if let Some(key) = ship
                .keys()
                .find(|k| !["quantity", "allocationByFormat", "availabilityDistributions"].contains(&k.as_str()))
            {
                return unknown_field(&format!("requests.shipToLocationAvailability.{key}"));
            }
            if ship.get("quantity").is_none_or(|q| q.as_u64().is_none()) {
                return ebay_error(400, 25709, "API_INVENTORY", "Invalid value for quantity.");
            }
        }
        for offer in fields.get("offers").and_then(Value::as_array).into_iter().flatten() {
            let Some(offer) = offer.as_object() else {
                return unknown_field("requests.offers");
            };
            if let Some(key) = offer
                .keys()
                .find(|k| !["offerId", "availableQuantity", "price"].contains(&k.as_str()))
            {
                return unknown_field(&format!("requests.offers.{key}"));
            }
            if !offer.get("offerId").is_some_and(Value::is_string)
                || offer.get("availableQuantity").is_none_or(|q| q.as_u64().is_none())
            {
                return ebay_error(400, 25709, "API_INVENTORY", "Invalid value for offers.");
            }
        }
        if !fields.get("sku").is_some_and(Value::is_string) {
            return ebay_error(400, 25707, "API_INVENTORY", "This is an invalid value for a SKU.");
        }
    }
    let mut responses = Vec::new();
    for request in requests {
        let sku = request["sku"].as_str().unwrap_or_default().to_string();
        let offers: Vec<(String, i64)> = request["offers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                (
                    o["offerId"].as_str().unwrap_or_default().to_string(),
                    o["availableQuantity"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        let quantity = request["shipToLocationAvailability"]["quantity"].as_i64();
        let element = |offer: Option<&str>, status: u16, error: Option<(i64, String)>| {
            let mut value = json!({ "statusCode": status, "sku": sku });
            if let Some(offer) = offer {
                value["offerId"] = json!(offer);
            }
            if let Some((id, message)) = error {
                value["errors"] =
                    json!([{ "errorId": id, "domain": "API_INVENTORY", "category": "REQUEST", "message": message }]);
            }
            value
        };
        let mut mine = Vec::new();
        let forced = state.fail_skus.get(&sku).copied();
        match state.items.get(&sku) {
            None => mine.push(element(
                None,
                400,
                Some((SKU_NOT_AVAILABLE, format!("SKU {sku} is not available in the system"))),
            )),
            Some(item) => {
                if offers.is_empty() {
                    mine.push(match forced {
                        Some((id, status)) => element(None, status, Some((id, format!("fake refusal {id}")))),
                        None => element(None, 200, None),
                    });
                }
                for (offer_id, _) in &offers {
                    let known = item
                        .offers
                        .iter()
                        .any(|o| &o.offer_id == offer_id && o.status == "PUBLISHED");
                    mine.push(match (known, forced) {
                        (false, _) => element(
                            Some(offer_id),
                            404,
                            Some((OFFER_NOT_AVAILABLE, "This Offer is not available.".into())),
                        ),
                        (true, Some((id, status))) => {
                            element(Some(offer_id), status, Some((id, format!("fake refusal {id}"))))
                        }
                        (true, None) => element(Some(offer_id), 200, None),
                    });
                }
            }
        }
        if mine.iter().all(|e| e["statusCode"] == 200) {
            if let Some(item) = state.items.get_mut(&sku) {
                if let Some(quantity) = quantity {
                    item.quantity = quantity;
                }
                for (offer_id, available) in &offers {
                    if let Some(offer) = item.offers.iter_mut().find(|o| &o.offer_id == offer_id) {
                        offer.available = *available;
                    }
                }
            }
        }
        responses.extend(mine);
    }
    let status = if responses.iter().all(|e| e["statusCode"] == 200) {
        200
    } else {
        207
    };
    Reply::json(status, json!({ "responses": responses }))
}

fn bulk_get(state: &State, body: &Value) -> Reply {
    if let Some(key) = body.as_object().and_then(|o| o.keys().find(|k| *k != "requests")) {
        return unknown_field(key);
    }
    let Some(requests) = body["requests"].as_array() else {
        return unknown_field("requests");
    };
    if requests.is_empty() || requests.len() > 25 {
        return too_many();
    }
    let mut responses = Vec::new();
    for request in requests {
        if let Some(key) = request.as_object().and_then(|o| o.keys().find(|k| *k != "sku")) {
            return unknown_field(&format!("requests.{key}"));
        }
        let sku = request["sku"].as_str().unwrap_or_default();
        responses.push(match state.items.get(sku) {
            Some(item) => json!({ "statusCode": 200, "sku": sku, "inventoryItem": {
                "sku": sku, "condition": "NEW", "product": { "title": format!("Product {sku}") },
                "availability": { "shipToLocationAvailability": { "quantity": item.quantity } } } }),
            None => json!({ "statusCode": 404, "sku": sku, "errors": [{ "errorId": SKU_NOT_AVAILABLE, "domain": "API_INVENTORY",
                            "category": "REQUEST", "message": format!("SKU {sku} is not available in the system") }] }),
        });
    }
    Reply::json(200, json!({ "responses": responses }))
}
