//! Fake channel servers for the adapter tests: std `TcpListener` on 127.0.0.1, port 0, a thread
//! per connection, a tiny HTTP/1.1 reader (test-only) with keep-alive, as the channels' own
//! servers speak it. A server stops (its connections closed, its threads joined) when dropped. Some fakes can be told to enforce a
//! rate limit ([`Limiter`]), answering 429 with `Retry-After` when a client goes too fast.
#![allow(dead_code)]

pub mod amazon;
pub mod ebay;
pub mod erp_source;
pub mod shopify;
pub mod webhook_receiver;
pub mod woocommerce;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use inventory_sync::channels::http::HttpConfig;
use inventory_sync::channels::Pacer;

/// Timeouts short enough that every failure test finishes in well under a second or two.
pub fn fast_http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(400),
        overall_timeout: Duration::from_secs(3),
        user_agent: "inventory-sync-tests".into(),
    }
}

/// A pacer that counts how often an adapter asked it (once per HTTP request is the contract).
pub struct CountingPacer(pub Arc<AtomicUsize>);

impl Pacer for CountingPacer {
    fn before_call(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting pacer for `with_pacer` and the counter to read.
pub fn counting_pacer() -> (Box<dyn Pacer>, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    (Box::new(CountingPacer(count.clone())), count)
}

/// Decodes an `application/x-www-form-urlencoded` body (`+` and `%20` are spaces).
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

/// Decodes one percent-encoded path segment.
pub fn decode_segment(text: &str) -> String {
    decode(text)
}

/// A misbehaviour a fake performs for the next request instead of (or before) answering.
#[derive(Debug, Clone)]
pub enum Misbehave {
    /// Answer with this status, an optional `Retry-After`, and an error body.
    Status(u16, Option<String>),
    /// Wait this long before answering (beyond the client's timeout).
    Slow(Duration),
    /// Read the request, then close the connection without answering.
    Drop,
    /// Shopify only: a `THROTTLED` GraphQL error.
    Throttled,
}

/// A token bucket a fake enforces when told to (opt-in, off by default): `rate` requests per
/// second, at most `burst` at once. A request over the limit is refused (the fake answers 429 with
/// `Retry-After`) and takes no token, like SP-API's usage plans; the fake counts both kinds.
#[derive(Debug, Clone)]
pub struct Limiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
    stats: LimitStats,
}

/// What a [`Limiter`] let through and refused.
#[derive(Debug, Clone, Default)]
pub struct LimitStats {
    /// Requests admitted.
    pub admitted: usize,
    /// Requests refused (answered 429).
    pub refused: usize,
    /// When the first and the last admitted request arrived.
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

impl Limiter {
    /// A full bucket of `burst` (at least 1) refilled at `rate` requests per second (> 0).
    pub fn new(rate: f64, burst: u32) -> Limiter {
        assert!(rate > 0.0, "a limiter needs a positive rate");
        let burst = f64::from(burst.max(1));
        Limiter {
            rate,
            burst,
            tokens: burst,
            refilled: Instant::now(),
            stats: LimitStats::default(),
        }
    }

    /// Admits a request arriving now, or refuses it with the whole seconds (at least 1) until a
    /// token is due, for `Retry-After`.
    pub fn admit(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.stats.admitted += 1;
            self.stats.first.get_or_insert(now);
            self.stats.last = Some(now);
            Ok(())
        } else {
            self.stats.refused += 1;
            Err((((1.0 - self.tokens) / self.rate).ceil() as u64).max(1))
        }
    }

    pub fn stats(&self) -> LimitStats {
        self.stats.clone()
    }
}

/// The 429 a rate-limited fake answers, with `Retry-After` in seconds.
pub fn too_many_requests(retry_after: u64, body: serde_json::Value) -> Reply {
    Reply::Respond {
        status: 429,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Retry-After".into(), retry_after.to_string()),
        ],
        body: body.to_string(),
    }
}

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// What the handler wants sent back.
pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// A body of bytes (a gzip document).
    Raw {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Drop,
    Slow(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }
}

pub struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Connections>>,
}

/// The connections a server has open: a handle on each socket (to close it when the server
/// stops) and each connection's thread.
#[derive(Default)]
struct Connections {
    next: u64,
    sockets: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Serves `handler` on a new loopback port. Each connection gets a thread of its own, and
    /// stays open for the client's next request (HTTP/1.1 keep-alive, as the channels' own
    /// servers do) until the client closes it, asks `Connection: close`, or a [`Reply::Drop`]
    /// ends it; the handler runs for one request at a time per connection.
    pub fn start(handler: impl Fn(Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Connections::default()));
        let handler = Arc::new(handler);
        let (flag, open) = (stop.clone(), connections.clone());
        // A blocking accept: a polling one would add its sleep to every new connection's
        // latency. `drop` wakes it with a connection of its own.
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok(_) if flag.load(Ordering::SeqCst) => return,
                    Ok((stream, _)) => {
                        let Ok(socket) = stream.try_clone() else {
                            continue;
                        };
                        let mut connections = lock(&open);
                        let id = connections.next;
                        connections.next += 1;
                        connections.sockets.insert(id, socket);
                        let (handler, flag, open) = (handler.clone(), flag.clone(), open.clone());
                        let thread = std::thread::spawn(move || {
                            serve(&stream, &*handler, &flag);
                            // Closed for the client too (the handle kept for `drop` would keep
                            // the socket open).
                            lock(&open).sockets.remove(&id);
                            let _ = stream.shutdown(std::net::Shutdown::Both);
                        });
                        // Threads of connections already closed are done: let them go.
                        connections.threads.retain(|thread| !thread.is_finished());
                        connections.threads.push(thread);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server {
            port,
            stop,
            handle: Some(handle),
            connections,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many connections clients have opened so far.
    pub fn connections(&self) -> u64 {
        lock(&self.connections).next
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept; if it cannot connect, the listener is gone and the thread with it.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        // Then every connection still open: closing its socket ends the read its thread waits
        // in (a slow answer's wait checks the stop flag).
        let open = std::mem::take(&mut *lock(&self.connections));
        for socket in open.sockets.values() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        for thread in open.threads {
            let _ = thread.join();
        }
    }
}

/// Answers the requests of one connection, one after the other, until it ends.
fn serve(mut stream: &TcpStream, handler: &impl Fn(Request) -> Reply, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    // Head and body go out in one write each way, but a small answer must not wait for the
    // client's delayed ACK of the one before.
    let _ = stream.set_nodelay(true);
    // Bytes read past one request belong to the next.
    let mut pending = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Some(request) = read_request(stream, &mut pending) else {
            return;
        };
        let close = request
            .header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        let mut reply = handler(request);
        loop {
            match reply {
                Reply::Drop => return,
                Reply::Slow(delay, next) => {
                    let until = Instant::now() + delay;
                    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    reply = *next;
                }
                Reply::Respond { status, headers, body } => {
                    reply = Reply::Raw {
                        status,
                        headers,
                        body: body.into_bytes(),
                    };
                }
                Reply::Raw { status, headers, body } => {
                    let connection = if close { "close" } else { "keep-alive" };
                    let mut message = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: {connection}\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        message.push_str(&format!("{k}: {v}\r\n"));
                    }
                    message.push_str("\r\n");
                    let mut message = message.into_bytes();
                    message.extend_from_slice(&body);
                    if stream.write_all(&message).and_then(|()| stream.flush()).is_err() || close {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// Reads one request from `stream`, starting with the bytes in `pending` (read before, past
/// the request before); leaves there what it reads past this one. None when the connection
/// ends (or fails) before a whole request came.
fn read_request(mut stream: &TcpStream, pending: &mut Vec<u8>) -> Option<Request> {
    let mut buffer = std::mem::take(pending);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer.split_off(head_end + 4);
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    *pending = body.split_off(length);
    let (path, raw_query) = target.split_once('?').unwrap_or((&target, ""));
    let query = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Some(Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    })
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .to_string()
}
