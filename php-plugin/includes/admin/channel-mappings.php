<?php
/**
 * wp-admin Channels page, one channel's SKU mappings: which ledger SKUs have no listing (remote
 * id) on the channel yet, "auto-map by SKU" (the extension asks the channel for them and keeps
 * the ids it lists), and a form to map one SKU by hand.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\ACTION_AUTO_MAP;
use const InventorySync\ACTION_MAP_SKU;

defined( 'ABSPATH' ) || exit;

/** Unmapped SKUs listed per page. */
const UNMAPPED_PAGE = 50;

/**
 * `admin-post.php?action=inventory_sync_auto_map`.
 */
function action_admin_post_auto_map(): void {
	require_capability();
	$key = isset( $_POST['key'] ) ? sanitize_text_field( wp_unslash( $_POST['key'] ) ) : '';
	check_admin_referer( ACTION_AUTO_MAP . '_' . $key );
	try {
		$report = ledger()->autoMap( $key );
		set_flash(
			array(
				'type'    => 'success',
				'message' => sprintf(
					/* translators: 1: SKUs asked for, 2: SKUs mapped, 3: SKUs the channel does not list */
					__( 'Auto-map: %1$d unmapped SKUs looked up, %2$d found and mapped, %3$d not listed on the channel.', 'inventory-sync' ),
					$report['asked'],
					$report['mapped'],
					$report['asked'] - $report['mapped']
				) . ( $report['more'] ? ' ' . __( 'More SKUs remain: run it again.', 'inventory-sync' ) : '' ),
			)
		);
	} catch ( SyncException $e ) {
		/* translators: %s: why the mapping failed */
		set_flash( array( 'type' => 'error', 'message' => sprintf( __( 'Auto-map failed: %s', 'inventory-sync' ), $e->getMessage() ) ) );
	}
	wp_safe_redirect( channels_url( array( 'edit' => $key ) ) );
	exit;
}

/**
 * `admin-post.php?action=inventory_sync_map_sku`: maps one SKU to a remote id by hand.
 */
function action_admin_post_map_sku(): void {
	require_capability();
	$key = isset( $_POST['key'] ) ? sanitize_text_field( wp_unslash( $_POST['key'] ) ) : '';
	check_admin_referer( ACTION_MAP_SKU . '_' . $key );
	$sku       = isset( $_POST['sku'] ) ? sanitize_text_field( wp_unslash( $_POST['sku'] ) ) : '';
	$remote_id = isset( $_POST['remote_id'] ) ? sanitize_text_field( wp_unslash( $_POST['remote_id'] ) ) : '';
	try {
		ledger()->upsertListing(
			array(
				'channel'   => $key,
				'sku'       => $sku,
				'remote_id' => $remote_id,
			)
		);
		/* translators: 1: SKU, 2: the channel's id for it */
		set_flash( array( 'type' => 'success', 'message' => sprintf( __( '%1$s is mapped to %2$s.', 'inventory-sync' ), $sku, $remote_id ) ) );
	} catch ( SyncException $e ) {
		/* translators: %s: what the ledger refused */
		set_flash( array( 'type' => 'error', 'message' => sprintf( __( 'Nothing was mapped: %s', 'inventory-sync' ), $e->getMessage() ) ) );
	}
	wp_safe_redirect( channels_url( array( 'edit' => $key ) ) );
	exit;
}

/**
 * The mapping section of a channel's edit view.
 *
 * @param array<string, mixed> $channel The channel.
 * @throws SyncException From the ledger.
 */
function render_channel_mappings( array $channel ): void {
	if ( \InventorySync\LOCAL_CHANNEL_KIND === $channel['kind'] ) {
		return; // This store's products are matched by SKU in WordPress.
	}
	$key = (string) $channel['key'];
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- read-only paging cursor.
	$after = isset( $_GET['unmapped_after'] ) ? sanitize_text_field( wp_unslash( $_GET['unmapped_after'] ) ) : '';
	$page  = ledger()->unmappedSkus( $key, array_filter( array( 'after' => $after, 'limit' => UNMAPPED_PAGE ) ) );
	?>
	<h2 id="mappings"><?php esc_html_e( 'SKU mappings', 'inventory-sync' ); ?></h2>
	<p class="description"><?php esc_html_e( 'A SKU is mapped once the channel\'s own id for it is known. Pushes look unmapped SKUs up on their own; auto-map does it for all of them now and lists what the channel does not sell.', 'inventory-sync' ); ?></p>
	<?php if ( 'webhook' !== $channel['kind'] ) : ?>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="inventory-sync-auto-map">
			<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_AUTO_MAP ); ?>" />
			<input type="hidden" name="key" value="<?php echo esc_attr( $key ); ?>" />
			<?php wp_nonce_field( ACTION_AUTO_MAP . '_' . $key ); ?>
			<?php submit_button( __( 'Auto-map by SKU', 'inventory-sync' ), 'secondary', 'auto-map', false ); ?>
		</form>
	<?php endif; ?>
	<h3><?php esc_html_e( 'Unmapped SKUs', 'inventory-sync' ); ?></h3>
	<?php if ( array() === $page['skus'] ) : ?>
		<p class="inventory-sync-all-mapped"><?php esc_html_e( 'Every SKU is mapped.', 'inventory-sync' ); ?></p>
	<?php else : ?>
		<p class="inventory-sync-unmapped"><?php echo esc_html( implode( ', ', $page['skus'] ) ); ?></p>
		<?php if ( null !== $page['next_after'] ) : ?>
			<p><a class="button" href="<?php echo esc_url( channels_url( array( 'edit' => $key, 'unmapped_after' => $page['next_after'] ) ) . '#mappings' ); ?>"><?php esc_html_e( 'More unmapped SKUs', 'inventory-sync' ); ?></a></p>
		<?php endif; ?>
	<?php endif; ?>
	<h3><?php esc_html_e( 'Map a SKU by hand', 'inventory-sync' ); ?></h3>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="inventory-sync-map-sku">
		<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_MAP_SKU ); ?>" />
		<input type="hidden" name="key" value="<?php echo esc_attr( $key ); ?>" />
		<?php wp_nonce_field( ACTION_MAP_SKU . '_' . $key ); ?>
		<label for="inventory-sync-map-sku"><?php esc_html_e( 'SKU', 'inventory-sync' ); ?></label>
		<input id="inventory-sync-map-sku" name="sku" type="text" maxlength="100" required />
		<label for="inventory-sync-map-remote"><?php esc_html_e( 'The channel\'s id', 'inventory-sync' ); ?></label>
		<input id="inventory-sync-map-remote" name="remote_id" type="text" maxlength="255" required />
		<?php submit_button( __( 'Map', 'inventory-sync' ), 'secondary', 'map', false ); ?>
	</form>
	<?php
}
