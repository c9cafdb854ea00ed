//! The hex (`generic`) and base64 (WooCommerce, Shopify) signature headers: decoding and
//! verification never panic; what is signed verifies, whitespace around it or not.
#![no_main]

use inventory_sync_fuzz::signature::{
    parse_base64_header, parse_generic_header, sign_generic, sign_shopify, sign_woocommerce, verify_generic,
    verify_shopify, verify_woocommerce, Secrets,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], &[u8], &[u8])| {
    let (header, secret, body) = input;
    let secrets = Secrets::new(secret, Some(b"previous"));

    let _ = parse_generic_header(header);
    let _ = parse_base64_header(header);
    let _ = verify_generic(body, header, secrets);
    let _ = verify_woocommerce(body, header, secrets);
    let _ = verify_shopify(body, header, secrets);

    let hex = sign_generic(secret, body);
    assert!(verify_generic(body, hex.as_bytes(), secrets).is_ok() || secret.is_empty());
    assert!(verify_generic(body, format!(" sha256={hex}\n").as_bytes(), secrets).is_ok() || secret.is_empty());
    let base64 = sign_woocommerce(secret, body);
    assert_eq!(base64, sign_shopify(secret, body));
    assert!(verify_woocommerce(body, base64.as_bytes(), secrets).is_ok() || secret.is_empty());
    assert!(verify_shopify(body, base64.as_bytes(), secrets).is_ok() || secret.is_empty());
});
