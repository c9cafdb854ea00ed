//! Inbound API request metrics: how many requests each route of the REST API (and the webhooks)
//! answered, how many were refused (4xx) or failed (5xx), and how long they took. Plain values
//! shared by every backend.
//!
//! A store keeps one counter row per (hour, route, method): a request adds 1 to it, its status
//! class and its duration, and 1 to the latency histogram bucket it falls in
//! ([`LATENCY_BOUNDS_MS`]). Rows are never per request, so the table stays small (a busy store
//! with ten routes keeps ~240 rows a day) and a request costs one small upsert. Percentiles are
//! read from the histogram: "p95 ≤ 250 ms" is exact about the bucket, not the millisecond.
//!
//! Reports count hours into days, weeks (from Monday) and months of the site's time with the
//! same [`ActivityQuery`] as the sync activity; a site whose UTC offset is not whole hours sees
//! its days start at the hour before its local midnight.

use super::rules;
use super::run::ActivityQuery;
use crate::{Error, Result};

/// Upper bounds (inclusive, in milliseconds) of the latency histogram's buckets; one more bucket
/// holds everything slower.
pub const LATENCY_BOUNDS_MS: [u64; 11] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/// Buckets of the latency histogram ([`LATENCY_BOUNDS_MS`] and the slower rest).
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// Longest route, in characters (the route pattern, e.g. `/inventory-sync/v1/stock/{sku}`).
pub const MAX_ROUTE_CHARS: usize = 200;

/// The longest duration recorded (a day, in microseconds); longer ones are refused as absurd.
pub const MAX_DURATION_US: u64 = 86_400_000_000;

/// The HTTP methods recorded.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The route pattern (not the path: `/stock/{sku}`, not `/stock/TEE-1`), 1–[`MAX_ROUTE_CHARS`].
    pub route: String,
    /// The HTTP method, one of [`METHODS`] (any case).
    pub method: String,
    /// The HTTP status answered, 100–599.
    pub status: u16,
    /// How long the request took, in microseconds (≤ [`MAX_DURATION_US`]).
    pub duration_us: u64,
}

impl ApiRequest {
    /// The request checked (route trimmed, method upper-cased), or a validation error naming
    /// the field.
    pub fn validated(&self) -> Result<ApiRequest> {
        let method = self.method.trim().to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(Error::validation(
                "method",
                format!("must be one of {}", METHODS.join(", ")),
            ));
        }
        if !(100..=599).contains(&self.status) {
            return Err(Error::validation("status", "must be an HTTP status (100–599)"));
        }
        if self.duration_us > MAX_DURATION_US {
            return Err(Error::validation("duration_ms", "must be at most a day"));
        }
        Ok(ApiRequest {
            route: rules::required("route", &self.route, MAX_ROUTE_CHARS)?,
            method,
            status: self.status,
            duration_us: self.duration_us,
        })
    }

    /// The histogram bucket of its duration.
    pub fn latency_bucket(&self) -> usize {
        let ms = self.duration_us.div_ceil(1_000);
        LATENCY_BOUNDS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(LATENCY_BOUNDS_MS.len())
    }

    /// 1 for a 4xx answer, else 0.
    pub fn client_error(&self) -> u64 {
        u64::from((400..500).contains(&self.status))
    }

    /// 1 for a 5xx answer, else 0.
    pub fn server_error(&self) -> u64 {
        u64::from(self.status >= 500)
    }
}

/// Requests counted together (an hour, a day, a route, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Requests answered.
    pub requests: u64,
    /// Of those, answered 4xx (refused: bad input, no key, rate limited, …).
    pub client_errors: u64,
    /// Of those, answered 5xx.
    pub server_errors: u64,
    /// Sum of their durations, in microseconds.
    pub total_us: u64,
    /// The slowest, in microseconds.
    pub max_us: u64,
    /// Requests per latency bucket ([`LATENCY_BOUNDS_MS`]).
    pub histogram: [u64; LATENCY_BUCKETS],
}

impl RequestStats {
    /// Adds other counts to these.
    pub fn add(&mut self, other: &RequestStats) {
        self.requests += other.requests;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.total_us += other.total_us;
        self.max_us = self.max_us.max(other.max_us);
        for (mine, theirs) in self.histogram.iter_mut().zip(other.histogram.iter()) {
            *mine += theirs;
        }
    }

    /// Requests answered 4xx or 5xx over all requests (0 without requests).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            (self.client_errors + self.server_errors) as f64 / self.requests as f64
        }
    }

    /// The mean duration in milliseconds (0 without requests).
    pub fn average_ms(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.total_us as f64 / self.requests as f64 / 1_000.0
        }
    }

    /// The slowest duration in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1_000.0
    }

    /// At most how many milliseconds the `percentile` (0 < p ≤ 100) fastest requests took: the
    /// upper bound of the histogram bucket holding that request, or the slowest duration when
    /// that is lower (or the request is in the last bucket). `None` without requests.
    pub fn percentile_ms(&self, percentile: f64) -> Option<f64> {
        if self.requests == 0 {
            return None;
        }
        let rank = ((percentile.clamp(0.0, 100.0) / 100.0) * self.requests as f64)
            .ceil()
            .max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in self.histogram.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let bound = LATENCY_BOUNDS_MS.get(i).map(|&b| b as f64);
                return Some(bound.map_or(self.max_ms(), |b| b.min(self.max_ms())));
            }
        }
        Some(self.max_ms())
    }
}

/// The requests of one bucket of an [`ActivityQuery`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestBucket {
    /// When the bucket starts (unix seconds; local midnight for days, Monday for weeks, the 1st
    /// for months).
    pub start: i64,
    /// What was counted in it.
    pub stats: RequestStats,
}

/// The requests of one route and method over a span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// The route pattern.
    pub route: String,
    /// The HTTP method.
    pub method: String,
    /// What was counted.
    pub stats: RequestStats,
}

/// The start (unix seconds) of the hour holding `at`: the rows' key.
pub fn hour_of(at: i64) -> i64 {
    at.div_euclid(3_600) * 3_600
}

/// Every bucket of `query`, oldest first, empty ones included, from the counted hours (hour
/// start, counts) in `[since, until)`.
pub fn fill_buckets(query: &ActivityQuery, hours: &[(i64, RequestStats)]) -> Vec<RequestBucket> {
    let (first, last) = (query.slot(query.since), query.slot(query.until - 1));
    let mut buckets: Vec<RequestBucket> = (first..=last)
        .map(|slot| RequestBucket {
            start: query.slot_start(slot),
            stats: RequestStats::default(),
        })
        .collect();
    for (hour, stats) in hours {
        let slot = query.slot(*hour);
        if (first..=last).contains(&slot) {
            buckets[usize::try_from(slot - first).unwrap_or(0)].stats.add(stats);
        }
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: u16, ms: u64) -> ApiRequest {
        ApiRequest {
            route: "/inventory-sync/v1/movements".into(),
            method: "post".into(),
            status,
            duration_us: ms * 1_000,
        }
    }

    fn stats_of(requests: &[ApiRequest]) -> RequestStats {
        let mut stats = RequestStats::default();
        for r in requests {
            let mut one = RequestStats {
                requests: 1,
                client_errors: r.client_error(),
                server_errors: r.server_error(),
                total_us: r.duration_us,
                max_us: r.duration_us,
                ..RequestStats::default()
            };
            one.histogram[r.latency_bucket()] = 1;
            stats.add(&one);
        }
        stats
    }

    #[test]
    fn a_request_is_checked_and_falls_in_its_latency_bucket() {
        let ok = request(201, 30).validated().unwrap();
        assert_eq!(ok.method, "POST");
        assert_eq!(ok.latency_bucket(), 3, "30 ms is in the ≤ 50 ms bucket");
        assert_eq!(request(200, 5).latency_bucket(), 0, "bounds are inclusive");
        assert_eq!(request(200, 0).latency_bucket(), 0);
        assert_eq!(request(200, 10_001).latency_bucket(), LATENCY_BUCKETS - 1);
        let cases = [
            (
                ApiRequest {
                    method: "BREW".into(),
                    ..request(200, 1)
                },
                "method",
            ),
            (request(99, 1), "status"),
            (request(600, 1), "status"),
            (
                ApiRequest {
                    duration_us: MAX_DURATION_US + 1,
                    ..request(200, 1)
                },
                "duration_ms",
            ),
            (
                ApiRequest {
                    route: "  ".into(),
                    ..request(200, 1)
                },
                "route",
            ),
            (
                ApiRequest {
                    route: "r".repeat(MAX_ROUTE_CHARS + 1),
                    ..request(200, 1)
                },
                "route",
            ),
        ];
        for (bad, field) in cases {
            match bad.validated() {
                Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn rates_averages_and_percentiles_come_from_the_counts() {
        // 18 fast requests, one refused, one slow failure.
        let mut all: Vec<ApiRequest> = (0..18).map(|i| request(200, 20 + i)).collect();
        all.push(request(401, 3));
        all.push(request(503, 1_800));
        let stats = stats_of(&all);
        assert_eq!((stats.requests, stats.client_errors, stats.server_errors), (20, 1, 1));
        assert!((stats.error_rate() - 0.1).abs() < 1e-9);
        let total_ms: u64 = (20..38).sum::<u64>() + 3 + 1_800;
        assert!((stats.average_ms() - total_ms as f64 / 20.0).abs() < 1e-9);
        assert_eq!(
            stats.percentile_ms(50.0),
            Some(50.0),
            "the median is in the ≤ 50 ms bucket"
        );
        assert_eq!(stats.percentile_ms(95.0), Some(50.0), "19 of 20 took ≤ 50 ms");
        assert_eq!(
            stats.percentile_ms(100.0),
            Some(1_800.0),
            "the slowest, not the bucket's 2,500"
        );
        assert_eq!(stats.max_ms(), 1_800.0);
        assert_eq!(RequestStats::default().percentile_ms(95.0), None);
        assert_eq!(RequestStats::default().error_rate(), 0.0);
        // Beyond the last bound: the slowest.
        let slow = stats_of(&[request(200, 12_000)]);
        assert_eq!(slow.percentile_ms(95.0), Some(12_000.0));
    }

    #[test]
    fn hours_are_counted_into_the_query_s_days() {
        let day = 86_400;
        // Two days in UTC+2: local midnight is 22:00 UTC the day before.
        let query = ActivityQuery {
            since: 10 * day - 7_200,
            until: 12 * day - 7_200,
            bucket_seconds: day,
            offset_seconds: 7_200,
            kind: None,
        };
        let one = stats_of(&[request(200, 40)]);
        let hours = [
            (hour_of(10 * day - 7_200), one.clone()),  // first local hour of day 1
            (hour_of(11 * day - 10_800), one.clone()), // 23:00 local, still day 1
            (hour_of(11 * day - 7_200), one.clone()),  // day 2
            (hour_of(12 * day), one.clone()),          // after the span: not counted
        ];
        let buckets = fill_buckets(&query, &hours);
        let counts: Vec<(i64, u64)> = buckets.iter().map(|b| (b.start, b.stats.requests)).collect();
        assert_eq!(counts, [(10 * day - 7_200, 2), (11 * day - 7_200, 1)]);
        assert_eq!(hour_of(3_599), 0);
        assert_eq!(hour_of(-1), -3_600);
    }
}
