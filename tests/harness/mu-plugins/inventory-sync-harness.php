<?php
/**
 * Plugin Name: Inventory Sync test harness (must-use, tests only)
 * Description: Keeps throw-away test sites quiet and offline: no update checks against
 * WordPress.org (unreachable here; the failures would fill the debug log with warnings), and no
 * e-mail leaves the site: wp_mail() appends each message to wp-content/harness-mails.jsonl
 * (Site::mails() reads them).
 */

defined( 'ABSPATH' ) || exit;

$inventory_sync_harness_no_updates = static function () {
	global $wp_version;
	return (object) array(
		'last_checked'    => time(),
		'version_checked' => $wp_version,
		'updates'         => array(),
		'translations'    => array(),
		'response'        => array(),
		'checked'         => array(),
	);
};
add_filter( 'pre_site_transient_update_core', $inventory_sync_harness_no_updates );
add_filter( 'pre_site_transient_update_plugins', $inventory_sync_harness_no_updates );
add_filter( 'pre_site_transient_update_themes', $inventory_sync_harness_no_updates );
add_filter( 'automatic_updater_disabled', '__return_true' );
remove_action( 'admin_init', '_maybe_update_core' );
remove_action( 'admin_init', '_maybe_update_plugins' );
remove_action( 'admin_init', '_maybe_update_themes' );
add_action(
	'init',
	static function () {
		remove_action( 'wp_version_check', 'wp_version_check' );
		remove_action( 'wp_update_plugins', 'wp_update_plugins' );
		remove_action( 'wp_update_themes', 'wp_update_themes' );
		// The dashboard's news and PHP/browser checks also call WordPress.org.
		remove_action( 'wp_dashboard_setup', 'wp_dashboard_setup' );
	}
);
add_action(
	'admin_init',
	static function () {
		// Added by wp-admin/includes/admin-filters.php, after must-use plugins load.
		remove_action( 'load-plugins.php', 'wp_update_plugins' );
		remove_action( 'load-update.php', 'wp_update_plugins' );
		remove_action( 'load-update-core.php', 'wp_update_plugins' );
		remove_action( 'load-themes.php', 'wp_update_themes' );
		remove_action( 'load-update.php', 'wp_update_themes' );
		remove_action( 'load-update-core.php', 'wp_update_themes' );
	}
);
add_filter( 'pre_http_request', static function ( $pre, $args, $url ) {
	$host = (string) wp_parse_url( $url, PHP_URL_HOST );
	if ( str_ends_with( $host, 'wordpress.org' ) || str_ends_with( $host, 'w.org' ) ) {
		return new WP_Error( 'http_request_blocked', 'offline test site' );
	}
	return $pre;
}, 10, 3 );
add_filter( 'wp_check_browser_version', '__return_false' );
add_filter(
	'pre_wp_mail',
	static function ( $sent, $atts ) {
		$mail = array(
			'to'      => array_values( (array) $atts['to'] ),
			'subject' => (string) $atts['subject'],
			'message' => (string) $atts['message'],
			'headers' => $atts['headers'],
			'time'    => microtime( true ),
		);
		file_put_contents( WP_CONTENT_DIR . '/harness-mails.jsonl', wp_json_encode( $mail ) . "\n", FILE_APPEND | LOCK_EX );
		return true;
	},
	10,
	2
);
add_filter( 'pre_site_transient_php_check_' . md5( PHP_VERSION ), static fn () => array( 'is_acceptable' => true, 'is_secure' => true, 'is_supported' => true, 'is_lower_than_future_minimum' => false, 'recommended_version' => PHP_VERSION, 'minimum_version' => '7.0' ) );
