//! OAuth 2.0 refresh-token grants, shared by the eBay adapter (`channel-apis.md` §3.1) and the
//! Amazon adapter's Login with Amazon exchange (§4.1): the clock they read expiry from, the cached
//! access token a caller may persist across PHP requests, and the one token request.
//!
//! * A token is reused until [`REFRESH_MARGIN_SECS`] before it expires, then requested again.
//! * A permanent refusal of the token request (wrong client secret, revoked refresh token) is
//!   remembered until the adapter's next operation, so one push makes one failed token request,
//!   not one per batch. Timeouts and 5xx are retryable and stop the push like any other.
//! * The token endpoint's answer `{"error", "error_description"}` (RFC 6749 §5.2) is quoted in the
//!   failure's reason; its `error` becomes the failure's code. Credentials never do.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use super::http::{classify_status, shorten, Transport};
use super::{Failure, Secret};

/// A token is requested again this many seconds before it expires, so that it does not expire
/// between our check and the channel's.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The lifetime assumed when a token answer has no `expires_in`.
const DEFAULT_LIFETIME_SECS: i64 = 300;

/// Where token expiry reads the time from: Unix seconds. The system clock by default; tests pass
/// their own.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        }))
    }

    /// A clock that asks `now` for the current Unix time in seconds.
    pub fn new(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    /// The current Unix time in seconds.
    pub fn now(&self) -> i64 {
        (self.0)()
    }

    /// The current time as a [`SystemTime`] (for `Retry-After` dates).
    pub fn system_time(&self) -> SystemTime {
        system_time_at(self.now())
    }
}

/// `secs` Unix seconds as a [`SystemTime`] (times before 1970 as the epoch).
pub(crate) fn system_time_at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The credentials of a refresh-token grant: the application's client id and secret and the
/// seller's long-lived refresh token.
#[derive(Debug, Clone)]
pub struct RefreshCredentials {
    /// The application's client id (eBay App ID; LWA `amzn1.application-oa2-client.…`).
    pub client_id: Secret,
    /// The application's client secret (eBay Cert ID; LWA client secret).
    pub client_secret: Secret,
    /// The seller's refresh token (eBay `v^1.1#…`; LWA `Atzr|…`).
    pub refresh_token: Secret,
}

impl RefreshCredentials {
    /// Bundles the three credentials.
    pub fn new(client_id: Secret, client_secret: Secret, refresh_token: Secret) -> Self {
        RefreshCredentials {
            client_id,
            client_secret,
            refresh_token,
        }
    }
}

/// An access token and when it expires, as an adapter caches it. Persist it between PHP requests
/// (encrypted or at least as a credential) and hand it back to the next adapter so each request
/// does not ask for a new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedToken {
    /// The access token.
    pub access_token: Secret,
    /// When it expires, in Unix seconds.
    pub expires_at: i64,
}

impl CachedToken {
    /// Whether the token may still be used at `now` (more than [`REFRESH_MARGIN_SECS`] left).
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.expires_at.saturating_sub(REFRESH_MARGIN_SECS)
    }
}

/// How to ask one token endpoint for an access token.
pub(crate) struct TokenRequest<'a> {
    /// The service's name for messages (`eBay`, `Login with Amazon`).
    pub service: &'static str,
    /// The token endpoint.
    pub url: &'a str,
    /// The client id and secret in an HTTP Basic header (eBay), else in the form (LWA).
    pub basic_auth: bool,
    /// The credentials.
    pub credentials: &'a RefreshCredentials,
    /// The scope to ask for, when the service takes one.
    pub scope: Option<&'a str>,
}

/// The adapter's token state: the cached token and a refusal remembered for one operation.
#[derive(Default)]
pub(crate) struct Tokens {
    cached: Option<CachedToken>,
    refused: Option<Failure>,
}

impl Tokens {
    /// The cached token, if any (fresh or not).
    pub(crate) fn cached(&self) -> Option<CachedToken> {
        self.cached.clone()
    }

    /// Replaces the cached token.
    pub(crate) fn set(&mut self, token: CachedToken) {
        self.cached = Some(token);
    }

    /// Drops the cached token (the channel refused it).
    pub(crate) fn forget(&mut self) {
        self.cached = None;
    }

    /// Starts an operation: a refusal remembered from the previous one is forgotten.
    pub(crate) fn begin(&mut self) {
        self.refused = None;
    }

    /// A usable access token: the cached one while fresh, else a new one from the endpoint.
    pub(crate) fn access_token(
        &mut self,
        transport: &mut Transport,
        now: i64,
        request: &TokenRequest<'_>,
    ) -> Result<Secret, Failure> {
        if let Some(token) = self.cached.as_ref().filter(|t| t.is_fresh(now)) {
            return Ok(token.access_token.clone());
        }
        if let Some(failure) = &self.refused {
            return Err(failure.clone());
        }
        match request_token(transport, now, request) {
            Ok(token) => {
                let secret = token.access_token.clone();
                self.cached = Some(token);
                Ok(secret)
            }
            Err(failure) => {
                if !failure.retryable {
                    self.refused = Some(failure.clone());
                }
                Err(failure)
            }
        }
    }
}

/// `application/x-www-form-urlencoded` body from pairs (RFC 3986 encoding; `%20` for spaces).
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", super::oauth1::encode(k), super::oauth1::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One refresh-token grant. `now` is when the request is made; the token's expiry counts from it.
fn request_token(transport: &mut Transport, now: i64, request: &TokenRequest<'_>) -> Result<CachedToken, Failure> {
    let credentials = request.credentials;
    let mut pairs: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", credentials.refresh_token.expose()),
    ];
    if let Some(scope) = request.scope {
        pairs.push(("scope", scope));
    }
    let mut headers: Vec<(&str, String)> = vec![
        (
            "Content-Type",
            "application/x-www-form-urlencoded;charset=UTF-8".to_string(),
        ),
        ("Accept", "application/json".to_string()),
    ];
    if request.basic_auth {
        let pair = format!(
            "{}:{}",
            credentials.client_id.expose(),
            credentials.client_secret.expose()
        );
        headers.push(("Authorization", format!("Basic {}", STANDARD.encode(pair))));
    } else {
        pairs.push(("client_id", credentials.client_id.expose()));
        pairs.push(("client_secret", credentials.client_secret.expose()));
    }
    let body = form(&pairs);
    let header_refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let service = request.service;
    let reply = transport
        .send("POST", request.url, &header_refs, Some(body.as_bytes()))
        .map_err(|mut f| {
            f.reason = format!("the {service} token request failed: {}", f.reason);
            f
        })?;
    let parsed: Option<Value> = serde_json::from_str(&reply.body).ok();
    let when = system_time_at(now);
    if let Some(mut failure) = classify_status(reply.status, reply.retry_after.as_deref(), &reply.body, when) {
        let error = parsed.as_ref().and_then(|v| v["error"].as_str()).map(shorten);
        let description = parsed
            .as_ref()
            .and_then(|v| v["error_description"].as_str())
            .map(shorten);
        failure.reason = match (&error, description) {
            (Some(error), Some(description)) => format!(
                "{service} refused the token request: HTTP {}: {description} ({error})",
                reply.status
            ),
            (Some(error), None) => format!("{service} refused the token request: HTTP {}: {error}", reply.status),
            _ => format!("{service} refused the token request: {}", failure.reason),
        };
        if let Some(error) = error {
            failure.code = Some(error);
        }
        return Err(failure);
    }
    let token = parsed.as_ref().and_then(|v| v["access_token"].as_str());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(
            Failure::retryable(format!("{service} answered the token request without an access token"))
                .with_code("response"),
        );
    };
    let lifetime = parsed
        .as_ref()
        .and_then(|v| v["expires_in"].as_i64())
        .unwrap_or(DEFAULT_LIFETIME_SECS);
    Ok(CachedToken {
        access_token: Secret::new(token),
        expires_at: now.saturating_add(lifetime),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_until_shortly_before_expiry() {
        let token = CachedToken {
            access_token: Secret::new("t"),
            expires_at: 10_000,
        };
        assert!(token.is_fresh(0));
        assert!(token.is_fresh(10_000 - REFRESH_MARGIN_SECS - 1));
        assert!(!token.is_fresh(10_000 - REFRESH_MARGIN_SECS));
        assert!(!token.is_fresh(20_000));
        assert_eq!(
            format!("{token:?}"),
            "CachedToken { access_token: Secret(<redacted>), expires_at: 10000 }"
        );
    }

    #[test]
    fn forms_are_encoded() {
        assert_eq!(
            form(&[
                ("grant_type", "refresh_token"),
                ("scope", "https://a/b c"),
                ("t", "Atzr|x")
            ]),
            "grant_type=refresh_token&scope=https%3A%2F%2Fa%2Fb%20c&t=Atzr%7Cx"
        );
    }

    #[test]
    fn clocks_can_be_injected() {
        let clock = Clock::new(|| 1_700_000_000);
        assert_eq!(clock.now(), 1_700_000_000);
        assert_eq!(clock.system_time(), UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert!(Clock::system().now() > 1_700_000_000);
        assert_eq!(format!("{clock:?}"), "Clock");
    }
}
