<?php
/**
 * wp-admin Stock page: search by SKU or name; for one SKU its quantities per location, what each
 * channel is shown and why (the allocation's explanation), a timeline of on hand per location
 * with the movement list, and forms to adjust, receive, transfer and reserve — each one a
 * movement in the ledger.
 *
 * A form carries the event id it will record, made when the page was drawn: sending the same
 * form twice (a double click, a reload of the POST) records one movement.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\ACTION_STOCK_MOVEMENT;
use const InventorySync\ADMIN_PAGE_STOCK;

defined( 'ABSPATH' ) || exit;

/** Movements listed (and charted) per page of a SKU's history. */
const STOCK_HISTORY_PAGE = 50;
/** Search results per page. */
const STOCK_SEARCH_PAGE = 50;
/** The forms: movement kind => the fields each one sends. */
const STOCK_FORMS = array(
	'adjustment' => array( 'location', 'quantity', 'note' ),
	'receive'    => array( 'location', 'quantity', 'reference' ),
	'transfer'   => array( 'location', 'to_location', 'quantity', 'note' ),
	'reserve'    => array( 'location', 'quantity', 'expires_minutes', 'reference' ),
);

/**
 * The Stock page's address, for one SKU or the search.
 *
 * @param array<string, string> $args More query arguments.
 */
function stock_url( array $args = array() ): string {
	return add_query_arg( array( 'page' => ADMIN_PAGE_STOCK ) + $args, admin_url( 'admin.php' ) );
}

/**
 * `admin-post.php?action=inventory_sync_stock_movement`: records the form's movement.
 */
function action_admin_post_stock_movement(): void {
	require_capability();
	// phpcs:disable WordPress.Security.NonceVerification.Missing -- checked by check_admin_referer() below, once the SKU and kind that name the nonce are known.
	$sku  = isset( $_POST['sku'] ) ? sanitize_text_field( wp_unslash( $_POST['sku'] ) ) : '';
	$kind = isset( $_POST['kind'] ) ? sanitize_key( wp_unslash( $_POST['kind'] ) ) : '';
	// phpcs:enable
	if ( '' === $sku || ! isset( STOCK_FORMS[ $kind ] ) ) {
		wp_die( esc_html__( 'Unknown stock form.', 'inventory-sync' ), '', array( 'response' => 400 ) );
	}
	check_admin_referer( ACTION_STOCK_MOVEMENT . '_' . $kind . '_' . $sku );
	$text     = static fn ( string $field ): string => isset( $_POST[ $field ] ) ? sanitize_text_field( wp_unslash( $_POST[ $field ] ) ) : '';
	$event_id = $text( 'event_id' );
	$movement = array(
		'event_id' => '' !== $event_id ? $event_id : 'admin:' . wp_generate_uuid4(),
		'sku'      => $sku,
		'kind'     => $kind,
		'origin'   => 'admin:' . get_current_user_id(),
	);
	foreach ( STOCK_FORMS[ $kind ] as $field ) {
		$value = $text( $field );
		if ( 'quantity' === $field ) {
			// Anything but digits goes as it is: the extension refuses it, naming the field.
			$movement['quantity'] = ctype_digit( $value ) ? (int) $value : $value;
		} elseif ( 'expires_minutes' === $field ) {
			if ( '' !== $value ) {
				$movement['expires_at'] = time() + max( 1, (int) $value ) * MINUTE_IN_SECONDS;
			}
		} elseif ( '' !== $value ) {
			$movement[ $field ] = $value;
		}
	}
	try {
		$outcome = 'reserve' === $kind ? ledger()->reserve( $movement ) : ledger()->record( $movement );
		if ( ! $outcome['replayed'] ) {
			\InventorySync\Sync\changed( array( $sku ) );
		}
		set_flash(
			array(
				'type'    => 'success',
				'message' => $outcome['replayed']
					? __( 'This form was sent before: nothing was recorded twice.', 'inventory-sync' )
					: sprintf(
						/* translators: 1: movement kind, 2: SKU */
						__( 'Recorded: %1$s of %2$s.', 'inventory-sync' ),
						$kind,
						$sku
					),
			)
		);
	} catch ( SyncException $e ) {
		set_flash(
			array(
				'type'    => 'error',
				/* translators: %s: what the ledger refused */
				'message' => sprintf( __( 'Nothing was recorded: %s', 'inventory-sync' ), $e->getMessage() ),
			)
		);
	}
	wp_safe_redirect( stock_url( array( 'sku' => rawurlencode( $sku ) ) ) );
	exit;
}

/**
 * Renders the Stock page.
 */
function render_stock_page(): void {
	require_capability();
	$flash = take_flash();
	// phpcs:disable WordPress.Security.NonceVerification.Recommended -- read-only views.
	$search = isset( $_GET['s'] ) ? sanitize_text_field( wp_unslash( $_GET['s'] ) ) : '';
	$sku    = isset( $_GET['sku'] ) ? sanitize_text_field( wp_unslash( $_GET['sku'] ) ) : '';
	$before = isset( $_GET['before'] ) ? absint( $_GET['before'] ) : 0;
	// phpcs:enable
	?>
	<div class="wrap inventory-sync inventory-sync-stock">
		<h1><?php esc_html_e( 'Stock', 'inventory-sync' ); ?></h1>
		<?php render_flash( $flash ); ?>
		<form method="get" action="<?php echo esc_url( admin_url( 'admin.php' ) ); ?>" class="inventory-sync-stock-search">
			<input type="hidden" name="page" value="<?php echo esc_attr( ADMIN_PAGE_STOCK ); ?>" />
			<label class="screen-reader-text" for="inventory-sync-stock-s"><?php esc_html_e( 'Search SKUs and names', 'inventory-sync' ); ?></label>
			<input type="search" id="inventory-sync-stock-s" name="s" value="<?php echo esc_attr( $search ); ?>" placeholder="<?php esc_attr_e( 'SKU or name', 'inventory-sync' ); ?>" />
			<?php submit_button( __( 'Search', 'inventory-sync' ), 'secondary', '', false ); ?>
		</form>
		<?php
		try {
			if ( '' !== $sku ) {
				render_sku( $sku, $before );
			} else {
				render_stock_search( $search );
			}
		} catch ( SyncException $e ) {
			echo '<div class="notice notice-error"><p>' . esc_html( $e->getMessage() ) . '</p></div>';
		}
		?>
	</div>
	<?php
}

/**
 * The search results (every item when the search is empty), with totals and alert level.
 *
 * @throws SyncException From the ledger.
 */
function render_stock_search( string $search ): void {
	$page = ledger()->searchStock( array_filter( array( 'search' => $search, 'limit' => STOCK_SEARCH_PAGE ) ) );
	?>
	<table class="widefat striped inventory-sync-stock-results">
		<thead><tr>
			<th><?php esc_html_e( 'SKU', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Name', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'On hand', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Available', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Alert', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php if ( array() === $page['items'] ) : ?>
			<tr><td colspan="5"><?php esc_html_e( 'No SKU matches.', 'inventory-sync' ); ?></td></tr>
		<?php endif; ?>
		<?php foreach ( $page['items'] as $row ) : ?>
			<tr>
				<td><a href="<?php echo esc_url( stock_url( array( 'sku' => rawurlencode( $row['sku'] ) ) ) ); ?>"><code><?php echo esc_html( $row['sku'] ); ?></code></a></td>
				<td><?php echo esc_html( $row['name'] ); ?></td>
				<td class="num"><?php echo esc_html( number_format_i18n( $row['on_hand'] ) ); ?></td>
				<td class="num"><?php echo esc_html( number_format_i18n( $row['available'] ) ); ?></td>
				<td><?php echo esc_html( $row['alert'] ); ?></td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	<?php if ( null !== $page['next_after'] ) : ?>
		<p class="description"><?php esc_html_e( 'More SKUs match: narrow the search.', 'inventory-sync' ); ?></p>
	<?php endif; ?>
	<?php
}

/**
 * One SKU: per location, per channel, the timeline, the movements and the forms.
 *
 * @throws SyncException From the ledger.
 */
function render_sku( string $sku, int $before ): void {
	$ledger = ledger();
	$item   = $ledger->item( $sku );
	if ( null === $item ) {
		echo '<div class="notice notice-warning"><p>' . esc_html( sprintf( /* translators: %s: SKU */ __( 'The ledger has no SKU %s.', 'inventory-sync' ), $sku ) ) . '</p></div>';
		return;
	}
	$stock     = $ledger->stock( $sku );
	$channels  = $ledger->channelStock( $sku );
	$history   = $ledger->history( array( 'sku' => $sku, 'limit' => STOCK_HISTORY_PAGE ) + ( $before > 0 ? array( 'before' => $before ) : array() ) );
	$locations = array_column( $ledger->locations(), 'code' );
	?>
	<h2><code><?php echo esc_html( $sku ); ?></code> <?php echo esc_html( $item['name'] ); ?></h2>
	<h3><?php esc_html_e( 'Per location', 'inventory-sync' ); ?></h3>
	<div style="overflow-x: auto; max-width: 80em">
	<table class="widefat striped inventory-sync-sku-locations" style="max-width: 60em">
		<thead><tr>
			<th><?php esc_html_e( 'Location', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'On hand', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Reserved', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Incoming', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Available', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php foreach ( $stock['locations'] as $level ) : ?>
			<tr>
				<td><?php echo esc_html( $level['location'] ); ?></td>
				<td class="num"><?php echo esc_html( (string) $level['on_hand'] ); ?></td>
				<td class="num"><?php echo esc_html( (string) $level['reserved'] ); ?></td>
				<td class="num"><?php echo esc_html( (string) $level['incoming'] ); ?></td>
				<td class="num"><?php echo esc_html( (string) $level['available'] ); ?></td>
			</tr>
		<?php endforeach; ?>
			<tr class="inventory-sync-total">
				<th><?php esc_html_e( 'Total', 'inventory-sync' ); ?></th>
				<th class="num"><?php echo esc_html( (string) $stock['on_hand'] ); ?></th>
				<th class="num"><?php echo esc_html( (string) $stock['reserved'] ); ?></th>
				<th class="num"><?php echo esc_html( (string) $stock['incoming'] ); ?></th>
				<th class="num"><?php echo esc_html( (string) $stock['available'] ); ?></th>
			</tr>
		</tbody>
	</table>
	</div>
	<h3><?php esc_html_e( 'Per channel', 'inventory-sync' ); ?></h3>
	<div style="overflow-x: auto; max-width: 80em">
	<table class="widefat striped inventory-sync-sku-channels" style="max-width: 80em">
		<thead><tr>
			<th><?php esc_html_e( 'Channel', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Allocated', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Why', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Shows now', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Waiting to push', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php if ( array() === $channels ) : ?>
			<tr><td colspan="5"><?php esc_html_e( 'No channel is enabled.', 'inventory-sync' ); ?></td></tr>
		<?php endif; ?>
		<?php foreach ( $channels as $channel ) : ?>
			<tr data-channel="<?php echo esc_attr( $channel['channel'] ); ?>">
				<td><?php echo esc_html( $channel['name'] ); ?> <span class="description">(<?php echo esc_html( $channel['kind'] ); ?>)</span></td>
				<td class="num"><strong><?php echo esc_html( (string) $channel['quantity'] ); ?></strong></td>
				<td class="inventory-sync-explanation"><?php echo esc_html( $channel['explanation'] ); ?></td>
				<td class="num"><?php echo esc_html( null === $channel['shown'] ? '—' : (string) $channel['shown'] ); ?></td>
				<td class="num"><?php echo esc_html( null === $channel['queued'] ? '—' : (string) $channel['queued'] ); ?></td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	</div>
	<h3><?php esc_html_e( 'History', 'inventory-sync' ); ?></h3>
	<div class="inventory-sync-timeline" style="max-width: 80em; background: #fff; border: 1px solid #c3c4c7; padding: 8px">
		<?php echo timeline_svg( $history['movements'] ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts in timeline_svg(). ?>
	</div>
	<div style="overflow-x: auto; max-width: 80em">
	<table class="widefat striped inventory-sync-sku-history">
		<thead><tr>
			<th><?php esc_html_e( 'When', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Movement', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Location', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'Change', 'inventory-sync' ); ?></th>
			<th class="num"><?php esc_html_e( 'On hand after', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'From', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Event', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php foreach ( $history['movements'] as $m ) : ?>
			<tr>
				<td><?php echo esc_html( format_time( $m['recorded_at'] ) ); ?></td>
				<td><?php echo esc_html( $m['kind'] . ' ' . $m['quantity'] ); ?><?php echo null !== $m['note'] ? '<br /><span class="description">' . esc_html( $m['note'] ) . '</span>' : ''; ?></td>
				<td><?php echo esc_html( $m['location'] ); ?></td>
				<td class="num"><?php echo esc_html( sprintf( '%+d', $m['delta'] ) ); ?></td>
				<td class="num"><?php echo esc_html( (string) $m['on_hand'] ); ?></td>
				<td><?php echo esc_html( trim( ( $m['origin'] ?? '' ) . ' ' . ( $m['reference'] ?? '' ) ) ); ?></td>
				<td><code><?php echo esc_html( $m['event_id'] ); ?></code></td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	</div>
	<?php if ( null !== $history['next_before'] ) : ?>
		<p><a class="button" href="<?php echo esc_url( stock_url( array( 'sku' => rawurlencode( $sku ), 'before' => (string) $history['next_before'] ) ) ); ?>"><?php esc_html_e( 'Older movements', 'inventory-sync' ); ?></a></p>
	<?php endif; ?>
	<h3><?php esc_html_e( 'Record a movement', 'inventory-sync' ); ?></h3>
	<div class="inventory-sync-stock-forms" style="display: flex; flex-wrap: wrap; gap: 16px; max-width: 80em">
		<?php
		foreach ( array_keys( STOCK_FORMS ) as $kind ) {
			render_stock_form( $sku, $kind, $locations );
		}
		?>
	</div>
	<?php
}

/**
 * One movement form; its event id is made now, so sending it twice records it once.
 *
 * @param list<string> $locations Location codes.
 */
function render_stock_form( string $sku, string $kind, array $locations ): void {
	$titles = array(
		'adjustment' => __( 'Adjust (counted on hand)', 'inventory-sync' ),
		'receive'    => __( 'Receive', 'inventory-sync' ),
		'transfer'   => __( 'Transfer', 'inventory-sync' ),
		'reserve'    => __( 'Reserve', 'inventory-sync' ),
	);
	$labels = array(
		'location'        => 'transfer' === $kind ? __( 'From', 'inventory-sync' ) : __( 'Location', 'inventory-sync' ),
		'to_location'     => __( 'To', 'inventory-sync' ),
		'quantity'        => 'adjustment' === $kind ? __( 'New on hand', 'inventory-sync' ) : __( 'Quantity', 'inventory-sync' ),
		'note'            => __( 'Note', 'inventory-sync' ),
		'reference'       => __( 'Reference', 'inventory-sync' ),
		'expires_minutes' => __( 'Expires after (minutes, optional)', 'inventory-sync' ),
	);
	?>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="inventory-sync-stock-form inventory-sync-form-<?php echo esc_attr( $kind ); ?>" style="flex: 1 1 16em; background: #fff; border: 1px solid #c3c4c7; padding: 8px 12px">
		<h4><?php echo esc_html( $titles[ $kind ] ); ?></h4>
		<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_STOCK_MOVEMENT ); ?>" />
		<input type="hidden" name="sku" value="<?php echo esc_attr( $sku ); ?>" />
		<input type="hidden" name="kind" value="<?php echo esc_attr( $kind ); ?>" />
		<input type="hidden" name="event_id" value="<?php echo esc_attr( 'admin:' . wp_generate_uuid4() ); ?>" />
		<?php wp_nonce_field( ACTION_STOCK_MOVEMENT . '_' . $kind . '_' . $sku ); ?>
		<?php foreach ( STOCK_FORMS[ $kind ] as $field ) : ?>
			<?php $id = 'inventory-sync-' . $kind . '-' . $field; ?>
			<p>
				<label for="<?php echo esc_attr( $id ); ?>"><?php echo esc_html( $labels[ $field ] ); ?></label><br />
				<?php if ( 'location' === $field || 'to_location' === $field ) : ?>
					<select id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $field ); ?>">
						<?php foreach ( $locations as $code ) : ?>
							<option value="<?php echo esc_attr( $code ); ?>"><?php echo esc_html( $code ); ?></option>
						<?php endforeach; ?>
					</select>
				<?php elseif ( 'quantity' === $field || 'expires_minutes' === $field ) : ?>
					<input id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $field ); ?>" type="number" min="<?php echo 'adjustment' === $kind ? '0' : '1'; ?>" step="1" <?php echo 'quantity' === $field ? 'required' : ''; ?> />
				<?php else : ?>
					<input id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $field ); ?>" type="text" maxlength="200" />
				<?php endif; ?>
			</p>
		<?php endforeach; ?>
		<?php submit_button( $titles[ $kind ], 'secondary', 'submit', false ); ?>
	</form>
	<?php
}

/**
 * On hand per location over the movements shown (oldest left), as step lines: each point is
 * the on hand a movement left at its location, as the ledger recorded it.
 *
 * @param list<array<string, mixed>> $movements Newest first, as history() returns them.
 */
function timeline_svg( array $movements ): string {
	$width  = 700;
	$height = 180;
	$pad    = 28;
	$points = array_reverse( $movements );
	if ( array() === $points ) {
		return '<p>' . esc_html__( 'No movements yet.', 'inventory-sync' ) . '</p>';
	}
	$first  = (int) $points[0]['recorded_at'];
	$last   = max( $first + 1, (int) end( $points )['recorded_at'] );
	$values = array_map( static fn ( array $m ): int => (int) $m['on_hand'], $points );
	$low    = min( 0, ...$values );
	$high   = max( 1, ...$values );
	$x      = static fn ( int $t ): float => $pad + ( $t - $first ) / ( $last - $first ) * ( $width - 2 * $pad );
	$y      = static fn ( int $v ): float => $height - $pad - ( $v - $low ) / ( $high - $low ) * ( $height - 2 * $pad );
	$colors = array( '#2271b1', '#00a32a', '#d63638', '#dba617', '#8c5ad8', '#50575e' );
	$lines  = array();
	foreach ( $points as $m ) {
		$lines[ $m['location'] ][] = array( (int) $m['recorded_at'], (int) $m['on_hand'] );
	}
	$parts = array();
	$i     = 0;
	foreach ( $lines as $location => $line ) {
		$color = $colors[ $i % count( $colors ) ];
		$path  = '';
		foreach ( $line as $n => [ $t, $v ] ) {
			$path .= 0 === $n ? sprintf( 'M%.1f %.1f', $x( $t ), $y( $v ) ) : sprintf( ' H%.1f V%.1f', $x( $t ), $y( $v ) );
		}
		$path   .= sprintf( ' H%.1f', $width - $pad );
		$parts[] = sprintf( '<path d="%s" fill="none" stroke="%s" stroke-width="2"></path>', esc_attr( $path ), esc_attr( $color ) );
		$parts[] = sprintf( '<text x="%d" y="%d" font-size="12" fill="%s">%s</text>', $pad + 90 * $i, 14, esc_attr( $color ), esc_html( (string) $location ) );
		++$i;
	}
	return sprintf(
		'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %1$d %2$d" role="img" aria-label="%3$s" style="width: 100%%; height: auto"><title>%3$s</title>%4$s<text x="%5$d" y="%6$d" font-size="11">%7$s</text><text x="%8$d" y="%6$d" font-size="11" text-anchor="end">%9$s</text></svg>',
		$width,
		$height,
		esc_attr__( 'On hand per location after each movement shown below', 'inventory-sync' ),
		implode( '', $parts ),
		$pad,
		$height - 6,
		esc_html( format_time( $first ) ),
		$width - $pad,
		esc_html( format_time( $last ) )
	);
}
