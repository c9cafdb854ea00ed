<?php
/**
 * The sync engine's WordPress edges: planning after a ledger change, and the cron jobs that run
 * the queue, the incremental and full syncs, reconciliation and the primary-source pull. Every
 * decision is made in the extension; this file only calls it and logs what failed.
 *
 * @package InventorySync
 */

namespace InventorySync\Sync;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\CONSTANT_SECRET_KEY;
use const InventorySync\FILTER_PRIMARY_SOURCE;
use const InventorySync\HOOK_LEDGER_CHANGED;
use const InventorySync\HOOK_QUEUE_RAN;
use const InventorySync\QUEUE_RUN_BUDGET_MS;

defined( 'ABSPATH' ) || exit;

/**
 * The secret material channel credentials are sealed with: INVENTORY_SYNC_SECRET_KEY when the
 * site defines it (set it before moving a ledger between sites), else WordPress's own salts.
 * Null when neither is long enough: channels with credentials then cannot be saved.
 */
function credential_key_material(): ?string {
	if ( defined( CONSTANT_SECRET_KEY ) && is_string( constant( CONSTANT_SECRET_KEY ) ) && strlen( constant( CONSTANT_SECRET_KEY ) ) >= 16 ) {
		return constant( CONSTANT_SECRET_KEY );
	}
	$material = ( defined( 'AUTH_KEY' ) ? (string) AUTH_KEY : '' ) . ( defined( 'SECURE_AUTH_SALT' ) ? (string) SECURE_AUTH_SALT : '' );
	// WordPress's placeholder ("put your unique phrase here") is public: it seals nothing.
	if ( strlen( $material ) < 16 || str_contains( $material, 'put your unique phrase here' ) ) {
		return null;
	}
	return $material;
}

/**
 * Announces a ledger change: plans the SKUs for every channel at once (cheap, no HTTP), so the
 * next queue run pushes them.
 *
 * @param string[]    $skus   The SKUs whose stock changed.
 * @param string|null $origin The channel the change came from (never written back), if any.
 */
function changed( array $skus, ?string $origin = null ): void {
	$skus = array_values( array_unique( array_filter( $skus, 'is_string' ) ) );
	if ( array() !== $skus ) {
		do_action( HOOK_LEDGER_CHANGED, $skus, $origin );
	}
}

/**
 * HOOK_LEDGER_CHANGED: plans the changed SKUs.
 *
 * @param mixed $skus   The SKUs.
 * @param mixed $origin The origin channel key, or null.
 */
function action_ledger_changed( $skus, $origin = null ): void {
	if ( ! is_array( $skus ) || array() === $skus ) {
		return;
	}
	guarded(
		'planning',
		static fn () => ledger()->syncSkus( array_values( $skus ), is_string( $origin ) && '' !== $origin ? $origin : null )
	);
}

/**
 * Cron, every minute (and the kicked runner): one queue pass within a budget that fits PHP's time
 * limit. Claims make overlapping runs safe.
 */
function action_run_queue(): void {
	$budget = queue_budget_ms();
	guarded( 'queue run', static fn () => run_queue( $budget ) );
}

/**
 * A queue pass's time budget in this request: QUEUE_RUN_BUDGET_MS, less when PHP's time limit
 * would end the request first (10 s are left for the rest of it).
 */
function queue_budget_ms(): int {
	$limit = (int) ini_get( 'max_execution_time' );
	return $limit > 0 ? min( QUEUE_RUN_BUDGET_MS, max( 1000, ( $limit - 10 ) * 1000 ) ) : QUEUE_RUN_BUDGET_MS;
}

/**
 * One queue pass, the same for cron, the kick and WP-CLI: the channels' jobs through the
 * extension, then the supplier messages, then HOOK_QUEUE_RAN (where this store's own channel
 * applies its jobs).
 *
 * @param int $budget_ms The pass's time budget for the channels.
 * @return array The extension's queue report.
 * @throws SyncException When the ledger fails.
 */
function run_queue( int $budget_ms ): array {
	$report = ledger()->runQueue( array( 'budget_ms' => $budget_ms ) );
	guarded( 'supplier messages', static fn () => ledger()->sendMessages() );
	do_action( HOOK_QUEUE_RAN, $report );
	return $report;
}

/**
 * Cron, every 5 minutes: plans the SKUs changed since the last incremental run.
 */
function action_incremental_sync(): void {
	guarded( 'incremental sync', static fn () => ledger()->syncIncremental() );
}

/**
 * Cron, daily: plans every item for every channel.
 */
function action_full_sync(): void {
	guarded( 'full sync', static fn () => ledger()->syncFull() );
}

/**
 * Cron, daily: reads the channels that can be read, records drift and repairs it.
 */
function action_reconcile(): void {
	guarded( 'reconciliation', static fn () => ledger()->reconcile() );
}

/**
 * Cron, every 5 minutes: takes stock levels from the primary source. A site can supply its own
 * levels through FILTER_PRIMARY_SOURCE; otherwise the configured source (if any) is read.
 */
function action_pull_source(): void {
	$pull_id = gmdate( 'Ymd\THis\Z' ) . '-' . wp_generate_password( 6, false );
	$own     = apply_filters( FILTER_PRIMARY_SOURCE, null );
	if ( is_array( $own ) ) {
		guarded(
			'pull',
			static fn () => ledger()->pullLevels(
				(string) ( $own['source'] ?? 'site' ),
				(string) ( $own['pull_id'] ?? $pull_id ),
				is_array( $own['levels'] ?? null ) ? array_values( $own['levels'] ) : array()
			)
		);
		return;
	}
	guarded(
		'pull',
		static function () use ( $pull_id ) {
			return null === ledger()->source() ? null : ledger()->pullSource( $pull_id );
		}
	);
}

/**
 * Runs one sync step; an extension error is logged (never its secrets: the extension keeps
 * them out of messages) and never breaks the request or cron run.
 *
 * @param string   $what What is run, for the log.
 * @param callable $step The step.
 * @return mixed The step's result, or null when it failed.
 */
function guarded( string $what, callable $step ) {
	try {
		return $step();
	} catch ( SyncException $e ) {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- cron has no screen.
		error_log( sprintf( 'Inventory Sync %s: %s', $what, $e->getMessage() ) );
		return null;
	}
}
