//! Signed API requests: method, path, `X-Timestamp` and `X-Signature` parsing and verification
//! never panic; what is signed verifies at the same moment.
#![no_main]

use inventory_sync_fuzz::signature::{sign_api_request, verify_api_request, ApiRequest, Secrets};
use libfuzzer_sys::fuzz_target;

/// (method, path, timestamp, signature, body, now).
type Input<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8], &'a [u8], i64);

fuzz_target!(|input: Input<'_>| {
    let (method, path, timestamp, signature, body, now) = input;
    let request = ApiRequest {
        method,
        path,
        body,
        timestamp,
        signature,
    };
    let _ = verify_api_request(&request, Secrets::new(b"k", Some(b"old")), now);

    if let Ok(seconds) = u64::try_from(now) {
        if let Ok(headers) = sign_api_request(method, path, seconds, body, b"k") {
            let signed = ApiRequest {
                timestamp: headers.timestamp.as_bytes(),
                signature: headers.signature.as_bytes(),
                ..request
            };
            assert_eq!(verify_api_request(&signed, Secrets::new(b"k", None), now), Ok(()));
        }
    }
});
