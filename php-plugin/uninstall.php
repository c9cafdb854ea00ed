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
	// A ledger in the site's own database: its tables (one named by INVENTORY_SYNC_MYSQL_URL is
	// the owner's to remove, as a file named by INVENTORY_SYNC_DB is).
	$inventory_sync_in_database = defined( CONSTANT_LEDGER )
		? LEDGER_IN_DATABASE === constant( CONSTANT_LEDGER )
		: LEDGER_IN_DATABASE === get_option( OPTION_LEDGER_BACKEND );
	if ( $inventory_sync_in_database && ! defined( CONSTANT_MYSQL_URL ) ) {
		global $wpdb;
		$inventory_sync_tables = $wpdb->get_col( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->esc_like( $wpdb->base_prefix . LEDGER_TABLE_PREFIX ) . '%' ) );
		if ( array() !== $inventory_sync_tables ) {
			// Names SHOW TABLES gave, quoted as identifiers; the foreign keys between them are not
			// checked while they all go.
			$inventory_sync_names = array_map( static fn ( $name ) => '`' . str_replace( '`', '``', (string) $name ) . '`', $inventory_sync_tables );
			$wpdb->query( 'SET FOREIGN_KEY_CHECKS = 0' );
			$wpdb->query( 'DROP TABLE IF EXISTS ' . implode( ', ', $inventory_sync_names ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared,WordPress.DB.DirectDatabaseQuery.SchemaChange
			$wpdb->query( 'SET FOREIGN_KEY_CHECKS = 1' );
		}
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
