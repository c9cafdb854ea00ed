<?php
/**
 * Alert e-mails (wp_mail): oversold SKUs and low stock (Ledger::alerts()), dead jobs, a past-due
 * backlog, stale channels and stalled cron (the health report), and an optional daily summary.
 *
 * Throttle: every problem has a key (`oversold:SKU`, `stock:SKU`, `dead_jobs`, `backlog`,
 * `stale_channel:KEY`, `cron_stalled`). OPTION_ALERT_STATE remembers, per open problem, since
 * when it is open, when it was last mailed and how severe it was. A check mails, in one message,
 * the problems that are new, got worse (low → critical), or are still open
 * ALERT_REPEAT_SECONDS after their last mail; a problem that is gone is forgotten, so it is
 * mailed again only when it comes back. One problem sends one mail, not one per check.
 *
 * Settings (a wp-config.php constant wins over the option): recipients
 * (INVENTORY_SYNC_ALERT_RECIPIENTS / OPTION_ALERT_RECIPIENTS, default the site's admin e-mail),
 * the lowest stock level mailed (INVENTORY_SYNC_ALERT_STOCK_LEVEL / OPTION_ALERT_STOCK_LEVEL:
 * critical, low — the default —, warning, or off), sync problems on or off
 * (OPTION_ALERT_SYNC), the daily summary (OPTION_ALERT_DAILY_SUMMARY, off by default).
 *
 * @package InventorySync
 */

namespace InventorySync\Alerts;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\ALERT_REPEAT_SECONDS;
use const InventorySync\CONSTANT_ALERT_RECIPIENTS;
use const InventorySync\CONSTANT_ALERT_STOCK_LEVEL;
use const InventorySync\DEFAULT_ALERT_STOCK_LEVEL;
use const InventorySync\OPTION_ALERT_DAILY_SUMMARY;
use const InventorySync\OPTION_ALERT_RECIPIENTS;
use const InventorySync\OPTION_ALERT_STATE;
use const InventorySync\OPTION_ALERT_STOCK_LEVEL;
use const InventorySync\OPTION_ALERT_SYNC;

defined( 'ABSPATH' ) || exit;

/** Stock alert levels, least to most severe (oversold is above all). */
const LEVELS = array(
	'warning'  => 1,
	'low'      => 2,
	'critical' => 3,
	'oversold' => 4,
);
/** Sync problems rank above stock levels. */
const SYNC_RANK = 5;
/** Lines listed per section of a mail; the rest are counted. */
const MAX_LINES = 100;
/** The throttle state's entry for when the last check ran. */
const CHECKED = '_checked';
/** Pages of 1000 records read for the daily summary, at most. */
const SUMMARY_PAGES = 50;

/**
 * CRON_HEALTH_CHECK, after the reservations expired: mails what needs attention.
 */
function action_health_check(): void {
	check();
}

/**
 * Runs a check when the last one is more than an hour old (for the kicked runner: without
 * WP-Cron the hourly check never runs, and a stalled cron must still be mailed).
 */
function maybe_check(): void {
	$state = get_option( OPTION_ALERT_STATE, array() );
	if ( ! is_array( $state ) || time() - (int) ( $state[ CHECKED ] ?? 0 ) >= HOUR_IN_SECONDS ) {
		check();
	}
}

/**
 * The alert recipients: the constant, else the setting, else the site's admin e-mail.
 *
 * @return list<string>
 */
function recipients(): array {
	$raw  = defined( CONSTANT_ALERT_RECIPIENTS ) ? (string) constant( CONSTANT_ALERT_RECIPIENTS ) : (string) get_option( OPTION_ALERT_RECIPIENTS, '' );
	$list = array_values( array_filter( array_map( 'sanitize_email', (array) preg_split( '/[\s,;]+/', $raw ) ), 'is_email' ) );
	return array() !== $list ? $list : array( (string) get_option( 'admin_email' ) );
}

/**
 * Sanitizes the recipients setting: valid addresses, comma-separated.
 *
 * @param mixed $value The submitted value.
 */
function sanitize_recipients( $value ): string {
	$list = array_filter( array_map( 'sanitize_email', (array) preg_split( '/[\s,;]+/', is_string( $value ) ? $value : '' ) ), 'is_email' );
	return implode( ', ', $list );
}

/**
 * The lowest stock level mailed: critical, low, warning or off.
 */
function stock_level(): string {
	$level = defined( CONSTANT_ALERT_STOCK_LEVEL ) ? (string) constant( CONSTANT_ALERT_STOCK_LEVEL ) : (string) get_option( OPTION_ALERT_STOCK_LEVEL, DEFAULT_ALERT_STOCK_LEVEL );
	return sanitize_stock_level( $level );
}

/**
 * Sanitizes the stock level setting.
 *
 * @param mixed $value The submitted value.
 */
function sanitize_stock_level( $value ): string {
	$value = is_string( $value ) ? strtolower( trim( $value ) ) : '';
	return in_array( $value, array( 'critical', 'low', 'warning', 'off' ), true ) ? $value : DEFAULT_ALERT_STOCK_LEVEL;
}

/**
 * What needs attention now, by problem key.
 *
 * @param array $report The health report.
 * @return array<string, array{rank: int, section: string, line: string}>
 */
function problems( array $report, int $now ): array {
	$problems = array();
	if ( (bool) get_option( OPTION_ALERT_SYNC, true ) ) {
		foreach ( $report['problems'] as $problem ) {
			$problems[ $problem['key'] ] = array(
				'rank'    => SYNC_RANK,
				'section' => 'sync',
				'line'    => $problem['message'],
			);
		}
	}
	$min = stock_level();
	if ( 'off' === $min || 'failing' === $report['status'] ) {
		return $problems;
	}
	try {
		$alerts = ledger()->alerts( null, null, $now );
	} catch ( SyncException $e ) {
		return $problems;
	}
	foreach ( $alerts as $alert ) {
		$oversold = 'oversold' === $alert['trigger'];
		$rank     = $oversold ? LEVELS['oversold'] : ( LEVELS[ $alert['level'] ] ?? 0 );
		if ( ! $oversold && $rank < LEVELS[ $min ] ) {
			continue;
		}
		$key              = ( $oversold ? 'oversold:' : 'stock:' ) . $alert['sku'];
		$problems[ $key ] = array(
			'rank'    => $rank,
			'section' => $oversold ? 'oversold' : 'stock',
			'line'    => sprintf(
				/* translators: 1: SKU, 2: item name, 3: alert level, 4: available quantity, 5: why */
				__( '%1$s (%2$s): %3$s, %4$d available — %5$s', 'inventory-sync' ),
				$alert['sku'],
				$alert['name'],
				$oversold ? __( 'oversold', 'inventory-sync' ) : $alert['level'],
				(int) $alert['available'],
				$alert['reason']
			),
		);
	}
	return $problems;
}

/**
 * Compares what needs attention with what was mailed and mails what is due (one message).
 * Returns the mail sent (to, subject, body), or null when nothing was due.
 *
 * @param array|null $report The health report (default: taken now).
 * @return array{to: list<string>, subject: string, body: string}|null
 */
function check( ?array $report = null, ?int $now = null ): ?array {
	$now     = $now ?? time();
	$report  = $report ?? \InventorySync\Health\report( $now );
	$current = problems( $report, $now );
	$state   = get_option( OPTION_ALERT_STATE, array() );
	$state   = is_array( $state ) ? $state : array();
	unset( $state[ CHECKED ] );

	$due = array();
	foreach ( $current as $key => $problem ) {
		$known = $state[ $key ] ?? null;
		if ( ! is_array( $known ) ) {
			$due[ $key ]   = $problem;
			$state[ $key ] = array(
				'since' => $now,
				'sent'  => $now,
				'rank'  => $problem['rank'],
			);
		} elseif ( $problem['rank'] > (int) $known['rank'] || $now - (int) $known['sent'] >= ALERT_REPEAT_SECONDS ) {
			$due[ $key ]           = $problem;
			$state[ $key ]['sent'] = $now;
			$state[ $key ]['rank'] = $problem['rank'];
		} else {
			// Better than before: remember it, so getting worse again is mailed.
			$state[ $key ]['rank'] = $problem['rank'];
		}
	}
	// Gone problems are forgotten: when one comes back, it is new again.
	$state = array_intersect_key( $state, $current );

	$mail = null;
	if ( array() !== $due ) {
		$mail = compose( $due, $current, $now );
		if ( ! wp_mail( $mail['to'], $mail['subject'], $mail['body'] ) ) {
			// Not delivered: mail these again at the next check.
			foreach ( array_keys( $due ) as $key ) {
				unset( $state[ $key ] );
			}
		}
	}
	$state[ CHECKED ] = $now;
	update_option( OPTION_ALERT_STATE, $state, false );
	return $mail;
}

/**
 * One alert message for the problems due.
 *
 * @param array<string, array{rank: int, section: string, line: string}> $due     Mailed now.
 * @param array<string, array{rank: int, section: string, line: string}> $current All open.
 * @return array{to: list<string>, subject: string, body: string}
 */
function compose( array $due, array $current, int $now ): array {
	$titles   = array(
		'sync'     => __( 'Sync problems', 'inventory-sync' ),
		'oversold' => __( 'Oversold SKUs (more was sold than was in stock)', 'inventory-sync' ),
		'stock'    => __( 'Low stock', 'inventory-sync' ),
	);
	$sections = array();
	foreach ( $due as $problem ) {
		$sections[ $problem['section'] ][] = $problem['line'];
	}
	$body = array(
		sprintf(
			/* translators: 1: site name, 2: date and time */
			__( 'Inventory Sync on %1$s needs attention (%2$s).', 'inventory-sync' ),
			wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ),
			wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $now )
		),
		'',
	);
	foreach ( $titles as $section => $title ) {
		if ( empty( $sections[ $section ] ) ) {
			continue;
		}
		$lines  = $sections[ $section ];
		$body[] = $title . ':';
		foreach ( array_slice( $lines, 0, MAX_LINES ) as $line ) {
			$body[] = '- ' . $line;
		}
		if ( count( $lines ) > MAX_LINES ) {
			/* translators: %d: number of lines not shown */
			$body[] = sprintf( __( '… and %d more.', 'inventory-sync' ), count( $lines ) - MAX_LINES );
		}
		$body[] = '';
	}
	$body[] = sprintf(
		/* translators: %d: number of open problems */
		_n( '%d problem is open in all. Each one is mailed once, and again only if it gets worse, comes back after it was solved, or is still open a day later.', '%d problems are open in all. Each one is mailed once, and again only if it gets worse, comes back after it was solved, or is still open a day later.', count( $current ), 'inventory-sync' ),
		count( $current )
	);
	$body[] = admin_url( 'admin.php?page=' . \InventorySync\ADMIN_PAGE );
	return array(
		'to'      => recipients(),
		'subject' => sprintf(
			/* translators: 1: site name, 2: number of problems */
			_n( '[%1$s] Inventory Sync: %2$d problem needs attention', '[%1$s] Inventory Sync: %2$d problems need attention', count( $due ), 'inventory-sync' ),
			wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ),
			count( $due )
		),
		'body'    => implode( "\n", $body ),
	);
}

// --- the daily summary -----------------------------------------------------------------------

/**
 * Cron, daily at 07:00 site time: mails the last day's summary when the owner asked for it.
 */
function action_daily_summary(): void {
	if ( ! (bool) get_option( OPTION_ALERT_DAILY_SUMMARY, false ) ) {
		return;
	}
	$now     = time();
	$summary = \InventorySync\Sync\guarded( 'daily summary', static fn () => summary( $now - DAY_IN_SECONDS, $now ) );
	if ( is_array( $summary ) ) {
		$mail = compose_summary( $summary );
		wp_mail( $mail['to'], $mail['subject'], $mail['body'] );
	}
}

/**
 * What happened between $since and $now: movements, queue runs (pushes, failures, dead), other
 * sync runs, drift found; and where things stand (jobs, stock alerts).
 *
 * @return array{since: int, until: int, movements: int, movement_kinds: array<string, int>, queue_runs: int, pushed: int, failed: int, retried: int, dead: int, runs: array<string, int>, run_errors: int, drift: int, drift_repaired: int, jobs: array<string, int>, stock: array<string, int>}
 * @throws SyncException When the ledger fails.
 */
function summary( int $since, int $now ): array {
	$ledger  = ledger();
	$summary = array(
		'since'          => $since,
		'until'          => $now,
		'movements'      => 0,
		'movement_kinds' => array(),
		'queue_runs'     => 0,
		'pushed'         => 0,
		'failed'         => 0,
		'retried'        => 0,
		'dead'           => 0,
		'runs'           => array(),
		'run_errors'     => 0,
		'drift'          => 0,
		'drift_repaired' => 0,
	);
	each_since(
		static fn ( ?int $before ) => page( $ledger->history( cursor( $before ) ), 'movements' ),
		'recorded_at',
		$since,
		static function ( array $m ) use ( &$summary ): void {
			++$summary['movements'];
			$summary['movement_kinds'][ $m['kind'] ] = ( $summary['movement_kinds'][ $m['kind'] ] ?? 0 ) + 1;
		}
	);
	each_since(
		static fn ( ?int $before ) => page( $ledger->syncRuns( cursor( $before ) ), 'runs' ),
		'started_at',
		$since,
		static function ( array $run ) use ( &$summary ): void {
			if ( 'queue' === $run['kind'] ) {
				++$summary['queue_runs'];
				foreach ( array( 'pushed', 'failed', 'retried', 'dead' ) as $field ) {
					$summary[ $field ] += (int) $run[ $field ];
				}
			} else {
				$summary['runs'][ $run['kind'] ] = ( $summary['runs'][ $run['kind'] ] ?? 0 ) + 1;
			}
			if ( 'failed' === $run['status'] || null !== $run['error'] ) {
				++$summary['run_errors'];
			}
		}
	);
	each_since(
		static fn ( ?int $before ) => page( $ledger->drift( cursor( $before ) ), 'records' ),
		'recorded_at',
		$since,
		static function ( array $d ) use ( &$summary ): void {
			++$summary['drift'];
			$summary['drift_repaired'] += $d['repaired'] ? 1 : 0;
		}
	);
	$summary['jobs']  = $ledger->jobCounts();
	$summary['stock'] = \InventorySync\Health\stock_counts( $ledger->alerts( null, null, $now ) );
	return $summary;
}

/**
 * A query for the page before $before (the newest page when null).
 *
 * @return array{limit: int, before?: int}
 */
function cursor( ?int $before ): array {
	return null === $before ? array( 'limit' => 1000 ) : array(
		'limit'  => 1000,
		'before' => $before,
	);
}

/**
 * A page's records and its cursor.
 *
 * @return array{0: list<array>, 1: ?int}
 */
function page( array $page, string $field ): array {
	return array( $page[ $field ], $page['next_before'] );
}

/**
 * Calls $each for the records (newest first) with $time_field ≥ $since, page by page.
 *
 * @param callable(?int): array{0: list<array>, 1: ?int} $fetch      Reads the page before a cursor.
 * @param callable(array): void                          $each       Called per record.
 */
function each_since( callable $fetch, string $time_field, int $since, callable $each ): void {
	$before = null;
	for ( $pages = 0; $pages < SUMMARY_PAGES; ++$pages ) {
		[ $records, $before ] = $fetch( $before );
		foreach ( $records as $record ) {
			if ( (int) $record[ $time_field ] < $since ) {
				return;
			}
			$each( $record );
		}
		if ( null === $before ) {
			return;
		}
	}
}

/**
 * The daily summary as a mail.
 *
 * @param array $s The summary.
 * @return array{to: list<string>, subject: string, body: string}
 */
function compose_summary( array $s ): array {
	$kinds = array();
	foreach ( $s['movement_kinds'] as $kind => $n ) {
		$kinds[] = $kind . ' ' . $n;
	}
	$runs = array();
	foreach ( $s['runs'] as $kind => $n ) {
		$runs[] = $kind . ' ' . $n;
	}
	$site  = wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES );
	$lines = array(
		sprintf(
			/* translators: 1: site name, 2: start, 3: end */
			__( 'Inventory Sync on %1$s, %2$s – %3$s', 'inventory-sync' ),
			$site,
			wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $s['since'] ),
			wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $s['until'] )
		),
		'',
		/* translators: 1: number of movements, 2: per kind */
		sprintf( __( 'Stock movements: %1$d (%2$s)', 'inventory-sync' ), $s['movements'], array() === $kinds ? '—' : implode( ', ', $kinds ) ),
		/* translators: 1: quantities pushed, 2: queue runs */
		sprintf( __( 'Pushed to channels: %1$d in %2$d queue runs', 'inventory-sync' ), $s['pushed'], $s['queue_runs'] ),
		/* translators: 1: retried, 2: failed, 3: dead */
		sprintf( __( 'Push failures: %1$d retried, %2$d superseded, %3$d gave up', 'inventory-sync' ), $s['retried'], $s['failed'], $s['dead'] ),
		/* translators: 1: runs per kind, 2: runs with errors */
		sprintf( __( 'Other sync runs: %1$s; runs with errors: %2$d', 'inventory-sync' ), array() === $runs ? '—' : implode( ', ', $runs ), $s['run_errors'] ),
		/* translators: 1: drift records, 2: repaired */
		sprintf( __( 'Drift found by reconciliation: %1$d (%2$d repaired)', 'inventory-sync' ), $s['drift'], $s['drift_repaired'] ),
		'',
		/* translators: 1: pending, 2: dead */
		sprintf( __( 'Queue now: %1$d pending, %2$d dead', 'inventory-sync' ), $s['jobs']['pending'], $s['jobs']['dead'] ),
		/* translators: 1: oversold, 2: critical, 3: low */
		sprintf( __( 'Stock now: %1$d oversold, %2$d critical, %3$d low', 'inventory-sync' ), $s['stock']['oversold'], $s['stock']['critical'], $s['stock']['low'] ),
		'',
		admin_url( 'admin.php?page=' . \InventorySync\ADMIN_PAGE ),
	);
	return array(
		'to'      => recipients(),
		/* translators: %s: site name */
		'subject' => sprintf( __( '[%s] Inventory Sync daily summary', 'inventory-sync' ), $site ),
		'body'    => implode( "\n", $lines ),
	);
}

/**
 * `admin_init`: registers the alert settings with the Settings API (sanitizing also applies to
 * update_option() calls; the Settings page of wp-admin shows them). While a wp-config.php
 * constant overrides a setting, its option is not changed.
 */
function register_settings(): void {
	$group = \InventorySync\SETTINGS_GROUP;
	register_setting(
		$group,
		OPTION_ALERT_RECIPIENTS,
		array(
			'type'              => 'string',
			'default'           => '',
			'sanitize_callback' => \InventorySync\sanitize_unless_defined( CONSTANT_ALERT_RECIPIENTS, OPTION_ALERT_RECIPIENTS, __NAMESPACE__ . '\\sanitize_recipients' ),
		)
	);
	register_setting(
		$group,
		OPTION_ALERT_STOCK_LEVEL,
		array(
			'type'              => 'string',
			'default'           => DEFAULT_ALERT_STOCK_LEVEL,
			'sanitize_callback' => \InventorySync\sanitize_unless_defined( CONSTANT_ALERT_STOCK_LEVEL, OPTION_ALERT_STOCK_LEVEL, __NAMESPACE__ . '\\sanitize_stock_level' ),
		)
	);
	foreach ( array( OPTION_ALERT_SYNC => true, OPTION_ALERT_DAILY_SUMMARY => false ) as $option => $default ) {
		register_setting(
			$group,
			$option,
			array(
				'type'              => 'boolean',
				'default'           => $default,
				'sanitize_callback' => static fn ( $value ): bool => (bool) $value,
			)
		);
	}
}
