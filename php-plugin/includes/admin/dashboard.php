<?php
/**
 * wp-admin dashboard: queue cards, drift from the last reconciliation, sync activity over the last
 * seven days (an SVG drawn here, no script and no CDN) and the stock alerts — at the top of the
 * Inventory Sync page. Numbers come from the extension; this file only lays them out.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use const InventorySync\QUEUE_PAGE;

defined( 'ABSPATH' ) || exit;

/** Days in the activity chart. */
const ACTIVITY_DAYS = 7;
/** Stock alerts listed on the dashboard (the Reports page has them all). */
const DASHBOARD_ALERTS = 10;

/**
 * Renders the dashboard section; a ledger that cannot be read shows its error instead.
 */
function render_dashboard(): void {
	try {
		$ledger = \InventorySync\ledger();
		$counts = $ledger->jobCounts();
		$drift  = $ledger->syncRuns(
			array(
				'kind'  => 'reconcile',
				'limit' => 1,
			)
		)['runs'][0] ?? null;
		$days   = activity_days( ACTIVITY_DAYS );
		$alerts = array_slice( $ledger->alerts(), 0, DASHBOARD_ALERTS );
	} catch ( SyncException $e ) {
		echo '<div class="notice notice-error"><p>' . esc_html( $e->getMessage() ) . '</p></div>';
		return;
	}
	// Card => label, number, the Queue page's status view (retrying jobs are pending ones).
	$cards = array(
		'pending'  => array( __( 'Pending', 'inventory-sync' ), $counts['pending'] - $counts['retrying'], 'pending' ),
		'retrying' => array( __( 'Failed, retrying', 'inventory-sync' ), $counts['retrying'], 'pending' ),
		'running'  => array( __( 'Running', 'inventory-sync' ), $counts['running'], 'running' ),
		'dead'     => array( __( 'Dead letters', 'inventory-sync' ), $counts['dead'], 'dead' ),
	);
	?>
	<style>
		.inventory-sync-cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; max-width: 80em; }
		.inventory-sync-card { flex: 1 1 10em; background: #fff; border: 1px solid #c3c4c7; border-radius: 4px; padding: 10px 14px; text-decoration: none; color: #1d2327; }
		.inventory-sync-card strong { display: block; font-size: 2em; line-height: 1.3; }
		.inventory-sync-card.is-dead.has-jobs { border-color: #d63638; }
		.inventory-sync-card.is-dead.has-jobs strong { color: #d63638; }
		.inventory-sync-activity { max-width: 80em; background: #fff; border: 1px solid #c3c4c7; padding: 8px; }
		.inventory-sync-activity svg { width: 100%; height: auto; }
		.inventory-sync-status td { overflow-wrap: anywhere; }
	</style>
	<h2><?php esc_html_e( 'Queue', 'inventory-sync' ); ?></h2>
	<div class="inventory-sync-cards">
		<?php foreach ( $cards as $card => [ $label, $number, $view ] ) : ?>
			<a class="inventory-sync-card is-<?php echo esc_attr( $card ); ?><?php echo $number > 0 ? ' has-jobs' : ''; ?>"
				href="<?php echo esc_url( add_query_arg( array( 'page' => QUEUE_PAGE, 'status' => $view ), admin_url( 'admin.php' ) ) ); ?>">
				<strong><?php echo esc_html( number_format_i18n( $number ) ); ?></strong>
				<?php echo esc_html( $label ); ?>
			</a>
		<?php endforeach; ?>
	</div>
	<p class="inventory-sync-drift">
		<?php
		if ( null === $drift ) {
			esc_html_e( 'Drift: no reconciliation has run yet (it runs daily at 02:30).', 'inventory-sync' );
		} else {
			echo esc_html(
				sprintf(
					/* translators: 1: listings found showing another number, 2: when */
					_n( 'Drift: %1$d listing showed another number than the ledger at the last reconciliation (%2$s); it was repaired.', 'Drift: %1$d listings showed another number than the ledger at the last reconciliation (%2$s); they were repaired.', (int) $drift['drift'], 'inventory-sync' ),
					(int) $drift['drift'],
					format_time( (int) $drift['started_at'] )
				)
			);
		}
		?>
	</p>
	<h2><?php esc_html_e( 'Sync activity, last 7 days', 'inventory-sync' ); ?></h2>
	<div class="inventory-sync-activity">
		<?php echo activity_svg( $days ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts in activity_svg(). ?>
	</div>
	<h2><?php esc_html_e( 'Stock alerts', 'inventory-sync' ); ?></h2>
	<?php if ( array() === $alerts ) : ?>
		<p class="inventory-sync-no-alerts"><?php esc_html_e( 'No SKU needs attention.', 'inventory-sync' ); ?></p>
	<?php else : ?>
		<table class="widefat striped inventory-sync-alerts" style="max-width: 80em">
			<thead><tr>
				<th><?php esc_html_e( 'SKU', 'inventory-sync' ); ?></th>
				<th><?php esc_html_e( 'Level', 'inventory-sync' ); ?></th>
				<th><?php esc_html_e( 'Why', 'inventory-sync' ); ?></th>
			</tr></thead>
			<tbody>
			<?php foreach ( $alerts as $alert ) : ?>
				<tr>
					<td><code><?php echo esc_html( $alert['sku'] ); ?></code></td>
					<td><?php echo esc_html( $alert['level'] ); ?></td>
					<td><?php echo esc_html( $alert['reason'] ); ?></td>
				</tr>
			<?php endforeach; ?>
			</tbody>
		</table>
	<?php endif; ?>
	<?php
}

/**
 * The last $days local days of sync activity (today included), oldest first.
 *
 * @return list<array<string, int>>
 * @throws SyncException From the ledger.
 */
function activity_days( int $days ): array {
	$zone     = wp_timezone();
	$midnight = ( new \DateTimeImmutable( 'today', $zone ) )->getTimestamp();
	return \InventorySync\ledger()->syncActivity(
		array(
			'since'  => $midnight - ( $days - 1 ) * DAY_IN_SECONDS,
			'until'  => $midnight + DAY_IN_SECONDS,
			'bucket' => 'day',
			'offset' => $zone->getOffset( new \DateTimeImmutable( 'now', $zone ) ),
		)
	);
}

/**
 * The activity chart: per day, a bar of runs that finished well stacked under the failed ones,
 * with the day's pushes written above; a title per bar for screen readers and tooltips.
 *
 * @param list<array<string, int>> $days What activity_days() returned.
 */
function activity_svg( array $days ): string {
	$width  = 700;
	$height = 220;
	$top    = 24;
	$bottom = 30;
	$slot   = $width / max( 1, count( $days ) );
	$most   = max( 1, ...array_map( static fn ( array $d ): int => $d['runs'], $days ) );
	$scale  = ( $height - $top - $bottom ) / $most;
	$parts  = array();
	foreach ( array_values( $days ) as $i => $day ) {
		$x      = $i * $slot + $slot * 0.2;
		$bar    = $slot * 0.6;
		$base   = $height - $bottom;
		$good   = $day['done'] * $scale;
		$bad    = $day['failed'] * $scale;
		$other  = ( $day['runs'] - $day['done'] - $day['failed'] ) * $scale;
		$title  = sprintf(
			/* translators: 1: day, 2: runs, 3: finished well, 4: failed, 5: quantities pushed, 6: pushes failed, 7: average run time in ms */
			__( '%1$s: %2$d runs (%3$d done, %4$d failed), %5$d pushed, %6$d pushes failed, %7$d ms on average', 'inventory-sync' ),
			wp_date( get_option( 'date_format' ), $day['start'] ),
			$day['runs'],
			$day['done'],
			$day['failed'],
			$day['pushed'],
			$day['push_failures'],
			$day['avg_duration_ms']
		);
		$parts[] = sprintf( '<g class="day"><title>%s</title>', esc_html( $title ) );
		$parts[] = sprintf( '<rect class="done" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#00a32a"></rect>', $x, $base - $good, $bar, $good );
		$parts[] = sprintf( '<rect class="failed" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d63638"></rect>', $x, $base - $good - $bad, $bar, $bad );
		$parts[] = sprintf( '<rect class="running" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#dba617"></rect>', $x, $base - $good - $bad - $other, $bar, $other );
		$parts[] = sprintf( '<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12">%s</text>', $x + $bar / 2, $base - $good - $bad - $other - 6, esc_html( number_format_i18n( $day['pushed'] ) ) );
		$parts[] = sprintf( '<text x="%.1f" y="%d" text-anchor="middle" font-size="12">%s</text></g>', $x + $bar / 2, $height - 10, esc_html( wp_date( 'D j', $day['start'] ) ) );
	}
	return sprintf(
		'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %1$d %2$d" role="img" aria-label="%3$s"><title>%3$s</title>%4$s<line x1="0" y1="%5$d" x2="%1$d" y2="%5$d" stroke="#8c8f94"></line></svg>',
		$width,
		$height,
		esc_attr__( 'Sync runs per day: green done, red failed, yellow still running; the number above each bar is the quantities pushed that day.', 'inventory-sync' ),
		implode( '', $parts ),
		$height - $bottom
	);
}
