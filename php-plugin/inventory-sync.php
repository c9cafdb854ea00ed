<?php
/**
 * Plugin Name:       Inventory Sync
 * Plugin URI:        https://example.invalid/inventory-sync
 * Description:       One true stock ledger for every SKU across warehouses, kept in sync with every sales channel. The engine is the PHP extension inventory_sync (Rust).
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            Inventory Sync
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       inventory-sync
 * Domain Path:       /languages
 * Requires Plugins:  woocommerce
 * WC requires at least: 8.0
 * WC tested up to:   9.4
 *
 * @package InventorySync
 */

namespace InventorySync;

defined( 'ABSPATH' ) || exit;

const PLUGIN_FILE = __FILE__;
const VERSION     = '0.1.0';

require_once __DIR__ . '/includes/constants.php';
require_once __DIR__ . '/includes/requirements.php';

register_activation_hook( PLUGIN_FILE, __NAMESPACE__ . '\\activate' );
register_deactivation_hook( PLUGIN_FILE, __NAMESPACE__ . '\\deactivate' );

// The requirement gate: without a compatible extension the plugin shows a notice and stays inert.
if ( ! gate() ) {
	return;
}

require_once __DIR__ . '/includes/errors.php';
require_once __DIR__ . '/includes/ledger.php';
require_once __DIR__ . '/includes/namespace.php';
require_once __DIR__ . '/includes/sync.php';
require_once __DIR__ . '/includes/suppliers.php';
require_once __DIR__ . '/includes/class-store-writes.php';
require_once __DIR__ . '/includes/store.php';
require_once __DIR__ . '/includes/local-channel.php';
require_once __DIR__ . '/includes/class-rest-auth.php';
require_once __DIR__ . '/includes/api-metrics.php';
require_once __DIR__ . '/includes/class-webhooks-controller.php';
require_once __DIR__ . '/includes/class-stock-controller.php';
require_once __DIR__ . '/includes/class-movements-controller.php';
require_once __DIR__ . '/includes/class-health-controller.php';
require_once __DIR__ . '/includes/cron.php';
require_once __DIR__ . '/includes/health.php';
require_once __DIR__ . '/includes/alerts.php';
require_once __DIR__ . '/includes/class-queue-kick-controller.php';
require_once __DIR__ . '/includes/class-supplier-replies-controller.php';
if ( is_admin() ) {
	require_once __DIR__ . '/includes/admin/namespace.php';
	require_once __DIR__ . '/includes/admin/store.php';
	require_once __DIR__ . '/includes/admin/dashboard.php';
	require_once __DIR__ . '/includes/admin/stock.php';
	require_once __DIR__ . '/includes/admin/logs.php';
	require_once __DIR__ . '/includes/admin/channels.php';
	require_once __DIR__ . '/includes/admin/channel-mappings.php';
	require_once __DIR__ . '/includes/admin/reports.php';
	require_once __DIR__ . '/includes/admin/queue.php';
	require_once __DIR__ . '/includes/admin/settings.php';
}
if ( defined( 'WP_CLI' ) && WP_CLI ) {
	require_once __DIR__ . '/includes/class-cli-command.php';
}

bootstrap();
