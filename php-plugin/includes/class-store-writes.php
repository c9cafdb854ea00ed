<?php
/**
 * Which stock writes in WooCommerce are not new movements: our own (the local channel applying
 * the ledger's quantity — the echo guard) and an order's (booked as sale / return by the order
 * line hooks, not as an adjustment). Per request, in memory.
 *
 * @package InventorySync
 */

namespace InventorySync;

defined( 'ABSPATH' ) || exit;

/**
 * The echo guard and the order stock runs.
 *
 * An order's stock run is opened by WooCommerce's gate filters (`woocommerce_can_reduce_order_stock`,
 * `woocommerce_can_restore_order_stock`) and closed by `woocommerce_reduce_order_stock` /
 * `woocommerce_restore_order_stock`. Each `*_set_stock` during a run is counted against its
 * stock holder; each order line hook takes one back. Writes left over when the run closes were
 * made by someone else during the order (a bundle plugin, say) and are booked as adjustments.
 */
final class Store_Writes {
	/** @var int Depth of our own writes in progress. */
	private static $own = 0;

	/** @var int Order stock runs open. */
	private static $orders = 0;

	/** @var array<int, int> Stock holder id => writes during order runs not matched to a line yet. */
	private static $unmatched = array();

	/**
	 * Runs $write as our own write: the stock hooks it fires are ignored.
	 *
	 * @param callable $write The write.
	 * @return mixed What $write returns.
	 */
	public static function own( callable $write ) {
		++self::$own;
		try {
			return $write();
		} finally {
			--self::$own;
		}
	}

	/** Whether the stock write being reported is ours. */
	public static function is_own(): bool {
		return self::$own > 0;
	}

	/** An order's stock reduction or restoration starts. */
	public static function open_order(): void {
		++self::$orders;
	}

	/** Whether an order's stock run is in progress. */
	public static function in_order(): bool {
		return self::$orders > 0;
	}

	/** A stock write of $holder_id during an order run, to be matched by an order line. */
	public static function defer( int $holder_id ): void {
		self::$unmatched[ $holder_id ] = ( self::$unmatched[ $holder_id ] ?? 0 ) + 1;
	}

	/** An order line accounted for one write of $holder_id. */
	public static function match( int $holder_id ): void {
		if ( isset( self::$unmatched[ $holder_id ] ) && --self::$unmatched[ $holder_id ] <= 0 ) {
			unset( self::$unmatched[ $holder_id ] );
		}
	}

	/**
	 * An order's stock run ended; when no other is open, returns the stock holders written during
	 * the runs that no order line accounted for (and forgets them).
	 *
	 * @return int[]
	 */
	public static function close_order(): array {
		self::$orders = max( 0, self::$orders - 1 );
		return self::$orders > 0 ? array() : self::take_unmatched();
	}

	/**
	 * Ends every order run (the request is over) and returns the unmatched stock holders.
	 *
	 * @return int[]
	 */
	public static function take_unmatched(): array {
		self::$orders    = 0;
		$left            = array_keys( self::$unmatched );
		self::$unmatched = array();
		return $left;
	}
}
