//! Signatures on inbound and outbound messages.
//!
//! Pure functions: raw bytes and secrets in, a verdict out; no clock (time will be passed in by
//! the timestamped schemes), no I/O, no logging. Every comparison happens on the *decoded* MAC in
//! constant time (`hmac`'s `verify_slice`), over the raw body exactly as received.
//!
//! Schemes (see `product.md`, "Signatures"):
//! * [`Scheme::Generic`]: `X-Webhook-Signature` = hex HMAC-SHA256(body); a GitHub-style
//!   `sha256=` prefix is accepted too.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;

/// Prefix GitHub-style senders put before the hex tag.
const SHA256_PREFIX: &str = "sha256=";

/// Why a signature was rejected. The variants say what is wrong without revealing anything about
/// the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request carried no signature header, or an empty one.
    #[error("signature header is missing")]
    Missing,
    /// The header is present but not in the scheme's format (wrong encoding or length).
    #[error("signature header is malformed: {0}")]
    Malformed(&'static str),
    /// The header is well formed but matches none of the configured secrets.
    #[error("signature does not match")]
    Mismatch,
    /// No secret is configured, so nothing can be verified; the request is refused.
    #[error("no secret is configured for this endpoint")]
    NoSecret,
}

/// The signature schemes the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Hex HMAC-SHA256 over the raw body, in `X-Webhook-Signature`.
    Generic,
}

impl Scheme {
    /// The HTTP header the scheme's signature travels in.
    pub fn header(self) -> &'static str {
        match self {
            Scheme::Generic => "X-Webhook-Signature",
        }
    }
}

/// The secrets an endpoint accepts: the current one and, during a rotation, the previous one.
#[derive(Clone, Copy)]
pub struct Secrets<'a> {
    current: &'a [u8],
    previous: Option<&'a [u8]>,
}

impl std::fmt::Debug for Secrets<'_> {
    // Never print secrets, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("current", &"<redacted>")
            .field("previous", &self.previous.map(|_| "<redacted>"))
            .finish()
    }
}

impl<'a> Secrets<'a> {
    /// Secrets for an endpoint; an empty `previous` counts as none.
    pub fn new(current: &'a [u8], previous: Option<&'a [u8]>) -> Self {
        Secrets {
            current,
            previous: previous.filter(|p| !p.is_empty()),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'a [u8]> {
        std::iter::once(self.current)
            .chain(self.previous)
            .filter(|s| !s.is_empty())
    }
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; keep the fallback total anyway.
    <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| {
        <HmacSha256 as Mac>::new_from_slice(&[]).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
    })
}

/// HMAC-SHA256 of `body` under `secret`.
pub fn hmac_sha256(secret: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
    let mut m = mac(secret);
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The `generic` scheme's header value for `body`: lower-case hex HMAC-SHA256.
pub fn sign_generic(secret: &[u8], body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, body))
}

/// Verifies a `generic` signature header (hex, optionally prefixed `sha256=`) against the raw
/// body under any of `secrets`.
pub fn verify_generic(body: &[u8], header: &[u8], secrets: Secrets<'_>) -> Result<(), SignatureError> {
    let header = std::str::from_utf8(header)
        .map_err(|_| SignatureError::Malformed("not ASCII"))?
        .trim();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    let hex_tag = header.strip_prefix(SHA256_PREFIX).unwrap_or(header);
    if hex_tag.len() != TAG_LEN * 2 {
        return Err(SignatureError::Malformed("expected 64 hex digits"));
    }
    let tag = hex::decode(hex_tag).map_err(|_| SignatureError::Malformed("not hexadecimal"))?;
    verify_tag(body, &tag, secrets)
}

/// Constant-time check of a decoded tag against every accepted secret. All secrets are tried
/// (no early exit on the first match) so timing does not reveal which one matched.
fn verify_tag(body: &[u8], tag: &[u8], secrets: Secrets<'_>) -> Result<(), SignatureError> {
    let mut any_secret = false;
    let mut matched = false;
    for secret in secrets.iter() {
        any_secret = true;
        let mut m = mac(secret);
        m.update(body);
        matched |= m.verify_slice(tag).is_ok();
    }
    match (any_secret, matched) {
        (false, _) => Err(SignatureError::NoSecret),
        (true, true) => Ok(()),
        (true, false) => Err(SignatureError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published vector (docs: "validating webhook deliveries").
    const GITHUB_SECRET: &[u8] = b"It's a Secret to Everybody";
    const GITHUB_BODY: &[u8] = b"Hello, World!";
    const GITHUB_HEADER: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_test_vector_signs_and_verifies() {
        assert_eq!(
            format!("sha256={}", sign_generic(GITHUB_SECRET, GITHUB_BODY)),
            GITHUB_HEADER
        );
        assert_eq!(
            verify_generic(GITHUB_BODY, GITHUB_HEADER.as_bytes(), Secrets::new(GITHUB_SECRET, None)),
            Ok(())
        );
    }

    fn check(
        body: &[u8],
        header: &[u8],
        current: &[u8],
        previous: Option<&[u8]>,
        expected: Result<(), SignatureError>,
    ) {
        assert_eq!(
            verify_generic(body, header, Secrets::new(current, previous)),
            expected,
            "body={:?} header={:?}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(header)
        );
    }

    #[test]
    fn verification_table() {
        let body = b"{\"sku\":\"A\",\"quantity\":3}";
        let good = sign_generic(b"s3cret", body);
        let upper = good.to_uppercase();
        let old = sign_generic(b"old", body);
        let mut flipped = good.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };

        check(body, good.as_bytes(), b"s3cret", None, Ok(()));
        check(body, upper.as_bytes(), b"s3cret", None, Ok(()));
        check(body, format!("  {good}\n").as_bytes(), b"s3cret", None, Ok(()));
        check(body, old.as_bytes(), b"s3cret", Some(b"old"), Ok(()));
        check(body, old.as_bytes(), b"s3cret", None, Err(SignatureError::Mismatch));
        check(body, &flipped, b"s3cret", None, Err(SignatureError::Mismatch));
        check(
            b"{\"sku\":\"A\",\"quantity\":30}",
            good.as_bytes(),
            b"s3cret",
            None,
            Err(SignatureError::Mismatch),
        );
        check(body, b"", b"s3cret", None, Err(SignatureError::Missing));
        check(body, b"   ", b"s3cret", None, Err(SignatureError::Missing));
        check(
            body,
            &good.as_bytes()[..63],
            b"s3cret",
            None,
            Err(SignatureError::Malformed("expected 64 hex digits")),
        );
        check(
            body,
            "z".repeat(64).as_bytes(),
            b"s3cret",
            None,
            Err(SignatureError::Malformed("not hexadecimal")),
        );
        check(
            body,
            &[0xff, 0xfe],
            b"s3cret",
            None,
            Err(SignatureError::Malformed("not ASCII")),
        );
        check(body, good.as_bytes(), b"", None, Err(SignatureError::NoSecret));
        check(body, good.as_bytes(), b"", Some(b""), Err(SignatureError::NoSecret));
    }

    #[test]
    fn binary_bodies_are_signed_byte_for_byte() {
        let body: Vec<u8> = (0..=255u8).collect();
        let sig = sign_generic(b"k", &body);
        assert_eq!(verify_generic(&body, sig.as_bytes(), Secrets::new(b"k", None)), Ok(()));
        let mut changed = body.clone();
        changed[200] ^= 1;
        assert_eq!(
            verify_generic(&changed, sig.as_bytes(), Secrets::new(b"k", None)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let text = format!("{:?}", Secrets::new(b"topsecret", Some(b"oldsecret")));
        assert!(!text.contains("topsecret") && !text.contains("oldsecret"), "{text}");
    }
}
