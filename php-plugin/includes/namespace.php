<?php
/**
 * Bootstrap: every hook the plugin registers, in one place, and their callbacks.
 *
 * @package InventorySync
 */

namespace InventorySync;

defined( 'ABSPATH' ) || exit;

/**
 * Registers all hooks. Called once from the main file after the requirement gate passed.
 */
function bootstrap(): void {
	// Actions.
	add_action( 'init', __NAMESPACE__ . '\\action_init' );
	add_action( 'rest_api_init', __NAMESPACE__ . '\\action_rest_api_init' );
	add_action( CRON_HEALTH_CHECK, __NAMESPACE__ . '\\action_health_check' );
	add_action( CRON_RUN_QUEUE, __NAMESPACE__ . '\\Sync\\action_run_queue' );
	add_action( CRON_INCREMENTAL_SYNC, __NAMESPACE__ . '\\Sync\\action_incremental_sync' );
	add_action( CRON_FULL_SYNC, __NAMESPACE__ . '\\Sync\\action_full_sync' );
	add_action( CRON_RECONCILE, __NAMESPACE__ . '\\Sync\\action_reconcile' );
	add_action( CRON_PULL_SOURCE, __NAMESPACE__ . '\\Sync\\action_pull_source' );
	add_action( HOOK_LEDGER_CHANGED, __NAMESPACE__ . '\\Sync\\action_ledger_changed', 10, 2 );
	// Scheduling, health, alerts (cron.php, alerts.php): the heartbeat runs first on every event
	// of ours; the kick follows planning (priority 20) and is sent once, at shutdown.
	foreach ( array_keys( cron_hooks() ) as $hook ) {
		add_action( $hook, __NAMESPACE__ . '\\Cron\\action_cron_tick', 0 );
	}
	add_action( CRON_HEALTH_CHECK, __NAMESPACE__ . '\\Alerts\\action_health_check', 20 );
	add_action( CRON_RETENTION, __NAMESPACE__ . '\\Cron\\action_retention' );
	add_action( CRON_DAILY_SUMMARY, __NAMESPACE__ . '\\Alerts\\action_daily_summary' );
	add_action( HOOK_LEDGER_CHANGED, __NAMESPACE__ . '\\Cron\\action_ledger_changed', 20 );
	add_action( 'shutdown', __NAMESPACE__ . '\\Cron\\action_shutdown' );
	if ( defined( 'WP_CLI' ) && WP_CLI ) {
		\WP_CLI::add_command( 'inventory-sync', CLI_Command::class );
	}
	// This WooCommerce store (includes/store.php, includes/local-channel.php).
	add_action( 'woocommerce_product_set_stock', __NAMESPACE__ . '\\Store\\action_woocommerce_set_stock' );
	add_action( 'woocommerce_variation_set_stock', __NAMESPACE__ . '\\Store\\action_woocommerce_set_stock' );
	add_action( 'woocommerce_reduce_order_item_stock', __NAMESPACE__ . '\\Store\\action_woocommerce_reduce_order_item_stock', 10, 3 );
	add_action( 'woocommerce_restore_order_item_stock', __NAMESPACE__ . '\\Store\\action_woocommerce_restore_order_item_stock', 10, 4 );
	add_action( 'woocommerce_reduce_order_stock', __NAMESPACE__ . '\\Store\\action_woocommerce_order_stock_changed', 10, 0 );
	add_action( 'woocommerce_restore_order_stock', __NAMESPACE__ . '\\Store\\action_woocommerce_order_stock_changed', 10, 0 );
	add_action( 'shutdown', __NAMESPACE__ . '\\Store\\action_shutdown' );
	add_action( HOOK_LEDGER_CHANGED, __NAMESPACE__ . '\\Store\\action_ledger_changed', 5, 0 );
	add_action( HOOK_QUEUE_RAN, __NAMESPACE__ . '\\Store\\action_run_queue', 10, 0 );
	// Paid orders to their suppliers (includes/suppliers.php); routing is once per order.
	add_action( 'woocommerce_payment_complete', __NAMESPACE__ . '\\Suppliers\\action_order_paid' );
	add_action( 'woocommerce_order_status_processing', __NAMESPACE__ . '\\Suppliers\\action_order_paid' );
	add_action( 'woocommerce_order_status_completed', __NAMESPACE__ . '\\Suppliers\\action_order_paid' );
	if ( is_admin() ) {
		add_action( 'admin_menu', __NAMESPACE__ . '\\Admin\\action_admin_menu' );
		add_action( 'admin_init', __NAMESPACE__ . '\\Cron\\register_settings' );
		add_action( 'admin_init', __NAMESPACE__ . '\\Alerts\\register_settings' );
		add_action( 'admin_post_' . ACTION_IMPORT_PRODUCTS, __NAMESPACE__ . '\\Admin\\action_admin_post_import_products' );
		add_action( 'admin_post_' . ACTION_STOCK_MOVEMENT, __NAMESPACE__ . '\\Admin\\action_admin_post_stock_movement' );
		add_action( 'admin_post_' . ACTION_SAVE_CHANNEL, __NAMESPACE__ . '\\Admin\\action_admin_post_save_channel' );
		add_action( 'admin_post_' . ACTION_TEST_CHANNEL, __NAMESPACE__ . '\\Admin\\action_admin_post_test_channel' );
		add_action( 'admin_post_' . ACTION_AUTO_MAP, __NAMESPACE__ . '\\Admin\\action_admin_post_auto_map' );
		add_action( 'admin_post_' . ACTION_MAP_SKU, __NAMESPACE__ . '\\Admin\\action_admin_post_map_sku' );
		add_action( 'admin_post_' . ACTION_EXPORT_REPORT, __NAMESPACE__ . '\\Admin\\action_admin_post_export_report' );
		// The Queue page (includes/admin/queue.php), after the top-level menu it hangs under.
		add_action( 'admin_menu', __NAMESPACE__ . '\\Admin\\Queue\\action_admin_menu', 20 );
		add_action( 'admin_post_' . ACTION_RETRY_JOB, __NAMESPACE__ . '\\Admin\\Queue\\action_admin_post_retry_job' );
		add_action( 'admin_post_' . ACTION_RETRY_DEAD, __NAMESPACE__ . '\\Admin\\Queue\\action_admin_post_retry_dead' );
		add_action( 'admin_post_' . ACTION_CLEAR_JOBS, __NAMESPACE__ . '\\Admin\\Queue\\action_admin_post_clear_jobs' );
		add_action( 'admin_post_' . ACTION_SYNC_NOW, __NAMESPACE__ . '\\Admin\\Queue\\action_admin_post_sync_now' );
		// The Settings page (includes/admin/settings.php), last in the menu.
		add_action( 'admin_menu', __NAMESPACE__ . '\\Admin\\Settings\\action_admin_menu', 30 );
		add_action( 'admin_init', __NAMESPACE__ . '\\Admin\\Settings\\register_settings' );
		add_action( 'admin_post_' . ACTION_ROTATE_SECRET, __NAMESPACE__ . '\\Admin\\Settings\\action_admin_post_rotate_secret' );
		add_action( 'admin_post_' . ACTION_CREATE_KEY, __NAMESPACE__ . '\\Admin\\Settings\\action_admin_post_create_api_key' );
		add_action( 'admin_post_' . ACTION_REVOKE_KEY, __NAMESPACE__ . '\\Admin\\Settings\\action_admin_post_revoke_api_key' );
		add_action( 'admin_post_' . ACTION_MOVE_LEDGER, __NAMESPACE__ . '\\Admin\\Settings\\action_admin_post_move_ledger' );
	}

	// Filters.
	add_filter( 'cron_schedules', __NAMESPACE__ . '\\filter_cron_schedules' );
	if ( is_admin() ) {
		// options.php asks for manage_options; the Settings page's form needs only CAPABILITY.
		add_filter( 'option_page_capability_' . SETTINGS_GROUP, __NAMESPACE__ . '\\Admin\\Settings\\filter_option_page_capability' );
	}
	add_filter( 'rest_pre_dispatch', __NAMESPACE__ . '\\filter_rest_pre_dispatch', 10, 3 );
	add_filter( 'rest_post_dispatch', __NAMESPACE__ . '\\filter_rest_post_dispatch', 10, 3 );
	// Inbound API metrics (includes/api-metrics.php): last, to time the whole answer.
	add_filter( 'rest_post_dispatch', __NAMESPACE__ . '\\Metrics\\filter_rest_post_dispatch', PHP_INT_MAX, 3 );
	// Last in line: only an order stock change that really goes ahead opens an order run.
	add_filter( 'woocommerce_can_reduce_order_stock', __NAMESPACE__ . '\\Store\\filter_woocommerce_can_change_order_stock', PHP_INT_MAX );
	add_filter( 'woocommerce_can_restore_order_stock', __NAMESPACE__ . '\\Store\\filter_woocommerce_can_change_order_stock', PHP_INT_MAX );
}

/**
 * Loads translations and makes sure the cron events exist (the plugin may have been activated
 * while the extension was missing).
 */
function action_init(): void {
	load_plugin_textdomain( TEXT_DOMAIN, false, dirname( plugin_basename( PLUGIN_FILE ) ) . '/languages' );
	schedule_cron_events();
}

/**
 * Registers the REST routes.
 */
function action_rest_api_init(): void {
	( new Webhooks_Controller() )->register_routes();
	( new Stock_Controller() )->register_routes();
	( new Movements_Controller() )->register_routes();
	( new Health_Controller() )->register_routes();
	( new Queue_Kick_Controller() )->register_routes();
	( new Supplier_Replies_Controller() )->register_routes();
}

/**
 * Verifies signed webhook deliveries before WordPress parses their bodies; a refused delivery is
 * answered here and never reaches route matching or JSON decoding.
 *
 * @param mixed            $result  A response already chosen by an earlier filter, or null.
 * @param \WP_REST_Server  $server  The server.
 * @param \WP_REST_Request $request The request.
 * @return mixed
 */
function filter_rest_pre_dispatch( $result, $server, $request ) {
	if ( null !== $result || ! $request instanceof \WP_REST_Request
		|| ! str_starts_with( $request->get_route(), '/' . REST_NAMESPACE . '/' ) ) {
		return $result;
	}
	if ( strlen( $request->get_body() ) > MAX_BODY_BYTES ) {
		$error = error( 'inventory_sync_too_large', 413 );
		log_refusal( $request, $error );
		return $error;
	}
	if ( 'POST' !== $request->get_method() || ! Webhooks_Controller::is_webhook_route( $request->get_route() ) ) {
		return $result;
	}
	$verdict = Webhooks_Controller::verify( $request );
	return true === $verdict ? $result : $verdict;
}

/**
 * Adds `Retry-After` to our 429 answers (WordPress turns WP_Error data into the body only).
 *
 * @param \WP_HTTP_Response $response The response.
 * @param \WP_REST_Server   $server   The server.
 * @param \WP_REST_Request  $request  The request.
 * @return \WP_HTTP_Response
 */
function filter_rest_post_dispatch( $response, $server, $request ) {
	if ( $response instanceof \WP_HTTP_Response && 429 === $response->get_status() ) {
		$data = $response->get_data();
		if ( is_array( $data ) && isset( $data['data']['retry_after'] ) ) {
			$response->header( 'Retry-After', (string) (int) $data['data']['retry_after'] );
		}
	}
	return $response;
}

/**
 * The plugin's cron intervals.
 *
 * @param array<string, array{interval:int, display:string}> $schedules Known schedules.
 * @return array<string, array{interval:int, display:string}>
 */
function filter_cron_schedules( $schedules ): array {
	$schedules = is_array( $schedules ) ? $schedules : array();
	$schedules[ SCHEDULE_EVERY_MINUTE ]    = array(
		'interval' => MINUTE_IN_SECONDS,
		'display'  => __( 'Every minute (Inventory Sync)', 'inventory-sync' ),
	);
	$schedules[ SCHEDULE_EVERY_5_MINUTES ] = array(
		'interval' => 5 * MINUTE_IN_SECONDS,
		'display'  => __( 'Every 5 minutes (Inventory Sync)', 'inventory-sync' ),
	);
	return $schedules;
}

/**
 * Hourly health check: releases expired reservations and records that cron reached the
 * extension. The health report and its alert e-mails follow (Alerts\action_health_check).
 */
function action_health_check(): void {
	try {
		ledger()->expireReservations();
	} catch ( \InventorySync\Exception\SyncException $e ) {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- cron has no screen.
		error_log( 'Inventory Sync health check: ' . $e->getMessage() );
	}
	update_option(
		OPTION_LAST_HEALTH_CHECK,
		array(
			'time'      => time(),
			'extension' => \InventorySync\version(),
		),
		false
	);
}

/**
 * A secret shown masked: never more than its last four characters.
 */
function mask_secret( string $secret ): string {
	if ( '' === $secret ) {
		return '';
	}
	return str_repeat( '•', 8 ) . substr( $secret, -4 );
}

/**
 * The sanitize callback of a setting a wp-config.php constant overrides: while the constant is
 * defined, the stored option keeps its value whatever a form sends (the Settings page shows the
 * field disabled, so it sends nothing), and the option is what applies once the constant goes.
 *
 * @param string   $constant The wp-config.php constant.
 * @param string   $option   The option it overrides.
 * @param callable $sanitize The option's own sanitize callback.
 */
function sanitize_unless_defined( string $constant, string $option, callable $sanitize ): \Closure {
	return static fn ( $value ) => $sanitize( defined( $constant ) ? get_option( $option ) : $value );
}
