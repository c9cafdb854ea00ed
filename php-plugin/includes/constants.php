<?php
/**
 * Every option, transient, cron hook, route and action name the plugin uses, in one place.
 * `uninstall.php` deletes exactly what `option_names()`, `cron_hooks()` and `TRANSIENT_PREFIX` list.
 *
 * @package InventorySync
 */

namespace InventorySync;

defined( 'ABSPATH' ) || exit;

/** Text domain for translations. */
const TEXT_DOMAIN = 'inventory-sync';

/** Version of the extension this plugin was built with; major.minor must match. */
const REQUIRED_EXTENSION_VERSION = '0.1.0';

/** Name of the PHP extension (`extension_loaded()`). */
const EXTENSION = 'inventory_sync';

/** Capability needed for every admin page, admin action and admin REST call. */
const CAPABILITY = 'manage_woocommerce';

// REST.
const REST_NAMESPACE         = 'inventory-sync/v1';
const ROUTE_WEBHOOKS         = '/webhooks/(?P<provider>generic|woocommerce|shopify|erp)';
const ROUTE_STOCK            = '/stock';
const ROUTE_STOCK_SKU        = '/stock/(?P<sku>[^/]{1,100})';
const ROUTE_MOVEMENTS        = '/movements';
const ROUTE_RESERVE          = '/reserve';
const ROUTE_RELEASE          = '/release';
const ROUTE_COMMIT           = '/commit';
const ROUTE_HISTORY          = '/history';
const ROUTE_HEALTH           = '/health';
/** The queue kick: a loopback POST that starts a queue run (see cron.php). */
const ROUTE_QUEUE_KICK       = '/queue/kick';
/** Suppliers answer the orders they were sent (acknowledged, shipped). */
const ROUTE_SUPPLIER_REPLIES = '/supplier-replies';
/** Inbound webhook providers: route segment => signature scheme. */
const WEBHOOK_PROVIDERS = array(
	'generic'     => 'generic',
	'woocommerce' => 'woocommerce',
	'shopify'     => 'shopify',
	'erp'         => 'standard',
);
/** API scopes. */
const SCOPE_READ  = 'read';
const SCOPE_WRITE = 'write';
/** Default requests per minute per API key. */
const DEFAULT_RATE_LIMIT = 60;
/** Bodies larger than this are refused with 413 before any work is done. */
const MAX_BODY_BYTES = 1048576;
/** Header carrying the `generic` scheme's hex HMAC-SHA256. */
const HEADER_GENERIC_SIGNATURE = 'X-Webhook-Signature';
const HEADER_WC_SIGNATURE      = 'X-WC-Webhook-Signature';
const HEADER_SHOPIFY_SIGNATURE = 'X-Shopify-Hmac-Sha256';
const HEADER_API_KEY           = 'X-API-Key';
const HEADER_TIMESTAMP         = 'X-Timestamp';
const HEADER_SIGNATURE         = 'X-Signature';

// The ledger file.
const LEDGER_FILE        = 'ledger.sqlite';
const LEDGER_DIR_OUTSIDE = 'inventory-sync-data';
const LEDGER_DIR_INSIDE  = 'inventory-sync';
/** Code of the location created when the ledger has none. */
const DEFAULT_LOCATION = 'MAIN';

// Options.
/** Prefix of the per-provider webhook secret options (`…<provider>` and `…<provider>_previous`). */
const OPTION_WEBHOOK_SECRET_PREFIX           = 'inventory_sync_webhook_secret_';
const OPTION_AUTO_CREATE_SKUS                = 'inventory_sync_auto_create_skus';
const OPTION_RATE_LIMIT                      = 'inventory_sync_rate_limit_per_minute';
const OPTION_LEDGER_PATH                     = 'inventory_sync_ledger_path';
/** LEDGER_IN_DATABASE once the ledger file was moved into the database (move_ledger_to_database()). */
const OPTION_LEDGER_BACKEND                  = 'inventory_sync_ledger_backend';
const OPTION_DELETE_LEDGER_ON_UNINSTALL      = 'inventory_sync_delete_ledger_on_uninstall';
const OPTION_LAST_HEALTH_CHECK               = 'inventory_sync_last_health_check';
/** Unix time and hook of the last cron event of ours that ran (WP-Cron or system cron). */
const OPTION_CRON_HEARTBEAT                  = 'inventory_sync_cron_heartbeat';
/** Days sync runs, drift, finished jobs and the inbound/security logs are kept. */
const OPTION_RETENTION_DAYS                  = 'inventory_sync_retention_days';
/** Whether a change starts a queue run at once (the kick); the constant below wins. */
const OPTION_QUEUE_KICK                      = 'inventory_sync_queue_kick';
/** When a kick was last asked for (microtime, as a string). */
const OPTION_KICK_REQUESTED                  = 'inventory_sync_kick_requested';
/** Until when a kicked runner is (about to be) at work (microtime, as a string). */
const OPTION_KICK_RUNNER                     = 'inventory_sync_kick_runner';
/** Alert e-mail recipients, comma-separated; empty: the site's admin e-mail. */
const OPTION_ALERT_RECIPIENTS                = 'inventory_sync_alert_recipients';
/** Lowest stock alert level mailed: critical, low, warning, or off. Oversold is always mailed unless off. */
const OPTION_ALERT_STOCK_LEVEL               = 'inventory_sync_alert_stock_level';
/** Whether sync problems (dead jobs, backlog, stale channels, cron stalled) are mailed. */
const OPTION_ALERT_SYNC                      = 'inventory_sync_alert_sync';
/** Whether a daily summary is mailed. */
const OPTION_ALERT_DAILY_SUMMARY             = 'inventory_sync_alert_daily_summary';
/** What was mailed per problem key, and since when the problem is open (the throttle). */
const OPTION_ALERT_STATE                     = 'inventory_sync_alert_state';

// Transients (per-user flash messages after an admin action).
const TRANSIENT_PREFIX = 'inventory_sync_';
const TRANSIENT_FLASH  = 'inventory_sync_flash_';

// Cron.
const CRON_HEALTH_CHECK        = 'inventory_sync_health_check';
const CRON_RUN_QUEUE           = 'inventory_sync_run_queue';
const CRON_INCREMENTAL_SYNC    = 'inventory_sync_incremental_sync';
const CRON_FULL_SYNC           = 'inventory_sync_full_sync';
const CRON_RECONCILE           = 'inventory_sync_reconcile';
const CRON_PULL_SOURCE         = 'inventory_sync_pull_source';
const CRON_RETENTION           = 'inventory_sync_retention';
const CRON_DAILY_SUMMARY       = 'inventory_sync_daily_summary';
const SCHEDULE_EVERY_MINUTE    = 'inventory_sync_every_minute';
const SCHEDULE_EVERY_5_MINUTES = 'inventory_sync_every_five_minutes';

// Hooks and filters the plugin offers to other code.
/** Fired after the ledger changed: ( string[] $skus, ?string $origin_channel ). */
const HOOK_LEDGER_CHANGED = 'inventory_sync_ledger_changed';
/** Fired after every queue pass (cron, kick, WP-CLI): ( array $report ). */
const HOOK_QUEUE_RAN = 'inventory_sync_queue_ran';
/**
 * Lets a site be its own primary source: return null (use the configured source, if any) or
 * array{ source: string, pull_id: string, levels: list<array{sku, location, quantity}> }.
 */
const FILTER_PRIMARY_SOURCE = 'inventory_sync_primary_source';
/** Secret material for sealing channel credentials; else AUTH_KEY . SECURE_AUTH_SALT. */
const CONSTANT_SECRET_KEY = 'INVENTORY_SYNC_SECRET_KEY';
/** wp-config.php: 'mysql' keeps the ledger in a MariaDB/MySQL database (for a site on several web servers); 'sqlite', the SQLite file; unset, where OPTION_LEDGER_BACKEND says. */
const CONSTANT_LEDGER = 'INVENTORY_SYNC_LEDGER';
/** The value of CONSTANT_LEDGER that puts the ledger in a database. */
const LEDGER_IN_DATABASE = 'mysql';
/** wp-config.php: the ledger's database as a mysql:// URL; by default the site's own (DB_HOST, DB_USER, DB_PASSWORD, DB_NAME). */
const CONSTANT_MYSQL_URL = 'INVENTORY_SYNC_MYSQL_URL';
/** wp-config.php: TLS to the database server: disabled, preferred (default: when the server offers it), required, verify_ca, verify_identity. */
const CONSTANT_MYSQL_TLS = 'INVENTORY_SYNC_MYSQL_TLS';
/** wp-config.php: the CA certificate file that signs the server's, for verify_ca and verify_identity. */
const CONSTANT_MYSQL_CA = 'INVENTORY_SYNC_MYSQL_CA';
/** The ledger's tables in the site's database are named $wpdb->base_prefix . this . <table>. */
const LEDGER_TABLE_PREFIX = 'inventory_sync_';
/** The first retry delay of a failed push or message, in seconds (default 30; doubles per attempt). */
const CONSTANT_RETRY_BASE_SECONDS = 'INVENTORY_SYNC_RETRY_BASE_SECONDS';
/** The longest queue run started by cron, in milliseconds (kept under max_execution_time). */
const QUEUE_RUN_BUDGET_MS = 50000;
/** Fired before the queue kick's loopback request: ( array{url, body} $request ); return it changed (e.g. an internal URL). */
const FILTER_QUEUE_KICK_REQUEST = 'inventory_sync_queue_kick_request';
/** Whether to count this REST request in the API metrics: ( bool $record, WP_REST_Request $request ); default true. */
const FILTER_RECORD_API_REQUEST = 'inventory_sync_record_api_request';

// Scheduling, health and alerts (wp-config.php constants override the options).
/** wp-config.php: false turns the queue kick off (tests, sites where loopback requests fail). */
const CONSTANT_QUEUE_KICK        = 'INVENTORY_SYNC_QUEUE_KICK';
/** wp-config.php: alert recipients, comma-separated. */
const CONSTANT_ALERT_RECIPIENTS  = 'INVENTORY_SYNC_ALERT_RECIPIENTS';
/** wp-config.php: lowest stock alert level mailed (critical, low, warning, off). */
const CONSTANT_ALERT_STOCK_LEVEL = 'INVENTORY_SYNC_ALERT_STOCK_LEVEL';
/** Daily events that run at a fixed site time (wp_timezone()), hook => 'HH:MM'. */
const DAILY_AT = array(
	CRON_FULL_SYNC     => '02:00',
	CRON_RECONCILE     => '02:30',
	CRON_RETENTION     => '03:00',
	CRON_DAILY_SUMMARY => '07:00',
);
const DEFAULT_RETENTION_DAYS = 30;
const DEFAULT_ALERT_STOCK_LEVEL = 'low';
/** Health: pending jobs due longer ago than this are a past-due backlog. */
const HEALTH_BACKLOG_SECONDS = 900;
/** Health: a channel with work waiting and no successful push for this long is stale. */
const HEALTH_STALE_CHANNEL_SECONDS = 3600;
/** Health: WP-Cron is not running when our every-minute events have not run for this long. */
const HEALTH_CRON_STALE_SECONDS = 600;
/** Alerts: a problem still open is mailed again after this long. */
const ALERT_REPEAT_SECONDS = 86400;
/** Kick: how long a requested runner may take to start before another kick is sent. */
const KICK_START_SECONDS = 10;
/** Kick: one kicked request runs passes for at most this long, then hands over. */
const KICK_RUN_SECONDS = 120;

// This WooCommerce store (issue 6): its stock and orders in, the ledger's quantities out.
/** Key of the channel that is this store (its kind is woocommerce_local too): origin of every change made in WooCommerce. */
const LOCAL_CHANNEL = 'woocommerce_local';
/** The channel kind applied in PHP with wc_update_product_stock(). */
const LOCAL_CHANNEL_KIND = 'woocommerce_local';
/** The option naming the location WooCommerce's own stock changes and orders are booked at (default DEFAULT_LOCATION). */
const OPTION_STORE_LOCATION = 'inventory_sync_store_location';
/** wp-config.php: the store's location code; overrides OPTION_STORE_LOCATION. */
const CONSTANT_STORE_LOCATION = 'INVENTORY_SYNC_STORE_LOCATION';
/** Local-channel jobs claimed at a time, and the longest a queue run spends applying them (it runs after the extension's queue run, inside the headroom that run leaves under max_execution_time). */
const LOCAL_JOBS_PER_CLAIM = 50;
const LOCAL_RUN_BUDGET_MS  = 5000;
/** Order line meta: the last order stock change booked, array{event: 'reduce'|'restore', n: int, quantity: int}. */
const META_ORDER_LINE_STOCK = '_inventory_sync_stock';
/** WooCommerce's order line meta holding the quantity its stock was reduced by. */
const WC_META_REDUCED_STOCK = '_reduced_stock';
/** Ids of products with managed stock but no SKU (not in the ledger), kept by the hooks and the import. */
const OPTION_PRODUCTS_WITHOUT_SKU = 'inventory_sync_products_without_sku';
/** What the last product import did. */
const OPTION_LAST_IMPORT = 'inventory_sync_last_import';
/** Event id prefixes of movements that come from WooCommerce (see includes/store.php). */
const EVENT_ORDER   = 'wc-order';
const EVENT_STOCK   = 'wc-stock';
const EVENT_OPENING = 'wc-opening';
/** Admin action: import WooCommerce's products into the ledger (includes/admin/store.php). */
const ACTION_IMPORT_PRODUCTS = 'inventory_sync_import_products';

// Admin.
const ADMIN_PAGE           = 'inventory-sync';
/** The Stock page (search, one SKU's stock, channels, history and movement forms). */
const ADMIN_PAGE_STOCK     = 'inventory-sync-stock';
/** The Logs page (inbound webhooks, sync runs, errors, security). */
const ADMIN_PAGE_LOGS      = 'inventory-sync-logs';
/** The Channels page (list, add / edit per kind, test connection). */
const ADMIN_PAGE_CHANNELS  = 'inventory-sync-channels';
/** Admin actions of the Channels page. */
const ACTION_SAVE_CHANNEL  = 'inventory_sync_save_channel';
const ACTION_TEST_CHANNEL  = 'inventory_sync_test_channel';
const ACTION_AUTO_MAP      = 'inventory_sync_auto_map';
const ACTION_MAP_SKU       = 'inventory_sync_map_sku';
/** The Reports page (stock, reorder, sync activity, errors; CSV export). */
const ADMIN_PAGE_REPORTS   = 'inventory-sync-reports';
/** Admin action: download a report as CSV. */
const ACTION_EXPORT_REPORT = 'inventory_sync_export_report';
/** The Settings page (webhooks, API keys, the Settings API form, schedules, the ledger file). */
const ADMIN_PAGE_SETTINGS  = 'inventory-sync-settings';
/** Admin action: record a movement from the Stock page's forms. */
const ACTION_STOCK_MOVEMENT = 'inventory_sync_stock_movement';
const ACTION_ROTATE_SECRET = 'inventory_sync_rotate_secret';
const ACTION_CREATE_KEY    = 'inventory_sync_create_api_key';
const ACTION_REVOKE_KEY    = 'inventory_sync_revoke_api_key';
const ACTION_MOVE_LEDGER   = 'inventory_sync_move_ledger';
/** The Settings API group (options.php's option_page) of every setting on the Settings page. */
const SETTINGS_GROUP       = 'inventory_sync_settings';

// Admin: the Queue page (includes/admin/queue.php).
const QUEUE_PAGE              = 'inventory-sync-queue';
const ACTION_RETRY_JOB        = 'inventory_sync_retry_job';
const ACTION_RETRY_DEAD       = 'inventory_sync_retry_dead';
const ACTION_CLEAR_JOBS       = 'inventory_sync_clear_jobs';
const ACTION_SYNC_NOW         = 'inventory_sync_sync_now';
/** The statuses of an outbox job (the extension's names; "failed" is a job superseded by a newer one of its channel and SKU), in the order the Queue page shows them. */
const JOB_STATUSES            = array( 'pending', 'running', 'done', 'failed', 'dead' );
/** Jobs shown per page of the Queue page (the extension pages by cursor, newest first). */
const QUEUE_PAGE_SIZE         = 50;
/** The most SKUs or product ids one "Sync now" takes. */
const SYNC_NOW_MAX_SKUS       = 500;
/** Channel feeds (Amazon's bulk submissions) listed on the Queue page, newest first. */
const FEEDS_SHOWN             = 10;

/**
 * Every option the plugin creates.
 *
 * @return string[]
 */
function option_names(): array {
	$names = array(
		OPTION_LEDGER_PATH,
		OPTION_LEDGER_BACKEND,
		OPTION_DELETE_LEDGER_ON_UNINSTALL,
		OPTION_AUTO_CREATE_SKUS,
		OPTION_RATE_LIMIT,
		OPTION_LAST_HEALTH_CHECK,
		OPTION_CRON_HEARTBEAT,
		OPTION_RETENTION_DAYS,
		OPTION_QUEUE_KICK,
		OPTION_KICK_REQUESTED,
		OPTION_KICK_RUNNER,
		OPTION_ALERT_RECIPIENTS,
		OPTION_ALERT_STOCK_LEVEL,
		OPTION_ALERT_SYNC,
		OPTION_ALERT_DAILY_SUMMARY,
		OPTION_ALERT_STATE,
		OPTION_PRODUCTS_WITHOUT_SKU,
		OPTION_LAST_IMPORT,
		OPTION_STORE_LOCATION,
	);
	foreach ( array_keys( WEBHOOK_PROVIDERS ) as $provider ) {
		$names[] = webhook_secret_option( $provider );
		$names[] = webhook_secret_option( $provider, true );
	}
	return $names;
}

/**
 * The option holding a provider's current (or previous) webhook secret.
 */
function webhook_secret_option( string $provider, bool $previous = false ): string {
	return OPTION_WEBHOOK_SECRET_PREFIX . $provider . ( $previous ? '_previous' : '' );
}

/**
 * Every cron hook the plugin schedules, with its recurrence.
 *
 * @return array<string, string> hook => schedule
 */
function cron_hooks(): array {
	return array(
		CRON_HEALTH_CHECK     => 'hourly',
		CRON_RUN_QUEUE        => SCHEDULE_EVERY_MINUTE,
		CRON_INCREMENTAL_SYNC => SCHEDULE_EVERY_5_MINUTES,
		CRON_PULL_SOURCE      => SCHEDULE_EVERY_5_MINUTES,
		CRON_RECONCILE        => 'daily',
		CRON_FULL_SYNC        => 'daily',
		CRON_RETENTION        => 'daily',
		CRON_DAILY_SUMMARY    => 'daily',
	);
}
