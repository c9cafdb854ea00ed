//! Signatures on inbound and outbound messages.
//!
//! Pure functions: raw bytes and secrets in, a verdict out; no clock (the timestamped schemes take
//! `now` in unix seconds), no randomness (a new secret is made from bytes the caller provides), no
//! I/O, no logging. Every comparison happens on the *decoded* MAC in constant time (`hmac`'s
//! `verify_slice`), over the raw body exactly as received, and every accepted secret (and every
//! offered signature) is tried without early exit, so timing does not reveal which one matched.
//!
//! This module depends on nothing else in the crate (only `std`, `hmac`, `sha2`, `hex`, `base64`
//! and `thiserror`): the fuzz targets in `fuzz/` compile it on its own.
//!
//! Schemes (see `product.md`, "Signatures", and `channel-apis.md` §1.10, §2.7, §5):
//! * [`Scheme::Generic`]: `X-Webhook-Signature` = hex HMAC-SHA256(body); a GitHub-style
//!   `sha256=` prefix is accepted too.
//! * [`Scheme::WooCommerce`]: `X-WC-Webhook-Signature` = base64 HMAC-SHA256(body) under the
//!   webhook's secret. WooCommerce's unsigned creation ping is recognised by
//!   [`is_woocommerce_ping`].
//! * [`Scheme::Shopify`]: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256(body) under the app's
//!   client secret.
//! * [`Scheme::Standard`]: Standard Webhooks v1 ([`verify_standard`], [`sign_standard`]).
//! * [`Scheme::ApiRequest`]: signed API requests ([`verify_api_request`], [`sign_api_request`]).
//!
//! Timestamped schemes accept a timestamp up to [`TOLERANCE_SECS`] before or after `now`
//! (inclusive, like the Standard Webhooks reference library). The signature is checked *before*
//! the time window, so [`SignatureError::Expired`] and [`SignatureError::FromFuture`] only ever
//! describe authentic messages (a late retry, a replay, a skewed clock) and a forgery always reads
//! as [`SignatureError::Mismatch`].

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;

/// Length of an HMAC-SHA256 tag in padded base64 (`ceil(32 / 3) * 4`).
const BASE64_TAG_LEN: usize = 44;

/// Prefix GitHub-style senders put before the hex tag.
const SHA256_PREFIX: &str = "sha256=";

/// How far (in seconds, either way) a signed timestamp may be from `now`.
pub const TOLERANCE_SECS: i64 = 300;

/// Prefix of a Standard Webhooks symmetric secret (`whsec_` + base64 of the key bytes).
pub const STANDARD_SECRET_PREFIX: &str = "whsec_";

/// The only Standard Webhooks signature version this module verifies (HMAC-SHA256); others, such
/// as the asymmetric `v1a`, are skipped.
const STANDARD_VERSION: &str = "v1";

/// At most this many `v1` signatures are read from one `webhook-signature` header; a sender
/// rotating secrets sends two or three, and the cap bounds the work an attacker can ask for.
const MAX_STANDARD_SIGNATURES: usize = 16;

/// Longest accepted `webhook-id`, in bytes.
const MAX_MESSAGE_ID_LEN: usize = 256;

/// Fewest and most random bytes in a new Standard Webhooks secret (the spec's 24–64).
const NEW_SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Longest accepted HTTP method name.
const MAX_METHOD_LEN: usize = 32;

/// Base64 for secrets: standard alphabet, with or without padding (secrets are pasted by people
/// and issued by other providers, some of whom drop the `=`). Tags stay strict ([`STANDARD`]).
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a signature was rejected. The variants say what is wrong without revealing anything about
/// the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request carried no signature header, or an empty one.
    #[error("signature header is missing")]
    Missing,
    /// Another header the scheme signs is absent or empty: `webhook-id` or `webhook-timestamp`
    /// (Standard Webhooks), `X-Timestamp` (signed API requests). The value names the header.
    #[error("{0} header is missing")]
    MissingHeader(&'static str),
    /// A header (or, when signing, an argument) is present but not in the scheme's format: wrong
    /// encoding or length, a timestamp that is not unix seconds, an id containing `.`, a
    /// signature list without a `v1` entry.
    #[error("signature header is malformed: {0}")]
    Malformed(&'static str),
    /// The header is well formed but matches none of the configured secrets.
    #[error("signature does not match")]
    Mismatch,
    /// The signature matches, but its timestamp is more than [`TOLERANCE_SECS`] before `now`: a
    /// replay, a delivery that waited too long, or a sender whose clock is slow.
    #[error("signature expired: timestamp is {age_secs} s old (tolerance {} s)", TOLERANCE_SECS)]
    Expired {
        /// How many seconds before `now` the message was signed.
        age_secs: u64,
    },
    /// The signature matches, but its timestamp is more than [`TOLERANCE_SECS`] after `now`: the
    /// sender's clock is fast (or ours is slow).
    #[error(
        "timestamp is from the future: {ahead_secs} s ahead (tolerance {} s)",
        TOLERANCE_SECS
    )]
    FromFuture {
        /// How many seconds after `now` the message claims to have been signed.
        ahead_secs: u64,
    },
    /// No secret is configured, so nothing can be verified; the request is refused.
    #[error("no secret is configured for this endpoint")]
    NoSecret,
    /// A configured secret cannot be used by the scheme (a Standard Webhooks secret that is not
    /// `whsec_` + base64), or too few random bytes were given for a new one. A configuration
    /// problem, not a bad request.
    #[error("the configured secret is invalid: {0}")]
    InvalidSecret(&'static str),
}

/// The signature schemes the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Hex HMAC-SHA256 over the raw body, in `X-Webhook-Signature`.
    Generic,
    /// Base64 HMAC-SHA256 over the raw body under the webhook's secret, in
    /// `X-WC-Webhook-Signature` (a remote WooCommerce store's webhooks).
    WooCommerce,
    /// Base64 HMAC-SHA256 over the raw body under the app's client secret, in
    /// `X-Shopify-Hmac-Sha256`.
    Shopify,
    /// Standard Webhooks v1: base64 HMAC-SHA256 over `id.timestamp.body` under the decoded
    /// `whsec_` key, in `webhook-signature`, with `webhook-id` and `webhook-timestamp`.
    Standard,
    /// Signed API requests: hex HMAC-SHA256 over `METHOD` + path + timestamp + body, in
    /// `X-Signature`, with `X-Timestamp` (and `X-API-Key` naming the key).
    ApiRequest,
}

impl Scheme {
    /// The HTTP header the scheme's signature travels in.
    pub fn header(self) -> &'static str {
        match self {
            Scheme::Generic => "X-Webhook-Signature",
            Scheme::WooCommerce => "X-WC-Webhook-Signature",
            Scheme::Shopify => "X-Shopify-Hmac-Sha256",
            Scheme::Standard => "webhook-signature",
            Scheme::ApiRequest => "X-Signature",
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
    hmac_parts(secret, &[body])
}

/// HMAC-SHA256 of the concatenation of `parts`, without building it.
fn hmac_parts(secret: &[u8], parts: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut m = mac(secret);
    for part in parts {
        m.update(part);
    }
    m.finalize().into_bytes().into()
}

/// A header's text: ASCII, surrounding whitespace trimmed; empty counts as absent (`missing`).
fn header_text(header: &[u8], missing: SignatureError) -> Result<&str, SignatureError> {
    let text = std::str::from_utf8(header)
        .ok()
        .filter(|text| text.is_ascii())
        .ok_or(SignatureError::Malformed("not ASCII"))?
        .trim();
    if text.is_empty() {
        return Err(missing);
    }
    Ok(text)
}

/// A 64-digit hex tag (either case).
fn decode_hex_tag(text: &str) -> Result<[u8; TAG_LEN], SignatureError> {
    if text.len() != TAG_LEN * 2 {
        return Err(SignatureError::Malformed("expected 64 hex digits"));
    }
    let mut tag = [0u8; TAG_LEN];
    hex::decode_to_slice(text, &mut tag).map_err(|_| SignatureError::Malformed("not hexadecimal"))?;
    Ok(tag)
}

/// A 44-character padded standard-base64 tag.
fn decode_base64_tag(text: &str) -> Result<[u8; TAG_LEN], SignatureError> {
    if text.len() != BASE64_TAG_LEN {
        return Err(SignatureError::Malformed("expected 44 base64 characters"));
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| SignatureError::Malformed("not base64"))?;
    bytes
        .try_into()
        .map_err(|_| SignatureError::Malformed("expected a 32-byte HMAC-SHA256"))
}

/// Parses a `generic` signature header (64 hex digits, optionally prefixed `sha256=`) into the
/// tag it carries.
pub fn parse_generic_header(header: &[u8]) -> Result<[u8; TAG_LEN], SignatureError> {
    let text = header_text(header, SignatureError::Missing)?;
    decode_hex_tag(text.strip_prefix(SHA256_PREFIX).unwrap_or(text))
}

/// Parses a base64 signature header (`X-WC-Webhook-Signature`, `X-Shopify-Hmac-Sha256`): exactly
/// 44 characters of padded standard base64 encoding 32 bytes.
pub fn parse_base64_header(header: &[u8]) -> Result<[u8; TAG_LEN], SignatureError> {
    decode_base64_tag(header_text(header, SignatureError::Missing)?)
}

/// Parses a timestamp header's text as unix seconds: ASCII digits only, no sign, no leading zero,
/// within `i64`. Being this strict means the signed text and the number are one and the same
/// (the reference libraries sign the *parsed* number, so `+1` or `01` would sign differently).
pub fn parse_timestamp(text: &str) -> Result<i64, SignatureError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed(
            "timestamp must be unix seconds (digits only)",
        ));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(SignatureError::Malformed("timestamp must not have leading zeros"));
    }
    text.parse::<i64>()
        .map_err(|_| SignatureError::Malformed("timestamp is out of range"))
}

/// Accepts `timestamp` if it is at most [`TOLERANCE_SECS`] away from `now`, either way.
fn check_freshness(timestamp: i64, now: i64) -> Result<(), SignatureError> {
    // i128: the difference of two arbitrary i64 values does not overflow.
    let age = i128::from(now) - i128::from(timestamp);
    let secs = |d: i128| u64::try_from(d).unwrap_or(u64::MAX);
    if age > i128::from(TOLERANCE_SECS) {
        Err(SignatureError::Expired { age_secs: secs(age) })
    } else if -age > i128::from(TOLERANCE_SECS) {
        Err(SignatureError::FromFuture { ahead_secs: secs(-age) })
    } else {
        Ok(())
    }
}

/// Constant-time check of decoded `tags` against the MAC of `parts` (concatenated) under every
/// key. All keys and all tags are tried (no early exit on the first match) so timing does not
/// reveal which one matched.
fn verify_tags<'k>(
    parts: &[&[u8]],
    tags: &[[u8; TAG_LEN]],
    keys: impl IntoIterator<Item = &'k [u8]>,
) -> Result<(), SignatureError> {
    let mut any_secret = false;
    let mut matched = false;
    for key in keys {
        any_secret = true;
        let mut m = mac(key);
        for part in parts {
            m.update(part);
        }
        for tag in tags {
            matched |= m.clone().verify_slice(tag).is_ok();
        }
    }
    match (any_secret, matched) {
        (false, _) => Err(SignatureError::NoSecret),
        (true, true) => Ok(()),
        (true, false) => Err(SignatureError::Mismatch),
    }
}

// ---------------------------------------------------------------------------------------------
// generic
// ---------------------------------------------------------------------------------------------

/// The `generic` scheme's header value for `body`: lower-case hex HMAC-SHA256.
pub fn sign_generic(secret: &[u8], body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, body))
}

/// Verifies a `generic` signature header (hex, optionally prefixed `sha256=`) against the raw
/// body under any of `secrets`.
pub fn verify_generic(body: &[u8], header: &[u8], secrets: Secrets<'_>) -> Result<(), SignatureError> {
    let tag = parse_generic_header(header)?;
    verify_tags(&[body], &[tag], secrets.iter())
}

// ---------------------------------------------------------------------------------------------
// WooCommerce and Shopify: base64 HMAC-SHA256 of the raw body
// ---------------------------------------------------------------------------------------------

/// The `X-WC-Webhook-Signature` value WooCommerce sends for `body`:
/// `base64_encode(hash_hmac('sha256', $body, $secret, true))`.
pub fn sign_woocommerce(secret: &[u8], body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(secret, body))
}

/// Verifies an `X-WC-Webhook-Signature` header against the raw body under any of `secrets`
/// (the webhook's secret; the previous one during a rotation).
pub fn verify_woocommerce(body: &[u8], header: &[u8], secrets: Secrets<'_>) -> Result<(), SignatureError> {
    let tag = parse_base64_header(header)?;
    verify_tags(&[body], &[tag], secrets.iter())
}

/// Whether a request is WooCommerce's unsigned creation ping, which must get a 200 (or the
/// webhook cannot be activated) and must change nothing.
///
/// WooCommerce's `deliver_ping()` posts the form body `webhook_id=<id>` with no signature header.
/// The rule, exactly: the body is `webhook_id=` followed by the decimal id of a saved webhook (a
/// positive integer that fits PHP's `int`: digits only, no sign, no leading zero), with nothing
/// before or after (no other field, no whitespace, no newline); and the signature header is
/// absent or blank. Anything else (`webhook_id=12&x=1`, a JSON body, a ping body that carries a
/// signature) is not a ping and goes through [`verify_woocommerce`].
pub fn is_woocommerce_ping(body: &[u8], signature_header: Option<&[u8]>) -> bool {
    let unsigned = signature_header.is_none_or(|h| h.trim_ascii().is_empty());
    let Some(id) = body.strip_prefix(b"webhook_id=") else {
        return false;
    };
    unsigned
        && id.first().is_some_and(|&b| b != b'0')
        && id.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(id).is_ok_and(|id| id.parse::<i64>().is_ok())
}

/// The `X-Shopify-Hmac-Sha256` value Shopify sends for `body`: base64 HMAC-SHA256 under the app's
/// client secret.
pub fn sign_shopify(secret: &[u8], body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(secret, body))
}

/// Verifies an `X-Shopify-Hmac-Sha256` header against the raw body under any of `secrets` (the
/// app's client secret; the previous one for the hour a rotation takes to reach Shopify's
/// senders).
pub fn verify_shopify(body: &[u8], header: &[u8], secrets: Secrets<'_>) -> Result<(), SignatureError> {
    let tag = parse_base64_header(header)?;
    verify_tags(&[body], &[tag], secrets.iter())
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks v1
// ---------------------------------------------------------------------------------------------

/// A received Standard Webhooks message: the raw body and the three header values as they
/// arrived (an absent header is empty).
#[derive(Debug, Clone, Copy)]
pub struct StandardWebhook<'a> {
    /// The raw request body.
    pub body: &'a [u8],
    /// `webhook-id`: the message id, the same across retries.
    pub id: &'a [u8],
    /// `webhook-timestamp`: unix seconds of this attempt.
    pub timestamp: &'a [u8],
    /// `webhook-signature`: space-separated `<version>,<base64>` entries.
    pub signature: &'a [u8],
}

/// The three headers of a Standard Webhooks message we send, in the order they are listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardWebhookHeaders {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`: decimal unix seconds.
    pub timestamp: String,
    /// `webhook-signature`: one `v1,<base64>` entry per secret, current first.
    pub signature: String,
}

/// Checks a `webhook-id`: 1 to 256 visible ASCII characters (it travels in a header) and no `.`
/// (the signed content joins id, timestamp and body with dots).
pub fn check_message_id(id: &[u8]) -> Result<&str, SignatureError> {
    if id.is_empty() || id.len() > MAX_MESSAGE_ID_LEN || !id.iter().all(u8::is_ascii_graphic) {
        return Err(SignatureError::Malformed(
            "webhook-id must be 1 to 256 visible ASCII characters",
        ));
    }
    if id.contains(&b'.') {
        return Err(SignatureError::Malformed("webhook-id must not contain '.'"));
    }
    std::str::from_utf8(id).map_err(|_| SignatureError::Malformed("webhook-id must be ASCII"))
}

/// Parses a `webhook-signature` header into the decoded `v1` tags it offers, in order.
///
/// The header is a space-separated list of `<version>,<signature>` entries (several during a
/// key rotation). Entries of other versions (`v1a`, `v2`, …) are skipped; every entry must have
/// the comma, and every `v1` signature must be 44 characters of padded base64 encoding 32 bytes,
/// or the whole header is malformed. A list without any `v1` entry, or with more than 16, is
/// malformed too.
pub fn parse_standard_signatures(header: &[u8]) -> Result<Vec<[u8; TAG_LEN]>, SignatureError> {
    let text = header_text(header, SignatureError::Missing)?;
    let mut tags = Vec::new();
    for entry in text.split(' ').filter(|e| !e.is_empty()) {
        let (version, signature) = entry
            .split_once(',')
            .ok_or(SignatureError::Malformed("each signature must be <version>,<base64>"))?;
        if version != STANDARD_VERSION {
            continue;
        }
        if tags.len() == MAX_STANDARD_SIGNATURES {
            return Err(SignatureError::Malformed("more than 16 v1 signatures"));
        }
        tags.push(decode_base64_tag(signature)?);
    }
    if tags.is_empty() {
        return Err(SignatureError::Malformed("no v1 signature"));
    }
    Ok(tags)
}

/// The HMAC key of a Standard Webhooks secret: the base64-decoded bytes after `whsec_`.
///
/// The prefix is optional, as in the reference libraries (Go's `NewWebhook` trims it, the
/// JavaScript and PHP ones accept both), so a bare base64 secret copied from another provider
/// works too. Padding is optional; surrounding whitespace is ignored. Anything that is not
/// base64, or decodes to nothing, is [`SignatureError::InvalidSecret`]: the secret is never used
/// as raw text, which would silently produce signatures no other implementation accepts.
pub fn decode_standard_secret(secret: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let text = std::str::from_utf8(secret)
        .map_err(|_| SignatureError::InvalidSecret("expected whsec_ followed by base64"))?
        .trim();
    let encoded = text.strip_prefix(STANDARD_SECRET_PREFIX).unwrap_or(text);
    let key = SECRET_BASE64
        .decode(encoded)
        .map_err(|_| SignatureError::InvalidSecret("expected whsec_ followed by base64"))?;
    if key.is_empty() {
        return Err(SignatureError::InvalidSecret("the key after whsec_ is empty"));
    }
    Ok(key)
}

/// A new Standard Webhooks secret, `whsec_` + base64 (padded) of `random`: the caller draws the
/// bytes (PHP's `random_bytes(32)`), so this module stays free of randomness. The spec asks for
/// 24 to 64 bytes; other lengths are [`SignatureError::InvalidSecret`].
pub fn new_standard_secret(random: &[u8]) -> Result<String, SignatureError> {
    if !NEW_SECRET_BYTES.contains(&random.len()) {
        return Err(SignatureError::InvalidSecret(
            "a new secret needs 24 to 64 random bytes",
        ));
    }
    Ok(format!("{STANDARD_SECRET_PREFIX}{}", STANDARD.encode(random)))
}

/// The decoded keys of every configured secret; one unusable secret fails the lot (it is a
/// configuration error to fix, not a reason to fall back silently to the other).
fn standard_keys(secrets: Secrets<'_>) -> Result<Vec<Vec<u8>>, SignatureError> {
    secrets.iter().map(decode_standard_secret).collect()
}

/// Signs an outbound Standard Webhooks message: the three header values for `id`, `timestamp`
/// (unix seconds) and `body`. With a previous secret in `secrets` the signature header carries
/// two entries, `v1,<current> v1,<previous>`, so receivers holding either secret accept it
/// during a rotation.
pub fn sign_standard(
    id: &[u8],
    timestamp: u64,
    body: &[u8],
    secrets: Secrets<'_>,
) -> Result<StandardWebhookHeaders, SignatureError> {
    let id = check_message_id(id)?;
    let keys = standard_keys(secrets)?;
    if keys.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let timestamp = timestamp.to_string();
    let signature = keys
        .iter()
        .map(|key| {
            let tag = hmac_parts(key, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
            format!("{STANDARD_VERSION},{}", STANDARD.encode(tag))
        })
        .collect::<Vec<_>>()
        .join(" ");
    Ok(StandardWebhookHeaders {
        id: id.to_string(),
        timestamp,
        signature,
    })
}

/// Verifies a Standard Webhooks v1 message at time `now` (unix seconds).
///
/// In order: `webhook-id` present and valid ([`check_message_id`]), `webhook-timestamp` present
/// and unix seconds ([`parse_timestamp`]), `webhook-signature` present with at least one `v1`
/// entry ([`parse_standard_signatures`]), the secrets usable ([`decode_standard_secret`]); then
/// the message is accepted if ANY `v1` signature matches ANY secret over
/// `"{id}.{timestamp}.{body}"`, and finally if the timestamp is within [`TOLERANCE_SECS`] of
/// `now`.
pub fn verify_standard(message: &StandardWebhook<'_>, secrets: Secrets<'_>, now: i64) -> Result<(), SignatureError> {
    let id = check_message_id(header_text(message.id, SignatureError::MissingHeader("webhook-id"))?.as_bytes())?;
    let timestamp_text = header_text(message.timestamp, SignatureError::MissingHeader("webhook-timestamp"))?;
    let timestamp = parse_timestamp(timestamp_text)?;
    let tags = parse_standard_signatures(message.signature)?;
    let keys = standard_keys(secrets)?;
    verify_tags(
        &[id.as_bytes(), b".", timestamp_text.as_bytes(), b".", message.body],
        &tags,
        keys.iter().map(Vec::as_slice),
    )?;
    check_freshness(timestamp, now)
}

// ---------------------------------------------------------------------------------------------
// Signed API requests
// ---------------------------------------------------------------------------------------------

/// A received signed API request: what the server saw and the two signature headers as they
/// arrived (an absent header is empty). `X-API-Key` is not part of it: the caller uses it to look
/// up the secrets.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a> {
    /// The request method (`GET`, `post`, …); compared upper-cased.
    pub method: &'a [u8],
    /// The request target exactly as sent: the path and, if any, `?` and the query string, not
    /// decoded (PHP's `$_SERVER['REQUEST_URI']`).
    pub path: &'a [u8],
    /// The raw request body (empty for a `GET`).
    pub body: &'a [u8],
    /// `X-Timestamp`: unix seconds.
    pub timestamp: &'a [u8],
    /// `X-Signature`: 64 hex digits.
    pub signature: &'a [u8],
}

/// The two signature headers of an API request we sign (`X-API-Key` is the caller's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequestHeaders {
    /// `X-Timestamp`: decimal unix seconds.
    pub timestamp: String,
    /// `X-Signature`: lower-case hex HMAC-SHA256.
    pub signature: String,
}

/// The method as signed: 1 to 32 ASCII letters, upper-cased.
fn canonical_method(method: &[u8]) -> Result<Vec<u8>, SignatureError> {
    if method.is_empty() || method.len() > MAX_METHOD_LEN || !method.iter().all(u8::is_ascii_alphabetic) {
        return Err(SignatureError::Malformed(
            "request method must be 1 to 32 ASCII letters",
        ));
    }
    Ok(method.to_ascii_uppercase())
}

/// The path as signed: the request target in origin form (starts with `/`), no spaces or control
/// characters; any other byte is signed as is.
fn check_path(path: &[u8]) -> Result<&[u8], SignatureError> {
    if path.first() != Some(&b'/') || path.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(SignatureError::Malformed(
            "request path must start with '/' and contain no spaces or control characters",
        ));
    }
    Ok(path)
}

/// The MAC of a signed API request: HMAC-SHA256 of `METHOD` + path + timestamp + body, plain
/// concatenation without separators (product.md: `method + path + timestamp + body`), e.g.
/// `POST/wp-json/inventory-sync/v1/movements?dry_run=1` + `1700000000` + `{"sku":"A"}`.
///
/// No separator is needed to make the split unambiguous: the method is letters only, the path
/// starts with `/`, and the timestamp is digits without leading zeros that must lie within
/// ±300 s of now, so every acceptable timestamp has the same number of digits (ten until the
/// year 2286) and where the path ends and the body begins is fixed.
fn api_request_tag(secret: &[u8], method: &[u8], path: &[u8], timestamp: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
    hmac_parts(secret, &[method, path, timestamp, body])
}

/// Signs an outbound API request: the `X-Timestamp` and `X-Signature` values for `method`,
/// `path` (with its query string, exactly as it will be sent), `timestamp` and `body`.
pub fn sign_api_request(
    method: &[u8],
    path: &[u8],
    timestamp: u64,
    body: &[u8],
    secret: &[u8],
) -> Result<ApiRequestHeaders, SignatureError> {
    let method = canonical_method(method)?;
    let path = check_path(path)?;
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let timestamp = timestamp.to_string();
    let signature = hex::encode(api_request_tag(secret, &method, path, timestamp.as_bytes(), body));
    Ok(ApiRequestHeaders { timestamp, signature })
}

/// Verifies a signed API request at time `now` (unix seconds): `X-Timestamp` present and unix
/// seconds, `X-Signature` present and 64 hex digits, the MAC of `METHOD` + path + timestamp +
/// body (see [`sign_api_request`]) matching any of `secrets`, then the timestamp within
/// [`TOLERANCE_SECS`] of `now`.
pub fn verify_api_request(request: &ApiRequest<'_>, secrets: Secrets<'_>, now: i64) -> Result<(), SignatureError> {
    let method = canonical_method(request.method)?;
    let path = check_path(request.path)?;
    let timestamp_text = header_text(request.timestamp, SignatureError::MissingHeader("X-Timestamp"))?;
    let timestamp = parse_timestamp(timestamp_text)?;
    let tag = decode_hex_tag(header_text(request.signature, SignatureError::Missing)?)?;
    verify_tags(
        &[&method, path, timestamp_text.as_bytes(), request.body],
        &[tag],
        secrets.iter(),
    )?;
    check_freshness(timestamp, now)
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

    // -----------------------------------------------------------------------------------------
    // WooCommerce and Shopify
    // -----------------------------------------------------------------------------------------

    /// Computed independently with PHP, exactly as WooCommerce's `WC_Webhook::generate_signature`
    /// does: `php -r 'echo base64_encode(hash_hmac("sha256", $body, $secret, true));'` with
    /// `$secret = "wc-webhook-secret"` and this body.
    const WC_SECRET: &[u8] = b"wc-webhook-secret";
    const WC_BODY: &[u8] = br#"{"id":42,"sku":"TSHIRT-RED-M","stock_quantity":7,"manage_stock":true}"#;
    const WC_SIGNATURE: &str = "ooaktta75dUkEoemVmW8xNYpdjWoHpYfpe1LMi4HF8o=";

    /// Computed independently with PHP, as Shopify's library does
    /// (`createSHA256HMAC(secret, rawBody, Base64)`): `php -r 'echo base64_encode(hash_hmac(
    /// "sha256", $body, $secret, true));'` with `$secret = "shpss_client_secret"` and this body.
    const SHOPIFY_SECRET: &[u8] = b"shpss_client_secret";
    const SHOPIFY_BODY: &[u8] =
        br#"{"inventory_item_id":271878346596884015,"location_id":24826418,"available":6,"updated_at":"2021-12-31T19:00:00-05:00"}"#;
    const SHOPIFY_SIGNATURE: &str = "2BbmsNVtxplbmIpoi8grevWhMo8jZ2sOQXVZ3VNDRbQ=";

    #[test]
    fn woocommerce_and_shopify_vectors_sign_and_verify() {
        assert_eq!(sign_woocommerce(WC_SECRET, WC_BODY), WC_SIGNATURE);
        assert_eq!(
            verify_woocommerce(WC_BODY, WC_SIGNATURE.as_bytes(), Secrets::new(WC_SECRET, None)),
            Ok(())
        );
        assert_eq!(sign_shopify(SHOPIFY_SECRET, SHOPIFY_BODY), SHOPIFY_SIGNATURE);
        assert_eq!(
            verify_shopify(
                SHOPIFY_BODY,
                SHOPIFY_SIGNATURE.as_bytes(),
                Secrets::new(SHOPIFY_SECRET, None)
            ),
            Ok(())
        );
    }

    type Base64Verify = fn(&[u8], &[u8], Secrets<'_>) -> Result<(), SignatureError>;
    type Base64Sign = fn(&[u8], &[u8]) -> String;

    fn check_base64(
        (name, verify): (&str, Base64Verify),
        body: &[u8],
        header: &str,
        current: &[u8],
        previous: Option<&[u8]>,
        expected: Result<(), SignatureError>,
    ) {
        assert_eq!(
            verify(body, header.as_bytes(), Secrets::new(current, previous)),
            expected,
            "{name}: body={:?} header={header:?}",
            String::from_utf8_lossy(body)
        );
    }

    #[test]
    fn base64_schemes_verification_table() {
        let schemes: [(&str, Base64Verify, Base64Sign); 2] = [
            ("woocommerce", verify_woocommerce, sign_woocommerce),
            ("shopify", verify_shopify, sign_shopify),
        ];
        for (name, verify, sign) in schemes {
            let body = b"{\"sku\":\"A\",\"quantity\":3}";
            let good = sign(b"s3cret", body);
            let old = sign(b"old", body);
            let hex_instead = sign_generic(b"s3cret", body);
            // '-' belongs to the URL-safe alphabet, not the standard one the senders use.
            let url_safe = format!("{}-{}", &good[..10], &good[11..]);
            let mut flipped = good.clone().into_bytes();
            flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
            let flipped = String::from_utf8(flipped).unwrap_or_default();

            check_base64((name, verify), body, &good, b"s3cret", None, Ok(()));
            check_base64((name, verify), body, &format!(" {good}\r\n"), b"s3cret", None, Ok(()));
            check_base64((name, verify), body, &old, b"s3cret", Some(b"old"), Ok(()));
            check_base64((name, verify), body, &good, b"s3cret", Some(b"old"), Ok(()));
            check_base64(
                (name, verify),
                body,
                &old,
                b"s3cret",
                None,
                Err(SignatureError::Mismatch),
            );
            check_base64(
                (name, verify),
                body,
                &flipped,
                b"s3cret",
                None,
                Err(SignatureError::Mismatch),
            );
            check_base64(
                (name, verify),
                b"{}",
                &good,
                b"s3cret",
                None,
                Err(SignatureError::Mismatch),
            );
            check_base64((name, verify), body, "", b"s3cret", None, Err(SignatureError::Missing));
            check_base64(
                (name, verify),
                body,
                &hex_instead,
                b"s3cret",
                None,
                Err(SignatureError::Malformed("expected 44 base64 characters")),
            );
            check_base64(
                (name, verify),
                body,
                good.trim_end_matches('='),
                b"s3cret",
                None,
                Err(SignatureError::Malformed("expected 44 base64 characters")),
            );
            check_base64(
                (name, verify),
                body,
                &url_safe,
                b"s3cret",
                None,
                Err(SignatureError::Malformed("not base64")),
            );
            check_base64(
                (name, verify),
                body,
                &"*".repeat(44),
                b"s3cret",
                None,
                Err(SignatureError::Malformed("not base64")),
            );
            check_base64((name, verify), body, &good, b"", None, Err(SignatureError::NoSecret));
        }
    }

    fn check_ping(body: &str, header: Option<&str>, expected: bool) {
        assert_eq!(
            is_woocommerce_ping(body.as_bytes(), header.map(str::as_bytes)),
            expected,
            "body={body:?} header={header:?}"
        );
    }

    #[test]
    fn woocommerce_ping_rule() {
        check_ping("webhook_id=12", None, true);
        check_ping("webhook_id=12", Some(""), true);
        check_ping("webhook_id=12", Some("  "), true);
        check_ping("webhook_id=9223372036854775807", None, true);
        check_ping("webhook_id=12", Some(WC_SIGNATURE), false);
        check_ping("webhook_id=12&x=1", None, false);
        check_ping("x=1&webhook_id=12", None, false);
        check_ping("webhook_id=12\n", None, false);
        check_ping(" webhook_id=12", None, false);
        check_ping("webhook_id=", None, false);
        check_ping("webhook_id=0", None, false);
        check_ping("webhook_id=012", None, false);
        check_ping("webhook_id=-1", None, false);
        check_ping("webhook_id=+1", None, false);
        check_ping("webhook_id=9223372036854775808", None, false);
        check_ping("WEBHOOK_ID=12", None, false);
        check_ping("{\"webhook_id\":12}", None, false);
        check_ping("", None, false);
    }

    // -----------------------------------------------------------------------------------------
    // Standard Webhooks
    // -----------------------------------------------------------------------------------------

    /// The Standard Webhooks published vector: standard-webhooks/standard-webhooks,
    /// `libraries/go/webhook_test.go` (`TestWebhookSign`) and
    /// `libraries/javascript/src/webhook.test.ts` ("sign function works").
    const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SW_TIMESTAMP: u64 = 1614265330;
    const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SW_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    /// A well-formed v1 signature that matches nothing, from the same libraries' multi-signature
    /// tests.
    const SW_OTHER: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    const SW_NOW: i64 = 1614265330;

    #[test]
    fn standard_webhooks_published_vector_signs_and_verifies() {
        let headers = sign_standard(
            SW_ID.as_bytes(),
            SW_TIMESTAMP,
            SW_BODY,
            Secrets::new(SW_SECRET.as_bytes(), None),
        );
        assert_eq!(
            headers,
            Ok(StandardWebhookHeaders {
                id: SW_ID.into(),
                timestamp: "1614265330".into(),
                signature: SW_SIGNATURE.into(),
            })
        );
        // The same key without its prefix, as the reference libraries also accept.
        let bare = SW_SECRET.trim_start_matches(STANDARD_SECRET_PREFIX);
        for secret in [SW_SECRET, bare] {
            let message = StandardWebhook {
                body: SW_BODY,
                id: SW_ID.as_bytes(),
                timestamp: b"1614265330",
                signature: SW_SIGNATURE.as_bytes(),
            };
            assert_eq!(
                verify_standard(&message, Secrets::new(secret.as_bytes(), None), SW_NOW),
                Ok(())
            );
        }
    }

    fn check_standard(
        message: StandardWebhook<'_>,
        current: &str,
        previous: Option<&str>,
        now: i64,
        expected: Result<(), SignatureError>,
    ) {
        assert_eq!(
            verify_standard(
                &message,
                Secrets::new(current.as_bytes(), previous.map(str::as_bytes)),
                now
            ),
            expected,
            "{message:?}"
        );
    }

    #[test]
    fn standard_webhooks_verification_table() {
        use SignatureError::*;
        // base64 of "secret-key-for-the-table-test"
        let new_secret = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLXRhYmxlLXRlc3Q=";
        let sign = |secret: &str, ts: u64| {
            sign_standard(SW_ID.as_bytes(), ts, SW_BODY, Secrets::new(secret.as_bytes(), None))
                .map(|h| h.signature)
                .unwrap_or_default()
        };
        let vector = StandardWebhook {
            body: SW_BODY,
            id: SW_ID.as_bytes(),
            timestamp: b"1614265330",
            signature: SW_SIGNATURE.as_bytes(),
        };
        let with_sig = |sig: &'static str| StandardWebhook {
            signature: sig.as_bytes(),
            ..vector
        };
        let with_ts = |ts: &'static str| StandardWebhook {
            timestamp: ts.as_bytes(),
            ..vector
        };
        let with_id = |id: &'static str| StandardWebhook {
            id: id.as_bytes(),
            ..vector
        };

        // Valid; rotation both ways; any v1 entry in the list counts; other versions are skipped.
        check_standard(vector, SW_SECRET, None, SW_NOW, Ok(()));
        check_standard(vector, new_secret, Some(SW_SECRET), SW_NOW, Ok(()));
        check_standard(vector, SW_SECRET, Some(new_secret), SW_NOW, Ok(()));
        let multi = format!("{SW_OTHER} v2,{} {SW_SIGNATURE} {SW_OTHER}", &SW_OTHER[3..]);
        let multi = StandardWebhook {
            signature: multi.as_bytes(),
            ..vector
        };
        check_standard(multi, SW_SECRET, None, SW_NOW, Ok(()));
        let spaced = format!("  {SW_SIGNATURE}   ");
        let spaced = StandardWebhook {
            signature: spaced.as_bytes(),
            ..vector
        };
        check_standard(spaced, SW_SECRET, None, SW_NOW, Ok(()));
        // A v1a (asymmetric) entry is not a v1 signature, whatever it carries.
        let v1a = format!("v1a,{}", &SW_SIGNATURE[3..]);
        let v1a = StandardWebhook {
            signature: v1a.as_bytes(),
            ..vector
        };
        check_standard(v1a, SW_SECRET, None, SW_NOW, Err(Malformed("no v1 signature")));

        // Wrong secret, a signature that matches nothing, changed body, id or timestamp.
        check_standard(vector, new_secret, None, SW_NOW, Err(Mismatch));
        check_standard(with_sig(SW_OTHER), SW_SECRET, None, SW_NOW, Err(Mismatch));
        let changed_body = StandardWebhook {
            body: br#"{"test": 2432232315}"#,
            ..vector
        };
        check_standard(changed_body, SW_SECRET, None, SW_NOW, Err(Mismatch));
        check_standard(with_id("msg_other"), SW_SECRET, None, SW_NOW, Err(Mismatch));
        check_standard(with_ts("1614265331"), SW_SECRET, None, SW_NOW, Err(Mismatch));

        // The window: ±300 s inclusive, checked once the signature matched.
        let window: [(i64, Result<(), SignatureError>); 7] = [
            (SW_NOW + 300, Ok(())),
            (SW_NOW - 300, Ok(())),
            (SW_NOW + 301, Err(Expired { age_secs: 301 })),
            (SW_NOW - 301, Err(FromFuture { ahead_secs: 301 })),
            (SW_NOW + 86_400, Err(Expired { age_secs: 86_400 })),
            (
                i64::MAX,
                Err(Expired {
                    age_secs: 9_223_372_035_240_510_477,
                }),
            ),
            (
                i64::MIN,
                Err(FromFuture {
                    ahead_secs: 9_223_372_038_469_041_138,
                }),
            ),
        ];
        for (now, expected) in window {
            check_standard(vector, SW_SECRET, None, now, expected);
        }
        let (stale, early) = (
            sign(SW_SECRET, SW_TIMESTAMP - 1000),
            sign(SW_SECRET, SW_TIMESTAMP + 1000),
        );
        let stale = StandardWebhook {
            timestamp: b"1614264330",
            signature: stale.as_bytes(),
            ..vector
        };
        check_standard(stale, SW_SECRET, None, SW_NOW, Err(Expired { age_secs: 1000 }));
        check_standard(stale, new_secret, None, SW_NOW, Err(Mismatch));
        let early = StandardWebhook {
            timestamp: b"1614266330",
            signature: early.as_bytes(),
            ..vector
        };
        check_standard(early, SW_SECRET, None, SW_NOW, Err(FromFuture { ahead_secs: 1000 }));
        check_standard(early, new_secret, None, SW_NOW, Err(Mismatch));

        // Missing headers.
        check_standard(with_id(""), SW_SECRET, None, SW_NOW, Err(MissingHeader("webhook-id")));
        check_standard(
            with_ts(" "),
            SW_SECRET,
            None,
            SW_NOW,
            Err(MissingHeader("webhook-timestamp")),
        );
        check_standard(with_sig(""), SW_SECRET, None, SW_NOW, Err(Missing));

        // Malformed ids.
        let long_id = "m".repeat(257);
        let long_id = StandardWebhook {
            id: long_id.as_bytes(),
            ..vector
        };
        let not_visible = Err(Malformed("webhook-id must be 1 to 256 visible ASCII characters"));
        check_standard(long_id, SW_SECRET, None, SW_NOW, not_visible.clone());
        check_standard(with_id("msg 1"), SW_SECRET, None, SW_NOW, not_visible.clone());
        check_standard(with_id("msg_é"), SW_SECRET, None, SW_NOW, Err(Malformed("not ASCII")));
        check_standard(
            with_id("msg.1"),
            SW_SECRET,
            None,
            SW_NOW,
            Err(Malformed("webhook-id must not contain '.'")),
        );

        // Malformed timestamps.
        for bad in [
            "hello",
            "1614265330.5",
            "+1614265330",
            "-1",
            "1614265330 1",
            "0x60376b72",
        ] {
            check_standard(
                with_ts(bad),
                SW_SECRET,
                None,
                SW_NOW,
                Err(Malformed("timestamp must be unix seconds (digits only)")),
            );
        }
        check_standard(
            with_ts("01614265330"),
            SW_SECRET,
            None,
            SW_NOW,
            Err(Malformed("timestamp must not have leading zeros")),
        );
        check_standard(
            with_ts("99999999999999999999"),
            SW_SECRET,
            None,
            SW_NOW,
            Err(Malformed("timestamp is out of range")),
        );

        // Malformed signature lists (including the reference libraries' "partial signature").
        let malformed: [(&str, &str); 7] = [
            (&SW_SIGNATURE[..8], "expected 44 base64 characters"),
            ("v1,", "expected 44 base64 characters"),
            ("v1,dawfeoifkpqwoekfpqoekf", "expected 44 base64 characters"),
            ("v1,********************************************", "not base64"),
            (&SW_SIGNATURE[3..], "each signature must be <version>,<base64>"),
            ("v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "no v1 signature"),
            (
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,****",
                "expected 44 base64 characters",
            ),
        ];
        for (sig, why) in malformed {
            check_standard(with_sig(sig), SW_SECRET, None, SW_NOW, Err(Malformed(why)));
        }
        let sixteen = format!("{} {SW_SIGNATURE}", [SW_OTHER; 15].join(" "));
        let sixteen = StandardWebhook {
            signature: sixteen.as_bytes(),
            ..vector
        };
        check_standard(sixteen, SW_SECRET, None, SW_NOW, Ok(()));
        let seventeen = [SW_OTHER; 17].join(" ");
        let seventeen = StandardWebhook {
            signature: seventeen.as_bytes(),
            ..vector
        };
        check_standard(
            seventeen,
            SW_SECRET,
            None,
            SW_NOW,
            Err(Malformed("more than 16 v1 signatures")),
        );

        // Secrets: none, or unusable (a secret is never used as raw text).
        check_standard(vector, "", None, SW_NOW, Err(NoSecret));
        check_standard(vector, "", Some(""), SW_NOW, Err(NoSecret));
        let not_base64 = Err(InvalidSecret("expected whsec_ followed by base64"));
        check_standard(vector, "whsec_not base64!", None, SW_NOW, not_base64.clone());
        check_standard(vector, SW_SECRET, Some("plain-text-secret"), SW_NOW, not_base64);
        check_standard(
            vector,
            "whsec_",
            None,
            SW_NOW,
            Err(InvalidSecret("the key after whsec_ is empty")),
        );
    }

    #[test]
    fn standard_webhooks_signing() {
        let other = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLXRhYmxlLXRlc3Q=";
        let both = sign_standard(
            SW_ID.as_bytes(),
            SW_TIMESTAMP,
            SW_BODY,
            Secrets::new(SW_SECRET.as_bytes(), Some(other.as_bytes())),
        );
        let Ok(both) = both else {
            panic!("signing failed: {both:?}");
        };
        let (first, second) = both.signature.split_once(' ').unwrap_or_default();
        assert_eq!(first, SW_SIGNATURE);
        assert!(second.starts_with("v1,") && second.len() == 47, "{second}");
        // A receiver that has only the other secret accepts the message.
        let message = StandardWebhook {
            body: SW_BODY,
            id: SW_ID.as_bytes(),
            timestamp: both.timestamp.as_bytes(),
            signature: both.signature.as_bytes(),
        };
        assert_eq!(
            verify_standard(&message, Secrets::new(other.as_bytes(), None), SW_NOW),
            Ok(())
        );

        let sign = |id: &[u8], secret: &str| sign_standard(id, 1, b"", Secrets::new(secret.as_bytes(), None));
        assert_eq!(
            sign(b"msg.1", SW_SECRET),
            Err(SignatureError::Malformed("webhook-id must not contain '.'"))
        );
        assert_eq!(
            sign(b"", SW_SECRET),
            Err(SignatureError::Malformed(
                "webhook-id must be 1 to 256 visible ASCII characters"
            ))
        );
        assert_eq!(
            sign(b"msg\r\nx: y", SW_SECRET),
            Err(SignatureError::Malformed(
                "webhook-id must be 1 to 256 visible ASCII characters"
            ))
        );
        assert_eq!(sign(b"msg_1", ""), Err(SignatureError::NoSecret));
        assert_eq!(
            sign(b"msg_1", "not-base64!"),
            Err(SignatureError::InvalidSecret("expected whsec_ followed by base64"))
        );
    }

    #[test]
    fn standard_secrets() {
        let random: Vec<u8> = (0..32u8).collect();
        let secret = new_standard_secret(&random).unwrap_or_default();
        assert_eq!(secret, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        assert_eq!(decode_standard_secret(secret.as_bytes()), Ok(random));
        // Unpadded, bare, and with whitespace around it: the same key.
        let key = decode_standard_secret(SW_SECRET.as_bytes());
        assert_eq!(key.as_ref().map(Vec::len), Ok(24));
        for variant in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        ] {
            assert_eq!(decode_standard_secret(variant.as_bytes()), key, "{variant:?}");
        }
        assert_eq!(
            decode_standard_secret(b"whsec_AAECAw"),
            decode_standard_secret(b"whsec_AAECAw==")
        );
        for len in [0, 23, 65] {
            assert_eq!(
                new_standard_secret(&vec![7; len]),
                Err(SignatureError::InvalidSecret(
                    "a new secret needs 24 to 64 random bytes"
                )),
                "{len} bytes"
            );
        }
        assert!(new_standard_secret(&[7; 24]).is_ok() && new_standard_secret(&[7; 64]).is_ok());
        assert_eq!(
            decode_standard_secret(&[0xff, 0xfe]),
            Err(SignatureError::InvalidSecret("expected whsec_ followed by base64"))
        );
    }

    // -----------------------------------------------------------------------------------------
    // Signed API requests
    // -----------------------------------------------------------------------------------------

    /// Computed independently with PHP: `php -r 'echo hash_hmac("sha256", "POST" .
    /// "/wp-json/inventory-sync/v1/movements?dry_run=1" . "1700000000" . $body, "api-secret");'`
    /// with `$body = '{"sku":"A","quantity":-1}'`.
    const API_SECRET: &[u8] = b"api-secret";
    const API_PATH: &[u8] = b"/wp-json/inventory-sync/v1/movements?dry_run=1";
    const API_BODY: &[u8] = br#"{"sku":"A","quantity":-1}"#;
    const API_TIMESTAMP: u64 = 1_700_000_000;
    const API_SIGNATURE: &str = "deee7627ee1537a2d6f28968dfd9f9fdd52675be292659ca8cce710bad8dbb41";

    fn api_request<'a>(timestamp: &'a [u8], signature: &'a [u8]) -> ApiRequest<'a> {
        ApiRequest {
            method: b"POST",
            path: API_PATH,
            body: API_BODY,
            timestamp,
            signature,
        }
    }

    fn check_api(
        request: ApiRequest<'_>,
        current: &[u8],
        previous: Option<&[u8]>,
        now: i64,
        expected: Result<(), SignatureError>,
    ) {
        assert_eq!(
            verify_api_request(&request, Secrets::new(current, previous), now),
            expected,
            "{request:?}"
        );
    }

    #[test]
    fn api_request_vector_signs_and_verifies() {
        assert_eq!(
            sign_api_request(b"post", API_PATH, API_TIMESTAMP, API_BODY, API_SECRET),
            Ok(ApiRequestHeaders {
                timestamp: "1700000000".into(),
                signature: API_SIGNATURE.into(),
            })
        );
        check_api(
            api_request(b"1700000000", API_SIGNATURE.as_bytes()),
            API_SECRET,
            None,
            1_700_000_000,
            Ok(()),
        );
    }

    #[test]
    fn api_request_verification_table() {
        use SignatureError::*;
        let now = 1_700_000_000;
        let ts = b"1700000000";
        let good = API_SIGNATURE.as_bytes();
        let old = sign_api_request(b"POST", API_PATH, API_TIMESTAMP, API_BODY, b"old")
            .map(|h| h.signature)
            .unwrap_or_default();
        let req = api_request(ts, good);

        check_api(req, API_SECRET, None, now, Ok(()));
        check_api(ApiRequest { method: b"post", ..req }, API_SECRET, None, now, Ok(()));
        check_api(api_request(ts, old.as_bytes()), API_SECRET, Some(b"old"), now, Ok(()));
        check_api(
            api_request(ts, API_SIGNATURE.to_uppercase().as_bytes()),
            API_SECRET,
            None,
            now,
            Ok(()),
        );
        check_api(api_request(ts, old.as_bytes()), API_SECRET, None, now, Err(Mismatch));
        check_api(req, b"wrong", None, now, Err(Mismatch));
        check_api(ApiRequest { body: b"{}", ..req }, API_SECRET, None, now, Err(Mismatch));
        check_api(
            ApiRequest { method: b"PUT", ..req },
            API_SECRET,
            None,
            now,
            Err(Mismatch),
        );
        // The query string is signed: changing it breaks the signature.
        let other_query = b"/wp-json/inventory-sync/v1/movements?dry_run=0";
        check_api(
            ApiRequest {
                path: other_query,
                ..req
            },
            API_SECRET,
            None,
            now,
            Err(Mismatch),
        );
        let no_query = b"/wp-json/inventory-sync/v1/movements";
        check_api(
            ApiRequest { path: no_query, ..req },
            API_SECRET,
            None,
            now,
            Err(Mismatch),
        );

        check_api(req, API_SECRET, None, now + 300, Ok(()));
        check_api(req, API_SECRET, None, now - 300, Ok(()));
        check_api(req, API_SECRET, None, now + 301, Err(Expired { age_secs: 301 }));
        check_api(req, API_SECRET, None, now - 301, Err(FromFuture { ahead_secs: 301 }));
        check_api(req, b"wrong", None, now + 301, Err(Mismatch));

        check_api(
            api_request(b"", good),
            API_SECRET,
            None,
            now,
            Err(MissingHeader("X-Timestamp")),
        );
        check_api(api_request(ts, b""), API_SECRET, None, now, Err(Missing));
        check_api(
            api_request(b"17e8", good),
            API_SECRET,
            None,
            now,
            Err(Malformed("timestamp must be unix seconds (digits only)")),
        );
        check_api(
            api_request(ts, &good[..40]),
            API_SECRET,
            None,
            now,
            Err(Malformed("expected 64 hex digits")),
        );
        let with_prefix = format!("sha256={API_SIGNATURE}");
        check_api(
            api_request(ts, with_prefix.as_bytes()),
            API_SECRET,
            None,
            now,
            Err(Malformed("expected 64 hex digits")),
        );
        check_api(
            ApiRequest { method: b"", ..req },
            API_SECRET,
            None,
            now,
            Err(Malformed("request method must be 1 to 32 ASCII letters")),
        );
        check_api(
            ApiRequest {
                method: b"PO ST",
                ..req
            },
            API_SECRET,
            None,
            now,
            Err(Malformed("request method must be 1 to 32 ASCII letters")),
        );
        let bad_path = Err(Malformed(
            "request path must start with '/' and contain no spaces or control characters",
        ));
        for path in [
            &b""[..],
            b"wp-json/x",
            b"https://shop.example/wp-json/x",
            b"/a b",
            b"/a\r\n",
        ] {
            check_api(ApiRequest { path, ..req }, API_SECRET, None, now, bad_path.clone());
        }
        check_api(req, b"", None, now, Err(NoSecret));
    }

    #[test]
    fn api_request_signing_refuses_bad_input() {
        assert_eq!(
            sign_api_request(b"GET", b"stock", 1, b"", b"k"),
            Err(SignatureError::Malformed(
                "request path must start with '/' and contain no spaces or control characters"
            ))
        );
        assert_eq!(
            sign_api_request(b"GET", b"/stock", 1, b"", b""),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn timestamp_parsing() {
        let cases: [(&str, Result<i64, SignatureError>); 7] = [
            ("0", Ok(0)),
            ("1614265330", Ok(1_614_265_330)),
            ("9223372036854775807", Ok(i64::MAX)),
            (
                "9223372036854775808",
                Err(SignatureError::Malformed("timestamp is out of range")),
            ),
            (
                "00",
                Err(SignatureError::Malformed("timestamp must not have leading zeros")),
            ),
            (
                "",
                Err(SignatureError::Malformed(
                    "timestamp must be unix seconds (digits only)",
                )),
            ),
            (
                "١٢٣",
                Err(SignatureError::Malformed(
                    "timestamp must be unix seconds (digits only)",
                )),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_timestamp(text), expected, "{text:?}");
        }
    }

    #[test]
    fn error_messages_say_why_without_the_expected_value() {
        let cases: [(SignatureError, &str); 8] = [
            (SignatureError::Missing, "signature header is missing"),
            (
                SignatureError::MissingHeader("webhook-id"),
                "webhook-id header is missing",
            ),
            (
                SignatureError::Malformed("not base64"),
                "signature header is malformed: not base64",
            ),
            (SignatureError::Mismatch, "signature does not match"),
            (
                SignatureError::Expired { age_secs: 301 },
                "signature expired: timestamp is 301 s old (tolerance 300 s)",
            ),
            (
                SignatureError::FromFuture { ahead_secs: 301 },
                "timestamp is from the future: 301 s ahead (tolerance 300 s)",
            ),
            (SignatureError::NoSecret, "no secret is configured for this endpoint"),
            (
                SignatureError::InvalidSecret("expected whsec_ followed by base64"),
                "the configured secret is invalid: expected whsec_ followed by base64",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn scheme_headers() {
        let cases = [
            (Scheme::Generic, "X-Webhook-Signature"),
            (Scheme::WooCommerce, "X-WC-Webhook-Signature"),
            (Scheme::Shopify, "X-Shopify-Hmac-Sha256"),
            (Scheme::Standard, "webhook-signature"),
            (Scheme::ApiRequest, "X-Signature"),
        ];
        for (scheme, header) in cases {
            assert_eq!(scheme.header(), header);
        }
    }
}
