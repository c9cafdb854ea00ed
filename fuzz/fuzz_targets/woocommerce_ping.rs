//! WooCommerce's creation-ping detector never panics and says yes only to an unsigned
//! `webhook_id=<positive int>` body.
#![no_main]

use inventory_sync_fuzz::signature::is_woocommerce_ping;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], Option<&[u8]>)| {
    let (body, header) = input;
    if is_woocommerce_ping(body, header) {
        assert!(header.map_or(true, |h| h.trim_ascii().is_empty()));
        let id = std::str::from_utf8(&body[b"webhook_id=".len()..]).unwrap_or("");
        assert!(
            id.parse::<i64>().is_ok_and(|n| n > 0 && n.to_string() == id),
            "{body:?}"
        );
    }
});
