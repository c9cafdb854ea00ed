<?php
/**
 * The health report: is the sync keeping up? Read from the ledger (job counts, pending jobs,
 * done jobs per channel, sync runs, stock alerts) and from WordPress (the cron heartbeat and
 * schedule). Used by the hourly health check (alerts), `GET /health`, the status page and
 * `wp inventory-sync status`.
 *
 * Problems, each with a stable key (the alert throttle remembers mails by it):
 * - `cron_stalled`: our cron events have not run for HEALTH_CRON_STALE_SECONDS (the heartbeat
 *   is older, or missing, AND the every-minute queue event is that late or not scheduled —
 *   both, so neither a fresh activation nor one manual run raises a false alarm);
 * - `dead_jobs`: jobs gave up and wait for an admin's retry;
 * - `backlog`: pending jobs due more than HEALTH_BACKLOG_SECONDS ago (the runner is not
 *   keeping up, or not running);
 * - `stale_channel:<key>`: an enabled channel has had work waiting for over
 *   HEALTH_STALE_CHANNEL_SECONDS and pushed nothing successfully in that time (a channel with
 *   nothing to push is in sync, however long ago its last push was).
 * Stock alerts (oversold, critical, low, warning) are counted but are not sync problems.
 *
 * @package InventorySync
 */

namespace InventorySync\Health;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\CRON_RUN_QUEUE;
use const InventorySync\HEALTH_BACKLOG_SECONDS;
use const InventorySync\HEALTH_CRON_STALE_SECONDS;
use const InventorySync\HEALTH_STALE_CHANNEL_SECONDS;
use const InventorySync\OPTION_CRON_HEARTBEAT;

defined( 'ABSPATH' ) || exit;

/** Pending jobs read per page, and at most this many pages, when looking for a backlog. */
const JOBS_PAGE  = 1000;
const JOBS_PAGES = 20;

/**
 * The health report at $now (default: now; a later time answers "what if nothing runs until
 * then").
 *
 * @return array{status: string, checked_at: int, problems: list<array{key: string, message: string}>, cron: array, queue: ?array, channels: list<array>, last_queue_run: ?array, stock: ?array}
 */
function report( ?int $now = null ): array {
	$now    = $now ?? time();
	$report = array(
		'status'         => 'ok',
		'checked_at'     => $now,
		'problems'       => array(),
		'cron'           => cron_state( $now ),
		'queue'          => null,
		'channels'       => array(),
		'last_queue_run' => null,
		'stock'          => null,
	);
	if ( $report['cron']['stalled'] ) {
		$report['problems'][] = problem(
			'cron_stalled',
			null === $report['cron']['last_run']
				? __( 'Scheduled tasks (WP-Cron) have not run: nothing is pushed to the channels except right after a change. Set up a system cron (see the README) or make sure the site gets visits.', 'inventory-sync' )
				: sprintf(
					/* translators: %s: how long ago, e.g. "2 hours" */
					__( 'Scheduled tasks (WP-Cron) last ran %s ago: syncs, retries and health checks are not running. Set up a system cron (see the README) or make sure the site gets visits.', 'inventory-sync' ),
					human_time_diff( $report['cron']['last_run'], $now )
				)
		);
	}
	try {
		$ledger                   = ledger();
		$report['queue']          = queue_state( $ledger, $now );
		$report['channels']       = channel_states( $ledger, $now, $report['queue']['waiting_since'] );
		$runs                     = $ledger->syncRuns( array( 'kind' => 'queue', 'limit' => 1 ) )['runs'];
		$report['last_queue_run'] = $runs[0] ?? null;
		$report['stock']          = stock_counts( $ledger->alerts( null, null, $now ) );
	} catch ( SyncException $e ) {
		$report['status']     = 'failing';
		$report['problems'][] = problem( 'ledger', __( 'The stock ledger cannot be read.', 'inventory-sync' ), array( 'error' => $e->getMessage() ) );
		return $report;
	}
	unset( $report['queue']['waiting_since'] );

	$dead = (int) $report['queue']['counts']['dead'];
	if ( $dead > 0 ) {
		$report['problems'][] = problem(
			'dead_jobs',
			sprintf(
				/* translators: %d: number of jobs */
				_n( '%d push gave up and waits for a retry (Inventory Sync → Queue, or wp inventory-sync retry --all).', '%d pushes gave up and wait for a retry (Inventory Sync → Queue, or wp inventory-sync retry --all).', $dead, 'inventory-sync' ),
				$dead
			),
			array( 'count' => $dead )
		);
	}
	$past_due = (int) $report['queue']['past_due'];
	if ( $past_due > 0 ) {
		$report['problems'][] = problem(
			'backlog',
			sprintf(
				/* translators: 1: number of jobs, 2: how long, e.g. "20 mins" */
				_n( '%1$d push is overdue, the oldest by %2$s: the queue is not keeping up or not running.', '%1$d pushes are overdue, the oldest by %2$s: the queue is not keeping up or not running.', $past_due, 'inventory-sync' ),
				$past_due,
				human_time_diff( (int) $report['queue']['oldest_due_at'], $now )
			),
			array( 'count' => $past_due )
		);
	}
	foreach ( $report['channels'] as $channel ) {
		if ( $channel['stale'] ) {
			$report['problems'][] = problem(
				'stale_channel:' . $channel['key'],
				sprintf(
					/* translators: 1: channel name, 2: how long, e.g. "3 hours" */
					__( 'Channel "%1$s" has had stock changes waiting for %2$s without a successful push.', 'inventory-sync' ),
					$channel['name'],
					human_time_diff( (int) $channel['waiting_since'], $now )
				),
				array( 'channel' => $channel['key'] )
			);
		}
	}
	if ( array() !== $report['problems'] ) {
		$report['status'] = 'degraded';
	}
	return $report;
}

/**
 * One problem of the report.
 *
 * @param array<string, mixed> $data Details.
 * @return array{key: string, message: string}
 */
function problem( string $key, string $message, array $data = array() ): array {
	return array(
		'key'     => $key,
		'message' => $message,
	) + $data;
}

/**
 * Whether our cron events run: the heartbeat and how late the every-minute queue event is.
 *
 * @return array{last_run: ?int, last_hook: ?string, next_queue_run: ?int, overdue_seconds: ?int, wp_cron_disabled: bool, stalled: bool}
 */
function cron_state( int $now ): array {
	$beat    = get_option( OPTION_CRON_HEARTBEAT );
	$last    = is_array( $beat ) && isset( $beat['time'] ) ? (int) $beat['time'] : null;
	$next    = wp_next_scheduled( CRON_RUN_QUEUE );
	$overdue = false === $next ? null : max( 0, $now - (int) $next );
	$quiet   = null === $last || $now - $last > HEALTH_CRON_STALE_SECONDS;
	$late    = null === $overdue || $overdue > HEALTH_CRON_STALE_SECONDS;
	return array(
		'last_run'         => $last,
		'last_hook'        => is_array( $beat ) && isset( $beat['hook'] ) ? (string) $beat['hook'] : null,
		'next_queue_run'   => false === $next ? null : (int) $next,
		'overdue_seconds'  => $overdue,
		'wp_cron_disabled' => defined( 'DISABLE_WP_CRON' ) && DISABLE_WP_CRON,
		'stalled'          => $quiet && $late,
	);
}

/**
 * Job counts and the past-due backlog (pending jobs due before $now − HEALTH_BACKLOG_SECONDS),
 * from the pending jobs, newest first, at most JOBS_PAGES pages.
 *
 * @return array{counts: array<string, int>, past_due: int, oldest_due_at: ?int, complete: bool, waiting_since: array<string, int>}
 */
function queue_state( \InventorySync\Ledger $ledger, int $now ): array {
	$cutoff   = $now - HEALTH_BACKLOG_SECONDS;
	$past_due = 0;
	$oldest   = null;
	$waiting  = array();
	$before   = null;
	$pages    = 0;
	do {
		$query = array(
			'status' => 'pending',
			'limit'  => JOBS_PAGE,
		);
		if ( null !== $before ) {
			$query['before'] = $before;
		}
		$page = $ledger->jobs( $query );
		foreach ( $page['jobs'] as $job ) {
			$channel             = (string) $job['channel'];
			$waiting[ $channel ] = min( $waiting[ $channel ] ?? PHP_INT_MAX, (int) $job['created_at'] );
			if ( (int) $job['next_attempt_at'] <= $cutoff ) {
				++$past_due;
				$oldest = min( $oldest ?? PHP_INT_MAX, (int) $job['next_attempt_at'] );
			}
		}
		$before = $page['next_before'];
	} while ( null !== $before && ++$pages < JOBS_PAGES );
	return array(
		'counts'        => $ledger->jobCounts(),
		'past_due'      => $past_due,
		'oldest_due_at' => $oldest,
		'complete'      => null === $before,
		'waiting_since' => $waiting,
	);
}

/**
 * Per channel: last successful push, jobs waiting and since when, dead jobs, stale or not.
 *
 * @param array<string, int> $waiting_since Channel key => oldest pending job's creation time.
 * @return list<array{key: string, name: string, kind: string, enabled: bool, last_push_at: ?int, pending: int, dead: int, waiting_since: ?int, stale: bool}>
 */
function channel_states( \InventorySync\Ledger $ledger, int $now, array $waiting_since ): array {
	$states = array();
	foreach ( $ledger->channels() as $channel ) {
		$key    = (string) $channel['key'];
		$done   = $ledger->jobs(
			array(
				'channel' => $key,
				'status'  => 'done',
				'limit'   => 1,
			)
		)['jobs'];
		$counts = $ledger->jobCounts( $key );
		$last   = isset( $done[0] ) ? (int) $done[0]['updated_at'] : null;
		$since  = $waiting_since[ $key ] ?? null;
		// Waiting for over the threshold, and nothing pushed since it started waiting either.
		$stale    = (bool) $channel['enabled'] && null !== $since
			&& $now - max( $since, $last ?? 0 ) > HEALTH_STALE_CHANNEL_SECONDS;
		$states[] = array(
			'key'           => $key,
			'name'          => (string) $channel['name'],
			'kind'          => (string) $channel['kind'],
			'enabled'       => (bool) $channel['enabled'],
			'last_push_at'  => $last,
			'pending'       => (int) $counts['pending'],
			'dead'          => (int) $counts['dead'],
			'waiting_since' => $since,
			'stale'         => $stale,
		);
	}
	return $states;
}

/**
 * How many SKUs are oversold, critical, low or at warning level.
 *
 * @param list<array{level: string, trigger: string}> $alerts Ledger::alerts() for every item.
 * @return array{oversold: int, critical: int, low: int, warning: int}
 */
function stock_counts( array $alerts ): array {
	$counts = array(
		'oversold' => 0,
		'critical' => 0,
		'low'      => 0,
		'warning'  => 0,
	);
	foreach ( $alerts as $alert ) {
		if ( 'oversold' === $alert['trigger'] ) {
			++$counts['oversold'];
		} elseif ( isset( $counts[ $alert['level'] ] ) ) {
			++$counts[ $alert['level'] ];
		}
	}
	return $counts;
}

/**
 * Rows for the status page (label => text).
 *
 * @return array<string, string>
 */
function status_rows( array $report ): array {
	$when = static fn ( ?int $time ): string => null === $time ? '—' : sprintf(
		/* translators: %s: how long ago */
		__( '%s ago', 'inventory-sync' ),
		human_time_diff( $time, $report['checked_at'] )
	);
	$rows = array(
		__( 'Sync health', 'inventory-sync' ) => 'ok' === $report['status']
			? __( 'OK', 'inventory-sync' )
			: implode( ' ', array_column( $report['problems'], 'message' ) ),
		__( 'Last cron run', 'inventory-sync' ) => $when( $report['cron']['last_run'] ),
	);
	if ( null !== $report['queue'] ) {
		$counts = $report['queue']['counts'];
		$rows[ __( 'Queue', 'inventory-sync' ) ] = sprintf(
			/* translators: 1: pending, 2: running, 3: dead */
			__( '%1$d pending · %2$d running · %3$d dead', 'inventory-sync' ),
			$counts['pending'],
			$counts['running'],
			$counts['dead']
		);
		$rows[ __( 'Last queue run', 'inventory-sync' ) ] = null === $report['last_queue_run'] ? '—' : $when( (int) $report['last_queue_run']['started_at'] );
	}
	return $rows;
}
