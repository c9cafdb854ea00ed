//! Standard Webhooks: the `webhook-signature` list, `webhook-timestamp` and `webhook-id`
//! parsers, secret decoding and the whole verifier never panic; what is signed verifies.
#![no_main]

use inventory_sync_fuzz::signature::{
    check_message_id, decode_standard_secret, parse_standard_signatures, parse_timestamp, sign_standard,
    verify_standard, Secrets, StandardWebhook,
};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// (id, timestamp, signature, secret, body, now).
type Input<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8], &'a [u8], i64);

fuzz_target!(|input: Input<'_>| {
    let (id, timestamp, signature, secret, body, now) = input;

    if let Ok(tags) = parse_standard_signatures(signature) {
        assert!(!tags.is_empty() && tags.len() <= 16);
    }
    if let Ok(text) = std::str::from_utf8(timestamp) {
        // A parsed timestamp is its own canonical text: what was signed is what was checked.
        if let Ok(seconds) = parse_timestamp(text) {
            assert_eq!(seconds.to_string(), text);
        }
    }
    if let Ok(id) = check_message_id(id) {
        assert!(!id.is_empty() && !id.contains('.'));
    }
    if let Ok(key) = decode_standard_secret(secret) {
        assert!(!key.is_empty());
    }

    let message = StandardWebhook {
        body,
        id,
        timestamp,
        signature,
    };
    let _ = verify_standard(&message, Secrets::new(SECRET, Some(secret)), now);
    let _ = verify_standard(&message, Secrets::new(secret, None), now);

    // Round trip: whatever we sign, we accept at the same moment.
    if let Ok(seconds) = u64::try_from(now) {
        if let Ok(headers) = sign_standard(id, seconds, body, Secrets::new(SECRET, None)) {
            let signed = StandardWebhook {
                body,
                id: headers.id.as_bytes(),
                timestamp: headers.timestamp.as_bytes(),
                signature: headers.signature.as_bytes(),
            };
            assert_eq!(verify_standard(&signed, Secrets::new(SECRET, None), now), Ok(()));
        }
    }
});
