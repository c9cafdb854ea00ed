//! Pull from a primary source: an ERP's or warehouse's inventory endpoint that is the truth for
//! stock levels (`product.md`, "Sync flows", **Pull**).
//!
//! Wire format (ours; the source implements it, or a small bridge in front of it does):
//!
//! ```text
//! GET {url}?per_page=200&page=1
//! Authorization: Bearer <token>
//! Accept: application/json
//!
//! 200 {"items":[{"sku":"A-1","location":"WH1","quantity":12},
//!               {"sku":"B-2","location":"WH1","quantity":0}],
//!      "next_page":2}
//! ```
//!
//! * Paging by page number: the request carries `page` (from 1) and `per_page`; the answer's
//!   `next_page` is the next page's number, `null` or absent on the last page. A source that
//!   pages by cursor answers `"next_cursor":"<opaque>"` instead, and the next request carries
//!   `cursor=<opaque>` (percent-encoded) in place of `page`. `Link` headers are not read.
//! * An entry is `sku` (text; a whole JSON number is taken as its decimal text), `location`
//!   (text, optional: absent or `null` means the source's only location) and `quantity` (a whole
//!   number from 0 to [`MAX_QUANTITY`]; `12.0` and `"12"` are accepted as 12). Any other entry is
//!   skipped with a reason ([`SkippedEntry`]) and the rest of the page is used. The same
//!   (SKU, location) listed again later in the pull is skipped too; the first one counts.
//! * All or nothing: a page that fails (timeout, connection error, 429, 5xx → retryable; 401 and
//!   other statuses → permanent, classified like the adapters), a body that is not the shape
//!   above, or paging that does not end (a `next_page` not after the current one, a cursor seen
//!   before, a page repeating an earlier page's entries, more pages than the caller's
//!   `max_pages`) fails the whole pull with [`Error::Channel`] on channel `source`, so a
//!   half-read source is never applied. [`PrimarySource::last_failure`] keeps the classified
//!   failure (with `Retry-After`).

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use super::http::{classify_status, HttpConfig, Transport};
use super::webhook::excerpt;
use super::{Failure, HttpCall, Pacer, Secret, Unpaced};
use crate::error::{Error, Result};

/// The channel name in errors from a pull.
pub const SOURCE_NAME: &str = "source";

/// The largest quantity taken as real; above it an entry is skipped as absurd.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// Entries asked for per page unless configured otherwise.
pub const DEFAULT_PER_PAGE: usize = 200;

/// The largest configurable page size.
pub const MAX_PER_PAGE: usize = 1000;

/// The longest SKU taken.
pub const MAX_SKU_LEN: usize = 255;

/// How to reach the primary source.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The inventory endpoint (`https://erp.example/api/inventory`), http(s); it may carry a
    /// query string of its own.
    pub url: String,
    /// The bearer token.
    pub token: Secret,
    /// Entries asked for per page, 1 to [`MAX_PER_PAGE`].
    pub per_page: usize,
    /// Timeouts.
    pub http: HttpConfig,
    /// The clock for `Retry-After` dates (`SystemTime::now` unless a test fixes it).
    pub now: fn() -> SystemTime,
}

impl SourceConfig {
    /// A configuration with [`DEFAULT_PER_PAGE`], default timeouts and the system clock.
    pub fn new(url: impl Into<String>, token: Secret) -> Self {
        SourceConfig {
            url: url.into(),
            token,
            per_page: DEFAULT_PER_PAGE,
            http: HttpConfig::default(),
            now: SystemTime::now,
        }
    }
}

/// One stock level reported by the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLevel {
    /// The SKU.
    pub sku: String,
    /// The source's location code; `None` when the source did not name one (its only location).
    pub location: Option<String>,
    /// The quantity on hand there, 0 to [`MAX_QUANTITY`].
    pub quantity: i64,
}

/// An entry the pull did not take, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The page it was on (from 1).
    pub page: u32,
    /// Its position in that page's `items` (from 0).
    pub index: usize,
    /// Its SKU, when it had a usable one.
    pub sku: Option<String>,
    /// Why it was skipped, readable by a store owner.
    pub reason: String,
}

/// Everything a completed pull read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSnapshot {
    /// The levels, in the source's order.
    pub levels: Vec<SourceLevel>,
    /// The entries skipped, in the source's order.
    pub skipped: Vec<SkippedEntry>,
    /// How many pages were read.
    pub pages: u32,
    /// Every HTTP call made, in order.
    pub calls: Vec<HttpCall>,
}

/// Where the next page is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Next {
    Page(u64),
    Cursor(String),
}

/// Reads the primary source.
pub struct PrimarySource {
    config: SourceConfig,
    transport: Transport,
    pacer: Box<dyn Pacer>,
    last_failure: Option<Failure>,
}

impl std::fmt::Debug for PrimarySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrimarySource")
            .field("config", &self.config)
            .field("last_failure", &self.last_failure)
            .finish_non_exhaustive()
    }
}

impl PrimarySource {
    /// A reader for one source. Refuses a URL that is not http(s), an empty token and a page size
    /// outside 1 to [`MAX_PER_PAGE`].
    pub fn new(config: SourceConfig) -> Result<Self> {
        if !(config.url.starts_with("https://") || config.url.starts_with("http://")) {
            return Err(Error::validation("url", "must start with https:// or http://"));
        }
        if config.token.expose().trim().is_empty() {
            return Err(Error::validation("token", "is empty"));
        }
        if !(1..=MAX_PER_PAGE).contains(&config.per_page) {
            return Err(Error::validation(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(PrimarySource {
            transport: Transport::new(&config.http),
            config,
            pacer: Box::new(Unpaced),
            last_failure: None,
        })
    }

    /// The same reader, calling `pacer` before every request.
    pub fn with_pacer(mut self, pacer: Box<dyn Pacer>) -> Self {
        self.pacer = pacer;
        self
    }

    /// Reads every page, at most `max_pages` of them (at least 1). Returns every level, or fails
    /// as a whole (see the module documentation); the classified failure is then in
    /// [`PrimarySource::last_failure`] and the calls made in [`PrimarySource::take_calls`].
    pub fn fetch_all(&mut self, max_pages: u32) -> Result<SourceSnapshot> {
        if max_pages == 0 {
            return Err(Error::validation("max_pages", "must be at least 1"));
        }
        self.transport.take_calls();
        self.last_failure = None;
        match self.pull(max_pages) {
            Ok(mut snapshot) => {
                snapshot.calls = self.transport.take_calls();
                Ok(snapshot)
            }
            Err((page, failure)) => {
                let error = Error::Channel {
                    channel: SOURCE_NAME.to_string(),
                    message: format!("page {page}: {}", failure.reason),
                    retryable: failure.retryable,
                };
                self.last_failure = Some(failure);
                Err(error)
            }
        }
    }

    /// The classified failure of the last [`PrimarySource::fetch_all`], when it failed.
    pub fn last_failure(&self) -> Option<&Failure> {
        self.last_failure.as_ref()
    }

    /// The HTTP calls made by a failed [`PrimarySource::fetch_all`] (a successful one reports
    /// them in [`SourceSnapshot::calls`]).
    pub fn take_calls(&mut self) -> Vec<HttpCall> {
        self.transport.take_calls()
    }

    fn pull(&mut self, max_pages: u32) -> std::result::Result<SourceSnapshot, (u32, Failure)> {
        let mut snapshot = SourceSnapshot::default();
        let mut seen_levels: HashSet<(String, Option<String>)> = HashSet::new();
        let mut seen_cursors: HashSet<String> = HashSet::new();
        let mut fingerprints: HashMap<[u8; 32], u32> = HashMap::new();
        let mut next = Next::Page(1);
        let mut page: u32 = 0;
        loop {
            page += 1;
            let body = self.get(&next).map_err(|f| (page, f))?;
            let (items, following) = parse_page(&body).map_err(|f| (page, f))?;
            snapshot.pages = page;

            if !items.is_empty() {
                let fingerprint = fingerprint(&items);
                if let Some(earlier) = fingerprints.insert(fingerprint, page) {
                    return Err((
                        page,
                        Failure::permanent(format!(
                            "the source answered page {page} with the same entries as page {earlier} \
                             (does it ignore the page parameter?)"
                        ))
                        .with_code("paging"),
                    ));
                }
            }
            for (index, entry) in items.iter().enumerate() {
                match parse_entry(entry) {
                    Ok(level) => {
                        if seen_levels.insert((level.sku.clone(), level.location.clone())) {
                            snapshot.levels.push(level);
                        } else {
                            snapshot.skipped.push(SkippedEntry {
                                page,
                                index,
                                reason: format!(
                                    "SKU {} at {} was listed earlier in this pull; the first entry counts",
                                    level.sku,
                                    level.location.as_deref().unwrap_or("the default location")
                                ),
                                sku: Some(level.sku),
                            });
                        }
                    }
                    Err((sku, reason)) => snapshot.skipped.push(SkippedEntry {
                        page,
                        index,
                        sku,
                        reason,
                    }),
                }
            }

            let Some(following) = following else {
                return Ok(snapshot);
            };
            match (&next, &following) {
                (Next::Page(current), Next::Page(n)) if n <= current => {
                    return Err((
                        page,
                        Failure::permanent(format!(
                            "page {current} points back to page {n}; paging would never end"
                        ))
                        .with_code("paging"),
                    ))
                }
                (_, Next::Cursor(cursor)) if !seen_cursors.insert(cursor.clone()) => {
                    return Err((
                        page,
                        Failure::permanent("the source sent a cursor it had sent before; paging would never end")
                            .with_code("paging"),
                    ))
                }
                _ => {}
            }
            if page >= max_pages {
                return Err((
                    page,
                    Failure::permanent(format!(
                        "the source has more than {max_pages} pages; nothing was applied \
                         (raise the page limit or the page size)"
                    ))
                    .with_code("paging"),
                ));
            }
            next = following;
        }
    }

    /// Fetches one page's body (2xx only).
    fn get(&mut self, next: &Next) -> std::result::Result<String, Failure> {
        let separator = if self.config.url.contains('?') { '&' } else { '?' };
        let position = match next {
            Next::Page(n) => format!("page={n}"),
            Next::Cursor(cursor) => format!("cursor={}", utf8_percent_encode(cursor, NON_ALPHANUMERIC)),
        };
        let url = format!(
            "{}{separator}per_page={}&{position}",
            self.config.url, self.config.per_page
        );
        let authorization = format!("Bearer {}", self.config.token.expose());
        self.pacer.before_call();
        let reply = self.transport.send(
            "GET",
            &url,
            &[("Authorization", &authorization), ("Accept", "application/json")],
            None,
        )?;
        if let Some(mut failure) = classify_status(
            reply.status,
            reply.retry_after.as_deref(),
            &reply.body,
            (self.config.now)(),
        ) {
            if super::http::body_message(&reply.body).is_none() {
                if let Some(excerpt) = excerpt(&reply.body) {
                    failure.reason = format!("{}: {excerpt}", failure.reason.trim_end());
                }
            }
            return Err(failure);
        }
        Ok(reply.body)
    }
}

/// A page's `items` and where the next page is (`None` on the last page).
fn parse_page(body: &str) -> std::result::Result<(Vec<Value>, Option<Next>), Failure> {
    let value: Value = serde_json::from_str(body)
        .map_err(|_| Failure::retryable("the source answered with something that is not JSON").with_code("response"))?;
    let shape = |what: &str| {
        Failure::permanent(format!(
            "unknown answer shape: {what} (expected {{\"items\": [...], \"next_page\": n | null}})"
        ))
        .with_code("response")
    };
    let Value::Object(mut object) = value else {
        return Err(shape("not a JSON object"));
    };
    let items = match object.remove("items") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(shape("items is not a list")),
        None => return Err(shape("no items")),
    };
    let next = match (object.get("next_page"), object.get("next_cursor")) {
        (Some(Value::Number(n)), _) => match n.as_u64() {
            Some(n) if n >= 1 => Some(Next::Page(n)),
            _ => return Err(shape("next_page is not a page number")),
        },
        (Some(Value::Null) | None, Some(Value::String(cursor))) if !cursor.is_empty() => {
            Some(Next::Cursor(cursor.clone()))
        }
        (Some(Value::Null) | None, None | Some(Value::Null)) => None,
        (Some(Value::Null) | None, Some(Value::String(_))) => None, // an empty cursor: the end
        (Some(Value::Null) | None, Some(_)) => return Err(shape("next_cursor is not text")),
        (Some(_), _) => return Err(shape("next_page is not a page number")),
    };
    Ok((items, next))
}

/// A digest of a page's entries, to notice a page served twice.
fn fingerprint(items: &[Value]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for item in items {
        hasher.update(item.to_string().as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().into()
}

/// One entry as a level, or its usable SKU (if any) and why it is skipped.
fn parse_entry(entry: &Value) -> std::result::Result<SourceLevel, (Option<String>, String)> {
    let Value::Object(fields) = entry else {
        return Err((None, "unknown entry shape: not an object".to_string()));
    };
    let sku = match fields.get("sku") {
        None | Some(Value::Null) => return Err((None, "missing sku".to_string())),
        Some(Value::String(s)) if s.trim().is_empty() => return Err((None, "missing sku (empty)".to_string())),
        Some(Value::String(s)) if s.chars().count() > MAX_SKU_LEN => {
            return Err((None, format!("sku longer than {MAX_SKU_LEN} characters")))
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => return Err((None, "sku is not text".to_string())),
    };
    let location = match fields.get("location") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::String(_)) => None,
        Some(_) => return Err((Some(sku), "location is not text".to_string())),
    };
    let quantity = match fields.get("quantity") {
        None | Some(Value::Null) => return Err((Some(sku), "missing quantity".to_string())),
        Some(Value::Number(n)) => {
            if let Some(q) = n.as_i64() {
                q
            } else if n.is_u64() {
                return Err((Some(sku), format!("quantity {n} is above {MAX_QUANTITY}")));
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() <= 1e15 => f as i64,
                    _ => return Err((Some(sku), format!("quantity {n} is not a whole number"))),
                }
            }
        }
        Some(Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(q) => q,
            Err(_) => {
                return Err((
                    Some(sku),
                    format!("quantity {:?} is not a whole number", super::http::shorten(s)),
                ))
            }
        },
        Some(_) => return Err((Some(sku), "quantity is not a number".to_string())),
    };
    if quantity < 0 {
        return Err((Some(sku), format!("negative quantity {quantity}")));
    }
    if quantity > MAX_QUANTITY {
        return Err((Some(sku), format!("quantity {quantity} is above {MAX_QUANTITY}")));
    }
    Ok(SourceLevel {
        sku,
        location,
        quantity,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn level(sku: &str, location: Option<&str>, quantity: i64) -> SourceLevel {
        SourceLevel {
            sku: sku.into(),
            location: location.map(Into::into),
            quantity,
        }
    }

    #[test]
    fn entries_are_taken_or_skipped_with_reasons() {
        fn check(entry: Value, expected: std::result::Result<SourceLevel, (Option<&str>, &str)>) {
            let got = parse_entry(&entry);
            let expected = expected.map_err(|(s, r)| (s.map(str::to_string), r.to_string()));
            assert_eq!(got, expected, "{entry}");
        }
        check(
            json!({"sku":"A","location":"WH1","quantity":12}),
            Ok(level("A", Some("WH1"), 12)),
        );
        check(json!({"sku":"A","quantity":0}), Ok(level("A", None, 0)));
        check(
            json!({"sku":"A","location":null,"quantity":"7"}),
            Ok(level("A", None, 7)),
        );
        check(json!({"sku":12345,"quantity":12.0}), Ok(level("12345", None, 12)));
        check(
            json!({"sku":"A","quantity":1_000_000_000}),
            Ok(level("A", None, MAX_QUANTITY)),
        );
        check(json!({"quantity":1}), Err((None, "missing sku")));
        check(json!({"sku":"  ","quantity":1}), Err((None, "missing sku (empty)")));
        check(json!({"sku":["A"],"quantity":1}), Err((None, "sku is not text")));
        check(json!({"sku":1.5,"quantity":1}), Err((None, "sku is not text")));
        check(json!({"sku":"A"}), Err((Some("A"), "missing quantity")));
        check(
            json!({"sku":"A","quantity":-3}),
            Err((Some("A"), "negative quantity -3")),
        );
        check(
            json!({"sku":"A","quantity":1_000_000_001}),
            Err((Some("A"), "quantity 1000000001 is above 1000000000")),
        );
        check(
            json!({"sku":"A","quantity":18_446_744_073_709_551_615u64}),
            Err((Some("A"), "quantity 18446744073709551615 is above 1000000000")),
        );
        check(
            json!({"sku":"A","quantity":2.5}),
            Err((Some("A"), "quantity 2.5 is not a whole number")),
        );
        check(
            json!({"sku":"A","quantity":"lots"}),
            Err((Some("A"), "quantity \"lots\" is not a whole number")),
        );
        check(
            json!({"sku":"A","quantity":true}),
            Err((Some("A"), "quantity is not a number")),
        );
        check(
            json!({"sku":"A","location":3,"quantity":1}),
            Err((Some("A"), "location is not text")),
        );
        check(json!(["A", 1]), Err((None, "unknown entry shape: not an object")));
    }

    #[test]
    fn page_shapes() {
        let ok = |body: &str| parse_page(body).map(|(items, next)| (items.len(), next));
        assert_eq!(ok(r#"{"items":[{}],"next_page":2}"#), Ok((1, Some(Next::Page(2)))));
        assert_eq!(ok(r#"{"items":[],"next_page":null}"#), Ok((0, None)));
        assert_eq!(ok(r#"{"items":[]}"#), Ok((0, None)));
        assert_eq!(
            ok(r#"{"items":[],"next_cursor":"abc"}"#),
            Ok((0, Some(Next::Cursor("abc".into()))))
        );
        assert_eq!(ok(r#"{"items":[],"next_cursor":null}"#), Ok((0, None)));
        let fails = |body: &str, retryable: bool, reason: &str| {
            let failure = parse_page(body).err();
            assert_eq!(failure.as_ref().map(|f| f.retryable), Some(retryable), "{body}");
            let got = failure.map(|f| f.reason).unwrap_or_default();
            assert!(got.contains(reason), "{body}: {got}");
        };
        fails("<html>", true, "not JSON");
        fails("[]", false, "not a JSON object");
        fails(r#"{"data":[]}"#, false, "no items");
        fails(r#"{"items":{}}"#, false, "items is not a list");
        fails(
            r#"{"items":[],"next_page":"2"}"#,
            false,
            "next_page is not a page number",
        );
        fails(r#"{"items":[],"next_page":0}"#, false, "next_page is not a page number");
        fails(r#"{"items":[],"next_cursor":5}"#, false, "next_cursor is not text");
    }

    #[test]
    fn bad_configuration_is_refused() {
        let check = |config: SourceConfig, expected: &str| {
            let error = PrimarySource::new(config).err().map(|e| e.to_string());
            assert_eq!(error.as_deref(), Some(expected));
        };
        check(
            SourceConfig::new("erp.example/api", Secret::new("t")),
            "url: must start with https:// or http://",
        );
        check(
            SourceConfig::new("https://erp.example/api", Secret::new(" ")),
            "token: is empty",
        );
        let mut config = SourceConfig::new("https://erp.example/api", Secret::new("tok_secret"));
        config.per_page = 5000;
        check(config, "per_page: must be between 1 and 1000");
        let source = PrimarySource::new(SourceConfig::new("https://erp.example/api", Secret::new("tok_secret")));
        let debug = format!("{source:?}");
        assert!(!debug.contains("tok_secret"), "{debug}");
        let error = source.and_then(|mut s| s.fetch_all(0)).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("max_pages: must be at least 1"));
    }
}
