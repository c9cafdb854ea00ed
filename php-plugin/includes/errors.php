<?php
/**
 * The one place where the extension's exceptions become WordPress errors: exception class →
 * error code → HTTP status and an owner-facing, translated message. The technical message goes
 * into `data.detail` for 4xx (it helps integrators and holds no secrets) and only to the PHP log
 * for 5xx.
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\ChannelException;
use InventorySync\Exception\ConflictException;
use InventorySync\Exception\LedgerException;
use InventorySync\Exception\NotFoundException;
use InventorySync\Exception\SignatureException;
use InventorySync\Exception\ValidationException;

defined( 'ABSPATH' ) || exit;

/**
 * Maps any throwable from the extension (or our own code) to a WP_Error with an HTTP status.
 */
function to_wp_error( \Throwable $e ): \WP_Error {
	// Subclasses before their parents: NotFound and Conflict extend LedgerException.
	if ( $e instanceof ValidationException ) {
		$code   = 'inventory_sync_invalid';
		$status = 400;
	} elseif ( $e instanceof SignatureException ) {
		$code   = 'inventory_sync_bad_signature';
		$status = 401;
	} elseif ( $e instanceof NotFoundException ) {
		$code   = 'inventory_sync_not_found';
		$status = 404;
	} elseif ( $e instanceof ConflictException ) {
		$code   = 'inventory_sync_conflict';
		$status = 409;
	} elseif ( $e instanceof LedgerException ) {
		$code   = 'inventory_sync_ledger_unavailable';
		$status = 503;
	} elseif ( $e instanceof ChannelException ) {
		$code   = 'inventory_sync_channel_failed';
		$status = 502;
	} else {
		$code   = 'inventory_sync_internal';
		$status = 500;
	}
	$data = array( 'status' => $status );
	if ( $status < 500 ) {
		$data['detail'] = $e->getMessage();
	} else {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the technical side of a 5xx.
		error_log( sprintf( 'Inventory Sync: %s: %s', get_class( $e ), $e->getMessage() ) );
	}
	return new \WP_Error( $code, error_message( $code ), $data );
}

/**
 * Owner-facing message for an error code.
 */
function error_message( string $code ): string {
	switch ( $code ) {
		case 'inventory_sync_invalid':
			return __( 'The request is invalid.', 'inventory-sync' );
		case 'inventory_sync_bad_signature':
			return __( 'The signature is missing or does not match.', 'inventory-sync' );
		case 'inventory_sync_not_found':
			return __( 'Not found.', 'inventory-sync' );
		case 'inventory_sync_conflict':
			return __( 'The request conflicts with the current stock.', 'inventory-sync' );
		case 'inventory_sync_ledger_unavailable':
			return __( 'The stock ledger is unavailable. Try again shortly.', 'inventory-sync' );
		case 'inventory_sync_channel_failed':
			return __( 'A sales channel could not be reached.', 'inventory-sync' );
		case 'inventory_sync_too_large':
			return __( 'The request body is larger than 1 MiB.', 'inventory-sync' );
		case 'inventory_sync_no_secret':
			return __( 'No webhook secret is configured for this endpoint.', 'inventory-sync' );
		case 'inventory_sync_unauthorized':
			return __( 'A valid API key is required.', 'inventory-sync' );
		case 'inventory_sync_scope':
			return __( 'This API key is not allowed to do that.', 'inventory-sync' );
		case 'inventory_sync_rate_limited':
			return __( 'Too many requests for this API key. Try again after the time in Retry-After.', 'inventory-sync' );
		default:
			return __( 'Something went wrong in Inventory Sync.', 'inventory-sync' );
	}
}

/**
 * A WP_Error for one of our own codes with an HTTP status.
 */
function error( string $code, int $status, string $detail = '' ): \WP_Error {
	$data = array( 'status' => $status );
	if ( '' !== $detail ) {
		$data['detail'] = $detail;
	}
	return new \WP_Error( $code, error_message( $code ), $data );
}
