//! Signature functions exported to PHP. Raw bodies, headers and secrets arrive as
//! `BinarySlice<u8>` so non-UTF-8 bytes are verified, not rejected with a TypeError.
//!
//! Every `verify_*` returns `true` or throws `SignatureException` saying why (missing, malformed,
//! mismatch, expired, from the future, no secret, invalid secret). Signing functions refuse bad
//! arguments with `ValidationException` naming the argument. Time defaults to the clock read here
//! ([`super::now`]); tests pass it explicitly.

use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::ModuleBuilder;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;

use super::convert::Arr;
use crate::signature::{self, ApiRequest, Secrets, SignatureError, StandardWebhook};
use crate::Error;

/// Longest API key `sign_api_request` puts in a header.
const MAX_API_KEY_LEN: usize = 256;

/// The extension's version (same as `phpversion('inventory_sync')`).
#[php_function]
#[php(name = "InventorySync\\version")]
pub fn version() -> &'static str {
    crate::VERSION
}

/// Hex HMAC-SHA256 of `body` under `secret`: the `generic` scheme's `X-Webhook-Signature` value.
#[php_function]
#[php(name = "InventorySync\\sign_generic")]
pub fn sign_generic(body: BinarySlice<u8>, secret: BinarySlice<u8>) -> PhpResult<String> {
    if secret.is_empty() {
        return Err(Error::validation("secret", "must not be empty").into());
    }
    Ok(signature::sign_generic(&secret, &body))
}

/// An optional string argument (a previous secret, a header that may be absent) as bytes.
fn optional_bytes<'a>(value: &'a Option<BinarySlice<'_, u8>>) -> Option<&'a [u8]> {
    value.as_ref().map(|v| &v[..])
}

/// A verdict as PHP sees it: `true`, or a `SignatureException`.
fn verdict(result: Result<(), SignatureError>) -> PhpResult<bool> {
    result.map(|()| true).map_err(|e| Error::from(e).into())
}

/// Signing refuses bad input, not a bad signature: a validation error naming the argument at
/// fault (`malformed` names the one a `Malformed` refers to).
fn signing_error(malformed: &'static str, error: SignatureError) -> Error {
    match error {
        SignatureError::NoSecret => Error::validation("secret", "must not be empty"),
        SignatureError::InvalidSecret(why) => Error::validation("secret", why),
        SignatureError::Malformed(why) => Error::validation(malformed, why),
        other => Error::validation(malformed, other.to_string()),
    }
}

/// A signing time as the core takes it: non-negative unix seconds, the current time by default.
fn signing_time(timestamp: Option<i64>) -> Result<u64, Error> {
    u64::try_from(timestamp.unwrap_or_else(super::now))
        .map_err(|_| Error::validation("timestamp", "must not be negative"))
}

/// Verifies a `generic` signature header on the raw body, in constant time, against the current
/// secret and optionally the previous one (rotation). Returns `true` or throws
/// `SignatureException` saying why the signature was refused.
#[php_function]
#[php(name = "InventorySync\\verify_generic")]
pub fn verify_generic(
    body: BinarySlice<u8>,
    signature_header: BinarySlice<u8>,
    secret: BinarySlice<u8>,
    previous_secret: Option<BinarySlice<u8>>,
) -> PhpResult<bool> {
    verdict(signature::verify_generic(
        &body,
        &signature_header,
        Secrets::new(&secret, optional_bytes(&previous_secret)),
    ))
}

/// Verifies WooCommerce's `X-WC-Webhook-Signature` (base64 HMAC-SHA256 of the raw body under the
/// webhook's secret) against the current secret and optionally the previous one. Returns `true`
/// or throws `SignatureException`. Check [`is_woocommerce_ping`] first: the creation ping is
/// unsigned.
#[php_function]
#[php(name = "InventorySync\\verify_woocommerce")]
pub fn verify_woocommerce(
    body: BinarySlice<u8>,
    signature_header: BinarySlice<u8>,
    secret: BinarySlice<u8>,
    previous_secret: Option<BinarySlice<u8>>,
) -> PhpResult<bool> {
    verdict(signature::verify_woocommerce(
        &body,
        &signature_header,
        Secrets::new(&secret, optional_bytes(&previous_secret)),
    ))
}

/// Whether the request is WooCommerce's unsigned creation ping (body exactly `webhook_id=<id>`,
/// signature header absent or blank): answer 200 and change nothing.
#[php_function]
#[php(name = "InventorySync\\is_woocommerce_ping")]
pub fn is_woocommerce_ping(body: BinarySlice<u8>, signature_header: Option<BinarySlice<u8>>) -> PhpResult<bool> {
    Ok(signature::is_woocommerce_ping(&body, optional_bytes(&signature_header)))
}

/// Verifies Shopify's `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body under the app's
/// client secret) against the current secret and optionally the previous one. Returns `true` or
/// throws `SignatureException`.
#[php_function]
#[php(name = "InventorySync\\verify_shopify")]
pub fn verify_shopify(
    body: BinarySlice<u8>,
    signature_header: BinarySlice<u8>,
    secret: BinarySlice<u8>,
    previous_secret: Option<BinarySlice<u8>>,
) -> PhpResult<bool> {
    verdict(signature::verify_shopify(
        &body,
        &signature_header,
        Secrets::new(&secret, optional_bytes(&previous_secret)),
    ))
}

/// Verifies a Standard Webhooks v1 message from its three header values (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`; pass `''` for an absent one) against the `whsec_`
/// secret and optionally the previous one, at `now` (default: the current time). Returns `true`
/// or throws `SignatureException`.
#[php_function]
#[php(name = "InventorySync\\verify_standard_webhook")]
pub fn verify_standard_webhook(
    body: BinarySlice<u8>,
    webhook_id: BinarySlice<u8>,
    webhook_timestamp: BinarySlice<u8>,
    webhook_signature: BinarySlice<u8>,
    secret: BinarySlice<u8>,
    previous_secret: Option<BinarySlice<u8>>,
    now: Option<i64>,
) -> PhpResult<bool> {
    let message = StandardWebhook {
        body: &body,
        id: &webhook_id,
        timestamp: &webhook_timestamp,
        signature: &webhook_signature,
    };
    verdict(signature::verify_standard(
        &message,
        Secrets::new(&secret, optional_bytes(&previous_secret)),
        now.unwrap_or_else(super::now),
    ))
}

/// Signs an outbound Standard Webhooks message. Returns the three headers in order:
/// `['webhook-id' => …, 'webhook-timestamp' => …, 'webhook-signature' => …]`; with a previous
/// secret the signature carries both (`v1,<current> v1,<previous>`). `timestamp` defaults to now.
#[php_function]
#[php(name = "InventorySync\\sign_standard_webhook")]
pub fn sign_standard_webhook(
    id: BinarySlice<u8>,
    body: BinarySlice<u8>,
    secret: BinarySlice<u8>,
    previous_secret: Option<BinarySlice<u8>>,
    timestamp: Option<i64>,
) -> PhpResult<ZBox<ZendHashTable>> {
    let timestamp = signing_time(timestamp)?;
    if let Some(previous) = optional_bytes(&previous_secret).filter(|p| !p.is_empty()) {
        signature::decode_standard_secret(previous).map_err(|e| match e {
            SignatureError::InvalidSecret(why) => Error::validation("previous_secret", why),
            other => Error::validation("previous_secret", other.to_string()),
        })?;
    }
    let headers = signature::sign_standard(
        &id,
        timestamp,
        &body,
        Secrets::new(&secret, optional_bytes(&previous_secret)),
    )
    .map_err(|e| signing_error("id", e))?;
    Ok(Arr::new()
        .set("webhook-id", headers.id)?
        .set("webhook-timestamp", headers.timestamp)?
        .set("webhook-signature", headers.signature)?
        .build())
}

/// A new Standard Webhooks secret (`whsec_` + base64) from 24 to 64 random bytes, e.g.
/// `standard_webhooks_secret(random_bytes(32))`. The randomness is PHP's (a CSPRNG); the engine
/// only encodes it.
#[php_function]
#[php(name = "InventorySync\\standard_webhooks_secret")]
pub fn standard_webhooks_secret(random_bytes: BinarySlice<u8>) -> PhpResult<String> {
    signature::new_standard_secret(&random_bytes).map_err(|e| match e {
        SignatureError::InvalidSecret(why) => Error::validation("random_bytes", why).into(),
        other => Error::validation("random_bytes", other.to_string()).into(),
    })
}

/// Verifies a signed API request: `X-Signature` = hex HMAC-SHA256 of `METHOD` + path (with its
/// query string, exactly as sent: `$_SERVER['REQUEST_URI']`) + `X-Timestamp` + raw body, no
/// separators, within ±300 s of `now` (default: the current time), against the key's secret and
/// optionally its previous one. Returns `true` or throws `SignatureException`.
#[allow(clippy::too_many_arguments)] // PHP takes positional arguments: the request, two headers, two secrets, time.
#[php_function]
#[php(name = "InventorySync\\verify_api_request")]
pub fn verify_api_request(
    method: BinarySlice<u8>,
    path: BinarySlice<u8>,
    body: BinarySlice<u8>,
    timestamp_header: BinarySlice<u8>,
    signature_header: BinarySlice<u8>,
    secret: BinarySlice<u8>,
    previous_secret: Option<BinarySlice<u8>>,
    now: Option<i64>,
) -> PhpResult<bool> {
    let request = ApiRequest {
        method: &method,
        path: &path,
        body: &body,
        timestamp: &timestamp_header,
        signature: &signature_header,
    };
    verdict(signature::verify_api_request(
        &request,
        Secrets::new(&secret, optional_bytes(&previous_secret)),
        now.unwrap_or_else(super::now),
    ))
}

/// Signs an outbound API request. Returns the three headers in order:
/// `['X-API-Key' => $api_key, 'X-Timestamp' => …, 'X-Signature' => …]`. `timestamp` defaults to
/// now.
#[php_function]
#[php(name = "InventorySync\\sign_api_request")]
pub fn sign_api_request(
    method: BinarySlice<u8>,
    path: BinarySlice<u8>,
    body: BinarySlice<u8>,
    api_key: BinarySlice<u8>,
    secret: BinarySlice<u8>,
    timestamp: Option<i64>,
) -> PhpResult<ZBox<ZendHashTable>> {
    // The key travels in a header: visible ASCII only, so it cannot smuggle in another header.
    let api_key = std::str::from_utf8(&api_key)
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_API_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| Error::validation("api_key", "must be 1 to 256 visible ASCII characters"))?;
    let timestamp = signing_time(timestamp)?;
    let headers = signature::sign_api_request(&method, &path, timestamp, &body, &secret)
        .map_err(|e| signing_error("request", e))?;
    Ok(Arr::new()
        .set("X-API-Key", api_key)?
        .set("X-Timestamp", headers.timestamp)?
        .set("X-Signature", headers.signature)?
        .build())
}

/// Registers this file's functions.
pub fn register(module: ModuleBuilder) -> ModuleBuilder {
    module
        .function(wrap_function!(version))
        .function(wrap_function!(sign_generic))
        .function(wrap_function!(verify_generic))
        .function(wrap_function!(verify_woocommerce))
        .function(wrap_function!(is_woocommerce_ping))
        .function(wrap_function!(verify_shopify))
        .function(wrap_function!(verify_standard_webhook))
        .function(wrap_function!(sign_standard_webhook))
        .function(wrap_function!(standard_webhooks_secret))
        .function(wrap_function!(verify_api_request))
        .function(wrap_function!(sign_api_request))
}
