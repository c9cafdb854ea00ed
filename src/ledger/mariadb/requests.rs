//! Inbound API request metrics on MariaDB/MySQL (see [`crate::ledger::requests`]): one counter
//! row per (hour, route, method), counted with one upsert, so workers on every server counting
//! at once lose no request. Writes run inside the caller's transaction; inputs were validated.

use mysql::Row;

use super::stock::column;
use super::Tx;
use crate::ledger::requests::{hour_of, ApiRequest, RequestStats, RouteStats, LATENCY_BUCKETS};
use crate::Result;

/// The summed counters from `requests` on, as whole numbers (`SUM` is a DECIMAL in MySQL):
/// requests, client errors, server errors, total µs, max µs, then the histogram.
fn stats_columns() -> String {
    let sums = ["requests", "client_errors", "server_errors", "total_us"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..LATENCY_BUCKETS).map(|i| format!("h{i}")))
        .map(|c| format!("CAST(SUM({c}) AS SIGNED)"));
    let mut columns: Vec<String> = sums.collect();
    columns.insert(4, "MAX(max_us)".to_owned());
    columns.join(", ")
}

/// Reads counts from `row`, starting at column `first`, in [`stats_columns`]' order.
fn stats_from_row(row: &mut Row, first: usize) -> Result<RequestStats> {
    let mut count = |i: usize| -> Result<u64> {
        let value: Option<i64> = column(row, first + i)?;
        Ok(u64::try_from(value.unwrap_or(0)).unwrap_or(0))
    };
    let (requests, client_errors, server_errors, total_us, max_us) =
        (count(0)?, count(1)?, count(2)?, count(3)?, count(4)?);
    let mut histogram = [0; LATENCY_BUCKETS];
    for (i, slot) in histogram.iter_mut().enumerate() {
        *slot = count(5 + i)?;
    }
    Ok(RequestStats {
        requests,
        client_errors,
        server_errors,
        total_us,
        max_us,
        histogram,
    })
}

/// Counts one validated request in its hour's row.
pub(super) fn record(tx: &mut Tx<'_>, request: &ApiRequest, now: i64) -> Result<()> {
    // One statement per histogram column (twelve, all cached).
    let bucket = format!("h{}", request.latency_bucket());
    let sql = format!(
        "INSERT INTO {{p}}api_requests (hour, route, method, requests, client_errors, server_errors, total_us, \
                                        max_us, {bucket}) \
         VALUES (?, ?, ?, 1, ?, ?, ?, ?, 1) \
         ON DUPLICATE KEY UPDATE requests = requests + 1, \
           client_errors = client_errors + VALUES(client_errors), server_errors = server_errors + VALUES(server_errors), \
           total_us = total_us + VALUES(total_us), max_us = GREATEST(max_us, VALUES(max_us)), {bucket} = {bucket} + 1"
    );
    let duration = i64::try_from(request.duration_us).unwrap_or(i64::MAX);
    tx.exec_drop(
        &sql,
        (
            hour_of(now),
            &request.route,
            &request.method,
            request.client_error(),
            request.server_error(),
            duration,
            duration,
        ),
    )?;
    Ok(())
}

/// Every route's counts per hour in `[since, until)`, summed over routes: (hour start, counts),
/// oldest first.
pub(super) fn hourly(tx: &mut Tx<'_>, since: i64, until: i64) -> Result<Vec<(i64, RequestStats)>> {
    let sql = format!(
        "SELECT hour, {} FROM {{p}}api_requests WHERE hour >= ? AND hour < ? GROUP BY hour ORDER BY hour",
        stats_columns()
    );
    let rows: Vec<Row> = tx.exec(&sql, (hour_of(since), until))?;
    rows.into_iter()
        .map(|mut row| Ok((column(&mut row, 0)?, stats_from_row(&mut row, 1)?)))
        .collect()
}

/// Counts per route and method in `[since, until)`, busiest first.
pub(super) fn by_route(tx: &mut Tx<'_>, since: i64, until: i64) -> Result<Vec<RouteStats>> {
    let sql = format!(
        "SELECT route, method, {} FROM {{p}}api_requests WHERE hour >= ? AND hour < ? GROUP BY route, method \
         ORDER BY SUM(requests) DESC, route, method",
        stats_columns()
    );
    let rows: Vec<Row> = tx.exec(&sql, (hour_of(since), until))?;
    rows.into_iter()
        .map(|mut row| {
            Ok(RouteStats {
                route: column(&mut row, 0)?,
                method: column(&mut row, 1)?,
                stats: stats_from_row(&mut row, 2)?,
            })
        })
        .collect()
}

/// Deletes the hours that ended before `older_than`; returns how many rows.
pub(super) fn prune(tx: &mut Tx<'_>, older_than: i64) -> Result<usize> {
    let deleted = tx.exec_drop("DELETE FROM {p}api_requests WHERE hour + 3600 <= ?", (older_than,))?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
