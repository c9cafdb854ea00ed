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
const OPTION_DELETE_LEDGER_ON_UNINSTALL      = 'inventory_sync_delete_ledger_on_uninstall';
const OPTION_LAST_HEALTH_CHECK               = 'inventory_sync_last_health_check';

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
const SCHEDULE_EVERY_MINUTE    = 'inventory_sync_every_minute';
const SCHEDULE_EVERY_5_MINUTES = 'inventory_sync_every_five_minutes';

// Hooks and filters the plugin offers to other code.
/** Fired after the ledger changed: ( string[] $skus, ?string $origin_channel ). */
const HOOK_LEDGER_CHANGED = 'inventory_sync_ledger_changed';
/**
 * Lets a site be its own primary source: return null (use the configured source, if any) or
 * array{ source: string, pull_id: string, levels: list<array{sku, location, quantity}> }.
 */
const FILTER_PRIMARY_SOURCE = 'inventory_sync_primary_source';
/** Secret material for sealing channel credentials; else AUTH_KEY . SECURE_AUTH_SALT. */
const CONSTANT_SECRET_KEY = 'INVENTORY_SYNC_SECRET_KEY';
/** The longest queue run started by cron, in milliseconds (kept under max_execution_time). */
const QUEUE_RUN_BUDGET_MS = 50000;

// Admin.
const ADMIN_PAGE           = 'inventory-sync';
const ACTION_ROTATE_SECRET = 'inventory_sync_rotate_secret';
const ACTION_CREATE_KEY    = 'inventory_sync_create_api_key';
const ACTION_REVOKE_KEY    = 'inventory_sync_revoke_api_key';
const SETTINGS_GROUP       = 'inventory_sync_settings';

/**
 * Every option the plugin creates.
 *
 * @return string[]
 */
function option_names(): array {
	$names = array(
		OPTION_LEDGER_PATH,
		OPTION_DELETE_LEDGER_ON_UNINSTALL,
		OPTION_AUTO_CREATE_SKUS,
		OPTION_RATE_LIMIT,
		OPTION_LAST_HEALTH_CHECK,
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
	);
}
