//! The HTTP edge shared by every adapter: one [`ureq::Agent`] configuration, one place that
//! sends a request and records it, and the one failure classifier.

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::{Failure, HttpCall, Pacer, Unpaced};

/// Timeouts and identity for channel HTTP calls. Every adapter builds its agent from one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for the response headers and for the body, each.
    pub read_timeout: Duration,
    /// Longest time one whole call may take, connection to last body byte.
    pub overall_timeout: Duration,
    /// The `User-Agent` sent.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            overall_timeout: Duration::from_secs(30),
            user_agent: format!("inventory-sync/{}", crate::VERSION),
        }
    }
}

/// Idle connections kept open per host for the next call (HTTP keep-alive: no new TCP and TLS
/// handshake per call). At least as many as an adapter sends at once (eBay's look-ups), so a
/// wave of parallel calls finds its connections still open for the next wave.
pub const KEPT_CONNECTIONS_PER_HOST: usize = 8;

/// Builds the agent every adapter uses: the configured timeouts, HTTP statuses returned as
/// responses (the classifier reads them), no redirects (a redirected API call is a configuration
/// problem, and following it could send credentials elsewhere), connections kept for reuse
/// ([`KEPT_CONNECTIONS_PER_HOST`]).
pub fn agent(config: &HttpConfig) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_idle_connections_per_host(KEPT_CONNECTIONS_PER_HOST)
        .max_idle_connections(4 * KEPT_CONNECTIONS_PER_HOST)
        .timeout_connect(Some(config.connect_timeout))
        .timeout_recv_response(Some(config.read_timeout))
        .timeout_recv_body(Some(config.read_timeout))
        .timeout_global(Some(config.overall_timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(config.user_agent.as_str())
        .build()
        .into()
}

/// The most of a response body that is read.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// A response as the adapters need it.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` header, when present.
    pub retry_after: Option<String>,
    /// The body as text.
    pub body: String,
}

/// Sends requests through the agent, paced by the channel's [`Pacer`], and records each as an
/// [`HttpCall`].
pub(crate) struct Transport {
    agent: ureq::Agent,
    calls: Vec<HttpCall>,
    pacer: Box<dyn Pacer>,
}

impl Transport {
    pub(crate) fn new(config: &HttpConfig) -> Self {
        Transport {
            agent: agent(config),
            calls: Vec::new(),
            pacer: Box::new(Unpaced),
        }
    }

    /// Replaces the pacer asked before every request (the default is [`Unpaced`]).
    pub(crate) fn set_pacer(&mut self, pacer: Box<dyn Pacer>) {
        self.pacer = pacer;
    }

    /// The calls recorded since the last `take_calls`.
    pub(crate) fn take_calls(&mut self) -> Vec<HttpCall> {
        std::mem::take(&mut self.calls)
    }

    /// Sends one request (`GET`, `POST`, `PUT` or `PATCH`) once the pacer allows it. `url` may
    /// carry a query string; only its path is recorded. A transport failure comes back
    /// classified; any HTTP status comes back as a [`Reply`].
    pub(crate) fn send(
        &mut self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, Failure> {
        self.pacer.before_call();
        let result = self.send_inner(method, url, headers, body);
        self.calls.push(HttpCall {
            method,
            path: url_path(url),
            status: result.as_ref().ok().map(|r| r.status),
        });
        result
    }

    /// The agent, for the threads of [`GetWorkers::start`].
    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Sends a wave of `GET` requests with the same headers at once on `workers` (look-ups that
    /// the channel only answers one key at a time); the replies come back in the order of
    /// `urls`. Each request waits for the pacer before it is handed to a worker, in order, as
    /// with [`Transport::send`], and is recorded in order. The call returns when the whole wave
    /// is answered, so a caller can stop between waves; at most one wave is in flight, and a
    /// wave longer than the workers waits for a free one.
    pub(crate) fn get_wave(
        &mut self,
        workers: &GetWorkers,
        urls: &[String],
        headers: &[(&str, &str)],
    ) -> Vec<Result<Reply, Failure>> {
        let headers: Arc<[(String, String)]> = headers
            .iter()
            .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
            .collect();
        let mut answered: Vec<Option<Result<Reply, Failure>>> = urls.iter().map(|_| None).collect();
        let mut sent = 0;
        for (i, url) in urls.iter().enumerate() {
            self.pacer.before_call();
            if workers.calls.send((i, url.clone(), Arc::clone(&headers))).is_err() {
                break;
            }
            sent += 1;
        }
        for _ in 0..sent {
            match workers.replies.recv() {
                Ok((i, reply)) => answered[i] = Some(reply),
                Err(_) => break,
            }
        }
        urls.iter()
            .zip(answered)
            .map(|(url, reply)| {
                let reply = reply.unwrap_or_else(|| Err(thread_stopped()));
                self.calls.push(HttpCall {
                    method: "GET",
                    path: url_path(url),
                    status: reply.as_ref().ok().map(|r| r.status),
                });
                reply
            })
            .collect()
    }

    /// Downloads `url` (a pre-signed document URL: no credentials are added) as bytes, up to
    /// `limit`, once the pacer allows it; recorded like [`Transport::send`].
    pub(crate) fn download(&mut self, url: &str, limit: u64) -> Result<(u16, Vec<u8>), Failure> {
        self.pacer.before_call();
        let result = self
            .agent
            .get(url)
            .call()
            .map_err(|e| classify_transport(&e))
            .and_then(|response| {
                let status = response.status().as_u16();
                response
                    .into_body()
                    .with_config()
                    .limit(limit)
                    .read_to_vec()
                    .map(|bytes| (status, bytes))
                    .map_err(|e| classify_transport(&e))
            });
        self.calls.push(HttpCall {
            method: "GET",
            path: url_path(url),
            status: result.as_ref().ok().map(|r| r.0),
        });
        result
    }

    fn send_inner(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, Failure> {
        exchange(&self.agent, method, url, headers, body)
    }
}

/// A `GET` call handed to a [`GetWorkers`] thread: its place in the wave, URL and headers.
type GetCall = (usize, String, Arc<[(String, String)]>);

/// Threads that make the `GET` calls of [`Transport::get_wave`], started once for a run of
/// look-ups and reused wave after wave: starting a thread for every call costs about as much
/// as a call on a fast network. They stop when this is dropped (the scope they run in then
/// joins them).
pub(crate) struct GetWorkers {
    calls: mpsc::Sender<GetCall>,
    replies: mpsc::Receiver<(usize, Result<Reply, Failure>)>,
}

impl GetWorkers {
    /// `count` (at least one) threads in `scope`, calling through `agent`.
    pub(crate) fn start<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        agent: &'env ureq::Agent,
        count: usize,
    ) -> Self {
        let (calls, waiting) = mpsc::channel::<GetCall>();
        let (answer, replies) = mpsc::channel();
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..count.max(1) {
            let (waiting, answer) = (Arc::clone(&waiting), answer.clone());
            scope.spawn(move || loop {
                // One idle worker waits for the next call at a time; the others wait for it.
                let call = waiting
                    .lock()
                    .map_err(|_| mpsc::RecvError)
                    .and_then(|calls| calls.recv());
                let Ok((i, url, headers)) = call else {
                    break; // the wave's sender is gone: the run of look-ups is over
                };
                let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    exchange(agent, "GET", &url, &headers, None)
                }))
                .unwrap_or_else(|_| Err(thread_stopped()));
                if answer.send((i, reply)).is_err() {
                    break;
                }
            });
        }
        GetWorkers { calls, replies }
    }
}

/// The failure of a call whose thread stopped before it answered.
fn thread_stopped() -> Failure {
    Failure::retryable("the request's thread stopped").with_code("connection")
}

/// One request and its reply, through `agent` (shared by the threads of [`GetWorkers`]).
fn exchange(
    agent: &ureq::Agent,
    method: &'static str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Reply, Failure> {
    let response = if method != "GET" {
        let mut request = match method {
            "PATCH" => agent.patch(url),
            "PUT" => agent.put(url),
            _ => agent.post(url),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send(body.unwrap_or_default())
    } else {
        let mut request = agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.call()
    };
    let response = response.map_err(|e| classify_transport(&e))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| classify_transport(&e))?;
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

/// The path of `url` (scheme, host and query string removed), for call records.
fn url_path(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    let after_scheme = without_query.split_once("://").map_or(without_query, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(index) => after_scheme[index..].to_string(),
        None => "/".to_string(),
    }
}

/// Classifies a failure to get a response. Timeouts, refused or dropped connections and other
/// I/O errors are retryable; a malformed URL or a TLS/configuration problem is permanent. The
/// message is ours, never ureq's text, which may quote the URL (and OAuth parameters with it).
pub fn classify_transport(error: &ureq::Error) -> Failure {
    use ureq::Error as E;
    match error {
        E::Timeout(which) => {
            Failure::retryable(format!("the channel did not answer in time ({which})")).with_code("timeout")
        }
        E::Io(io) => Failure::retryable(format!("connection failed: {}", io.kind())).with_code("connection"),
        E::ConnectionFailed => Failure::retryable("could not connect to the channel").with_code("connection"),
        E::HostNotFound => Failure::retryable("the channel's host name did not resolve").with_code("connection"),
        E::Protocol(_) | E::BodyStalled => {
            Failure::retryable("the connection broke before a complete answer arrived").with_code("connection")
        }
        E::Decompress(..) => {
            Failure::retryable("the channel's answer could not be decompressed").with_code("connection")
        }
        E::BadUri(_) | E::Http(_) => Failure::permanent("the channel's URL is not valid").with_code("config"),
        E::BodyExceedsLimit(limit) => {
            Failure::permanent(format!("the channel's answer is larger than {limit} bytes")).with_code("response")
        }
        E::TooManyRedirects | E::RedirectFailed => {
            Failure::permanent("the channel redirected the request; check the base URL").with_code("config")
        }
        _ => Failure::permanent("the request could not be sent (TLS or client configuration)").with_code("config"),
    }
}

/// Classifies an HTTP status: `None` for 2xx; 429 and 5xx retryable (with `Retry-After` seconds
/// or HTTP-date, relative to `now`); any other status permanent. The reason names the status
/// and, when the body is JSON with a `message` (WooCommerce) or `errors` string (Shopify),
/// quotes it (at most 200 characters).
pub fn classify_status(status: u16, retry_after: Option<&str>, body: &str, now: SystemTime) -> Option<Failure> {
    if (200..300).contains(&status) {
        return None;
    }
    let mut reason = format!("HTTP {status} {}", status_text(status));
    if let Some(message) = body_message(body) {
        reason.push_str(": ");
        reason.push_str(&message);
    }
    let retryable = status == 429 || status >= 500;
    let mut failure = if retryable {
        Failure::retryable(reason)
    } else {
        Failure::permanent(reason)
    };
    if retryable {
        failure.retry_after = retry_after.and_then(|v| parse_retry_after(v, now));
    }
    Some(failure.with_code(status.to_string()))
}

/// Parses `Retry-After`: delay seconds, or an HTTP-date (a date in the past means 0).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().or(Some(u64::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(now)
            .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
    )
}

/// A readable message from an error body, if it has one.
pub(crate) fn body_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let text = match (&value["message"], &value["errors"]) {
        (serde_json::Value::String(m), _) => m.clone(),
        (_, serde_json::Value::String(e)) => e.clone(),
        (_, serde_json::Value::Array(list)) => list.first()?.get("message")?.as_str()?.to_string(),
        _ => return None,
    };
    Some(shorten(&text))
}

/// At most 200 characters of `text`, on one line.
pub(crate) fn shorten(text: &str) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match line.char_indices().nth(200) {
        Some((index, _)) => format!("{}…", &line[..index]),
        None => line,
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: u16, retry_after: Option<&str>, body: &str, expected: Option<(bool, Option<u64>, &str)>) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let got = classify_status(status, retry_after, body, now).map(|f| (f.retryable, f.retry_after, f.reason));
        let expected = expected.map(|(r, a, m)| (r, a, m.to_string()));
        assert_eq!(got, expected, "{status} {retry_after:?}");
    }

    #[test]
    fn statuses_are_classified_in_one_place() {
        check(200, None, "", None);
        check(201, Some("5"), "", None);
        check(429, Some("7"), "", Some((true, Some(7), "HTTP 429 Too Many Requests")));
        check(
            429,
            Some("Tue, 14 Nov 2023 22:13:50 GMT"),
            "",
            Some((true, Some(30), "HTTP 429 Too Many Requests")),
        );
        check(
            503,
            Some("Tue, 14 Nov 2023 22:00:00 GMT"),
            "",
            Some((true, Some(0), "HTTP 503 Service Unavailable")),
        );
        check(
            500,
            Some("soon"),
            "oops",
            Some((true, None, "HTTP 500 Internal Server Error")),
        );
        check(502, None, "", Some((true, None, "HTTP 502 Bad Gateway")));
        check(
            400,
            Some("9"),
            r#"{"code":"rest_invalid_param","message":"Invalid parameter(s): update","data":{"status":400}}"#,
            Some((false, None, "HTTP 400 Bad Request: Invalid parameter(s): update")),
        );
        check(
            401,
            None,
            r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#,
            Some((
                false,
                None,
                "HTTP 401 Unauthorized: [API] Invalid API key or access token (unrecognized login or wrong password)",
            )),
        );
        check(404, None, "<html>", Some((false, None, "HTTP 404 Not Found")));
        check(413, None, "", Some((false, None, "HTTP 413 Payload Too Large")));
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(parse_retry_after(" 0 ", now), Some(0));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(u64::MAX));
        assert_eq!(parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now), Some(60));
    }

    #[test]
    fn long_messages_are_shortened() {
        let long = "x".repeat(500);
        assert_eq!(shorten(&long).chars().count(), 201);
        assert_eq!(shorten("a\nb"), "a b");
    }

    #[test]
    fn paths_drop_host_and_query() {
        assert_eq!(
            url_path("http://127.0.0.1:8080/wp-json/wc/v3/products?sku=A&oauth_signature=x"),
            "/wp-json/wc/v3/products"
        );
        assert_eq!(url_path("https://shop.example"), "/");
    }
}
