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
