//! A strict fake of Shopify's GraphQL Admin API: the two operations the adapter uses,
//! `productVariants(query: "sku:…")` and `inventorySetQuantities` (2026-01 / 2026-04 shape).
//!
//! Shapes chosen where `channel-apis.md` has no confirmed text (UNCONFIRMED):
//! * over 250 quantities: HTTP 200, `{"errors": [{"message": "The input array size of N is
//!   greater than the maximum allowed of 250.", "path": [...], "extensions": {"code":
//!   "MAX_INPUT_SIZE_EXCEEDED"}}]}`, no `data`;
//! * a mutation with any `userErrors` applies nothing and returns `inventoryAdjustmentGroup: null`;
//! * throttling: HTTP 200 with `errors: [{message: "Throttled", extensions: {code: "THROTTLED"}}]`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::{Misbehave, Reply, Request, Server};

pub const VERSION: &str = "2026-01";
pub const DEFAULT_LOCATION: &str = "gid://shopify/Location/1";

#[derive(Debug, Clone)]
pub struct Variant {
    pub sku: String,
    pub item_id: String,
    pub levels: Vec<(String, i64)>,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub token: Option<String>,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct State {
    token: String,
    variants: Vec<Variant>,
    /// Indexes into `variants` (a catalogue of tens of thousands must not be scanned per item):
    /// by inventory item id, by SKU, and by SKU length (the search matches text, so a term can
    /// also be found in any longer SKU).
    by_item: HashMap<String, usize>,
    by_sku: HashMap<String, Vec<usize>>,
    by_length: BTreeMap<usize, Vec<usize>>,
    next_id: u64,
    script: VecDeque<Misbehave>,
    requests: Vec<Recorded>,
    fail_skus: HashMap<String, String>,
    idempotent: HashMap<String, (Value, Value)>,
    throttle: (f64, f64, f64),
    /// Quantities applied per SKU, in order (idempotent replays and refusals are not writes).
    writes: HashMap<String, Vec<i64>>,
    /// Performed for every request while set (the store is down), instead of the script.
    outage: Option<Misbehave>,
    /// Every answer waits this long first (a slow store).
    delay: Option<std::time::Duration>,
}

pub struct ShopifyFake {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl ShopifyFake {
    pub fn new(token: &str) -> ShopifyFake {
        let state = Arc::new(Mutex::new(State {
            token: token.into(),
            next_id: 1000,
            throttle: (2000.0, 1990.0, 100.0),
            ..State::default()
        }));
        let shared = state.clone();
        let server = Server::start(move |request| handle(&shared, request));
        ShopifyFake { state, server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake state")
    }

    /// A variant stocked at the default location; returns its inventory item GID.
    pub fn add_variant(&self, sku: &str, available: i64) -> String {
        self.add_variant_at(sku, &[(DEFAULT_LOCATION, available)])
    }

    pub fn add_variant_at(&self, sku: &str, levels: &[(&str, i64)]) -> String {
        let mut state = self.lock();
        state.next_id += 1;
        let item_id = format!("gid://shopify/InventoryItem/{}", state.next_id);
        let index = state.variants.len();
        state.variants.push(Variant {
            sku: sku.into(),
            item_id: item_id.clone(),
            levels: levels.iter().map(|(l, q)| (l.to_string(), *q)).collect(),
        });
        state.by_item.insert(item_id.clone(), index);
        state.by_sku.entry(sku.into()).or_default().push(index);
        state.by_length.entry(sku.len()).or_default().push(index);
        item_id
    }

    /// Replaces the variant's inventory item (the product was deleted and re-created there).
    pub fn recreate(&self, sku: &str) -> String {
        let mut state = self.lock();
        state.next_id += 1;
        let item_id = format!("gid://shopify/InventoryItem/{}", state.next_id);
        for index in state.by_sku.get(sku).cloned().unwrap_or_default() {
            let old = std::mem::replace(&mut state.variants[index].item_id, item_id.clone());
            state.by_item.remove(&old);
            state.by_item.insert(item_id.clone(), index);
        }
        item_id
    }

    pub fn available(&self, sku: &str) -> Option<i64> {
        let state = self.lock();
        let index = *state.by_sku.get(sku)?.first()?;
        state.variants[index].levels.first().map(|l| l.1)
    }

    /// Changes the quantity on Shopify's side (a sale there).
    pub fn set_available(&self, sku: &str, available: i64) {
        let mut state = self.lock();
        let Some(index) = state.by_sku.get(sku).and_then(|found| found.first().copied()) else {
            return;
        };
        if let Some(level) = state.variants[index].levels.first_mut() {
            level.1 = available;
        }
    }

    pub fn misbehave(&self, what: Misbehave) {
        self.lock().script.push_back(what);
    }

    /// Every write of `sku` is refused with this `userErrors` code.
    pub fn fail_sku(&self, sku: &str, code: &str) {
        self.lock().fail_skus.insert(sku.into(), code.into());
    }

    pub fn set_throttle(&self, maximum: f64, current: f64, restore: f64) {
        self.lock().throttle = (maximum, current, restore);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn mutations(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.body["query"]
                    .as_str()
                    .is_some_and(|q| q.contains("inventorySetQuantities("))
            })
            .collect()
    }

    pub fn lookups(&self) -> usize {
        self.requests().len() - self.mutations().len()
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
}

fn cost(state: &State, requested: f64) -> Value {
    json!({ "requestedQueryCost": requested, "actualQueryCost": requested / 2.0,
            "throttleStatus": { "maximumAvailable": state.throttle.0, "currentlyAvailable": state.throttle.1,
                                "restoreRate": state.throttle.2 } })
}

fn graphql_error(message: String, code: &str) -> Reply {
    Reply::json(
        200,
        json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }),
    )
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
    if request.method != "POST" || request.path != format!("/admin/api/{VERSION}/graphql.json") {
        return Reply::json(404, json!({ "errors": "Not Found" }));
    }
    let token = request.header("x-shopify-access-token").map(str::to_string);
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    state.requests.push(Recorded {
        token: token.clone(),
        path: request.path.clone(),
        body: body.clone(),
    });
    if token.as_deref() != Some(state.token.as_str()) {
        return Reply::json(
            401,
            json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" }),
        );
    }
    let scripted = state.outage.clone().or_else(|| state.script.pop_front());
    if let Some(what) = scripted {
        match what {
            Misbehave::Status(status, retry_after) => {
                let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
                if let Some(value) = retry_after {
                    headers.push(("Retry-After".into(), value));
                }
                let body = json!({ "errors": format!("fake status {status}") }).to_string();
                return Reply::Respond { status, headers, body };
            }
            Misbehave::Slow(delay) => return Reply::Slow(delay, Box::new(Reply::json(200, json!({ "data": null })))),
            Misbehave::Drop => return Reply::Drop,
            Misbehave::Throttled => {
                let requested = 1000.0;
                return Reply::json(
                    200,
                    json!({ "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED",
                              "documentation": "https://shopify.dev/api/usage/rate-limits" } }],
                            "extensions": { "cost": cost(&state, requested) } }),
                );
            }
        }
    }
    let Some(object) = body.as_object() else {
        return Reply::json(400, json!({ "errors": "body must be a JSON object" }));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !["query", "variables", "operationName"].contains(&k.as_str()))
    {
        return Reply::json(400, json!({ "errors": format!("unknown field {key}") }));
    }
    let query = body["query"].as_str().unwrap_or_default().to_string();
    let variables = body["variables"].clone();
    if query.contains("productVariants(") {
        lookup(&state, &variables)
    } else if query.contains("inventorySetQuantities(") {
        set_quantities(&mut state, &query, &variables)
    } else {
        graphql_error(
            "the fake knows only productVariants and inventorySetQuantities".into(),
            "UNSUPPORTED",
        )
    }
}

fn lookup(state: &State, variables: &Value) -> Reply {
    for key in variables
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if !["query", "first", "after"].contains(&key.as_str()) {
            return graphql_error(
                format!("Variable ${key} is not defined by operation"),
                "INVALID_VARIABLE",
            );
        }
    }
    let first = variables["first"].as_u64().unwrap_or(0) as usize;
    if first == 0 || first > 250 {
        return graphql_error("first must be between 1 and 250".into(), "BAD_REQUEST");
    }
    let search = variables["query"].as_str().unwrap_or_default();
    let mut terms = Vec::new();
    for part in search.split(" OR ") {
        let Some(quoted) = part.strip_prefix("sku:\"").and_then(|p| p.strip_suffix('"')) else {
            return graphql_error(format!("fake cannot parse search term {part:?}"), "BAD_REQUEST");
        };
        terms.push(quoted.replace("\\\"", "\"").replace("\\\\", "\\"));
    }
    // Shopify's search matches text: "A-1" also finds "A-10". The adapter must filter. A SKU of
    // the term's length contains it only when equal; longer ones are searched.
    let mut found: Vec<usize> = Vec::new();
    for term in &terms {
        found.extend(state.by_sku.get(term).into_iter().flatten());
        for (_, longer) in state.by_length.range(term.len() + 1..) {
            found.extend(
                longer
                    .iter()
                    .filter(|&&i| state.variants[i].sku.contains(term.as_str())),
            );
        }
    }
    found.sort_unstable();
    found.dedup();
    let matches: Vec<&Variant> = found.iter().map(|&i| &state.variants[i]).collect();
    let offset: usize = variables["after"]
        .as_str()
        .and_then(|c| c.strip_prefix("cursor:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = matches
        .iter()
        .skip(offset)
        .take(first)
        .map(|v| {
            let levels: Vec<Value> = v
                .levels
                .iter()
                .map(|(location, quantity)| {
                    json!({ "location": { "id": location },
                            "quantities": [{ "name": "available", "quantity": quantity }] })
                })
                .collect();
            json!({ "sku": v.sku, "inventoryItem": { "id": v.item_id, "inventoryLevels": { "nodes": levels } } })
        })
        .collect();
    let end = offset + page.len();
    Reply::json(
        200,
        json!({ "data": { "productVariants": { "nodes": page,
                  "pageInfo": { "hasNextPage": end < matches.len(), "endCursor": format!("cursor:{end}") } } },
                "extensions": { "cost": cost(state, first as f64 * 12.0) } }),
    )
}

const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "received",
    "restock",
];

fn set_quantities(state: &mut State, query: &str, variables: &Value) -> Reply {
    let key = query
        .split("@idempotent(key: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string);
    let input = &variables["input"];
    let Some(fields) = input.as_object() else {
        return graphql_error(
            "Variable $input of type InventorySetQuantitiesInput! was provided invalid value".into(),
            "INVALID_VARIABLE",
        );
    };
    for name in fields.keys() {
        if ![
            "name",
            "reason",
            "referenceDocumentUri",
            "quantities",
            "ignoreCompareQuantity",
        ]
        .contains(&name.as_str())
        {
            return graphql_error(
                format!("Variable $input of type InventorySetQuantitiesInput! was provided invalid value for {name} (Field is not defined on InventorySetQuantitiesInput)"),
                "INVALID_VARIABLE",
            );
        }
    }
    let quantities = input["quantities"].as_array().cloned().unwrap_or_default();
    if quantities.len() > 250 {
        return Reply::json(
            200,
            json!({ "errors": [{ "message": format!("The input array size of {} is greater than the maximum allowed of 250.", quantities.len()),
                                 "locations": [{ "line": 2, "column": 3 }],
                                 "path": ["inventorySetQuantities", "input", "quantities"],
                                 "extensions": { "code": "MAX_INPUT_SIZE_EXCEEDED" } }] }),
        );
    }
    for (i, q) in quantities.iter().enumerate() {
        let Some(fields) = q.as_object() else {
            return graphql_error(format!("quantities.{i} must be an object"), "INVALID_VARIABLE");
        };
        for name in fields.keys() {
            if ![
                "inventoryItemId",
                "locationId",
                "quantity",
                "changeFromQuantity",
                "compareQuantity",
            ]
            .contains(&name.as_str())
            {
                return graphql_error(
                    format!("Variable $input of type InventorySetQuantitiesInput! was provided invalid value for quantities.{i}.{name} (Field is not defined on InventoryQuantityInput)"),
                    "INVALID_VARIABLE",
                );
            }
        }
        for required in ["inventoryItemId", "locationId", "quantity", "changeFromQuantity"] {
            if !fields.contains_key(required) {
                return graphql_error(
                    format!("Variable $input of type InventorySetQuantitiesInput! was provided invalid value for quantities.{i}.{required} (Expected value to not be null)"),
                    "INVALID_VARIABLE",
                );
            }
        }
    }
    if let Some(key) = &key {
        if let Some((previous, response)) = state.idempotent.get(key) {
            if previous == input {
                return Reply::json(200, response.clone());
            }
            return Reply::json(
                200,
                user_errors(
                    state,
                    vec![json!({ "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                "field": ["input"], "message": "The idempotency key was already used with different parameters." })],
                ),
            );
        }
    }
    let mut errors = Vec::new();
    if !["available", "on_hand"].contains(&input["name"].as_str().unwrap_or_default()) {
        errors.push(json!({ "code": "INVALID_NAME", "field": ["input", "name"], "message": "The quantity name must be either 'available' or 'on_hand'." }));
    }
    if !REASONS.contains(&input["reason"].as_str().unwrap_or_default()) {
        errors.push(json!({ "code": "INVALID_REASON", "field": ["input", "reason"], "message": "The specified reason is invalid." }));
    }
    let mut targets = Vec::new();
    for (i, q) in quantities.iter().enumerate() {
        let item = q["inventoryItemId"].as_str().unwrap_or_default();
        let location = q["locationId"].as_str().unwrap_or_default();
        let field = |name: &str| json!(["input", "quantities", i.to_string(), name]);
        let Some(&v) = state.by_item.get(item) else {
            errors.push(json!({ "code": "INVALID_INVENTORY_ITEM", "field": field("inventoryItemId"), "message": "The specified inventory item could not be found." }));
            continue;
        };
        let Some(l) = state.variants[v].levels.iter().position(|(loc, _)| loc == location) else {
            errors.push(json!({ "code": "ITEM_NOT_STOCKED_AT_LOCATION", "field": field("locationId"), "message": "The specified inventory item is not stocked at the location." }));
            continue;
        };
        if let Some(code) = state.fail_skus.get(&state.variants[v].sku) {
            errors.push(json!({ "code": code, "field": field("quantity"), "message": format!("fake refusal {code}") }));
            continue;
        }
        let current = state.variants[v].levels[l].1;
        if let Some(expected) = q["changeFromQuantity"].as_i64() {
            if expected != current {
                errors.push(
                    json!({ "code": "CHANGE_FROM_QUANTITY_STALE", "field": field("changeFromQuantity"),
                    "message": "The specified changeFromQuantity does not match the current quantity." }),
                );
                continue;
            }
        }
        targets.push((v, l, q["quantity"].as_i64().unwrap_or(0), current));
    }
    let response = if errors.is_empty() {
        let mut changes = Vec::new();
        for (v, l, quantity, before) in targets {
            state.variants[v].levels[l].1 = quantity;
            let sku = state.variants[v].sku.clone();
            state.writes.entry(sku).or_default().push(quantity);
            changes.push(
                json!({ "name": "available", "delta": quantity - before, "quantityAfterChange": quantity,
                "item": { "id": state.variants[v].item_id }, "location": { "id": state.variants[v].levels[l].0 } }),
            );
        }
        json!({ "data": { "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": { "reason": input["reason"], "referenceDocumentUri": input["referenceDocumentUri"], "changes": changes },
                    "userErrors": [] } },
                "extensions": { "cost": cost(state, 10.0) } })
    } else {
        user_errors(state, errors)
    };
    if let Some(key) = key {
        state.idempotent.insert(key, (input.clone(), response.clone()));
    }
    Reply::json(200, response)
}

fn user_errors(state: &State, errors: Vec<Value>) -> Value {
    json!({ "data": { "inventorySetQuantities": { "inventoryAdjustmentGroup": null, "userErrors": errors } },
            "extensions": { "cost": cost(state, 10.0) } })
}
