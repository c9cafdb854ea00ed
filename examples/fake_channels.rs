//! The test fakes as one long-running process, for `./build.sh demo` and the sync benchmark:
//! a fake Shopify, eBay, Amazon, remote WooCommerce store and ERP webhook receiver on 127.0.0.1
//! (ports picked by the kernel), each stocking the SKUs given, plus a small control server.
//!
//! ```text
//! cargo run --release --example fake_channels -- [--stay] [--count=N] SKU-1 SKU-2 …
//! ```
//!
//! `--count=N` adds N SKUs `SKU-000001` … (the benchmark catalogue's names) to those given.
//!
//! Prints one JSON line — every fake's URL and credentials, and the control URL — then serves
//! until stdin closes, or with `--stay` until the process is stopped (the demo and the tests
//! start it with stdin on /dev/null and stop it by process group). The control
//! server answers `GET /state` with every channel's remote quantity per SKU, and
//! `POST /sell?channel=…&sku=…` takes one unit off a channel's remote quantity (a sale there),
//! `POST /outage?channel=shopify|woocommerce_remote&status=503` makes that fake answer every
//! request with the status until `POST /outage?channel=…` (no status) ends the outage,
//! `POST /delay?channel=shopify|woocommerce_remote&ms=3000` makes that fake wait before every
//! answer until `POST /delay?channel=…` (no ms) ends it,
//! `GET /writes?sku=…` lists the quantities Shopify, the remote WooCommerce store and the ERP
//! were sent for a SKU, each in order (`GET /writes`: every SKU's, by SKU), and
//! `GET /tokens` counts the OAuth token requests eBay got, `GET /calls` counts each fake's
//! requests and write calls (Shopify mutations, eBay bulk updates, Amazon patches and feeds,
//! WooCommerce batches, webhook deliveries, and the ERP's redeliveries of a `webhook-id` it had
//! already taken), `GET /amazon/feeds` lists the feeds
//! Amazon was sent (id, status, messages) and `POST /amazon/feeds?polls=N&twist=fatal|cancel|
//! drop|issue` makes its next feeds stay IN_PROGRESS for N polls (and the next one go that way).
//! Two supplier order endpoints
//! (Orchard, Tropics) are listed under `suppliers`; `GET /supplier?name=…` shows what one
//! received and `POST /refuse?name=…&status=503&count=2` makes it refuse its next deliveries.
//! Test-only code: never shipped, loopback only.

#[path = "../tests/fakes/mod.rs"]
mod fakes;

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use fakes::amazon::{AmazonFake, FeedTwist, MARKETPLACE, START, TOKEN_PATH};
use fakes::ebay::EbayFake;
use fakes::shopify::ShopifyFake;
use fakes::webhook_receiver::WebhookReceiver;
use fakes::woocommerce::WooFake;
use fakes::{Misbehave, Reply, Request, Server};

const SHOPIFY_TOKEN: &str = "shpat_demo_token_0123456789";
const WOO_KEY: &str = "ck_demo_key_0123456789";
const WOO_SECRET: &str = "cs_demo_secret_0123456789";
const EBAY_CLIENT: &str = "demo-client-id";
const EBAY_SECRET: &str = "demo-client-secret";
const EBAY_REFRESH: &str = "demo-refresh-token";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const AMAZON_SELLER: &str = "A2DEMOSELLER01";
const AMAZON_CLIENT: &str = "amzn1.application-oa2-client.demo";
const AMAZON_SECRET: &str = "amzn1.oa2-cs.v1.demo-secret";
const AMAZON_REFRESH: &str = "Atzr|IwEBIdemo-refresh";
/// Every demo listing's Amazon product type.
const AMAZON_PRODUCT_TYPE: &str = "SHIRT";
/// Two suppliers' order endpoints (Standard Webhooks receivers), by supplier name.
const SUPPLIERS: [(&str, &str); 2] = [
    ("Orchard", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
    ("Tropics", "whsec_dGVzdC1zdXBwbGllci10cm9waWNzLWtleQ=="),
];

struct Fakes {
    skus: Vec<String>,
    shopify: ShopifyFake,
    ebay: EbayFake,
    amazon: AmazonFake,
    woocommerce: WooFake,
    webhook: WebhookReceiver,
    suppliers: BTreeMap<String, WebhookReceiver>,
}

impl Fakes {
    fn state(&self) -> Value {
        let mut shopify = BTreeMap::new();
        let mut ebay = BTreeMap::new();
        let mut amazon = BTreeMap::new();
        let mut woocommerce = BTreeMap::new();
        for sku in &self.skus {
            shopify.insert(sku.clone(), json!(self.shopify.available(sku)));
            ebay.insert(sku.clone(), json!(self.ebay.quantity(sku)));
            amazon.insert(sku.clone(), json!(self.amazon.quantity(sku)));
            woocommerce.insert(sku.clone(), json!(self.woocommerce.stock(sku)));
        }
        // The receiver keeps events; the newest quantity per SKU is what the ERP was told.
        let mut erp = BTreeMap::new();
        for delivery in self.webhook.events() {
            if let Some(items) = delivery.event["data"]["items"].as_array() {
                for item in items {
                    if let Some(sku) = item["sku"].as_str() {
                        erp.insert(sku.to_string(), item["quantity"].clone());
                    }
                }
            }
        }
        json!({ "shopify": shopify, "ebay": ebay, "amazon": amazon, "woocommerce_remote": woocommerce, "webhook": erp })
    }

    /// The quantities each channel that logs writes per SKU applied for each of `skus`, in
    /// order, by SKU: Shopify's (an idempotent replay is not a write), the remote store's, and
    /// those in the events the ERP took (a redelivery of a known `webhook-id` is counted in
    /// `calls`).
    fn writes<'a>(&self, skus: impl IntoIterator<Item = &'a str>) -> serde_json::Map<String, Value> {
        let mut erp: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for delivery in self.webhook.events() {
            for item in delivery.event["data"]["items"].as_array().into_iter().flatten() {
                if let Some(sku) = item["sku"].as_str() {
                    erp.entry(sku.to_string()).or_default().push(item["quantity"].clone());
                }
            }
        }
        skus.into_iter()
            .map(|sku| {
                let writes = json!({ "shopify": self.shopify.writes(sku), "woocommerce_remote": self.woocommerce.writes(sku),
                                     "webhook": erp.get(sku).cloned().unwrap_or_default() });
                (sku.to_string(), writes)
            })
            .collect()
    }

    /// Every fake's requests so far and, of those, the calls that write quantities.
    fn calls(&self) -> Value {
        let deliveries = self.webhook.attempts().len();
        json!({
            "shopify": { "requests": self.shopify.requests().len(), "writes": self.shopify.mutations().len() },
            "ebay": { "requests": self.ebay.requests().len(), "writes": self.ebay.bulk_updates().len() },
            "amazon": { "requests": self.amazon.requests().len(),
                        "writes": self.amazon.patches().len() + self.amazon.feeds().len() },
            "woocommerce_remote": { "requests": self.woocommerce.requests().len(),
                                    "writes": self.woocommerce.batch_calls().len() },
            "webhook": { "requests": deliveries, "writes": deliveries, "duplicates": self.webhook.duplicates() },
        })
    }

    fn sell(&self, channel: &str, sku: &str) -> Option<i64> {
        match channel {
            "shopify" => {
                let now = self.shopify.available(sku)?;
                self.shopify.set_available(sku, now - 1);
                self.shopify.available(sku)
            }
            _ => None,
        }
    }
}

fn control(fakes: &Fakes, request: Request) -> Reply {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/state") => Reply::json(200, fakes.state()),
        ("POST", "/sell") => {
            let (Some(channel), Some(sku)) = (request.param("channel"), request.param("sku")) else {
                return Reply::json(400, json!({ "error": "channel and sku are required" }));
            };
            match fakes.sell(channel, sku) {
                Some(left) => Reply::json(200, json!({ "channel": channel, "sku": sku, "remote": left })),
                None => Reply::json(404, json!({ "error": "unknown channel or SKU (sales: shopify only)" })),
            }
        }
        ("POST", "/outage") => {
            let status = match request.param("status").map(str::parse::<u16>) {
                None => None,
                Some(Ok(code)) if (400..=599).contains(&code) => Some(Misbehave::Status(code, None)),
                Some(_) => return Reply::json(400, json!({ "error": "status must be 400–599" })),
            };
            match request.param("channel") {
                Some("shopify") => fakes.shopify.set_outage(status),
                Some("woocommerce_remote") => fakes.woocommerce.set_outage(status),
                _ => return Reply::json(404, json!({ "error": "outages: shopify or woocommerce_remote" })),
            }
            Reply::json(200, json!({ "ok": true }))
        }
        ("GET", "/supplier") => match request.param("name").and_then(|name| fakes.suppliers.get(name)) {
            Some(receiver) => Reply::json(
                200,
                json!({
                    "events": receiver.events().iter().map(|d| d.event.clone()).collect::<Vec<_>>(),
                    "attempts": receiver.attempts().len(),
                    "duplicates": receiver.duplicates(),
                }),
            ),
            None => Reply::json(404, json!({ "error": "unknown supplier" })),
        },
        ("POST", "/refuse") => {
            // The next `count` deliveries to supplier `name` are answered with `status`.
            let receiver = request.param("name").and_then(|name| fakes.suppliers.get(name));
            let status = request.param("status").and_then(|s| s.parse::<u16>().ok());
            let count = request
                .param("count")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(1);
            match (receiver, status) {
                (Some(receiver), Some(status)) if (400..=599).contains(&status) && count <= 100 => {
                    for _ in 0..count {
                        receiver.misbehave(Misbehave::Status(status, None));
                    }
                    Reply::json(200, json!({ "ok": true }))
                }
                _ => Reply::json(
                    400,
                    json!({ "error": "name (a supplier), status 400–599, count ≤ 100" }),
                ),
            }
        }
        ("GET", "/amazon/feeds") => Reply::json(
            200,
            json!(fakes
                .amazon
                .feeds()
                .iter()
                .map(|f| json!({ "id": f.id, "status": f.status, "messages": f.messages }))
                .collect::<Vec<_>>()),
        ),
        ("POST", "/amazon/feeds") => {
            if let Some(polls) = request.param("polls") {
                match polls.parse::<u32>() {
                    Ok(n) if n <= 1000 => fakes.amazon.feed_polls(n),
                    _ => return Reply::json(400, json!({ "error": "polls must be 0–1000" })),
                }
            }
            match request.param("twist") {
                None => {}
                Some("fatal") => fakes.amazon.twist_next_feed(FeedTwist::Fatal),
                Some("cancel") => fakes.amazon.twist_next_feed(FeedTwist::Cancel),
                Some("drop") => fakes.amazon.twist_next_feed(FeedTwist::DropAnswer),
                Some("issue") => fakes.amazon.twist_next_feed(FeedTwist::FeedIssue),
                Some(_) => return Reply::json(400, json!({ "error": "twist: fatal, cancel, drop or issue" })),
            }
            Reply::json(200, json!({ "ok": true }))
        }
        ("GET", "/calls") => Reply::json(200, fakes.calls()),
        ("GET", "/tokens") => Reply::json(200, json!({ "ebay": fakes.ebay.token_requests().len() })),
        ("POST", "/delay") => {
            let delay = match request.param("ms").map(str::parse::<u64>) {
                None => None,
                Some(Ok(ms)) if ms <= 60_000 => Some(std::time::Duration::from_millis(ms)),
                Some(_) => return Reply::json(400, json!({ "error": "ms must be 0–60000" })),
            };
            match request.param("channel") {
                Some("shopify") => fakes.shopify.set_delay(delay),
                Some("woocommerce_remote") => fakes.woocommerce.set_delay(delay),
                _ => return Reply::json(404, json!({ "error": "delays: shopify or woocommerce_remote" })),
            }
            Reply::json(200, json!({ "ok": true }))
        }
        ("GET", "/writes") => match request.param("sku") {
            Some(sku) => {
                let mut writes = fakes.writes([sku]).remove(sku).unwrap_or_default();
                writes["sku"] = json!(sku);
                Reply::json(200, writes)
            }
            None => Reply::json(200, Value::Object(fakes.writes(fakes.skus.iter().map(String::as_str)))),
        },
        _ => Reply::json(
            404,
            json!({ "error": "GET /state, GET /calls, POST /sell, POST /outage, POST /delay, GET /writes, GET|POST /amazon/feeds" }),
        ),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stay = args.iter().any(|a| a == "--stay");
    let mut skus = Vec::new();
    for arg in args {
        if let Some(count) = arg.strip_prefix("--count=") {
            let Some(count) = count.parse::<usize>().ok().filter(|n| *n <= 1_000_000) else {
                eprintln!("--count must be a whole number from 0 to 1000000, got {count:?}");
                std::process::exit(2);
            };
            skus.extend((1..=count).map(|i| format!("SKU-{i:06}")));
        } else if arg != "--stay" {
            skus.push(arg);
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let fakes = Arc::new(Fakes {
        shopify: ShopifyFake::new(SHOPIFY_TOKEN),
        ebay: EbayFake::new(EBAY_CLIENT, EBAY_SECRET, EBAY_REFRESH),
        amazon: AmazonFake::new(AMAZON_SELLER, AMAZON_CLIENT, AMAZON_SECRET, AMAZON_REFRESH),
        woocommerce: WooFake::new(WOO_KEY, WOO_SECRET),
        webhook: WebhookReceiver::new(WEBHOOK_SECRET, now),
        suppliers: SUPPLIERS
            .iter()
            .map(|(name, secret)| (name.to_string(), WebhookReceiver::new(secret, now)))
            .collect(),
        skus: skus.clone(),
    });
    // The Amazon fake keeps a clock of its own (token expiry, feed times): bring it to now.
    fakes.amazon.advance(i64::try_from(now).unwrap_or(START) - START);
    for sku in &skus {
        fakes.shopify.add_variant(sku, 0);
        fakes.ebay.add_item(sku, 0, 1);
        fakes.amazon.add_listing(sku, AMAZON_PRODUCT_TYPE, 0);
        fakes.woocommerce.add_product(sku, 0);
    }
    let shared = fakes.clone();
    let server = Server::start(move |request| control(&shared, request));
    let refresh = json!({ "client_id": EBAY_CLIENT, "client_secret": EBAY_SECRET, "refresh_token": EBAY_REFRESH });
    println!(
        "{}",
        json!({
            "control": server.url(),
            "channels": {
                "shopify": { "settings": { "shop_url": fakes.shopify.url() }, "credentials": { "access_token": SHOPIFY_TOKEN } },
                "ebay": { "settings": { "api_url": fakes.ebay.url() }, "credentials": refresh },
                "amazon": { "settings": { "endpoint": fakes.amazon.url(), "seller_id": AMAZON_SELLER, "marketplace_id": MARKETPLACE,
                                          "product_type": AMAZON_PRODUCT_TYPE, "lwa_url": format!("{}{TOKEN_PATH}", fakes.amazon.url()) },
                            "credentials": { "client_id": AMAZON_CLIENT, "client_secret": AMAZON_SECRET, "refresh_token": AMAZON_REFRESH } },
                "woocommerce_remote": { "settings": { "store_url": fakes.woocommerce.url() },
                                        "credentials": { "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET } },
                "webhook": { "settings": { "url": fakes.webhook.url() }, "credentials": { "secret": WEBHOOK_SECRET } },
            },
            "suppliers": SUPPLIERS.iter().map(|(name, secret)| {
                (name.to_string(), json!({ "url": fakes.suppliers[*name].url(), "secret": secret }))
            }).collect::<serde_json::Map<String, Value>>(),
        })
    );
    // Serve until the parent closes stdin, or (--stay) until the process group is stopped.
    if stay {
        loop {
            std::thread::park();
        }
    }
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
}
