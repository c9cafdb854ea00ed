//! Inbound API request metrics in SQLite (see [`crate::ledger::requests`]): one counter row per
//! (hour, route, method). Writes run inside the caller's transaction; inputs were validated.

use rusqlite::{params, Connection, Row};

use crate::ledger::requests::{hour_of, ApiRequest, RequestStats, RouteStats, LATENCY_BUCKETS};
use crate::Result;

/// The summed histogram columns, `SUM(h0), SUM(h1), …`.
fn histogram_sums() -> String {
    (0..LATENCY_BUCKETS)
        .map(|i| format!("SUM(h{i})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads counts from `row`, starting at column `first`: requests, client errors, server
/// errors, total µs, max µs, then the histogram.
fn stats_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<RequestStats> {
    let count =
        |i: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, Option<i64>>(first + i)?.unwrap_or(0).max(0) as u64) };
    let mut histogram = [0; LATENCY_BUCKETS];
    for (i, slot) in histogram.iter_mut().enumerate() {
        *slot = count(5 + i)?;
    }
    Ok(RequestStats {
        requests: count(0)?,
        client_errors: count(1)?,
        server_errors: count(2)?,
        total_us: count(3)?,
        max_us: count(4)?,
        histogram,
    })
}

/// Counts one validated request in its hour's row.
pub(super) fn record(conn: &Connection, request: &ApiRequest, now: i64) -> Result<()> {
    // One statement per histogram column (twelve, all cached).
    let bucket = format!("h{}", request.latency_bucket());
    let sql = format!(
        "INSERT INTO api_requests (hour, route, method, requests, client_errors, server_errors, total_us, max_us, {bucket}) \
         VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?6, 1) \
         ON CONFLICT (hour, route, method) DO UPDATE SET requests = requests + 1, \
           client_errors = client_errors + excluded.client_errors, server_errors = server_errors + excluded.server_errors, \
           total_us = total_us + excluded.total_us, max_us = MAX(max_us, excluded.max_us), {bucket} = {bucket} + 1"
    );
    let duration = i64::try_from(request.duration_us).unwrap_or(i64::MAX);
    conn.prepare_cached(&sql)?.execute(params![
        hour_of(now),
        request.route,
        request.method,
        request.client_error() as i64,
        request.server_error() as i64,
        duration
    ])?;
    Ok(())
}

/// Every route's counts per hour in `[since, until)`, summed over routes: (hour start, counts),
/// oldest first.
pub(super) fn hourly(conn: &Connection, since: i64, until: i64) -> Result<Vec<(i64, RequestStats)>> {
    let sql = format!(
        "SELECT hour, SUM(requests), SUM(client_errors), SUM(server_errors), SUM(total_us), MAX(max_us), {} \
         FROM api_requests WHERE hour >= ?1 AND hour < ?2 GROUP BY hour ORDER BY hour",
        histogram_sums()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![hour_of(since), until], |row| {
        Ok((row.get::<_, i64>(0)?, stats_from_row(row, 1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Counts per route and method in `[since, until)`, busiest first.
pub(super) fn by_route(conn: &Connection, since: i64, until: i64) -> Result<Vec<RouteStats>> {
    let sql = format!(
        "SELECT route, method, SUM(requests), SUM(client_errors), SUM(server_errors), SUM(total_us), MAX(max_us), {} \
         FROM api_requests WHERE hour >= ?1 AND hour < ?2 GROUP BY route, method \
         ORDER BY SUM(requests) DESC, route, method",
        histogram_sums()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![hour_of(since), until], |row| {
        Ok(RouteStats {
            route: row.get(0)?,
            method: row.get(1)?,
            stats: stats_from_row(row, 2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes the hours that ended before `older_than`; returns how many rows.
pub(super) fn prune(conn: &Connection, older_than: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM api_requests WHERE hour + 3600 <= ?1", params![older_than])?)
}
