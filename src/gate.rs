//! Who may call the REST API: one decision per request.
//!
//! [`authorize`] checks, in order: an API key was presented; it is known, not revoked, not
//! expired; it has the route's scope; when the key requires signed requests, the request's
//! `X-Timestamp` / `X-Signature` match (on the raw body, ±300 s); and the key's rate limit, whose
//! count lives in the store so every PHP worker shares it. Every refusal is written to the
//! security log — the route, a reason code, the key's display prefix, never the key, a signature
//! or the body.

use crate::ledger::access::key_prefix;
use crate::ledger::{ApiKey, KeyCheck, LedgerStore, RateDecision, Scope, SecurityEvent};
use crate::signature::{self, ApiRequest, Secrets};
use crate::Result;

/// Length of a rate-limit window in seconds (limits are per minute).
pub const RATE_WINDOW_SECONDS: u32 = 60;

/// An incoming API request, as the plugin sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The presented API key (`X-API-Key` or `Authorization: Bearer`); empty when none.
    pub key: &'a str,
    /// The scope the route needs.
    pub scope: Scope,
    /// HTTP method.
    pub method: &'a [u8],
    /// Request target as sent (path and query).
    pub path: &'a [u8],
    /// Raw body.
    pub body: &'a [u8],
    /// `X-Timestamp`, empty when absent.
    pub timestamp: &'a [u8],
    /// `X-Signature`, empty when absent.
    pub signature: &'a [u8],
    /// Requests per minute allowed per key.
    pub rate_limit: u32,
    /// The route, for the security log.
    pub route: &'a str,
    /// The client's address, for the security log.
    pub remote_addr: Option<&'a str>,
}

/// Why a request is refused, with the HTTP answer it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status: 401, 403 or 429.
    pub status: u16,
    /// Error code for the response (`inventory_sync_unauthorized`, …).
    pub code: &'static str,
    /// Reason code in the security log (`missing_key`, `revoked_key`, …).
    pub reason: &'static str,
    /// What is wrong, for the integrator (no secrets).
    pub message: String,
    /// Seconds to wait before retrying (429 only).
    pub retry_after: Option<u32>,
}

/// The decision on a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Go ahead, as this key.
    Allowed {
        /// The key.
        key: ApiKey,
        /// The rate-limit state after counting this request.
        rate: RateDecision,
    },
    /// Refused (and logged).
    Refused(Refusal),
}

fn refusal(status: u16, code: &'static str, reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        reason,
        message: message.into(),
        retry_after: None,
    }
}

/// Decides on `request`; refusals are logged to the security log.
pub fn authorize(store: &dyn LedgerStore, request: &Request<'_>, now: i64) -> Result<Decision> {
    let (refused, prefix) = match check(store, request, now)? {
        Ok(allowed) => return Ok(allowed),
        Err(pair) => pair,
    };
    store.record_security(
        &SecurityEvent {
            route: request.route.to_string(),
            reason: refused.reason.to_string(),
            key_prefix: prefix,
            remote_addr: request.remote_addr.map(str::to_string),
            detail: refused.message.clone(),
        },
        now,
    )?;
    Ok(Decision::Refused(refused))
}

type Checked = std::result::Result<Decision, (Refusal, Option<String>)>;

fn check(store: &dyn LedgerStore, request: &Request<'_>, now: i64) -> Result<Checked> {
    let presented = request.key.trim();
    if presented.is_empty() {
        return Ok(Err((
            refusal(
                401,
                "inventory_sync_unauthorized",
                "missing_key",
                "send an API key in X-API-Key or Authorization: Bearer",
            ),
            None,
        )));
    }
    let prefix = key_prefix(presented);
    let key = match store.authenticate_api_key(presented, now)? {
        KeyCheck::Valid(key) => key,
        other => {
            let reason = other.refusal_reason().unwrap_or("unknown_key");
            let message = match reason {
                "revoked_key" => "this API key was revoked",
                "expired_key" => "this API key has expired",
                _ => "unknown API key",
            };
            return Ok(Err((
                refusal(401, "inventory_sync_unauthorized", reason, message),
                prefix,
            )));
        }
    };
    let prefix = Some(key.prefix.clone());
    if !key.has_scope(request.scope) {
        return Ok(Err((
            refusal(
                403,
                "inventory_sync_scope",
                "scope",
                format!("this API key lacks the {} scope", request.scope.as_str()),
            ),
            prefix,
        )));
    }
    if let Some(secret) = key.signing_secret() {
        let signed = ApiRequest {
            method: request.method,
            path: request.path,
            body: request.body,
            timestamp: request.timestamp,
            signature: request.signature,
        };
        if let Err(e) = signature::verify_api_request(&signed, Secrets::new(secret.as_bytes(), None), now) {
            return Ok(Err((
                refusal(401, "inventory_sync_bad_signature", "bad_signature", e.to_string()),
                prefix,
            )));
        }
    }
    let rate = store.rate_limit(
        &format!("key:{}", key.id),
        request.rate_limit.max(1),
        RATE_WINDOW_SECONDS,
        now,
    )?;
    if !rate.allowed {
        let mut refused = refusal(
            429,
            "inventory_sync_rate_limited",
            "rate_limited",
            format!("more than {} requests per minute", rate.limit),
        );
        refused.retry_after = Some(rate.retry_after_seconds.max(1));
        return Ok(Err((refused, prefix)));
    }
    Ok(Ok(Decision::Allowed { key, rate }))
}

/// SKUs and locations among those given that `key` may not touch (its supplier and location
/// limits); unknown SKUs are left to the ledger to report.
pub fn refused_by_key(
    store: &dyn LedgerStore,
    key: &ApiKey,
    skus: &[String],
    locations: &[String],
) -> Result<Vec<String>> {
    let mut refused = Vec::new();
    for sku in skus {
        if let Some(item) = store.get_item(sku)? {
            if !key.allows_item(&item) {
                refused.push(sku.clone());
            }
        }
    }
    for location in locations {
        if !key.allows_location(location) {
            refused.push(location.clone());
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{NewApiKey, SecurityQuery, SqliteLedger};
    use std::collections::BTreeSet;

    const NOW: i64 = 1_800_000_000;

    fn issue(store: &SqliteLedger, scopes: &[Scope], signing: Option<&str>, seed: u8) -> String {
        let bytes: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(7).wrapping_add(seed)).collect();
        store
            .issue_api_key(
                &NewApiKey {
                    name: format!("key {seed}"),
                    scopes: scopes.iter().copied().collect::<BTreeSet<_>>(),
                    expires_at: None,
                    supplier: None,
                    locations: None,
                    signing_secret: signing.map(str::to_string),
                },
                &bytes,
                NOW,
            )
            .expect("issue")
            .plaintext
    }

    fn request<'a>(key: &'a str, scope: Scope) -> Request<'a> {
        Request {
            key,
            scope,
            method: b"GET",
            path: b"/wp-json/inventory-sync/v1/stock/A",
            body: b"",
            timestamp: b"",
            signature: b"",
            rate_limit: 3,
            route: "/inventory-sync/v1/stock/A",
            remote_addr: Some("127.0.0.1"),
        }
    }

    fn refused_reason(store: &SqliteLedger, r: &Request<'_>) -> &'static str {
        match authorize(store, r, NOW).expect("authorize") {
            Decision::Refused(refusal) => refusal.reason,
            Decision::Allowed { .. } => "allowed",
        }
    }

    #[test]
    fn decisions_in_order() {
        let store = SqliteLedger::open_in_memory().expect("ledger");
        let read = issue(&store, &[Scope::Read], None, 1);
        assert_eq!(refused_reason(&store, &request("", Scope::Read)), "missing_key");
        assert_eq!(refused_reason(&store, &request("isk_nope", Scope::Read)), "unknown_key");
        assert_eq!(refused_reason(&store, &request(&read, Scope::Write)), "scope");
        for _ in 0..3 {
            assert_eq!(refused_reason(&store, &request(&read, Scope::Read)), "allowed");
        }
        match authorize(&store, &request(&read, Scope::Read), NOW).expect("authorize") {
            Decision::Refused(r) => {
                assert_eq!((r.status, r.reason), (429, "rate_limited"));
                assert!(r.retry_after.is_some_and(|s| (1..=60).contains(&s)));
            }
            other => panic!("expected 429, got {other:?}"),
        }
        let log = store
            .list_security(&SecurityQuery {
                reason: None,
                before: None,
                limit: 100,
            })
            .expect("log");
        let reasons: Vec<&str> = log.records.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, vec!["rate_limited", "scope", "unknown_key", "missing_key"]);
        assert!(log
            .records
            .iter()
            .all(|r| !r.detail.contains(&read) && r.key_prefix.as_deref() != Some(read.as_str())));
    }

    #[test]
    fn keys_that_require_signatures() {
        let store = SqliteLedger::open_in_memory().expect("ledger");
        let secret = "a-signing-secret-of-some-length";
        let key = issue(&store, &[Scope::Read], Some(secret), 2);
        assert_eq!(refused_reason(&store, &request(&key, Scope::Read)), "bad_signature");
        let signed = signature::sign_api_request(
            b"GET",
            b"/wp-json/inventory-sync/v1/stock/A",
            NOW as u64,
            b"",
            secret.as_bytes(),
        )
        .expect("sign");
        let mut r = request(&key, Scope::Read);
        r.timestamp = signed.timestamp.as_bytes();
        r.signature = signed.signature.as_bytes();
        assert_eq!(refused_reason(&store, &r), "allowed");
    }
}
