//! A strict fake of a remote WooCommerce store's REST API v3 over plain HTTP: OAuth 1.0a
//! one-legged query-string authentication checked like `WC_REST_Authentication` does it (own
//! implementation: sorted, `rawurlencode`d, joined, signed with `consumer_secret&`, nonce
//! reuse refused), `GET products?sku=`, `POST products/batch` and
//! `POST products/<parent>/variations/batch` (≤ 100 items, else 413; unknown fields → 400;
//! per-item `error` objects).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use super::{Misbehave, Reply, Request, Server};

const RAWURLENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub parent_id: u64,
    pub sku: String,
    pub manage_stock: bool,
    pub stock_quantity: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    key: String,
    secret: String,
    products: BTreeMap<u64, Product>,
    /// Product ids by SKU, ascending (a catalogue of tens of thousands must not be scanned per
    /// lookup).
    by_sku: HashMap<String, Vec<u64>>,
    next_id: u64,
    script: VecDeque<Misbehave>,
    fail_skus: HashMap<String, (String, u16)>,
    nonces: HashSet<String>,
    requests: Vec<Recorded>,
    batch_limit: usize,
    /// Quantities applied per SKU, in order.
    writes: HashMap<String, Vec<i64>>,
    /// Performed for every request while set (the store is down), instead of the script.
    outage: Option<Misbehave>,
    /// Every answer waits this long first (a slow store).
    delay: Option<std::time::Duration>,
}

pub struct WooFake {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl WooFake {
    pub fn new(key: &str, secret: &str) -> WooFake {
        let state = Arc::new(Mutex::new(State {
            key: key.into(),
            secret: secret.into(),
            next_id: 100,
            batch_limit: 100,
            ..State::default()
        }));
        let shared = state.clone();
        let server = Server::start(move |request| handle(&shared, request));
        WooFake { state, server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake state")
    }

    fn insert(&self, parent_id: u64, sku: &str, stock: Option<i64>) -> u64 {
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.by_sku.entry(sku.into()).or_default().push(id);
        state.products.insert(
            id,
            Product {
                id,
                parent_id,
                sku: sku.into(),
                manage_stock: stock.is_some(),
                stock_quantity: stock,
            },
        );
        id
    }

    pub fn add_product(&self, sku: &str, stock: i64) -> u64 {
        self.insert(0, sku, Some(stock))
    }

    /// A variable product (no stock of its own) and its variations; returns (parent, ids).
    pub fn add_variable(&self, sku: &str, variations: &[(&str, i64)]) -> (u64, Vec<u64>) {
        let parent = self.insert(0, sku, None);
        let ids = variations
            .iter()
            .map(|(s, q)| self.insert(parent, s, Some(*q)))
            .collect();
        (parent, ids)
    }

    /// Deletes the product with `sku` and creates it again under a new id.
    pub fn recreate(&self, sku: &str) -> u64 {
        let old = {
            let mut state = self.lock();
            let ids = state.by_sku.get_mut(sku).expect("sku");
            let id = ids.remove(0);
            state.products.remove(&id).expect("product")
        };
        self.insert(old.parent_id, sku, old.stock_quantity)
    }

    pub fn stock(&self, sku: &str) -> Option<i64> {
        let state = self.lock();
        let id = state.by_sku.get(sku)?.first()?;
        state.products.get(id).and_then(|p| p.stock_quantity)
    }

    pub fn misbehave(&self, what: Misbehave) {
        self.lock().script.push_back(what);
    }

    pub fn fail_sku(&self, sku: &str, code: &str, status: u16) {
        self.lock().fail_skus.insert(sku.into(), (code.into(), status));
    }

    pub fn set_batch_limit(&self, limit: usize) {
        self.lock().batch_limit = limit;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The quantities applied to `sku`, in order.
    pub fn writes(&self, sku: &str) -> Vec<i64> {
        self.lock().writes.get(sku).cloned().unwrap_or_default()
    }

    /// Every request misbehaves this way until called with `None`.
    pub fn set_outage(&self, what: Option<Misbehave>) {
        self.lock().outage = what;
    }

    /// Every answer waits `delay` first, until called with `None`.
    pub fn set_delay(&self, delay: Option<std::time::Duration>) {
        self.lock().delay = delay;
    }

    /// Writes of `sku` are accepted again.
    pub fn unfail_sku(&self, sku: &str) {
        self.lock().fail_skus.remove(sku);
    }

    /// Changes the quantity on the store's side (a sale there).
    pub fn set_stock(&self, sku: &str, quantity: i64) {
        let mut state = self.lock();
        let Some(id) = state.by_sku.get(sku).and_then(|ids| ids.first().copied()) else {
            return;
        };
        if let Some(product) = state.products.get_mut(&id) {
            product.stock_quantity = Some(quantity);
        }
    }

    pub fn batch_calls(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/batch"))
            .collect()
    }
}

fn wc_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({ "code": code, "message": message, "data": { "status": status } }),
    )
}

fn rawurlencode(text: &str) -> String {
    utf8_percent_encode(text, RAWURLENCODE).to_string()
}

/// `WC_REST_Authentication::check_oauth_signature`, re-done here.
fn check_oauth(state: &mut State, request: &Request) -> Result<(), Reply> {
    let auth_error = |message: &str| wc_error(401, "woocommerce_rest_authentication_error", message);
    for required in [
        "oauth_consumer_key",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
    ] {
        if request.param(required).is_none() {
            return Err(auth_error(&format!("Missing OAuth parameter {required}")));
        }
    }
    if request.param("oauth_consumer_key") != Some(state.key.as_str()) {
        return Err(wc_error(
            401,
            "woocommerce_rest_authentication_error",
            "Consumer key is invalid.",
        ));
    }
    let algorithm = match request.param("oauth_signature_method") {
        Some("HMAC-SHA1") => "sha1",
        Some("HMAC-SHA256") => "sha256",
        _ => return Err(auth_error("Invalid signature - signature method is invalid.")),
    };
    let timestamp: i64 = request
        .param("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if (now - timestamp).abs() > 15 * 60 {
        return Err(auth_error("Invalid timestamp."));
    }
    let mut params: Vec<(String, String)> = request
        .query
        .iter()
        .filter(|(k, _)| k != "oauth_signature")
        .cloned()
        .collect();
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let joined: Vec<String> = params
        .iter()
        .map(|(k, v)| rawurlencode(&format!("{}={}", rawurlencode(k), rawurlencode(v))))
        .collect();
    let host = request.header("host").unwrap_or_default();
    let base_uri = rawurlencode(&format!("http://{host}{}", request.path));
    let to_sign = format!("{}&{base_uri}&{}", request.method, joined.join("%26"));
    let key = format!("{}&", state.secret);
    let tag = if algorithm == "sha1" {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("key");
        mac.update(to_sign.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("key");
        mac.update(to_sign.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let expected = base64::engine::general_purpose::STANDARD.encode(tag);
    if request.param("oauth_signature") != Some(expected.as_str()) {
        return Err(auth_error("Invalid signature - provided signature does not match."));
    }
    let nonce = request.param("oauth_nonce").unwrap_or_default().to_string();
    if !state.nonces.insert(nonce) {
        return Err(auth_error("Invalid nonce - nonce has already been used."));
    }
    Ok(())
}

fn product_json(p: &Product) -> Value {
    json!({ "id": p.id, "parent_id": p.parent_id, "sku": p.sku,
            "type": if p.parent_id != 0 { "variation" } else if p.manage_stock { "simple" } else { "variable" },
            "manage_stock": p.manage_stock, "stock_quantity": p.stock_quantity,
            "stock_status": if p.stock_quantity.unwrap_or(0) > 0 { "instock" } else { "outofstock" } })
}

fn handle(shared: &Arc<Mutex<State>>, request: Request) -> Reply {
    let delay = shared.lock().expect("fake state").delay;
    let reply = answer(shared, request);
    match delay {
        Some(delay) => Reply::Slow(delay, Box::new(reply)),
        None => reply,
    }
}

fn answer(shared: &Arc<Mutex<State>>, request: Request) -> Reply {
    let mut state = shared.lock().expect("fake state");
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    state.requests.push(Recorded {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        body: body.clone(),
    });
    if request.header("authorization").is_some() {
        // Basic auth is only tried over HTTPS; on plain HTTP it is an error to rely on it.
        return wc_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.");
    }
    if let Err(reply) = check_oauth(&mut state, &request) {
        return reply;
    }
    let scripted = state.outage.clone().or_else(|| state.script.pop_front());
    if let Some(what) = scripted {
        match what {
            Misbehave::Status(status, retry_after) => {
                let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
                if let Some(value) = retry_after {
                    headers.push(("Retry-After".into(), value));
                }
                let body = json!({ "code": "fake_status", "message": format!("fake status {status}"), "data": { "status": status } });
                return Reply::Respond {
                    status,
                    headers,
                    body: body.to_string(),
                };
            }
            Misbehave::Slow(delay) => return Reply::Slow(delay, Box::new(Reply::json(200, json!([])))),
            Misbehave::Drop | Misbehave::Throttled => return Reply::Drop,
        }
    }
    let path = request
        .path
        .strip_prefix("/wp-json/wc/v3/")
        .unwrap_or_default()
        .to_string();
    let segments: Vec<&str> = path.split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["products"]) => list(&state, &request),
        ("POST", ["products", "batch"]) => batch(&mut state, &body, None),
        ("POST", ["products", parent, "variations", "batch"]) => match parent.parse::<u64>() {
            Ok(parent) if state.products.get(&parent).is_some_and(|p| p.parent_id == 0) => {
                batch(&mut state, &body, Some(parent))
            }
            _ => wc_error(404, "woocommerce_rest_product_invalid_id", "Invalid ID."),
        },
        _ => wc_error(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        ),
    }
}

fn list(state: &State, request: &Request) -> Reply {
    for (key, _) in &request.query {
        if !key.starts_with("oauth_") && !["sku", "per_page", "page"].contains(&key.as_str()) {
            return wc_error(400, "rest_invalid_param", &format!("Invalid parameter(s): {key}"));
        }
    }
    let per_page: usize = request.param("per_page").and_then(|p| p.parse().ok()).unwrap_or(10);
    if per_page == 0 || per_page > 100 {
        return wc_error(400, "rest_invalid_param", "Invalid parameter(s): per_page");
    }
    let page: usize = request.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let mut skus: Vec<String> = Vec::new();
    if let Some(sku) = request.param("sku") {
        skus = sku.split(',').map(str::to_string).collect();
        if skus.len() > 1 {
            skus.push(sku.to_string());
        }
    }
    let matches: Vec<Value> = if skus.is_empty() {
        state.products.values().map(product_json).collect()
    } else {
        let mut ids: Vec<u64> = skus
            .iter()
            .flat_map(|sku| state.by_sku.get(sku).into_iter().flatten().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.iter()
            .filter_map(|id| state.products.get(id))
            .map(product_json)
            .collect()
    };
    let total = matches.len();
    let page_items: Vec<Value> = matches.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    Reply::Respond {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-WP-Total".into(), total.to_string()),
            ("X-WP-TotalPages".into(), total.div_ceil(per_page).max(1).to_string()),
        ],
        body: Value::Array(page_items).to_string(),
    }
}

fn batch(state: &mut State, body: &Value, parent: Option<u64>) -> Reply {
    let Some(object) = body.as_object() else {
        return wc_error(400, "rest_invalid_json", "Invalid JSON body passed.");
    };
    if let Some(key) = object
        .keys()
        .find(|k| !["create", "update", "delete"].contains(&k.as_str()))
    {
        return wc_error(400, "rest_invalid_param", &format!("Invalid parameter(s): {key}"));
    }
    let count: usize = ["create", "update", "delete"]
        .iter()
        .map(|k| body[*k].as_array().map_or(0, Vec::len))
        .sum();
    if count > state.batch_limit {
        return wc_error(
            413,
            "woocommerce_rest_request_entity_too_large",
            &format!(
                "Unable to accept more than {} items for this request.",
                state.batch_limit
            ),
        );
    }
    let updates = body["update"].as_array().cloned().unwrap_or_default();
    for item in &updates {
        if let Some(key) = item.as_object().and_then(|o| {
            o.keys()
                .find(|k| !["id", "manage_stock", "stock_quantity"].contains(&k.as_str()))
        }) {
            return wc_error(
                400,
                "rest_invalid_param",
                &format!("Invalid parameter(s): update[].{key}"),
            );
        }
    }
    let mut answers = Vec::new();
    for item in updates {
        let id = item["id"].as_u64().unwrap_or(0);
        let product = state.products.get(&id).cloned();
        let valid = match (&product, parent) {
            (Some(p), None) => p.parent_id == 0,
            (Some(p), Some(parent)) => p.parent_id == parent,
            (None, _) => false,
        };
        let error = |code: &str, message: &str, status: u16| json!({ "id": id, "error": { "code": code, "message": message, "data": { "status": status } } });
        let Some(product) = product.filter(|_| valid) else {
            let code = if parent.is_some() {
                "woocommerce_rest_product_variation_invalid_id"
            } else {
                "woocommerce_rest_product_invalid_id"
            };
            answers.push(error(code, "Invalid ID.", 400));
            continue;
        };
        if let Some((code, status)) = state.fail_skus.get(&product.sku) {
            answers.push(error(code, "fake refusal", *status));
            continue;
        }
        let stored = state.products.get_mut(&id).expect("product");
        if let Some(manage) = item["manage_stock"].as_bool() {
            stored.manage_stock = manage;
        }
        if let Some(quantity) = item["stock_quantity"].as_i64() {
            stored.stock_quantity = Some(quantity);
            let sku = stored.sku.clone();
            state.writes.entry(sku).or_default().push(quantity);
        }
        answers.push(product_json(stored));
    }
    Reply::json(200, json!({ "update": answers }))
}
