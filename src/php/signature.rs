//! Signature functions exported to PHP. Raw bodies, headers and secrets arrive as
//! `BinarySlice<u8>` so non-UTF-8 bytes are verified, not rejected with a TypeError.

use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::builders::ModuleBuilder;
use ext_php_rs::prelude::*;

use crate::signature::{self, Secrets};
use crate::Error;

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
    let previous: Option<&[u8]> = previous_secret.as_ref().map(|p| &p[..]);
    signature::verify_generic(&body, &signature_header, Secrets::new(&secret, previous))
        .map(|()| true)
        .map_err(|e| Error::from(e).into())
}

/// Registers this file's functions.
pub fn register(module: ModuleBuilder) -> ModuleBuilder {
    module
        .function(wrap_function!(version))
        .function(wrap_function!(sign_generic))
        .function(wrap_function!(verify_generic))
}
