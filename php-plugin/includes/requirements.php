<?php
/**
 * The requirement gate and what must work even when the extension is missing: the admin notice,
 * activation, deactivation and the WooCommerce feature declaration. Nothing here calls the
 * extension.
 *
 * @package InventorySync
 */

namespace InventorySync;

defined( 'ABSPATH' ) || exit;

/**
 * Why the plugin cannot run here — 'extension_missing' or 'extension_version' — or null when it
 * can. Codes, not messages: this runs before translations may be loaded.
 */
function requirements_problem(): ?string {
	if ( ! extension_loaded( EXTENSION ) ) {
		return 'extension_missing';
	}
	if ( ! extension_version_compatible( (string) phpversion( EXTENSION ), REQUIRED_EXTENSION_VERSION ) ) {
		return 'extension_version';
	}
	return null;
}

/**
 * The owner-facing text for a requirements problem code.
 */
function requirements_message( string $problem ): string {
	if ( 'extension_version' === $problem ) {
		return sprintf(
			/* translators: 1: loaded extension version, 2: required version */
			__( 'the PHP extension inventory_sync is version %1$s but this plugin needs %2$s. Install the extension that came with this plugin and restart PHP.', 'inventory-sync' ),
			(string) phpversion( EXTENSION ),
			REQUIRED_EXTENSION_VERSION
		);
	}
	return sprintf(
		/* translators: %s: extension name */
		__( 'the PHP extension %s is not loaded. Add the extension= line from the README to php.ini and restart PHP.', 'inventory-sync' ),
		EXTENSION
	);
}

/**
 * Same major.minor and at least the required patch level.
 */
function extension_version_compatible( string $loaded, string $required ): bool {
	if ( ! preg_match( '/^(\d+)\.(\d+)\.(\d+)/', $loaded, $have ) || ! preg_match( '/^(\d+)\.(\d+)\.(\d+)/', $required, $need ) ) {
		return false;
	}
	return $have[1] === $need[1] && $have[2] === $need[2] && (int) $have[3] >= (int) $need[3];
}

/**
 * Runs the gate once per request. When it fails, registers the admin notice and returns false.
 */
function gate(): bool {
	static $passed = null;
	if ( null === $passed ) {
		$passed = null === requirements_problem();
		// The feature declaration is made either way so WooCommerce does not flag the plugin.
		add_action( 'before_woocommerce_init', __NAMESPACE__ . '\\action_before_woocommerce_init' );
		if ( ! $passed ) {
			add_action( 'admin_notices', __NAMESPACE__ . '\\action_admin_notices_requirements' );
		}
	}
	return $passed;
}

/**
 * Declares compatibility with WooCommerce's custom order tables (HPOS): the plugin uses order
 * CRUD only.
 */
function action_before_woocommerce_init(): void {
	if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
		\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', PLUGIN_FILE, true );
	}
}

/**
 * The notice shown while the plugin is inert.
 */
function action_admin_notices_requirements(): void {
	if ( ! current_user_can( 'activate_plugins' ) && ! current_user_can( CAPABILITY ) ) {
		return;
	}
	$problem = requirements_problem();
	if ( null === $problem ) {
		return;
	}
	printf(
		'<div class="notice notice-error inventory-sync-requirements"><p><strong>%1$s</strong> %2$s</p></div>',
		esc_html__( 'Inventory Sync is inactive:', 'inventory-sync' ),
		esc_html( requirements_message( $problem ) )
	);
}

/**
 * Activation: schedules the cron events when the extension is there (they are scheduled later,
 * on the first request with the extension, when it is not).
 */
function activate(): void {
	if ( null !== requirements_problem() ) {
		return;
	}
	schedule_cron_events();
	// Create the ledger (and its default location) now, so a problem shows on the status page
	// right away; activation itself never fails because of it.
	if ( function_exists( __NAMESPACE__ . '\\ledger' ) ) {
		try {
			ledger();
		} catch ( \Throwable $e ) {
			// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- shown on the status page too.
			error_log( 'Inventory Sync: the ledger could not be created: ' . $e->getMessage() );
		}
	}
	// This WooCommerce store: the local channel and the first-run import (includes/store.php).
	if ( function_exists( __NAMESPACE__ . '\\Store\\activate' ) ) {
		Store\activate();
	}
}

/**
 * Schedules every cron event that is not scheduled yet.
 */
function schedule_cron_events(): void {
	foreach ( cron_hooks() as $hook => $recurrence ) {
		if ( false === wp_next_scheduled( $hook ) ) {
			wp_schedule_event( first_run( $hook, time() ), $recurrence, $hook );
		}
	}
}

/**
 * When a cron event first runs: the next DAILY_AT time in the site's timezone for daily jobs
 * at a fixed hour (full sync at 02:00…), else now.
 */
function first_run( string $hook, int $now ): int {
	return isset( DAILY_AT[ $hook ] ) ? next_site_time( DAILY_AT[ $hook ], $now ) : $now;
}

/**
 * The next moment after $now when the site's clock (wp_timezone()) shows $hhmm ('02:00').
 */
function next_site_time( string $hhmm, int $now ): int {
	[ $hour, $minute ] = array_map( 'intval', explode( ':', $hhmm ) + array( 1 => '0' ) );
	$today             = ( new \DateTimeImmutable( '@' . $now ) )->setTimezone( wp_timezone() )->setTime( $hour, $minute );
	// A day is added on the calendar (not 86400 s), so the hour stays right across DST changes.
	return $today->getTimestamp() > $now ? $today->getTimestamp() : $today->modify( '+1 day' )->setTime( $hour, $minute )->getTimestamp();
}

/**
 * Deactivation: clears every cron event the plugin scheduled. Data stays until uninstall.
 */
function deactivate(): void {
	foreach ( array_keys( cron_hooks() ) as $hook ) {
		wp_clear_scheduled_hook( $hook );
	}
}
