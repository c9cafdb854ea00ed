<?php
/**
 * Supplier order routing (the distribution interface): when an order is paid, its lines go to
 * the extension, which groups them by each item's supplier and queues one signed message per
 * supplier (once per order, however often the hooks fire); the queue pass sends them with
 * retries and dead letters. Suppliers answer through the inbound API with keys limited to their
 * own SKUs: stock as movements, acknowledgements and shipments on `POST /supplier-replies`
 * (Supplier_Replies_Controller), which become notes on the order (note_reply()).
 *
 * @package InventorySync
 */

namespace InventorySync\Suppliers;

use function InventorySync\ledger;
use function InventorySync\Sync\guarded;

defined( 'ABSPATH' ) || exit;

/**
 * `woocommerce_payment_complete` and the paid statuses (processing, completed): routes the
 * order's lines to their suppliers.
 *
 * @param mixed $order_id The order id.
 */
function action_order_paid( $order_id ): void {
	if ( ! function_exists( 'wc_get_order' ) ) {
		return;
	}
	$order = wc_get_order( (int) $order_id );
	if ( ! $order ) {
		return;
	}
	$lines = order_lines( $order );
	if ( array() === $lines ) {
		return;
	}
	$routed = guarded( 'supplier routing', static fn () => ledger()->routeOrder( (string) $order->get_id(), $lines ) );
	// Lines left out of an order that did go to suppliers are worth a note; a store that routes
	// nothing to suppliers gets none.
	if ( is_array( $routed ) && array() !== $routed['messages'] && array() !== $routed['unrouted'] ) {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- a record for the owner; no secrets.
		error_log(
			sprintf(
				'Inventory Sync: order %d has lines no supplier receives: %s',
				$order->get_id(),
				implode( ', ', array_map( static fn ( $u ) => $u['sku'] . ' (' . $u['reason'] . ')', $routed['unrouted'] ) )
			)
		);
	}
}

/**
 * The order's product lines as the extension takes them: line id, SKU (the variation's own, else
 * its product's) and quantity. Lines without a product or SKU are left out.
 *
 * @param \WC_Order $order The order.
 * @return list<array{line_id: string, sku: string, quantity: int}>
 */
function order_lines( $order ): array {
	$lines = array();
	foreach ( $order->get_items() as $item ) {
		$product = $item->get_product();
		if ( ! $product ) {
			continue;
		}
		$sku = (string) $product->get_sku();
		if ( '' === $sku && $product->get_parent_id() ) {
			$parent = wc_get_product( $product->get_parent_id() );
			$sku    = $parent ? (string) $parent->get_sku() : '';
		}
		$quantity = (int) $item->get_quantity();
		if ( '' === $sku || $quantity < 1 ) {
			continue;
		}
		$lines[] = array(
			'line_id'  => (string) $item->get_id(),
			'sku'      => $sku,
			'quantity' => $quantity,
		);
	}
	return $lines;
}

/**
 * A supplier's new reply (acknowledged, shipped) as a private note on the WooCommerce order,
 * with the tracking page when the supplier gave one.
 *
 * @param array<string, mixed> $outcome What Ledger::supplierReply() returned.
 */
function note_reply( array $outcome ): void {
	$order = function_exists( 'wc_get_order' ) ? wc_get_order( (int) $outcome['order_id'] ) : false;
	if ( ! $order ) {
		return;
	}
	$note = (string) $outcome['summary'];
	if ( is_string( $outcome['tracking_url'] ) ) {
		/* translators: %s: the supplier's tracking page address. */
		$note .= ' ' . sprintf( __( 'Tracking: %s', 'inventory-sync' ), esc_url_raw( $outcome['tracking_url'] ) );
	}
	$order->add_order_note( $note );
}
