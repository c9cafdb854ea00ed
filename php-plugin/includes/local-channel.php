<?php
/**
 * Ledger → WooCommerce: the `woocommerce_local` channel, which is this store. The planner gives
 * it jobs like any channel; the queue runner leaves them to PHP, and each queue run applies them
 * here with wc_update_product_stock( …, 'set' ) inside the echo guard (Store_Writes::own), so our
 * own writes never come back as movements.
 *
 * @package InventorySync
 */

namespace InventorySync\Store;

use InventorySync\Exception\SyncException;
use InventorySync\Store_Writes;
use function InventorySync\ledger;
use function InventorySync\Sync\guarded;
use const InventorySync\LOCAL_CHANNEL;
use const InventorySync\LOCAL_CHANNEL_KIND;
use const InventorySync\LOCAL_JOBS_PER_CLAIM;
use const InventorySync\LOCAL_RUN_BUDGET_MS;

defined( 'ABSPATH' ) || exit;

/**
 * Creates the local channel when it is missing (never changes one the owner edited or disabled).
 * Without WooCommerce there is no store to apply to: nothing is created.
 *
 * @return bool Whether the channel exists.
 * @throws SyncException From the ledger.
 */
function ensure_local_channel(): bool {
	static $exists = false;
	if ( $exists ) {
		return true;
	}
	if ( ! woocommerce_available() ) {
		return false;
	}
	if ( null === ledger()->channel( LOCAL_CHANNEL ) ) {
		ledger()->saveChannel(
			array(
				'key'  => LOCAL_CHANNEL,
				'kind' => LOCAL_CHANNEL_KIND,
				'name' => __( 'This store (WooCommerce)', 'inventory-sync' ),
			)
		);
	}
	$exists = true;
	return true;
}

/**
 * HOOK_LEDGER_CHANGED, before planning: the local channel must exist for the planner to give it
 * jobs (sites that had the plugin before the channel existed get it here).
 */
function action_ledger_changed(): void {
	guarded( 'local channel', static fn () => ensure_local_channel() );
}

/**
 * HOOK_QUEUE_RAN, after every queue pass (cron, kick, WP-CLI): applies the local channel's jobs.
 */
function action_run_queue(): void {
	if ( ! woocommerce_available() ) {
		return;
	}
	guarded(
		'local channel',
		static function () {
			ensure_local_channel();
			return apply_local_jobs();
		}
	);
}

/**
 * Claims the local channel's jobs and applies them until none is left or the budget is spent.
 *
 * @return array{applied: int, dead: int, retried: int}
 * @throws SyncException From the ledger (claiming).
 */
function apply_local_jobs( int $budget_ms = LOCAL_RUN_BUDGET_MS ): array {
	$report   = array(
		'applied' => 0,
		'dead'    => 0,
		'retried' => 0,
	);
	$owner    = 'woocommerce-local:' . wp_generate_uuid4();
	$deadline = microtime( true ) + $budget_ms / 1000;
	do {
		$jobs = ledger()->claimLocalJobs( $owner, LOCAL_JOBS_PER_CLAIM );
		foreach ( $jobs as $job ) {
			++$report[ apply_job( $job, $owner ) ];
		}
	} while ( count( $jobs ) === LOCAL_JOBS_PER_CLAIM && microtime( true ) < $deadline );
	return $report;
}

/**
 * Why a job for $sku cannot be applied to this store (a permanent failure), or the product to
 * write.
 *
 * @return \WC_Product|string
 */
function product_for( string $sku ) {
	$id      = (int) wc_get_product_id_by_sku( $sku );
	$product = $id > 0 ? wc_get_product( $id ) : false;
	if ( ! $product instanceof \WC_Product ) {
		return sprintf( 'no WooCommerce product or variation has the SKU %s', $sku );
	}
	if ( (string) $product->get_sku() !== $sku ) {
		return sprintf( 'WooCommerce product #%d has the SKU %s, not %s (SKUs differ in case)', $id, $product->get_sku(), $sku );
	}
	if ( ! $product->managing_stock() ) {
		return sprintf( 'WooCommerce product #%d (SKU %s) does not manage its stock', $id, $sku );
	}
	$holder_id = (int) $product->get_stock_managed_by_id();
	if ( $holder_id !== $id ) {
		return sprintf( 'the stock of WooCommerce variation #%d (SKU %s) is managed by its parent product #%d: the ledger keeps it under the parent\'s SKU', $id, $sku, $holder_id );
	}
	return $product;
}

/**
 * Applies one claimed job: writes the desired quantity, then completes the job; a missing or
 * unsuitable product makes it dead with the reason; an error during the write retries it.
 *
 * @param array<string, mixed> $job   The claimed job.
 * @param string               $owner The claim owner.
 * @return string 'applied', 'dead' or 'retried'.
 */
function apply_job( array $job, string $owner ): string {
	$id      = (int) $job['id'];
	$product = product_for( (string) $job['sku'] );
	try {
		if ( is_string( $product ) ) {
			ledger()->failJob( $id, $owner, $product, false );
			return 'dead';
		}
		try {
			$desired = (int) $job['desired'];
			Store_Writes::own( static fn () => wc_update_product_stock( $product, $desired, 'set' ) );
		} catch ( \Exception $e ) {
			ledger()->failJob( $id, $owner, 'writing the WooCommerce stock failed: ' . $e->getMessage(), true );
			return 'retried';
		}
		ledger()->completeJob( $id, $owner );
		return 'applied';
	} catch ( SyncException $e ) {
		// A lost claim (it expired and another run took the job) or a ledger failure: that run
		// finishes the job; nothing is written twice over a newer quantity.
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- cron has no screen.
		error_log( sprintf( 'Inventory Sync local channel: job %d: %s', $id, $e->getMessage() ) );
		return 'retried';
	}
}
