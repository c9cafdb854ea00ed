//! Who may call the REST API, how often, and what was refused: API keys, rate limits and the
//! security log. Plain values and pure rules shared by every [`LedgerStore`] backend.
//!
//! **API keys.** The core never draws randomness or reads the clock: the caller passes at least
//! [`MIN_KEY_SECRET_BYTES`] random bytes and the current time. The key handed out once is
//! [`API_KEY_PREFIX`] followed by the bytes in unpadded base64url (`isk_` + 43 characters for 32
//! bytes). The store keeps only its SHA-256 (hex) and a short display prefix, so the ledger file
//! cannot give a key away; a presented key is hashed and looked up by that hash.
//!
//! **Rate limits** are fixed windows: a bucket's requests are counted per window
//! `[floor(now / window) × window, … + window)`, inside one write transaction, so workers in
//! different processes share the count exactly. A client may get up to twice the limit across a
//! window boundary (the end of one window and the start of the next); that is the price of one
//! counter per bucket and an exact, easily explained `Retry-After`. Windows that have ended are
//! pruned by the next call.
//!
//! **The security log** records refused requests (bad signature, unknown or revoked key, scope,
//! rate limit, …) without secrets: anything in its texts that looks like a whole API key is cut
//! down to its display prefix before it is stored.
//!
//! [`LedgerStore`]: super::LedgerStore

use std::borrow::Cow;
use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::rules::{self, MAX_LOCATION_CHARS, MAX_REFERENCE_CHARS};
use super::Item;
use crate::{Error, Result};

/// What every API key starts with, so keys are recognisable in configs and secret scanners.
pub const API_KEY_PREFIX: &str = "isk_";

/// Fewest random bytes a key is made from (256 bits).
pub const MIN_KEY_SECRET_BYTES: usize = 32;

/// Most random bytes a key is made from.
pub const MAX_KEY_SECRET_BYTES: usize = 64;

/// Characters of a key, after [`API_KEY_PREFIX`], kept as its display prefix (48 bits: enough
/// to tell keys apart on screen, far too few to guess the rest).
pub const KEY_PREFIX_CHARS: usize = 8;

/// Longest key name, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 100;

/// Most locations a key may be limited to.
pub const MAX_KEY_LOCATIONS: usize = 100;

/// Shortest accepted request-signing secret, in characters.
pub const MIN_SIGNING_SECRET_CHARS: usize = 16;

/// Longest accepted request-signing secret, in characters.
pub const MAX_SIGNING_SECRET_CHARS: usize = 256;

/// Largest request count a rate limit may allow per window.
pub const MAX_RATE_LIMIT: u32 = 1_000_000;

/// Longest rate-limit window, in seconds (one week).
pub const MAX_RATE_WINDOW_SECONDS: u32 = 7 * 24 * 3600;

/// Longest rate-limit bucket name, in characters.
pub const MAX_BUCKET_CHARS: usize = 200;

/// Longest route in the security log, in characters.
pub const MAX_ROUTE_CHARS: usize = 200;

/// Longest reason code in the security log, in characters.
pub const MAX_REASON_CHARS: usize = 50;

/// Longest remote address in the security log, in characters (an IPv6 address with a zone fits).
pub const MAX_REMOTE_ADDR_CHARS: usize = 100;

/// Longest detail in the security log, in characters.
pub const MAX_DETAIL_CHARS: usize = 1000;

/// Minimum number of distinct byte values in a key's random bytes. Random bytes have about 30 in
/// 32; fewer than 8 means the caller passed something that is not random (a zeroed buffer, a
/// repeated character), and a key made from it could be guessed.
const MIN_DISTINCT_SECRET_BYTES: usize = 8;

/// Longest text that can be a presented key; anything longer is not looked up.
const MAX_PRESENTED_KEY_CHARS: usize = 200;

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

/// What a key may do. `write` does not imply `read`: an ERP that only posts movements needs no
/// read access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read stock, history and search.
    Read,
    /// Record movements, reserve, release, commit.
    Write,
}

impl Scope {
    /// Every scope, in a fixed order.
    pub const ALL: [Scope; 2] = [Scope::Read, Scope::Write];

    /// The scope's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    /// Parses a scope name (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == wanted)
            .ok_or_else(|| Error::validation("scopes", format!("unknown scope {text:?}; expected read or write")))
    }

    /// Parses space- or comma-separated scope names (`"read write"`), as stored.
    pub fn parse_list(text: &str) -> Result<BTreeSet<Scope>> {
        text.split([' ', ','])
            .filter(|name| !name.trim().is_empty())
            .map(Scope::parse)
            .collect()
    }

    /// The scopes as one space-separated text (`"read write"`), as stored.
    pub fn join(scopes: &BTreeSet<Scope>) -> String {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller supplies to issue an API key (the random bytes come separately).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct NewApiKey {
    /// What the key is for, 1–100 characters ("ERP nightly import").
    pub name: String,
    /// What the key may do; at least one.
    pub scopes: BTreeSet<Scope>,
    /// When the key stops working (unix seconds); must be in the future. `None`: never.
    pub expires_at: Option<i64>,
    /// Limits the key to items whose `supplier` equals this (case-sensitive, trimmed).
    pub supplier: Option<String>,
    /// Limits the key to these location codes (each must exist); `None`: every location.
    pub locations: Option<Vec<String>>,
    /// When set, every request with this key must be signed with it (`X-Signature`), 16–256
    /// characters, kept exactly as given. It is stored **unencrypted** in the ledger file — the
    /// verifier needs it in the clear — which is acceptable because the ledger file is never
    /// reachable over the web (the health page checks that). It is never shown in `Debug`.
    pub signing_secret: Option<String>,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("supplier", &self.supplier)
            .field("locations", &self.locations)
            .field("signing_secret", &self.signing_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl NewApiKey {
    /// The input checked and normalised (texts trimmed, locations deduplicated in order), or a
    /// validation error naming the field. Does not check that the locations exist (the store
    /// does) nor the expiry against the clock ([`LedgerStore::issue_api_key`] does).
    ///
    /// [`LedgerStore::issue_api_key`]: super::LedgerStore::issue_api_key
    pub fn validated(&self) -> Result<NewApiKey> {
        if self.scopes.is_empty() {
            return Err(Error::validation("scopes", "at least one of read, write is required"));
        }
        let locations = match &self.locations {
            None => None,
            Some(codes) if codes.is_empty() => {
                return Err(Error::validation(
                    "locations",
                    "name at least one location, or leave the list out for every location",
                ));
            }
            Some(codes) if codes.len() > MAX_KEY_LOCATIONS => {
                return Err(Error::validation(
                    "locations",
                    format!("at most {MAX_KEY_LOCATIONS} locations, got {}", codes.len()),
                ));
            }
            Some(codes) => {
                let mut unique: Vec<String> = Vec::with_capacity(codes.len());
                for code in codes {
                    let code = rules::required("locations", code, MAX_LOCATION_CHARS)?;
                    if !unique.contains(&code) {
                        unique.push(code);
                    }
                }
                Some(unique)
            }
        };
        Ok(NewApiKey {
            name: rules::required("name", &self.name, MAX_KEY_NAME_CHARS)?,
            scopes: self.scopes.clone(),
            expires_at: self
                .expires_at
                .map(|t| rules::in_range("expires_at", t, 1, i64::MAX))
                .transpose()?,
            supplier: rules::optional("supplier", self.supplier.as_ref(), MAX_REFERENCE_CHARS)?,
            locations,
            signing_secret: self.signing_secret.as_deref().map(signing_secret).transpose()?,
        })
    }
}

/// A signing secret is kept exactly as given, so whitespace at either end (a copy-and-paste
/// slip) is refused rather than silently trimmed.
fn signing_secret(secret: &str) -> Result<String> {
    let chars = secret.chars().count();
    if !(MIN_SIGNING_SECRET_CHARS..=MAX_SIGNING_SECRET_CHARS).contains(&chars) {
        return Err(Error::validation(
            "signing_secret",
            format!("must be {MIN_SIGNING_SECRET_CHARS}–{MAX_SIGNING_SECRET_CHARS} characters, got {chars}"),
        ));
    }
    if secret.trim() != secret {
        return Err(Error::validation(
            "signing_secret",
            "must not start or end with whitespace",
        ));
    }
    if secret.chars().any(char::is_control) {
        return Err(Error::validation(
            "signing_secret",
            "must not contain control characters",
        ));
    }
    Ok(secret.to_owned())
}

/// An API key as stored. It never holds the key itself nor its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id, for revocation and the admin list.
    pub id: i64,
    /// What the key is for.
    pub name: String,
    /// The first characters of the key (`isk_` + 8), to recognise it on screen and in logs.
    pub prefix: String,
    /// What the key may do.
    pub scopes: BTreeSet<Scope>,
    /// When the key stops working (unix seconds), if ever.
    pub expires_at: Option<i64>,
    /// When the key was revoked (unix seconds), if it was.
    pub revoked_at: Option<i64>,
    /// When the key last authenticated a request (unix seconds).
    pub last_used_at: Option<i64>,
    /// When the key was issued (unix seconds).
    pub created_at: i64,
    /// The key only reaches items of this supplier.
    pub supplier: Option<String>,
    /// The key only reaches these locations; `None`: every location.
    pub locations: Option<Vec<String>>,
    /// See [`NewApiKey::signing_secret`]; read it with [`ApiKey::signing_secret`].
    pub(crate) signing_secret: Option<String>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("last_used_at", &self.last_used_at)
            .field("created_at", &self.created_at)
            .field("supplier", &self.supplier)
            .field("locations", &self.locations)
            .field("signing_secret", &self.signing_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ApiKey {
    /// Whether the key carries `scope`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether requests with this key must be signed.
    pub fn requires_signing(&self) -> bool {
        self.signing_secret.is_some()
    }

    /// The secret to verify this key's request signatures with; `None` when it has none. Never
    /// log it or show it back.
    pub fn signing_secret(&self) -> Option<&str> {
        self.signing_secret.as_deref()
    }

    /// Whether the key may touch this item: always, unless the key is limited to a supplier, and
    /// then only when the item's supplier is exactly that one.
    pub fn allows_item(&self, item: &Item) -> bool {
        match &self.supplier {
            None => true,
            Some(supplier) => item.supplier.as_ref() == Some(supplier),
        }
    }

    /// Whether the key may touch this location (code, case-sensitive, trimmed).
    pub fn allows_location(&self, code: &str) -> bool {
        match &self.locations {
            None => true,
            Some(codes) => codes.iter().any(|c| c == code.trim()),
        }
    }

    /// Whether the key is revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    /// Whether the key has expired at `now` (an expiry at exactly `now` has passed).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// What presenting this key at `now` amounts to: revoked beats expired beats valid.
    pub fn check(self, now: i64) -> KeyCheck {
        if self.is_revoked() {
            KeyCheck::Revoked(self)
        } else if self.is_expired(now) {
            KeyCheck::Expired(self)
        } else {
            KeyCheck::Valid(self)
        }
    }
}

/// A freshly issued key: the only time the plaintext exists outside the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedApiKey {
    /// The key as stored.
    pub key: ApiKey,
    /// The key to hand to the integrator, once (`isk_…`). It cannot be recovered later.
    pub plaintext: String,
}

impl std::fmt::Debug for IssuedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedApiKey")
            .field("key", &self.key)
            .field("plaintext", &"<redacted>")
            .finish()
    }
}

/// What a presented key turned out to be. Every refusal is distinct so the caller can log it
/// precisely ([`KeyCheck::refusal_reason`]) while answering the client with one 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// A known, unrevoked, unexpired key; its `last_used_at` is now.
    Valid(ApiKey),
    /// No key with this value (or not shaped like a key at all).
    Unknown,
    /// The key was revoked.
    Revoked(ApiKey),
    /// The key expired.
    Expired(ApiKey),
}

impl KeyCheck {
    /// The key, when it is valid.
    pub fn valid(&self) -> Option<&ApiKey> {
        match self {
            KeyCheck::Valid(key) => Some(key),
            _ => None,
        }
    }

    /// The key that was found, valid or not.
    pub fn key(&self) -> Option<&ApiKey> {
        match self {
            KeyCheck::Valid(key) | KeyCheck::Revoked(key) | KeyCheck::Expired(key) => Some(key),
            KeyCheck::Unknown => None,
        }
    }

    /// The security-log reason code of a refusal (`unknown_key`, `revoked_key`, `expired_key`);
    /// `None` for a valid key.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self {
            KeyCheck::Valid(_) => None,
            KeyCheck::Unknown => Some("unknown_key"),
            KeyCheck::Revoked(_) => Some("revoked_key"),
            KeyCheck::Expired(_) => Some("expired_key"),
        }
    }
}

/// The display prefix of a presented key (`isk_` + 8 characters), for logs; `None` when the text
/// is not shaped like a key. Never returns more than the prefix, whatever is presented.
pub fn key_prefix(presented: &str) -> Option<String> {
    let body = presented.trim().strip_prefix(API_KEY_PREFIX)?;
    let head: String = body.chars().take(KEY_PREFIX_CHARS).collect();
    let shaped = head.chars().count() == KEY_PREFIX_CHARS && head.chars().all(is_base64url);
    shaped.then(|| format!("{API_KEY_PREFIX}{head}"))
}

fn is_base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The hex SHA-256 of a key: what the store keeps and looks keys up by. A lookup by hash leaks
/// nothing usable about the key (the hash of a 256-bit random value cannot be inverted), so it
/// needs no constant-time comparison.
pub(crate) fn key_hash(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// The plaintext, hash and display prefix of a key made from `secret` random bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeyMaterial {
    pub plaintext: String,
    pub hash: String,
    pub prefix: String,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("plaintext", &"<redacted>")
            .field("hash", &self.hash)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Makes a key from the caller's random bytes, refusing too few or obviously non-random ones.
pub(crate) fn key_material(secret: &[u8]) -> Result<KeyMaterial> {
    if !(MIN_KEY_SECRET_BYTES..=MAX_KEY_SECRET_BYTES).contains(&secret.len()) {
        return Err(Error::validation(
            "secret_bytes",
            format!(
                "must be {MIN_KEY_SECRET_BYTES}–{MAX_KEY_SECRET_BYTES} random bytes, got {}",
                secret.len()
            ),
        ));
    }
    let distinct: BTreeSet<u8> = secret.iter().copied().collect();
    if distinct.len() < MIN_DISTINCT_SECRET_BYTES {
        return Err(Error::validation(
            "secret_bytes",
            "do not look random; pass bytes from a cryptographic random source (random_bytes())",
        ));
    }
    let plaintext = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let prefix = key_prefix(&plaintext).unwrap_or_else(|| API_KEY_PREFIX.to_owned());
    Ok(KeyMaterial {
        hash: key_hash(&plaintext),
        prefix,
        plaintext,
    })
}

/// Everything [`LedgerStore::issue_api_key`] checks before touching the store: the input, the
/// expiry against `now`, and the random bytes.
///
/// [`LedgerStore::issue_api_key`]: super::LedgerStore::issue_api_key
pub(crate) fn prepare_issue(key: &NewApiKey, secret: &[u8], now: i64) -> Result<(NewApiKey, KeyMaterial)> {
    let key = key.validated()?;
    if let Some(expires_at) = key.expires_at.filter(|t| *t <= now) {
        return Err(Error::validation(
            "expires_at",
            format!("must be in the future, got {expires_at} (now is {now})"),
        ));
    }
    Ok((key, key_material(secret)?))
}

/// The hash to look a presented key up by, or `None` when the text cannot be a key (so no
/// lookup, and no write, happens for garbage).
pub(crate) fn presented_key_hash(presented: &str) -> Option<String> {
    let presented = presented.trim();
    let plausible = presented.len() <= MAX_PRESENTED_KEY_CHARS && key_prefix(presented).is_some();
    plausible.then(|| key_hash(presented))
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

/// The verdict on one request against a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed (it was counted).
    pub allowed: bool,
    /// The limit per window that was applied.
    pub limit: u32,
    /// Requests still allowed in the current window after this one.
    pub remaining: u32,
    /// When refused: seconds until the window ends (≥ 1), for `Retry-After`. 0 when allowed.
    pub retry_after_seconds: u32,
    /// When the current window ends (unix seconds), for `X-RateLimit-Reset`.
    pub reset_at: i64,
}

/// The fixed window containing `now`: `(start, end)`, end exclusive.
pub(crate) fn rate_window(now: i64, window_seconds: u32) -> (i64, i64) {
    let window = i64::from(window_seconds.max(1));
    let start = now.div_euclid(window).saturating_mul(window);
    (start, start.saturating_add(window))
}

/// The decision for a request that finds `used` requests already counted in the window ending
/// at `end`. Allowed requests are counted by the caller; refused ones are not.
pub(crate) fn rate_decision(used: u32, limit: u32, now: i64, end: i64) -> RateDecision {
    if used < limit {
        RateDecision {
            allowed: true,
            limit,
            remaining: limit - used - 1,
            retry_after_seconds: 0,
            reset_at: end,
        }
    } else {
        RateDecision {
            allowed: false,
            limit,
            remaining: 0,
            retry_after_seconds: u32::try_from(end.saturating_sub(now)).unwrap_or(u32::MAX).max(1),
            reset_at: end,
        }
    }
}

/// Checks a rate-limit call: bucket 1–200 characters, limit 1–[`MAX_RATE_LIMIT`], window
/// 1–[`MAX_RATE_WINDOW_SECONDS`]. Returns the trimmed bucket.
pub(crate) fn validate_rate_limit(bucket: &str, limit: u32, window_seconds: u32) -> Result<String> {
    let bucket = rules::required("bucket", bucket, MAX_BUCKET_CHARS)?;
    rules::in_range("limit", i64::from(limit), 1, i64::from(MAX_RATE_LIMIT))?;
    rules::in_range(
        "window_seconds",
        i64::from(window_seconds),
        1,
        i64::from(MAX_RATE_WINDOW_SECONDS),
    )?;
    Ok(bucket)
}

// ---------------------------------------------------------------------------------------------
// Security log
// ---------------------------------------------------------------------------------------------

/// A refused request, to be logged. Never put secrets here; whole API keys are cut to their
/// prefix anyway.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityEvent {
    /// Method and route, 1–200 characters (`POST /inventory-sync/v1/movements`).
    pub route: String,
    /// Why it was refused: a lowercase code of letters, digits and `_`, 1–50 characters:
    /// `bad_signature`, `unknown_key`, `revoked_key`, `expired_key`, `scope`, `rate_limited`,
    /// `too_large`, …
    pub reason: String,
    /// The presented key's display prefix ([`key_prefix`]), when there was one.
    pub key_prefix: Option<String>,
    /// The client's address, as the caller determined it.
    pub remote_addr: Option<String>,
    /// What exactly happened, up to 1000 characters; may be empty.
    pub detail: String,
}

impl SecurityEvent {
    /// The event checked and normalised (texts trimmed, whole keys cut to their prefix), or a
    /// validation error naming the field.
    pub fn validated(&self) -> Result<SecurityEvent> {
        let key_prefix = match self.key_prefix.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(prefix) => Some(key_prefix(prefix).ok_or_else(|| {
                Error::validation(
                    "key_prefix",
                    format!("must be {API_KEY_PREFIX} and {KEY_PREFIX_CHARS} characters"),
                )
            })?),
            None => None,
        };
        Ok(SecurityEvent {
            route: redact_keys(&rules::required("route", &self.route, MAX_ROUTE_CHARS)?).into_owned(),
            reason: reason_code(&self.reason)?,
            key_prefix,
            remote_addr: rules::optional("remote_addr", self.remote_addr.as_ref(), MAX_REMOTE_ADDR_CHARS)?,
            detail: redact_keys(&rules::multi_line("detail", &self.detail, MAX_DETAIL_CHARS)?).into_owned(),
        })
    }
}

/// A reason code: trimmed, lowercase ASCII letters, digits and `_`, starting with a letter.
pub(crate) fn reason_code(reason: &str) -> Result<String> {
    let reason = rules::required("reason", reason, MAX_REASON_CHARS)?;
    let mut chars = reason.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if shaped {
        Ok(reason)
    } else {
        Err(Error::validation(
            "reason",
            format!("must be a code like bad_signature (a–z, 0–9, _), got {reason:?}"),
        ))
    }
}

/// A logged refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRecord {
    /// Log position: increases with every record; the paging cursor.
    pub id: i64,
    /// Method and route.
    pub route: String,
    /// The reason code.
    pub reason: String,
    /// The presented key's display prefix.
    pub key_prefix: Option<String>,
    /// The client's address.
    pub remote_addr: Option<String>,
    /// What exactly happened.
    pub detail: String,
    /// When it was logged (unix seconds).
    pub recorded_at: i64,
}

/// Which refusals to show: newest first, before a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityQuery {
    /// Only this reason code.
    pub reason: Option<String>,
    /// Only records with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1–[`MAX_PAGE`](super::MAX_PAGE).
    pub limit: u32,
}

impl Default for SecurityQuery {
    fn default() -> Self {
        SecurityQuery {
            reason: None,
            before: None,
            limit: 50,
        }
    }
}

/// A page of the security log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityPage {
    /// The records.
    pub records: Vec<SecurityRecord>,
    /// Pass as [`SecurityQuery::before`] for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// `text` with every whole API key in it (`isk_` followed by more than the display prefix) cut
/// down to its display prefix and `…`, so a careless caller cannot write a key into a log.
pub fn redact_keys(text: &str) -> Cow<'_, str> {
    if !text.contains(API_KEY_PREFIX) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(API_KEY_PREFIX) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let body = &from[API_KEY_PREFIX.len()..];
        let run = body.find(|c: char| !is_base64url(c)).unwrap_or(body.len());
        if run > KEY_PREFIX_CHARS {
            // The run is ASCII, so byte offsets are character offsets.
            out.push_str(API_KEY_PREFIX);
            out.push_str(&body[..KEY_PREFIX_CHARS]);
            out.push('…');
        } else {
            out.push_str(&from[..API_KEY_PREFIX.len() + run]);
        }
        rest = &body[run..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_from_the_callers_bytes() {
        // Vectors computed independently (Python: base64.urlsafe_b64encode, hashlib.sha256).
        let cases: Vec<(Vec<u8>, &str, &str, &str)> = vec![
            (
                (0u8..32).collect(),
                "isk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
                "isk_AAECAwQF",
                "ee9b3b44a72de434d9e93a9b5f22cd6172195617c4edb3add381a1bcc91bd0a1",
            ),
            (
                (200u8..232).collect(),
                "isk_yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc",
                "isk_yMnKy8zN",
                "e2893884dfe50222946f6aaf110ad3240731c6e13b5f408f46bc1b9f5ec406db",
            ),
        ];
        for (bytes, plaintext, prefix, hash) in cases {
            let made = key_material(&bytes).unwrap();
            assert_eq!(made.plaintext, plaintext);
            assert_eq!(made.prefix, prefix);
            assert_eq!(made.hash, hash);
            assert_eq!(key_hash(plaintext), hash);
            assert_eq!(presented_key_hash(&format!(" {plaintext}\n")).as_deref(), Some(hash));
        }
    }

    #[test]
    fn too_few_or_non_random_bytes_are_refused() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "got 0"),
            ((0u8..31).collect(), "got 31"),
            ((0u8..65).collect(), "got 65"),
            (vec![0; 32], "do not look random"),
            (b"abababababababababababababababab".to_vec(), "do not look random"),
        ];
        for (bytes, fragment) in cases {
            let error = key_material(&bytes)
                .err()
                .unwrap_or_else(|| panic!("{bytes:?} accepted"));
            assert!(
                matches!(&error, Error::Validation { field, message } if field == "secret_bytes" && message.contains(fragment)),
                "{bytes:?}: {error}"
            );
        }
        assert!(key_material(&(0u8..64).collect::<Vec<_>>()).is_ok());
    }

    #[test]
    fn prefixes_of_presented_keys() {
        let cases = [
            ("isk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", Some("isk_AAECAwQF")),
            ("  isk_abcdefgh", Some("isk_abcdefgh")),
            ("isk_abcdefg", None),
            ("isk_abc$efghij", None),
            ("Bearer isk_abcdefghijk", None),
            ("sk_live_abcdefghijkl", None),
            ("", None),
        ];
        for (presented, prefix) in cases {
            assert_eq!(key_prefix(presented).as_deref(), prefix, "{presented:?}");
        }
        assert_eq!(presented_key_hash("not a key"), None);
        assert_eq!(presented_key_hash(&format!("isk_{}", "a".repeat(200))), None);
    }

    #[test]
    fn whole_keys_are_cut_from_log_texts() {
        let cases = [
            ("nothing to see", "nothing to see"),
            (
                "key isk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 refused",
                "key isk_AAECAwQF… refused",
            ),
            ("prefix isk_AAECAwQF only", "prefix isk_AAECAwQF only"),
            ("isk_ alone, isk_short", "isk_ alone, isk_short"),
            (
                "a=isk_abcdefghijkl,b=isk_mnopqrstuvwx",
                "a=isk_abcdefgh…,b=isk_mnopqrst…",
            ),
            ("ümlaut isk_abcdefghij-_ü", "ümlaut isk_abcdefgh…ü"),
        ];
        for (text, redacted) in cases {
            assert_eq!(redact_keys(text), redacted, "{text:?}");
        }
    }

    fn key(supplier: Option<&str>, locations: Option<&[&str]>) -> ApiKey {
        ApiKey {
            id: 1,
            name: "ERP".into(),
            prefix: "isk_abcdefgh".into(),
            scopes: BTreeSet::from([Scope::Write]),
            expires_at: Some(100),
            revoked_at: None,
            last_used_at: None,
            created_at: 1,
            supplier: supplier.map(str::to_owned),
            locations: locations.map(|codes| codes.iter().map(|c| (*c).to_owned()).collect()),
            signing_secret: Some("a-signing-secret-1234".into()),
        }
    }

    #[test]
    fn scope_limits_of_a_key() {
        let item = |supplier: Option<&str>| Item {
            sku: "A".into(),
            name: "A".into(),
            product_id: None,
            thresholds: None,
            lead_time_days: None,
            moq: None,
            pack_size: None,
            supplier: supplier.map(str::to_owned),
            oversold: false,
            created_at: 0,
            updated_at: 0,
        };
        let cases: Vec<(ApiKey, Option<&str>, &str, bool, bool)> = vec![
            (key(None, None), None, "WH9", true, true),
            (key(None, None), Some("Acme"), "WH1", true, true),
            (key(Some("Acme"), None), Some("Acme"), "WH1", true, true),
            (key(Some("Acme"), None), Some("acme"), "WH1", false, true),
            (key(Some("Acme"), None), None, "WH1", false, true),
            (key(None, Some(&["WH1", "WH2"])), None, " WH2 ", true, true),
            (key(None, Some(&["WH1", "WH2"])), None, "wh1", true, false),
            (key(Some("Acme"), Some(&["WH1"])), Some("Acme"), "WH3", true, false),
        ];
        for (key, supplier, location, item_allowed, location_allowed) in cases {
            assert_eq!(key.allows_item(&item(supplier)), item_allowed, "{key:?} {supplier:?}");
            assert_eq!(key.allows_location(location), location_allowed, "{key:?} {location:?}");
        }
        let key = key(None, None);
        assert!(key.has_scope(Scope::Write) && !key.has_scope(Scope::Read));
        assert!(key.requires_signing());
        assert_eq!(key.signing_secret(), Some("a-signing-secret-1234"));
        assert!(
            !format!("{key:?}").contains("a-signing-secret"),
            "Debug hides the secret"
        );
        assert!(matches!(key.clone().check(99), KeyCheck::Valid(_)));
        assert!(matches!(key.clone().check(100), KeyCheck::Expired(_)));
        let revoked = ApiKey {
            revoked_at: Some(50),
            ..key
        };
        assert!(
            matches!(revoked.check(100), KeyCheck::Revoked(_)),
            "revoked beats expired"
        );
    }

    #[test]
    fn scopes_parse_and_print() {
        let cases: Vec<(&str, Option<&[Scope]>)> = vec![
            ("read", Some(&[Scope::Read])),
            (" Write ,read", Some(&[Scope::Read, Scope::Write])),
            ("read read", Some(&[Scope::Read])),
            ("", Some(&[])),
            ("admin", None),
        ];
        for (text, want) in cases {
            match (Scope::parse_list(text), want) {
                (Ok(got), Some(want)) => assert_eq!(got.into_iter().collect::<Vec<_>>(), want, "{text:?}"),
                (Err(Error::Validation { field, .. }), None) => assert_eq!(field, "scopes"),
                (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(Scope::join(&BTreeSet::from(Scope::ALL)), "read write");
    }

    #[test]
    fn new_key_validation_names_the_field() {
        let good = NewApiKey {
            name: " ERP ".into(),
            scopes: BTreeSet::from([Scope::Read]),
            locations: Some(vec![" WH1".into(), "WH2".into(), "WH1".into()]),
            signing_secret: Some("0123456789abcdef".into()),
            ..NewApiKey::default()
        };
        let valid = good.validated().unwrap();
        assert_eq!(valid.name, "ERP");
        assert_eq!(valid.locations, Some(vec!["WH1".to_owned(), "WH2".to_owned()]));
        let cases: Vec<(NewApiKey, &str, &str)> = vec![
            (
                NewApiKey {
                    name: " ".into(),
                    ..good.clone()
                },
                "name",
                "is required",
            ),
            (
                NewApiKey {
                    name: "n".repeat(101),
                    ..good.clone()
                },
                "name",
                "at most 100",
            ),
            (
                NewApiKey {
                    scopes: BTreeSet::new(),
                    ..good.clone()
                },
                "scopes",
                "at least one",
            ),
            (
                NewApiKey {
                    expires_at: Some(0),
                    ..good.clone()
                },
                "expires_at",
                "between 1",
            ),
            (
                NewApiKey {
                    supplier: Some("s".repeat(201)),
                    ..good.clone()
                },
                "supplier",
                "at most 200",
            ),
            (
                NewApiKey {
                    locations: Some(vec![]),
                    ..good.clone()
                },
                "locations",
                "at least one",
            ),
            (
                NewApiKey {
                    locations: Some(vec!["WH1".into(), " ".into()]),
                    ..good.clone()
                },
                "locations",
                "is required",
            ),
            (
                NewApiKey {
                    locations: Some((0..101).map(|i| format!("W{i}")).collect()),
                    ..good.clone()
                },
                "locations",
                "at most 100",
            ),
            (
                NewApiKey {
                    signing_secret: Some("short".into()),
                    ..good.clone()
                },
                "signing_secret",
                "got 5",
            ),
            (
                NewApiKey {
                    signing_secret: Some("0123456789abcdef ".into()),
                    ..good.clone()
                },
                "signing_secret",
                "whitespace",
            ),
            (
                NewApiKey {
                    signing_secret: Some("0123456789abcdef\u{0}".into()),
                    ..good.clone()
                },
                "signing_secret",
                "control",
            ),
        ];
        for (input, field, fragment) in cases {
            match input.validated() {
                Err(Error::Validation { field: f, message }) => {
                    assert_eq!(f, field, "{input:?}: {message}");
                    assert!(message.contains(fragment), "{input:?}: {message:?} lacks {fragment:?}");
                }
                other => panic!("{input:?}: got {other:?}"),
            }
        }
        assert!(
            !format!("{good:?}").contains("0123456789abcdef"),
            "Debug hides the secret"
        );
        let error = prepare_issue(
            &NewApiKey {
                expires_at: Some(10),
                ..good
            },
            &(0u8..32).collect::<Vec<_>>(),
            10,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("expires_at: must be in the future"),
            "{error}"
        );
    }

    #[test]
    fn fixed_windows_and_decisions() {
        let cases = [
            // (now, window) → (start, end)
            (0, 60, (0, 60)),
            (59, 60, (0, 60)),
            (60, 60, (60, 120)),
            (1_700_000_123, 60, (1_700_000_100, 1_700_000_160)),
            (-1, 60, (-60, 0)),
            (5, 1, (5, 6)),
        ];
        for (now, window, want) in cases {
            assert_eq!(rate_window(now, window), want, "{now} / {window}");
        }
        let decisions = [
            // (used, limit, now, end) → (allowed, remaining, retry after)
            ((0, 3, 10, 60), (true, 2, 0)),
            ((2, 3, 10, 60), (true, 0, 0)),
            ((3, 3, 10, 60), (false, 0, 50)),
            ((3, 3, 59, 60), (false, 0, 1)),
        ];
        for ((used, limit, now, end), (allowed, remaining, retry)) in decisions {
            let d = rate_decision(used, limit, now, end);
            assert_eq!(
                (d.allowed, d.remaining, d.retry_after_seconds, d.limit, d.reset_at),
                (allowed, remaining, retry, limit, end),
                "{used}/{limit}"
            );
        }
        let invalid = [
            ("", 1, 1, "bucket"),
            ("k", 0, 60, "limit"),
            ("k", MAX_RATE_LIMIT + 1, 60, "limit"),
            ("k", 60, 0, "window_seconds"),
            ("k", 60, MAX_RATE_WINDOW_SECONDS + 1, "window_seconds"),
        ];
        for (bucket, limit, window, field) in invalid {
            let error = validate_rate_limit(bucket, limit, window).unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field: f, .. } if f == field),
                "{error}"
            );
        }
        assert_eq!(validate_rate_limit(" key:1 ", 60, 60).unwrap(), "key:1");
    }

    #[test]
    fn security_event_validation() {
        let good = SecurityEvent {
            route: "POST /inventory-sync/v1/movements".into(),
            reason: "bad_signature".into(),
            key_prefix: Some("isk_abcdefgh".into()),
            remote_addr: Some("2001:db8::1".into()),
            detail: "X-Signature did not match\nafter 2 secrets".into(),
        };
        assert_eq!(good.validated().unwrap(), good);
        let leaky = SecurityEvent {
            key_prefix: Some("isk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
            detail: "got isk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into(),
            ..good.clone()
        };
        let cleaned = leaky.validated().unwrap();
        assert_eq!(cleaned.key_prefix.as_deref(), Some("isk_AAECAwQF"));
        assert_eq!(cleaned.detail, "got isk_AAECAwQF…");
        let cases: Vec<(SecurityEvent, &str)> = vec![
            (
                SecurityEvent {
                    route: "".into(),
                    ..good.clone()
                },
                "route",
            ),
            (
                SecurityEvent {
                    reason: "Bad Signature".into(),
                    ..good.clone()
                },
                "reason",
            ),
            (
                SecurityEvent {
                    reason: "1st".into(),
                    ..good.clone()
                },
                "reason",
            ),
            (
                SecurityEvent {
                    key_prefix: Some("sk_live".into()),
                    ..good.clone()
                },
                "key_prefix",
            ),
            (
                SecurityEvent {
                    remote_addr: Some("x".repeat(101)),
                    ..good.clone()
                },
                "remote_addr",
            ),
            (
                SecurityEvent {
                    detail: "d".repeat(1001),
                    ..good.clone()
                },
                "detail",
            ),
        ];
        for (event, field) in cases {
            let error = event.validated().unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field: f, .. } if f == field),
                "{event:?}: {error}"
            );
        }
    }
}
