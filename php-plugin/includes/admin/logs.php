<?php
/**
 * wp-admin Logs page: the inbound webhooks, the sync runs, the errors (failed runs and refused
 * deliveries) and the security log, each with its filters and paged by cursor (newest first).
 * Read-only: nothing here changes the ledger.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\ADMIN_PAGE_LOGS;

defined( 'ABSPATH' ) || exit;

/** Rows per page of a log. */
const LOGS_PAGE = 50;
/** Filter values the logs accept (anything else shows everything). */
const LOG_FILTERS = array(
	'provider' => array( 'generic', 'woocommerce', 'shopify', 'erp', 'supplier' ),
	'outcome'  => array( 'applied', 'duplicate', 'ignored', 'rejected', 'partial' ),
	'kind'     => array( 'queue', 'incremental', 'full', 'reconcile', 'pull' ),
	'status'   => array( 'running', 'done', 'failed' ),
	'reason'   => array( 'missing_key', 'unknown_key', 'revoked_key', 'expired_key', 'scope', 'bad_signature', 'rate_limited', 'no_secret', 'too_large' ),
);

/**
 * The tabs: slug => label.
 *
 * @return array<string, string>
 */
function log_tabs(): array {
	return array(
		'inbound'  => __( 'Inbound webhooks', 'inventory-sync' ),
		'runs'     => __( 'Sync runs', 'inventory-sync' ),
		'errors'   => __( 'Errors', 'inventory-sync' ),
		'security' => __( 'Security', 'inventory-sync' ),
	);
}

/**
 * A query argument of the page if it is one of the values allowed, else ''.
 *
 * @param list<string> $allowed The values allowed.
 */
function log_arg( string $name, array $allowed ): string {
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- read-only view filters.
	$value = isset( $_GET[ $name ] ) ? sanitize_key( wp_unslash( $_GET[ $name ] ) ) : '';
	return in_array( $value, $allowed, true ) ? $value : '';
}

/**
 * The Logs page's address.
 *
 * @param array<string, string|int> $args Query arguments.
 */
function logs_url( array $args ): string {
	return add_query_arg( array( 'page' => ADMIN_PAGE_LOGS ) + array_filter( $args, static fn ( $v ): bool => '' !== $v && 0 !== $v ), admin_url( 'admin.php' ) );
}

/**
 * Renders the Logs page.
 */
function render_logs_page(): void {
	require_capability();
	$tab = log_arg( 'tab', array_keys( log_tabs() ) );
	$tab = '' === $tab ? 'inbound' : $tab;
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- read-only paging cursor.
	$before = isset( $_GET['before'] ) ? absint( $_GET['before'] ) : 0;
	?>
	<div class="wrap inventory-sync inventory-sync-logs">
		<h1><?php esc_html_e( 'Logs', 'inventory-sync' ); ?></h1>
		<?php render_tabs( log_tabs(), $tab, static fn ( string $slug ): string => logs_url( array( 'tab' => $slug ) ) ); ?>
		<?php
		try {
			switch ( $tab ) {
				case 'runs':
					render_runs_log( $before, log_arg( 'kind', LOG_FILTERS['kind'] ), log_arg( 'status', LOG_FILTERS['status'] ) );
					break;
				case 'errors':
					render_errors_log();
					break;
				case 'security':
					render_security_log( $before, log_arg( 'reason', LOG_FILTERS['reason'] ) );
					break;
				default:
					render_inbound_log( $before, log_arg( 'provider', LOG_FILTERS['provider'] ), log_arg( 'outcome', LOG_FILTERS['outcome'] ) );
			}
		} catch ( SyncException $e ) {
			echo '<div class="notice notice-error"><p>' . esc_html( $e->getMessage() ) . '</p></div>';
		}
		?>
	</div>
	<?php
}

/**
 * A filter form: one select per filter, the tab kept.
 *
 * @param array<string, string> $current Filter => chosen value ('' = all).
 */
function render_log_filters( string $tab, array $current ): void {
	?>
	<form method="get" action="<?php echo esc_url( admin_url( 'admin.php' ) ); ?>" class="inventory-sync-log-filters" style="margin: 12px 0">
		<input type="hidden" name="page" value="<?php echo esc_attr( ADMIN_PAGE_LOGS ); ?>" />
		<input type="hidden" name="tab" value="<?php echo esc_attr( $tab ); ?>" />
		<?php foreach ( $current as $filter => $value ) : ?>
			<label class="screen-reader-text" for="inventory-sync-filter-<?php echo esc_attr( $filter ); ?>"><?php echo esc_html( $filter ); ?></label>
			<select id="inventory-sync-filter-<?php echo esc_attr( $filter ); ?>" name="<?php echo esc_attr( $filter ); ?>">
				<option value="">
				<?php
				/* translators: %s: a filter's name (provider, outcome, kind, status, reason) */
				echo esc_html( sprintf( __( 'Any %s', 'inventory-sync' ), $filter ) );
				?>
				</option>
				<?php foreach ( LOG_FILTERS[ $filter ] as $option ) : ?>
					<option value="<?php echo esc_attr( $option ); ?>" <?php selected( $value, $option ); ?>><?php echo esc_html( $option ); ?></option>
				<?php endforeach; ?>
			</select>
		<?php endforeach; ?>
		<?php submit_button( __( 'Filter', 'inventory-sync' ), 'secondary', '', false ); ?>
	</form>
	<?php
}

/**
 * A log table: header labels and rows of cell texts (escaped here).
 *
 * @param list<string>       $labels Column labels.
 * @param list<list<string>> $rows   Cell texts.
 */
function render_log_table( string $class, array $labels, array $rows ): void {
	?>
	<div style="overflow-x: auto">
	<table class="widefat striped <?php echo esc_attr( $class ); ?>">
		<thead><tr>
			<?php foreach ( $labels as $label ) : ?>
				<th><?php echo esc_html( $label ); ?></th>
			<?php endforeach; ?>
		</tr></thead>
		<tbody>
		<?php if ( array() === $rows ) : ?>
			<tr><td colspan="<?php echo esc_attr( (string) count( $labels ) ); ?>"><?php esc_html_e( 'Nothing logged.', 'inventory-sync' ); ?></td></tr>
		<?php endif; ?>
		<?php foreach ( $rows as $cells ) : ?>
			<tr>
				<?php foreach ( $cells as $cell ) : ?>
					<td><?php echo esc_html( $cell ); ?></td>
				<?php endforeach; ?>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	</div>
	<?php
}

/**
 * "Older entries" when the log goes on.
 *
 * @param array<string, string|int> $args The current tab and filters.
 */
function render_log_paging( array $args, ?int $next_before ): void {
	if ( null !== $next_before ) {
		echo '<p><a class="button inventory-sync-older" href="' . esc_url( logs_url( $args + array( 'before' => $next_before ) ) ) . '">' . esc_html__( 'Older entries', 'inventory-sync' ) . '</a></p>';
	}
}

/**
 * The inbound webhooks.
 *
 * @throws SyncException From the ledger.
 */
function render_inbound_log( int $before, string $provider, string $outcome ): void {
	$page = ledger()->inboundEvents( array_filter( array( 'provider' => $provider, 'outcome' => $outcome, 'before' => $before, 'limit' => LOGS_PAGE ) ) );
	render_log_filters( 'inbound', array( 'provider' => $provider, 'outcome' => $outcome ) );
	$rows = array();
	foreach ( $page['events'] as $e ) {
		$rows[] = array(
			format_time( $e['received_at'] ),
			$e['provider'],
			(string) $e['topic'],
			$e['outcome'],
			sprintf( '%d / %d / %d', $e['recorded'], $e['replayed'], $e['failed'] ),
			$e['summary'] . ( array() === $e['unknown_skus'] ? '' : ' — ' . __( 'unknown SKUs:', 'inventory-sync' ) . ' ' . implode( ', ', $e['unknown_skus'] ) ),
			$e['dedup_key'],
		);
	}
	render_log_table(
		'inventory-sync-log-inbound',
		array( __( 'Received', 'inventory-sync' ), __( 'Provider', 'inventory-sync' ), __( 'Topic', 'inventory-sync' ), __( 'Outcome', 'inventory-sync' ), __( 'Recorded / replayed / failed', 'inventory-sync' ), __( 'Summary', 'inventory-sync' ), __( 'Delivery', 'inventory-sync' ) ),
		$rows
	);
	render_log_paging( array( 'tab' => 'inbound', 'provider' => $provider, 'outcome' => $outcome ), $page['next_before'] );
}

/**
 * The sync runs.
 *
 * @throws SyncException From the ledger.
 */
function render_runs_log( int $before, string $kind, string $status ): void {
	$page = ledger()->syncRuns( array_filter( array( 'kind' => $kind, 'status' => $status, 'before' => $before, 'limit' => LOGS_PAGE ) ) );
	render_log_filters( 'runs', array( 'kind' => $kind, 'status' => $status ) );
	render_log_table(
		'inventory-sync-log-runs',
		array( __( 'Started', 'inventory-sync' ), __( 'Kind', 'inventory-sync' ), __( 'Status', 'inventory-sync' ), __( 'SKUs', 'inventory-sync' ), __( 'Queued', 'inventory-sync' ), __( 'Pushed', 'inventory-sync' ), __( 'Failed / dead', 'inventory-sync' ), __( 'Calls', 'inventory-sync' ), __( 'Time', 'inventory-sync' ), __( 'Error', 'inventory-sync' ) ),
		array_map( __NAMESPACE__ . '\\run_cells', $page['runs'] )
	);
	render_log_paging( array( 'tab' => 'runs', 'kind' => $kind, 'status' => $status ), $page['next_before'] );
}

/**
 * A sync run's cells.
 *
 * @param array<string, mixed> $r The run.
 * @return list<string>
 */
function run_cells( array $r ): array {
	return array(
		format_time( $r['started_at'] ),
		$r['kind'],
		$r['status'],
		(string) $r['skus'],
		(string) $r['enqueued'],
		(string) $r['pushed'],
		$r['failed'] . ' / ' . $r['dead'],
		(string) $r['calls'],
		/* translators: %d: milliseconds */
		sprintf( __( '%d ms', 'inventory-sync' ), $r['duration_ms'] ),
		(string) $r['error'],
	);
}

/**
 * The errors: failed sync runs and runs that noted a problem, and refused or partly applied
 * deliveries — the newest of each.
 *
 * @throws SyncException From the ledger.
 */
function render_errors_log(): void {
	$ledger = ledger();
	$runs   = array_values( array_filter( $ledger->syncRuns( array( 'limit' => 200 ) )['runs'], static fn ( array $r ): bool => 'failed' === $r['status'] || null !== $r['error'] || $r['dead'] > 0 ) );
	?>
	<h2><?php esc_html_e( 'Sync runs with problems', 'inventory-sync' ); ?></h2>
	<p class="description"><?php esc_html_e( 'Among the last 200 runs. Dead jobs wait on the Queue page.', 'inventory-sync' ); ?></p>
	<?php
	render_log_table(
		'inventory-sync-log-run-errors',
		array( __( 'Started', 'inventory-sync' ), __( 'Kind', 'inventory-sync' ), __( 'Status', 'inventory-sync' ), __( 'SKUs', 'inventory-sync' ), __( 'Queued', 'inventory-sync' ), __( 'Pushed', 'inventory-sync' ), __( 'Failed / dead', 'inventory-sync' ), __( 'Calls', 'inventory-sync' ), __( 'Time', 'inventory-sync' ), __( 'Error', 'inventory-sync' ) ),
		array_map( __NAMESPACE__ . '\\run_cells', $runs )
	);
	$refused = array();
	foreach ( array( 'rejected', 'partial' ) as $outcome ) {
		foreach ( $ledger->inboundEvents( array( 'outcome' => $outcome, 'limit' => LOGS_PAGE ) )['events'] as $e ) {
			$refused[ $e['id'] ] = array( format_time( $e['received_at'] ), $e['provider'], $e['outcome'], $e['summary'] );
		}
	}
	krsort( $refused );
	?>
	<h2><?php esc_html_e( 'Deliveries refused or partly applied', 'inventory-sync' ); ?></h2>
	<?php
	render_log_table( 'inventory-sync-log-inbound-errors', array( __( 'Received', 'inventory-sync' ), __( 'Provider', 'inventory-sync' ), __( 'Outcome', 'inventory-sync' ), __( 'Summary', 'inventory-sync' ) ), array_values( $refused ) );
}

/**
 * The security log (refused API requests; never keys nor signatures).
 *
 * @throws SyncException From the ledger.
 */
function render_security_log( int $before, string $reason ): void {
	$page = ledger()->securityEvents( array_filter( array( 'reason' => $reason, 'before' => $before, 'limit' => LOGS_PAGE ) ) );
	render_log_filters( 'security', array( 'reason' => $reason ) );
	$rows = array();
	foreach ( $page['events'] as $e ) {
		$rows[] = array( format_time( $e['recorded_at'] ), $e['reason'], $e['route'], (string) $e['key_prefix'], (string) $e['remote_addr'], $e['detail'] );
	}
	render_log_table(
		'inventory-sync-log-security',
		array( __( 'When', 'inventory-sync' ), __( 'Reason', 'inventory-sync' ), __( 'Route', 'inventory-sync' ), __( 'Key', 'inventory-sync' ), __( 'From', 'inventory-sync' ), __( 'Detail', 'inventory-sync' ) ),
		$rows
	);
	render_log_paging( array( 'tab' => 'security', 'reason' => $reason ), $page['next_before'] );
}
