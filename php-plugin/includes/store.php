<?php
/**
 * WooCommerce → ledger: this store's stock changes and orders become movements.
 *
 * - A stock write in WooCommerce (admin edit, import, another plugin, REST: the
 *   `woocommerce_product_set_stock` / `woocommerce_variation_set_stock` actions, which CRUD saves
 *   fire too) becomes an `adjustment` to the new level at the store location. Our own writes (the
 *   local channel) and an order's writes are not adjustments (Store_Writes).
 * - An order line's stock reduction / restoration (`woocommerce_reduce_order_item_stock`,
 *   `woocommerce_restore_order_item_stock`) becomes a `sale` / `return` keyed by order, line and
 *   the how-many-th reduction of that line it is (see order_event_id()).
 * - The first-run import (import_products()) creates items and opening balances.
 *
 * Variations whose stock is managed by their parent are booked under the parent's SKU (the
 * product that holds the stock). Products with managed stock but no SKU are skipped and listed
 * (products_without_sku()). Every change is announced with the local channel as origin, so the
 * planner does not write the store's own number back to it. Orders are read through order CRUD
 * only (HPOS compatible).
 *
 * @package InventorySync
 */

namespace InventorySync\Store;

use InventorySync\Store_Writes;
use function InventorySync\ledger;
use function InventorySync\Sync\changed;
use function InventorySync\Sync\guarded;
use const InventorySync\CONSTANT_STORE_LOCATION;
use const InventorySync\DEFAULT_LOCATION;
use const InventorySync\EVENT_OPENING;
use const InventorySync\EVENT_ORDER;
use const InventorySync\EVENT_STOCK;
use const InventorySync\LOCAL_CHANNEL;
use const InventorySync\META_ORDER_LINE_STOCK;
use const InventorySync\OPTION_LAST_IMPORT;
use const InventorySync\OPTION_PRODUCTS_WITHOUT_SKU;
use const InventorySync\OPTION_STORE_LOCATION;
use const InventorySync\WC_META_REDUCED_STOCK;

defined( 'ABSPATH' ) || exit;

/** Products read per page by the import (and movements per recordBatch). */
const IMPORT_PAGE = 100;

/** The item fields upsertItem() takes (item() also returns computed ones). */
const ITEM_FIELDS = array( 'sku', 'name', 'product_id', 'thresholds', 'lead_time_days', 'moq', 'pack_size', 'supplier' );

/**
 * Whether WooCommerce's product and stock functions are there. Every entry point checks it, so
 * the plugin never calls into a missing WooCommerce.
 */
function woocommerce_available(): bool {
	return class_exists( '\WC_Product' ) && function_exists( 'wc_get_product' ) && function_exists( 'wc_update_product_stock' )
		&& function_exists( 'wc_get_product_id_by_sku' ) && function_exists( 'wc_get_products' );
}

/**
 * The ledger location this store's stock changes and orders are booked at: the constant
 * INVENTORY_SYNC_STORE_LOCATION when defined, else the setting, else DEFAULT_LOCATION (the
 * location made at activation). A store that ships from one of several warehouses names it here.
 */
function store_location(): string {
	$code = defined( CONSTANT_STORE_LOCATION ) ? constant( CONSTANT_STORE_LOCATION ) : get_option( OPTION_STORE_LOCATION, '' );
	$code = is_string( $code ) ? trim( $code ) : '';
	return '' === $code ? DEFAULT_LOCATION : $code;
}

// -------------------------------------------------------------------------------------------------
// Event ids — the one place they are made.
// -------------------------------------------------------------------------------------------------

/**
 * An order line's stock event: `wc-order:<order id>:<line id>:reduce:<n>` or `…:restore:<n>`,
 * where n counts the line's reductions (restore:n gives back reduce:n). A duplicate hook or a
 * re-run reports the same n, so the ledger replays it; a reduce → restore → reduce flip-flop
 * gives reduce:1, restore:1, reduce:2 — each counted once, none lost.
 */
function order_event_id( int $order_id, int $line_id, string $event, int $n ): string {
	return sprintf( '%s:%d:%d:%s:%d', EVENT_ORDER, $order_id, $line_id, $event, $n );
}

/**
 * A stock write's adjustment: `wc-stock:<product id>:<level>:after:<newest movement id of the
 * SKU>`. Two reports of the same write (a duplicate hook, in any process) make the same id; a
 * later write to the same level comes after other movements and makes a new one.
 */
function stock_event_id( int $product_id, int $level, int $after ): string {
	return sprintf( '%s:%d:%d:after:%d', EVENT_STOCK, $product_id, $level, $after );
}

/** A SKU's opening balance from the first-run import: `wc-opening:<sku>` (once per SKU). */
function opening_event_id( string $sku ): string {
	return EVENT_OPENING . ':' . $sku;
}

// -------------------------------------------------------------------------------------------------
// Products → items.
// -------------------------------------------------------------------------------------------------

/**
 * The product that holds $product's stock (itself, or a variation's parent), or null when its
 * stock is not managed.
 *
 * @param mixed $product A WC_Product.
 */
function holder_of( $product ): ?\WC_Product {
	if ( ! $product instanceof \WC_Product || ! $product->managing_stock() ) {
		return null;
	}
	$holder_id = (int) $product->get_stock_managed_by_id();
	$holder    = $holder_id === (int) $product->get_id() ? $product : wc_get_product( $holder_id );
	return $holder instanceof \WC_Product ? $holder : null;
}

/**
 * The stock holder of $product and its SKU; null when its stock is not managed or the holder has
 * no SKU (then it is listed in OPTION_PRODUCTS_WITHOUT_SKU).
 *
 * @param mixed $product A WC_Product.
 * @return array{product: \WC_Product, sku: string}|null
 */
function stock_holder( $product ): ?array {
	$holder = holder_of( $product );
	if ( null === $holder ) {
		return null;
	}
	$sku = trim( (string) $holder->get_sku() );
	$id  = (int) $holder->get_id();
	$ids = listed_without_sku();
	if ( '' === $sku ) {
		if ( ! in_array( $id, $ids, true ) ) {
			$ids[] = $id;
			update_option( OPTION_PRODUCTS_WITHOUT_SKU, $ids, false );
		}
		return null;
	}
	if ( in_array( $id, $ids, true ) ) {
		update_option( OPTION_PRODUCTS_WITHOUT_SKU, array_values( array_diff( $ids, array( $id ) ) ), false );
	}
	return array(
		'product' => $holder,
		'sku'     => $sku,
	);
}

/**
 * The ids in OPTION_PRODUCTS_WITHOUT_SKU.
 *
 * @return int[]
 */
function listed_without_sku(): array {
	$ids = get_option( OPTION_PRODUCTS_WITHOUT_SKU, array() );
	return is_array( $ids ) ? array_values( array_map( 'intval', $ids ) ) : array();
}

/**
 * Products with managed stock but no SKU, which the ledger cannot track: listed by the hooks
 * and the import, checked again here (a product given a SKU since, or deleted, drops out).
 *
 * @return list<array{id: int, name: string}>
 */
function products_without_sku(): array {
	if ( ! woocommerce_available() ) {
		return array();
	}
	$products = array();
	foreach ( listed_without_sku() as $id ) {
		$product = wc_get_product( $id );
		if ( null !== holder_of( $product ) && '' === trim( (string) $product->get_sku() ) ) {
			$products[] = array(
				'id'   => $id,
				'name' => (string) $product->get_name(),
			);
		}
	}
	return $products;
}

/**
 * Makes sure the ledger has an item for $sku linked to $holder. Returns whether it was created.
 *
 * @throws \InventorySync\Exception\SyncException From the ledger.
 */
function ensure_item( string $sku, \WC_Product $holder ): bool {
	$ledger = ledger();
	$item   = $ledger->item( $sku );
	$id     = (int) $holder->get_id();
	if ( null === $item ) {
		$name = trim( (string) $holder->get_name() );
		$ledger->upsertItem(
			array(
				'sku'        => $sku,
				'name'       => '' === $name ? $sku : mb_substr( $name, 0, 200 ),
				'product_id' => $id,
			)
		);
		return true;
	}
	if ( $item['product_id'] !== $id ) {
		$fields               = array_intersect_key( $item, array_flip( ITEM_FIELDS ) );
		$fields['product_id'] = $id;
		$ledger->upsertItem( $fields );
	}
	return false;
}

/**
 * What WooCommerce shows for $sku, noted on the local channel's listing so the planner knows what
 * the store has (a level that equals its allocation is not written back).
 *
 * @throws \InventorySync\Exception\SyncException From the ledger.
 */
function note_level( string $sku, ?int $level ): void {
	if ( null !== $level ) {
		ledger()->upsertListing(
			array(
				'channel' => LOCAL_CHANNEL,
				'sku'     => $sku,
				'seen'    => $level,
			)
		);
	}
}

/**
 * The SKU's on hand at the store location, or null when it has no level there.
 *
 * @throws \InventorySync\Exception\SyncException From the ledger.
 */
function on_hand_at_store( string $sku ): ?int {
	foreach ( ledger()->stock( $sku )['locations'] as $level ) {
		if ( store_location() === $level['location'] ) {
			return (int) $level['on_hand'];
		}
	}
	return null;
}

/**
 * The id of the SKU's newest movement (0 without any).
 *
 * @throws \InventorySync\Exception\SyncException From the ledger.
 */
function newest_movement_id( string $sku ): int {
	$movements = ledger()->history(
		array(
			'sku'   => $sku,
			'limit' => 1,
		)
	)['movements'];
	return array() === $movements ? 0 : (int) $movements[0]['id'];
}

/**
 * Books the level WooCommerce now shows for $product's stock as an adjustment at the store location
 * (nothing when the ledger already has that on hand there), then plans the SKU.
 *
 * A negative level (an oversold store) cannot be an on-hand count: it is booked as 0, and the
 * listing keeps the real number, so the planner writes the allocation back.
 *
 * @param mixed $product A WC_Product.
 */
function book_level( $product ): void {
	$target = stock_holder( $product );
	if ( null === $target ) {
		return;
	}
	$holder = $target['product'];
	$sku    = $target['sku'];
	$level  = (int) $holder->get_stock_quantity();
	$booked = guarded(
		'WooCommerce stock change',
		static function () use ( $holder, $sku, $level ): bool {
			ensure_item( $sku, $holder );
			$on_hand = max( 0, $level );
			if ( on_hand_at_store( $sku ) !== $on_hand ) {
				ledger()->record(
					array(
						'event_id'  => stock_event_id( (int) $holder->get_id(), $level, newest_movement_id( $sku ) ),
						'sku'       => $sku,
						'kind'      => 'adjustment',
						'quantity'  => $on_hand,
						'location'  => store_location(),
						'origin'    => LOCAL_CHANNEL,
						'reference' => 'product:' . $holder->get_id(),
						'note'      => $level < 0 ? sprintf( 'WooCommerce stock set to %d (negative: booked as 0)', $level ) : sprintf( 'WooCommerce stock set to %d', $level ),
					)
				);
			}
			note_level( $sku, $level );
			return true;
		}
	);
	if ( true === $booked ) {
		changed( array( $sku ), LOCAL_CHANNEL );
	}
}

// -------------------------------------------------------------------------------------------------
// Hooks.
// -------------------------------------------------------------------------------------------------

/**
 * `woocommerce_product_set_stock` and `woocommerce_variation_set_stock`: WooCommerce wrote a
 * product's stock. Ours (the echo guard) is ignored, an order's is left to its line hooks,
 * anything else becomes an adjustment.
 *
 * @param mixed $product The product whose stock was written.
 */
function action_woocommerce_set_stock( $product ): void {
	if ( ! $product instanceof \WC_Product || Store_Writes::is_own() || ! woocommerce_available() ) {
		return;
	}
	if ( Store_Writes::in_order() ) {
		Store_Writes::defer( (int) $product->get_id() );
		return;
	}
	book_level( $product );
}

/**
 * `woocommerce_can_reduce_order_stock` / `woocommerce_can_restore_order_stock`, last in line:
 * when the order's stock is about to change, its stock writes are the order's (see Store_Writes).
 *
 * @param mixed $can Whether WooCommerce goes ahead.
 * @return mixed The same value.
 */
function filter_woocommerce_can_change_order_stock( $can ) {
	if ( $can ) {
		Store_Writes::open_order();
	}
	return $can;
}

/**
 * `woocommerce_reduce_order_stock` / `woocommerce_restore_order_stock`: the order is done; stock
 * written during it that no order line accounted for is booked as an adjustment.
 */
function action_woocommerce_order_stock_changed(): void {
	book_unmatched( Store_Writes::close_order() );
}

/**
 * `shutdown`: writes still waiting for an order line (an order run that never closed) are booked.
 */
function action_shutdown(): void {
	if ( Store_Writes::in_order() ) {
		book_unmatched( Store_Writes::take_unmatched() );
	}
}

/**
 * Books the current level of each product.
 *
 * @param int[] $product_ids Stock holders.
 */
function book_unmatched( array $product_ids ): void {
	foreach ( $product_ids as $id ) {
		book_level( wc_get_product( $id ) );
	}
}

/**
 * What Inventory Sync last booked for an order line: array{event, n, quantity}, or an empty array.
 *
 * @param object $line The order line.
 * @return array{event?: string, n?: int, quantity?: int}
 */
function line_state( $line ): array {
	$state = $line->get_meta( META_ORDER_LINE_STOCK, true );
	return is_array( $state ) && isset( $state['event'], $state['n'], $state['quantity'] ) ? $state : array();
}

/**
 * Books an order line's sale or return, then remembers it on the line (only after the ledger has
 * it: a crash in between replays the same event id).
 *
 * @param object      $line   The order line (WC_Order_Item_Product).
 * @param object      $order  The order.
 * @param string      $sku    The stock holder's SKU.
 * @param \WC_Product $holder The stock holder.
 * @param string      $event  'reduce' or 'restore'.
 * @param int         $n      Which reduction of the line.
 * @param int         $qty    Units.
 */
function book_line( $line, $order, string $sku, \WC_Product $holder, string $event, int $n, int $qty ): bool {
	$recorded = guarded(
		'WooCommerce order',
		static function () use ( $line, $order, $sku, $holder, $event, $n, $qty ): bool {
			ensure_item( $sku, $holder );
			ledger()->record(
				array(
					'event_id'  => order_event_id( (int) $order->get_id(), (int) $line->get_id(), $event, $n ),
					'sku'       => $sku,
					'kind'      => 'reduce' === $event ? 'sale' : 'return',
					'quantity'  => $qty,
					'location'  => store_location(),
					'origin'    => LOCAL_CHANNEL,
					'reference' => (string) $order->get_id(),
				)
			);
			return true;
		}
	);
	if ( true !== $recorded ) {
		return false;
	}
	$line->update_meta_data(
		META_ORDER_LINE_STOCK,
		array(
			'event'    => $event,
			'n'        => $n,
			'quantity' => $qty,
		)
	);
	$line->save();
	return true;
}

/**
 * After an order line's stock changed: notes what WooCommerce now shows and plans the SKU.
 */
function after_line( string $sku, ?int $level ): void {
	guarded( 'WooCommerce order', static fn () => note_level( $sku, $level ) );
	changed( array( $sku ), LOCAL_CHANNEL );
}

/**
 * `woocommerce_reduce_order_item_stock`: an order line's stock was reduced → a sale.
 *
 * Why the line hooks (WooCommerce 7.6+) and not `woocommerce_reduce_order_stock` with
 * `_reduced_stock`: they fire once per line, only after the write succeeded, with the line, its
 * product and the level before and after; the order-level hook would have us diff the lines'
 * meta without knowing which of them this run changed.
 *
 * @param mixed $line   The order line.
 * @param mixed $change array{product, from, to}.
 * @param mixed $order  The order.
 */
function action_woocommerce_reduce_order_item_stock( $line, $change, $order ): void {
	if ( ! is_object( $line ) || ! method_exists( $line, 'get_meta' ) || ! is_object( $order ) || ! woocommerce_available() ) {
		return;
	}
	$product = is_array( $change ) && isset( $change['product'] ) ? $change['product'] : $line->get_product();
	if ( ! $product instanceof \WC_Product ) {
		return;
	}
	Store_Writes::match( (int) $product->get_stock_managed_by_id() );
	$target = stock_holder( $product );
	if ( null === $target ) {
		return;
	}
	$level = is_array( $change ) && isset( $change['to'] ) && is_numeric( $change['to'] ) ? (int) $change['to'] : null;
	$state = line_state( $line );
	// The same reduction reported again (a duplicate hook, WooCommerce's racy second run): counted
	// once. A second write it made shows in the level, and the planner writes the ledger's back.
	if ( 'reduce' !== ( $state['event'] ?? null ) ) {
		$qty = (int) $line->get_meta( WC_META_REDUCED_STOCK, true );
		$qty = $qty > 0 ? $qty : (int) $line->get_quantity();
		if ( $qty > 0 ) {
			book_line( $line, $order, $target['sku'], $target['product'], 'reduce', ( $state['n'] ?? 0 ) + 1, $qty );
		}
	}
	after_line( $target['sku'], $level );
}

/**
 * `woocommerce_restore_order_item_stock`: an order line's stock was restored → a return
 * (restore:n for reduce:n; a line reduced before Inventory Sync booked it: restore:0) of the
 * units WooCommerce gave back (new − old: its `_reduced_stock`, which an admin edit of the line
 * may have changed since the sale — that edit's own stock write was booked as an adjustment).
 *
 * @param mixed $line      The order line.
 * @param mixed $new_stock The level after.
 * @param mixed $old_stock The level before.
 * @param mixed $order     The order.
 */
function action_woocommerce_restore_order_item_stock( $line, $new_stock, $old_stock, $order ): void {
	if ( ! is_object( $line ) || ! method_exists( $line, 'get_meta' ) || ! is_object( $order ) || ! woocommerce_available() ) {
		return;
	}
	$product = $line->get_product();
	if ( ! $product instanceof \WC_Product ) {
		return;
	}
	Store_Writes::match( (int) $product->get_stock_managed_by_id() );
	$target = stock_holder( $product );
	if ( null === $target ) {
		return;
	}
	$level = is_numeric( $new_stock ) ? (int) $new_stock : null;
	$state = line_state( $line );
	$event = $state['event'] ?? null;
	if ( 'restore' !== $event ) {
		$n   = 'reduce' === $event ? (int) $state['n'] : 0;
		$qty = is_numeric( $new_stock ) && is_numeric( $old_stock ) ? (int) $new_stock - (int) $old_stock : (int) ( $state['quantity'] ?? 0 );
		if ( $qty > 0 ) {
			book_line( $line, $order, $target['sku'], $target['product'], 'restore', $n, $qty );
		}
	}
	after_line( $target['sku'], $level );
}

// -------------------------------------------------------------------------------------------------
// First-run import.
// -------------------------------------------------------------------------------------------------

/**
 * Creates an item and an opening balance for every product with managed stock (variations whose
 * parent holds the stock count once, under the parent's SKU). Idempotent: a SKU that already has
 * a history in the ledger keeps it (its numbers stand) and the opening balance has a fixed event
 * id, so running it again — or twice at once — changes nothing. Lists products without SKU.
 * Callable from activation, the admin page and WP-CLI.
 *
 * @return array{time: int, products: int, items_created: int, opening_balances: int, already_in_ledger: int, without_sku: int}
 * @throws \InventorySync\Exception\SyncException From the ledger.
 * @throws \RuntimeException When WooCommerce is not active.
 */
function import_products(): array {
	if ( ! woocommerce_available() ) {
		throw new \RuntimeException( 'WooCommerce is not active.' );
	}
	ensure_local_channel();
	$ledger  = ledger();
	$report  = array(
		'time'              => time(),
		'products'          => 0,
		'items_created'     => 0,
		'opening_balances'  => 0,
		'already_in_ledger' => 0,
		'without_sku'       => 0,
	);
	$seen    = array();
	$without = array();
	$page    = 1;
	do {
		$ids     = wc_get_products(
			array(
				'limit'   => IMPORT_PAGE,
				'page'    => $page,
				'return'  => 'ids',
				'orderby' => 'ID',
				'order'   => 'ASC',
			)
		);
		$targets = array();
		foreach ( $ids as $id ) {
			$product = wc_get_product( $id );
			if ( ! $product instanceof \WC_Product ) {
				continue;
			}
			++$report['products'];
			$candidates = array( $product );
			if ( $product->is_type( 'variable' ) ) {
				$candidates = array_merge( $candidates, array_filter( array_map( 'wc_get_product', $product->get_children() ) ) );
			}
			foreach ( $candidates as $candidate ) {
				$holder = holder_of( $candidate );
				if ( null === $holder || isset( $seen[ $holder->get_id() ] ) ) {
					continue;
				}
				$seen[ $holder->get_id() ] = true;
				$sku                       = trim( (string) $holder->get_sku() );
				if ( '' === $sku ) {
					$without[] = (int) $holder->get_id();
				} else {
					$targets[ $sku ] = $holder;
				}
			}
		}
		$movements = array();
		foreach ( $targets as $sku => $holder ) {
			$sku = (string) $sku;
			if ( ensure_item( $sku, $holder ) ) {
				++$report['items_created'];
			}
			$level = (int) $holder->get_stock_quantity();
			if ( 0 === newest_movement_id( $sku ) ) {
				$movements[] = array(
					'event_id'  => opening_event_id( $sku ),
					'sku'       => $sku,
					'kind'      => 'adjustment',
					'quantity'  => max( 0, $level ),
					'location'  => store_location(),
					'origin'    => LOCAL_CHANNEL,
					'reference' => 'product:' . $holder->get_id(),
					'note'      => 'Opening balance from WooCommerce',
				);
			} else {
				++$report['already_in_ledger'];
			}
			note_level( $sku, $level );
		}
		if ( array() !== $movements ) {
			foreach ( $ledger->recordBatch( $movements ) as $outcome ) {
				if ( $outcome['ok'] && ! $outcome['replayed'] ) {
					++$report['opening_balances'];
				}
			}
		}
		if ( array() !== $targets ) {
			changed( array_map( 'strval', array_keys( $targets ) ), LOCAL_CHANNEL );
		}
		++$page;
	} while ( count( $ids ) === IMPORT_PAGE );

	update_option( OPTION_PRODUCTS_WITHOUT_SKU, $without, false );
	$report['without_sku'] = count( $without );
	update_option( OPTION_LAST_IMPORT, $report, false );
	return $report;
}

/**
 * Activation: the local channel and the first-run import. Never fails activation; problems go to
 * the PHP log (and show on the status page).
 */
function activate(): void {
	if ( ! woocommerce_available() ) {
		return;
	}
	try {
		import_products();
	} catch ( \Throwable $e ) {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- activation has no screen.
		error_log( 'Inventory Sync: the first WooCommerce import failed: ' . $e->getMessage() );
	}
}
