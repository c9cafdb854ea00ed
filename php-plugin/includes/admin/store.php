<?php
/**
 * wp-admin: this WooCommerce store on the status page — the product import (button) and the
 * products that cannot be tracked because they have no SKU. Loaded only under is_admin().
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use function InventorySync\Store\import_products;
use function InventorySync\Store\products_without_sku;
use function InventorySync\Store\woocommerce_available;
use const InventorySync\ACTION_IMPORT_PRODUCTS;
use const InventorySync\OPTION_LAST_IMPORT;

defined( 'ABSPATH' ) || exit;

/**
 * Imports WooCommerce's products into the ledger (items and opening balances; idempotent).
 */
function action_admin_post_import_products(): void {
	require_capability();
	check_admin_referer( ACTION_IMPORT_PRODUCTS );
	if ( ! woocommerce_available() ) {
		set_flash(
			array(
				'type'    => 'error',
				'message' => __( 'WooCommerce is not active: there are no products to import.', 'inventory-sync' ),
			)
		);
		back_to_page();
	}
	try {
		$report = import_products();
		set_flash(
			array(
				'type'    => 'success',
				'message' => sprintf(
					/* translators: 1: products read, 2: items created, 3: opening balances, 4: SKUs already in the ledger, 5: products without SKU */
					__( 'Imported from WooCommerce: %1$d products read, %2$d items created, %3$d opening balances, %4$d SKUs already in the ledger (left as they are), %5$d products without SKU skipped.', 'inventory-sync' ),
					$report['products'],
					$report['items_created'],
					$report['opening_balances'],
					$report['already_in_ledger'],
					$report['without_sku']
				),
			)
		);
	} catch ( SyncException $e ) {
		set_flash(
			array(
				'type'    => 'error',
				/* translators: %s: the reason */
				'message' => sprintf( __( 'The import stopped: %s', 'inventory-sync' ), $e->getMessage() ),
			)
		);
	}
	back_to_page();
}

/**
 * The WooCommerce section: last import, products without SKU, the import button.
 */
function render_store(): void {
	if ( ! woocommerce_available() ) {
		return;
	}
	$last    = get_option( OPTION_LAST_IMPORT, array() );
	$without = products_without_sku();
	?>
	<h2><?php esc_html_e( 'WooCommerce products', 'inventory-sync' ); ?></h2>
	<p class="description"><?php esc_html_e( 'Stock changes and orders in this store are booked in the ledger; the ledger\'s quantities are written back to the store by each queue run. Products need a SKU to be tracked.', 'inventory-sync' ); ?></p>
	<p class="inventory-sync-last-import">
		<?php
		if ( is_array( $last ) && isset( $last['time'], $last['items_created'], $last['opening_balances'] ) ) {
			echo esc_html(
				sprintf(
					/* translators: 1: time, 2: items created, 3: opening balances */
					__( 'Last import: %1$s — %2$d items created, %3$d opening balances.', 'inventory-sync' ),
					format_time( $last['time'] ),
					(int) $last['items_created'],
					(int) $last['opening_balances']
				)
			);
		} else {
			esc_html_e( 'No import yet.', 'inventory-sync' );
		}
		?>
	</p>
	<?php if ( array() !== $without ) : ?>
		<h3><?php esc_html_e( 'Products with managed stock but no SKU (not tracked)', 'inventory-sync' ); ?></h3>
		<ul class="inventory-sync-without-sku">
			<?php foreach ( $without as $product ) : ?>
				<?php $link = get_edit_post_link( $product['id'], 'raw' ); ?>
				<li data-product-id="<?php echo esc_attr( (string) $product['id'] ); ?>">
					<?php if ( is_string( $link ) && '' !== $link ) : ?>
						<a href="<?php echo esc_url( $link ); ?>"><?php echo esc_html( '' === $product['name'] ? '#' . $product['id'] : $product['name'] ); ?></a>
					<?php else : ?>
						<?php echo esc_html( '' === $product['name'] ? '#' . $product['id'] : $product['name'] ); ?>
					<?php endif; ?>
				</li>
			<?php endforeach; ?>
		</ul>
	<?php endif; ?>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="inventory-sync-import-products">
		<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_IMPORT_PRODUCTS ); ?>" />
		<?php wp_nonce_field( ACTION_IMPORT_PRODUCTS ); ?>
		<?php submit_button( __( 'Import products from WooCommerce', 'inventory-sync' ), 'secondary', 'submit', false ); ?>
	</form>
	<?php
}
