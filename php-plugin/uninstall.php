<?php
/**
 * Uninstall: removes every option, transient and cron event the plugin created. Works without
 * the extension (it only needs the constants file).
 *
 * @package InventorySync
 */

namespace InventorySync;

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

require_once __DIR__ . '/includes/constants.php';

// The ledger file holds the stock history: it is deleted only when the owner opted in.
if ( get_option( OPTION_DELETE_LEDGER_ON_UNINSTALL ) || ( defined( 'INVENTORY_SYNC_DELETE_LEDGER_ON_UNINSTALL' ) && INVENTORY_SYNC_DELETE_LEDGER_ON_UNINSTALL ) ) {
	$inventory_sync_path = (string) get_option( OPTION_LEDGER_PATH, '' );
	if ( '' !== $inventory_sync_path && ! defined( 'INVENTORY_SYNC_DB' ) ) {
		foreach ( array( '', '-wal', '-shm', '-journal' ) as $inventory_sync_suffix ) {
			if ( file_exists( $inventory_sync_path . $inventory_sync_suffix ) ) {
				unlink( $inventory_sync_path . $inventory_sync_suffix );
			}
		}
		$inventory_sync_dir = dirname( $inventory_sync_path );
		foreach ( array( '.htaccess', 'web.config', 'index.php' ) as $inventory_sync_guard ) {
			if ( file_exists( $inventory_sync_dir . '/' . $inventory_sync_guard ) ) {
				unlink( $inventory_sync_dir . '/' . $inventory_sync_guard );
			}
		}
		@rmdir( $inventory_sync_dir ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- left when not empty.
	}
}

foreach ( option_names() as $option ) {
	delete_option( $option );
}
foreach ( array_keys( cron_hooks() ) as $hook ) {
	wp_clear_scheduled_hook( $hook );
}

global $wpdb;
// Transients have no listing API; delete ours by prefix (value and timeout rows).
$wpdb->query(
	$wpdb->prepare(
		"DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s",
		$wpdb->esc_like( '_transient_' . TRANSIENT_PREFIX ) . '%',
		$wpdb->esc_like( '_transient_timeout_' . TRANSIENT_PREFIX ) . '%'
	)
);
