<?php
/**
 * wp-admin Reports page: low stock and oversold SKUs, reorder suggestions with their inputs,
 * sync activity by day, week or month (runs, done, failed, failure rate, average duration), the failure
 * rate by hour of the day and the most frequent errors, and the inbound API's requests by day, week
 * or month and by route (counts, 4xx and 5xx, error rate, average and p95 latency). Every table can
 * be downloaded as CSV: the page and the download are built from the same rows (report_table()).
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\ACTION_EXPORT_REPORT;
use const InventorySync\ADMIN_PAGE_REPORTS;

defined( 'ABSPATH' ) || exit;

/** How many buckets the activity report shows, per period. */
const REPORT_PERIODS = array(
	'day'   => 30,
	'week'  => 26,
	'month' => 12,
);

/**
 * The reports: slug => label.
 *
 * @return array<string, string>
 */
function report_names(): array {
	return array(
		'stock'    => __( 'Low stock and oversold', 'inventory-sync' ),
		'reorder'  => __( 'Reorder suggestions', 'inventory-sync' ),
		'activity' => __( 'Sync activity', 'inventory-sync' ),
		'hours'    => __( 'Failures by hour', 'inventory-sync' ),
		'errors'   => __( 'Most frequent errors', 'inventory-sync' ),
		'api'      => __( 'Inbound API', 'inventory-sync' ),
		'routes'   => __( 'API by route', 'inventory-sync' ),
	);
}

/**
 * The reports that come by day, week or month.
 */
const PERIOD_REPORTS = array( 'activity', 'api' );

/**
 * A report as a header row and data rows (plain values; escaped where shown).
 *
 * @return array{0: list<string>, 1: list<list<string|int|float>>}
 * @throws SyncException From the ledger.
 */
function report_table( string $report, string $period ): array {
	$ledger = ledger();
	switch ( $report ) {
		case 'reorder':
			$rows = array();
			foreach ( $ledger->reorderSuggestions() as $r ) {
				$rows[] = array( $r['sku'], $r['name'], (string) $r['supplier'], $r['quantity'], round( (float) $r['velocity'], 2 ), $r['lead_time_days'], $r['safety_stock'], $r['target'], $r['position'], $r['moq'], $r['pack_size'], $r['explanation'] );
			}
			return array( array( __( 'SKU', 'inventory-sync' ), __( 'Name', 'inventory-sync' ), __( 'Supplier', 'inventory-sync' ), __( 'Order', 'inventory-sync' ), __( 'Sold per day', 'inventory-sync' ), __( 'Lead time (days)', 'inventory-sync' ), __( 'Safety stock', 'inventory-sync' ), __( 'Target', 'inventory-sync' ), __( 'Position', 'inventory-sync' ), __( 'MOQ', 'inventory-sync' ), __( 'Pack size', 'inventory-sync' ), __( 'How', 'inventory-sync' ) ), $rows );
		case 'activity':
			$rows = array();
			foreach ( activity( $period, false ) as $b ) {
				$rows[] = array( wp_date( 'month' === $period ? 'F Y' : get_option( 'date_format' ), $b['start'] ), $b['runs'], $b['done'], $b['failed'], failure_rate( $b ), $b['avg_duration_ms'], $b['pushed'], $b['push_failures'] );
			}
			return array( array( period_label( $period ), __( 'Runs', 'inventory-sync' ), __( 'Done', 'inventory-sync' ), __( 'Failed', 'inventory-sync' ), __( 'Failure rate %', 'inventory-sync' ), __( 'Average ms', 'inventory-sync' ), __( 'Pushed', 'inventory-sync' ), __( 'Pushes failed', 'inventory-sync' ) ), $rows );
		case 'hours':
			$rows = array();
			foreach ( activity( 'day', true ) as $b ) {
				$rows[] = array( sprintf( '%02d:00', $b['start'] ), $b['runs'], $b['failed'], failure_rate( $b ) );
			}
			return array( array( __( 'Hour', 'inventory-sync' ), __( 'Runs', 'inventory-sync' ), __( 'Failed', 'inventory-sync' ), __( 'Failure rate %', 'inventory-sync' ) ), $rows );
		case 'api':
			$rows = array();
			foreach ( ledger()->apiActivity( activity_query( $period, false ) ) as $b ) {
				$rows[] = array_merge( array( wp_date( 'month' === $period ? 'F Y' : get_option( 'date_format' ), $b['start'] ) ), request_cells( $b ) );
			}
			return array( array_merge( array( period_label( $period ) ), request_headers() ), $rows );
		case 'routes':
			$rows  = array();
			$until = ( new \DateTimeImmutable( 'today', wp_timezone() ) )->getTimestamp() + DAY_IN_SECONDS;
			foreach ( $ledger->apiRoutes( $until - REPORT_PERIODS['day'] * DAY_IN_SECONDS, $until ) as $r ) {
				$rows[] = array_merge( array( $r['route'], $r['method'] ), request_cells( $r ) );
			}
			return array( array_merge( array( __( 'Route', 'inventory-sync' ), __( 'Method', 'inventory-sync' ) ), request_headers() ), $rows );
		case 'errors':
			$rows = array();
			foreach ( $ledger->syncErrors( time() - REPORT_PERIODS['day'] * DAY_IN_SECONDS, 20 ) as $e ) {
				$rows[] = array( $e['runs'], format_time( $e['last_at'] ), $e['error'] );
			}
			return array( array( __( 'Runs', 'inventory-sync' ), __( 'Last', 'inventory-sync' ), __( 'Error', 'inventory-sync' ) ), $rows );
		default:
			$rows = array();
			$page = $ledger->searchStock( array( 'low_stock' => true, 'limit' => 1000 ) );
			foreach ( $page['items'] as $i ) {
				$rows[] = array( $i['sku'], $i['name'], $i['on_hand'], $i['reserved'], $i['available'], $i['oversold'] ? __( 'oversold', 'inventory-sync' ) : $i['alert'], (string) $i['supplier'] );
			}
			return array( array( __( 'SKU', 'inventory-sync' ), __( 'Name', 'inventory-sync' ), __( 'On hand', 'inventory-sync' ), __( 'Reserved', 'inventory-sync' ), __( 'Available', 'inventory-sync' ), __( 'Alert', 'inventory-sync' ), __( 'Supplier', 'inventory-sync' ) ), $rows );
	}
}

/**
 * The first column's title of a report by period.
 */
function period_label( string $period ): string {
	$labels = array(
		'day'   => __( 'Day', 'inventory-sync' ),
		'week'  => __( 'Week of', 'inventory-sync' ),
		'month' => __( 'Month', 'inventory-sync' ),
	);
	return $labels[ $period ];
}

/**
 * The column titles of request counts (request_cells()).
 *
 * @return list<string>
 */
function request_headers(): array {
	return array( __( 'Requests', 'inventory-sync' ), __( 'Refused (4xx)', 'inventory-sync' ), __( 'Failed (5xx)', 'inventory-sync' ), __( 'Error rate %', 'inventory-sync' ), __( 'Average ms', 'inventory-sync' ), __( 'p95 ms (at most)', 'inventory-sync' ), __( 'Slowest ms', 'inventory-sync' ) );
}

/**
 * The cells of request counts from the extension's apiActivity()/apiRoutes() rows.
 *
 * @param array<string, mixed> $counts A bucket or a route.
 * @return list<int|float|string>
 */
function request_cells( array $counts ): array {
	return array( $counts['requests'], $counts['client_errors'], $counts['server_errors'], round( 100 * (float) $counts['error_rate'], 1 ), $counts['avg_ms'], null === $counts['p95_ms'] ? '' : $counts['p95_ms'], $counts['max_ms'] );
}

/**
 * The span and buckets of a period (30 local days, 26 weeks from Monday, 12 months from the
 * 1st), or hourly buckets of the last 30 days, as the extension's activity queries take them.
 *
 * @return array{since: int, until: int, bucket: string, offset: int}
 */
function activity_query( string $period, bool $by_hour ): array {
	$zone  = wp_timezone();
	$today = new \DateTimeImmutable( 'today', $zone );
	// The first bucket starts whole: a day, a Monday (as the extension's weeks), the 1st.
	$back  = REPORT_PERIODS[ $period ] - 1;
	$since = 'week' === $period
		? $today->modify( 'monday this week' )->modify( "-$back weeks" )
		: ( 'month' === $period ? $today->modify( 'first day of this month' )->modify( "-$back months" ) : $today->modify( "-$back days" ) );
	return array(
		'since'  => $since->getTimestamp(),
		'until'  => $today->getTimestamp() + DAY_IN_SECONDS,
		'bucket' => $by_hour ? 'hour' : $period,
		'offset' => $zone->getOffset( new \DateTimeImmutable( 'now', $zone ) ),
	);
}

/**
 * The sync activity buckets of a period, or 24 hours of the last 30 days (activity_query()).
 *
 * @return list<array<string, int>>
 * @throws SyncException From the ledger.
 */
function activity( string $period, bool $by_hour ): array {
	return ledger()->syncActivity( activity_query( $period, $by_hour ) + array( 'by_hour' => $by_hour ) );
}

/**
 * The activity period asked for (day, week, month; default day).
 */
function requested_period(): string {
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a view choice.
	$period = isset( $_GET['period'] ) ? sanitize_key( wp_unslash( $_GET['period'] ) ) : '';
	return isset( REPORT_PERIODS[ $period ] ) ? $period : 'day';
}

/**
 * Failed runs over finished runs, in percent with one decimal (0 without runs).
 *
 * @param array<string, int> $bucket An activity bucket.
 */
function failure_rate( array $bucket ): float {
	$finished = $bucket['done'] + $bucket['failed'];
	return 0 === $finished ? 0.0 : round( 100 * $bucket['failed'] / $finished, 1 );
}

/**
 * `admin-post.php?action=inventory_sync_export_report`: the report as a CSV download.
 */
function action_admin_post_export_report(): void {
	require_capability();
	check_admin_referer( ACTION_EXPORT_REPORT );
	$report = isset( $_GET['report'] ) ? sanitize_key( wp_unslash( $_GET['report'] ) ) : '';
	$period = requested_period();
	if ( ! isset( report_names()[ $report ] ) ) {
		wp_die( esc_html__( 'Unknown report.', 'inventory-sync' ), '', array( 'response' => 400 ) );
	}
	try {
		[ $header, $rows ] = report_table( $report, $period );
	} catch ( SyncException $e ) {
		wp_die( esc_html( $e->getMessage() ), '', array( 'response' => 503 ) );
	}
	nocache_headers();
	header( 'Content-Type: text/csv; charset=utf-8' );
	header( sprintf( 'Content-Disposition: attachment; filename="inventory-sync-%s-%s.csv"', $report, gmdate( 'Y-m-d' ) ) );
	$out = fopen( 'php://output', 'w' );
	foreach ( array_merge( array( $header ), $rows ) as $row ) {
		// A cell starting with = + - @ would be a formula in a spreadsheet: quote it as text.
		fputcsv( $out, array_map( static fn ( $cell ) => is_string( $cell ) && preg_match( '/^[=+\-@\t\r]/', $cell ) ? "'" . $cell : $cell, $row ) );
	}
	fclose( $out ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fclose -- php://output.
	exit;
}

/**
 * Renders the Reports page.
 */
function render_reports_page(): void {
	require_capability();
	// phpcs:disable WordPress.Security.NonceVerification.Recommended -- read-only views.
	$report = isset( $_GET['report'] ) ? sanitize_key( wp_unslash( $_GET['report'] ) ) : 'stock';
	$report = isset( report_names()[ $report ] ) ? $report : 'stock';
	$period = requested_period();
	// phpcs:enable
	$url = static fn ( array $args ): string => add_query_arg( array( 'page' => ADMIN_PAGE_REPORTS ) + $args, admin_url( 'admin.php' ) );
	?>
	<div class="wrap inventory-sync inventory-sync-reports">
		<h1><?php esc_html_e( 'Reports', 'inventory-sync' ); ?></h1>
		<?php render_tabs( report_names(), $report, static fn ( string $slug ): string => $url( array( 'report' => $slug ) ) ); ?>
		<?php if ( in_array( $report, PERIOD_REPORTS, true ) ) : ?>
			<p>
				<a class="button<?php echo 'day' === $period ? ' button-primary' : ''; ?>" href="<?php echo esc_url( $url( array( 'report' => $report, 'period' => 'day' ) ) ); ?>"><?php esc_html_e( 'By day (30 days)', 'inventory-sync' ); ?></a>
				<a class="button<?php echo 'week' === $period ? ' button-primary' : ''; ?>" href="<?php echo esc_url( $url( array( 'report' => $report, 'period' => 'week' ) ) ); ?>"><?php esc_html_e( 'By week (26 weeks)', 'inventory-sync' ); ?></a>
				<a class="button<?php echo 'month' === $period ? ' button-primary' : ''; ?>" href="<?php echo esc_url( $url( array( 'report' => $report, 'period' => 'month' ) ) ); ?>"><?php esc_html_e( 'By month (12 months)', 'inventory-sync' ); ?></a>
			</p>
		<?php endif; ?>
		<?php if ( in_array( $report, array( 'api', 'routes' ), true ) ) : ?>
			<p class="description"><?php esc_html_e( 'Every answered request to the REST API and the webhooks: refused requests (4xx: bad input, missing or wrong keys and signatures, rate limits) and failures (5xx) count as errors. Durations run from the request reaching PHP to the answer; p95 is read from a histogram, so it is an upper bound. The by-route report covers the last 30 days.', 'inventory-sync' ); ?></p>
		<?php endif; ?>
		<?php
		try {
			[ $header, $rows ] = report_table( $report, $period );
		} catch ( SyncException $e ) {
			echo '<div class="notice notice-error"><p>' . esc_html( $e->getMessage() ) . '</p></div></div>';
			return;
		}
		$csv = wp_nonce_url( add_query_arg( array( 'action' => ACTION_EXPORT_REPORT, 'report' => $report, 'period' => $period ), admin_url( 'admin-post.php' ) ), ACTION_EXPORT_REPORT );
		?>
		<p><a class="button inventory-sync-csv" href="<?php echo esc_url( $csv ); ?>"><?php esc_html_e( 'Download CSV', 'inventory-sync' ); ?></a></p>
		<?php render_log_table( 'inventory-sync-report inventory-sync-report-' . $report, $header, array_map( static fn ( array $row ): array => array_map( 'strval', $row ), $rows ) ); ?>
	</div>
	<?php
}
