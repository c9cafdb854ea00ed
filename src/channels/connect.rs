//! Building an adapter from what the store keeps about a channel: its kind, its settings (plain
//! JSON, shown in wp-admin) and its credentials (JSON, sealed at rest by [`crate::crypto`] and
//! opened only to build the adapter here).
//!
//! The fields each kind reads are listed on [`connect`]; an unknown field or a missing one is a
//! [`Error::Validation`] naming it, so a bad channel form is refused when it is saved (the form
//! calls [`check`]) instead of failing at the first push.

use serde_json::{Map, Value};

use super::amazon::{Amazon, AmazonConfig};
use super::ebay::{Ebay, EbayConfig};
use super::http::HttpConfig;
use super::oauth2::RefreshCredentials;
use super::shopify::{Shopify, ShopifyConfig};
use super::webhook::{Webhook, WebhookConfig};
use super::woocommerce::{WooCommerce, WooCommerceConfig};
use super::{Channel, ChannelKind, Pacer, Secret};
use crate::{Error, Result};

/// The channel kinds this module builds, by their fixed names. `woocommerce_local` is not here:
/// this store's own products are updated in PHP (`wc_update_product_stock`).
pub const KINDS: &[&str] = &["shopify", "woocommerce_remote", "ebay", "amazon", "webhook"];

/// The settings fields each kind reads (shown in wp-admin), in form order.
pub const SETTINGS_FIELDS: &[(&str, &[&str])] = &[
    ("shopify", &["shop_url", "location_id", "api_version"]),
    ("woocommerce_remote", &["store_url"]),
    ("ebay", &["marketplace_id", "api_url"]),
    (
        "amazon",
        &[
            "endpoint",
            "seller_id",
            "marketplace_id",
            "product_type",
            "feed_threshold",
            "lwa_url",
        ],
    ),
    ("webhook", &["url", "batch_size"]),
];

/// The credential fields each kind reads (sealed at rest, shown masked), in form order.
pub const CREDENTIAL_FIELDS: &[(&str, &[&str])] = &[
    ("shopify", &["access_token"]),
    ("woocommerce_remote", &["consumer_key", "consumer_secret"]),
    ("ebay", &["client_id", "client_secret", "refresh_token"]),
    ("amazon", &["client_id", "client_secret", "refresh_token"]),
    ("webhook", &["secret", "previous_secret"]),
];

/// The fields of `kind` in one of the tables above (empty for a kind not built here).
pub fn fields_of(table: &[(&'static str, &'static [&'static str])], kind: &str) -> &'static [&'static str] {
    table.iter().find(|(k, _)| *k == kind).map_or(&[], |(_, fields)| fields)
}

/// Reads a JSON object's string fields strictly: every key must be known, wanted keys present.
struct Fields<'a> {
    part: &'static str,
    object: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn new(part: &'static str, value: &'a Value, known: &[&str]) -> Result<Self> {
        let object = value
            .as_object()
            .ok_or_else(|| Error::validation(part, "must be a JSON object"))?;
        if let Some(unknown) = object.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(Error::validation(
                format!("{part}.{unknown}"),
                format!("unknown field; expected one of: {}", known.join(", ")),
            ));
        }
        Ok(Fields { part, object })
    }

    fn optional(&self, key: &str) -> Result<Option<String>> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.trim().to_string())),
            Some(_) => Err(Error::validation(format!("{}.{key}", self.part), "must be a string")),
        }
    }

    fn required(&self, key: &str) -> Result<String> {
        self.optional(key)?
            .ok_or_else(|| Error::validation(format!("{}.{key}", self.part), "is required"))
    }

    fn secret(&self, key: &str) -> Result<Secret> {
        Ok(Secret::new(self.required(key)?))
    }

    fn number(&self, key: &str) -> Result<Option<u64>> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| Error::validation(format!("{}.{key}", self.part), "must be a whole number")),
        }
    }
}

/// A base URL: `http://` or `https://`, no trailing slash.
fn base_url(fields: &Fields<'_>, key: &str) -> Result<String> {
    let url = fields.required(key)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::validation(
            format!("{}.{key}", fields.part),
            "must start with https:// (or http:// for a store on this network)",
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The three refresh-token credentials eBay and Amazon share.
fn refresh_credentials(c: &Fields<'_>) -> Result<RefreshCredentials> {
    Ok(RefreshCredentials::new(
        c.secret("client_id")?,
        c.secret("client_secret")?,
        c.secret("refresh_token")?,
    ))
}

/// Builds the adapter for a channel of `kind` from its `settings` and opened `credentials`,
/// paced by `pacer`. Fields per kind (settings / credentials):
///
/// * `shopify` — `shop_url` (`https://<shop>.myshopify.com`), optional `api_version`,
///   `location_id` (a `gid://shopify/Location/…`) / `access_token`;
/// * `woocommerce_remote` — `store_url` / `consumer_key`, `consumer_secret` (HTTP Basic over
///   HTTPS, OAuth 1.0a over plain HTTP, chosen by the adapter from the URL);
/// * `ebay` — optional `api_url` (default eBay's production API), `marketplace_id` (`EBAY_US`…)
///   / `client_id`, `client_secret`, `refresh_token`;
/// * `amazon` — `endpoint` (the SP-API regional host, e.g. `https://sellingpartnerapi-na.amazon.com`),
///   `seller_id`, `marketplace_id`, optional `product_type`, optional `feed_threshold` (due
///   jobs above which a `JSON_LISTINGS_FEED` is sent; default 250, 0 = never), `lwa_url` / `client_id`,
///   `client_secret`, `refresh_token`. The adapter must be paced at 5 requests/s: the caller's
///   `pacer` decides;
/// * `webhook` — `url`, optional `batch_size` / `secret` (`whsec_…`), optional
///   `previous_secret`.
///
/// Errors: [`Error::Validation`] naming the field (`settings.shop_url`), or the kind when it is
/// not built here.
pub fn connect(
    kind: &str,
    settings: &Value,
    credentials: &Value,
    http: HttpConfig,
    pacer: Box<dyn Pacer>,
) -> Result<Box<dyn Channel>> {
    match kind {
        k if k == ChannelKind::Shopify.as_str() => {
            let s = Fields::new("settings", settings, fields_of(SETTINGS_FIELDS, kind))?;
            let c = Fields::new("credentials", credentials, fields_of(CREDENTIAL_FIELDS, kind))?;
            let mut config = ShopifyConfig::new(base_url(&s, "shop_url")?, c.secret("access_token")?);
            if let Some(version) = s.optional("api_version")? {
                config.api_version = version;
            }
            config.location_id = s.optional("location_id")?;
            config.http = http;
            Ok(Box::new(Shopify::new(config)?.with_pacer(pacer)))
        }
        k if k == ChannelKind::WooCommerceRemote.as_str() => {
            let s = Fields::new("settings", settings, fields_of(SETTINGS_FIELDS, kind))?;
            let c = Fields::new("credentials", credentials, fields_of(CREDENTIAL_FIELDS, kind))?;
            let mut config = WooCommerceConfig::new(
                base_url(&s, "store_url")?,
                c.secret("consumer_key")?,
                c.secret("consumer_secret")?,
            );
            config.http = http;
            Ok(Box::new(WooCommerce::new(config)?.with_pacer(pacer)))
        }
        k if k == ChannelKind::Ebay.as_str() => {
            let s = Fields::new("settings", settings, fields_of(SETTINGS_FIELDS, kind))?;
            let c = Fields::new("credentials", credentials, fields_of(CREDENTIAL_FIELDS, kind))?;
            let api_url = match s.optional("api_url")? {
                Some(_) => base_url(&s, "api_url")?,
                None => super::ebay::PRODUCTION_URL.to_string(),
            };
            let mut config = EbayConfig::new(api_url, refresh_credentials(&c)?);
            config.marketplace_id = s.optional("marketplace_id")?;
            config.http = http;
            Ok(Box::new(Ebay::new(config)?.with_pacer(pacer)))
        }
        k if k == ChannelKind::Amazon.as_str() => {
            let s = Fields::new("settings", settings, fields_of(SETTINGS_FIELDS, kind))?;
            let c = Fields::new("credentials", credentials, fields_of(CREDENTIAL_FIELDS, kind))?;
            let mut config = AmazonConfig::new(
                base_url(&s, "endpoint")?,
                s.required("seller_id")?,
                s.required("marketplace_id")?,
                refresh_credentials(&c)?,
            );
            config.product_type = s.optional("product_type")?;
            if let Some(threshold) = s.number("feed_threshold")? {
                config.feed_threshold = usize::try_from(threshold)
                    .ok()
                    .filter(|t| *t <= 1_000_000)
                    .ok_or_else(|| Error::validation("settings.feed_threshold", "must be between 0 and 1000000"))?;
            }
            if s.optional("lwa_url")?.is_some() {
                config.lwa_url = base_url(&s, "lwa_url")?;
            }
            config.http = http;
            Ok(Box::new(Amazon::new(config)?.with_pacer(pacer)))
        }
        k if k == ChannelKind::Webhook.as_str() => {
            let s = Fields::new("settings", settings, fields_of(SETTINGS_FIELDS, kind))?;
            let c = Fields::new("credentials", credentials, fields_of(CREDENTIAL_FIELDS, kind))?;
            let mut config = WebhookConfig::new(base_url(&s, "url")?, c.secret("secret")?);
            config.previous_secret = c.optional("previous_secret")?.map(Secret::new);
            if let Some(size) = s.number("batch_size")? {
                config.batch_size =
                    usize::try_from(size).map_err(|_| Error::validation("settings.batch_size", "is too large"))?;
            }
            config.http = http;
            Ok(Box::new(Webhook::new(config)?.with_pacer(pacer)))
        }
        other => Err(Error::validation(
            "kind",
            format!(
                "no adapter for channel kind {other:?}; expected one of: {}",
                KINDS.join(", ")
            ),
        )),
    }
}

/// Checks a channel's settings and credentials the way [`connect`] reads them, without building
/// anything that talks to the network.
pub fn check(kind: &str, settings: &Value, credentials: &Value) -> Result<()> {
    connect(
        kind,
        settings,
        credentials,
        HttpConfig::default(),
        Box::new(super::Unpaced),
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(result: Result<()>) -> String {
        match result {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn builds_each_kind_from_its_fields() {
        check(
            "shopify",
            &json!({"shop_url": "https://demo.myshopify.com/"}),
            &json!({"access_token": "shpat_x"}),
        )
        .expect("shopify");
        check(
            "woocommerce_remote",
            &json!({"store_url": "http://127.0.0.1:8080"}),
            &json!({"consumer_key": "ck_1", "consumer_secret": "cs_1"}),
        )
        .expect("woocommerce_remote");
        check(
            "webhook",
            &json!({"url": "https://erp.example/hooks", "batch_size": 50}),
            &json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
        )
        .expect("webhook");
        let refresh = json!({"client_id": "id", "client_secret": "s", "refresh_token": "r"});
        check("ebay", &json!({"marketplace_id": "EBAY_US"}), &refresh).expect("ebay");
        check(
            "amazon",
            &json!({"endpoint": "https://sellingpartnerapi-na.amazon.com", "seller_id": "A1", "marketplace_id": "ATVPDKIKX0DER"}),
            &refresh,
        )
        .expect("amazon");
        assert_eq!(
            field_of(check(
                "amazon",
                &json!({"endpoint": "https://x.y", "marketplace_id": "M"}),
                &refresh
            )),
            "settings.seller_id"
        );
        assert_eq!(
            field_of(check(
                "ebay",
                &json!({}),
                &json!({"client_id": "id", "client_secret": "s"})
            )),
            "credentials.refresh_token"
        );
    }

    #[test]
    fn refuses_missing_unknown_and_mistyped_fields_by_name() {
        assert_eq!(
            field_of(check("shopify", &json!({}), &json!({"access_token": "t"}))),
            "settings.shop_url"
        );
        assert_eq!(
            field_of(check("shopify", &json!({"shop_url": "https://a.b"}), &json!({}))),
            "credentials.access_token"
        );
        assert_eq!(
            field_of(check(
                "shopify",
                &json!({"shop_url": "https://a.b", "token": "x"}),
                &json!({"access_token": "t"})
            )),
            "settings.token"
        );
        assert_eq!(
            field_of(check(
                "shopify",
                &json!({"shop_url": "ftp://a.b"}),
                &json!({"access_token": "t"})
            )),
            "settings.shop_url"
        );
        assert_eq!(
            field_of(check(
                "webhook",
                &json!({"url": "https://a.b", "batch_size": "x"}),
                &json!({"secret": "whsec_AA=="})
            )),
            "settings.batch_size"
        );
        assert_eq!(field_of(check("shopify", &json!([]), &json!({}))), "settings");
        assert_eq!(field_of(check("fax", &json!({}), &json!({}))), "kind");
        assert_eq!(field_of(check("woocommerce_local", &json!({}), &json!({}))), "kind");
    }

    #[test]
    fn errors_never_echo_credentials() {
        let error = connect(
            "shopify",
            &json!({"shop_url": "https://a.b", "secret_field": 1}),
            &json!({"access_token": "shpat_topsecret"}),
            HttpConfig::default(),
            Box::new(crate::channels::Unpaced),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains("settings.secret_field"), "{error}");
        assert!(!error.contains("topsecret"));
    }
}
