<?php
/**
 * wp-admin: the Inventory Sync menu, the top-level page (the dashboard and the status table) and
 * what every page shares (capability check, flash messages, ledger rows). Loaded only under
 * is_admin(). Webhooks, API keys and settings are on the Settings page (settings.php).
 *
 * Every action follows the same order: capability → nonce for this action → sanitize → act →
 * redirect (post/redirect/get) with a flash message.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use const InventorySync\ADMIN_PAGE;
use const InventorySync\ADMIN_PAGE_CHANNELS;
use const InventorySync\ADMIN_PAGE_LOGS;
use const InventorySync\ADMIN_PAGE_REPORTS;
use const InventorySync\ADMIN_PAGE_SETTINGS;
use const InventorySync\ADMIN_PAGE_STOCK;
use const InventorySync\CAPABILITY;
use const InventorySync\CRON_HEALTH_CHECK;
use const InventorySync\OPTION_LAST_HEALTH_CHECK;
use const InventorySync\REST_NAMESPACE;
use const InventorySync\TRANSIENT_FLASH;
use const InventorySync\VERSION;

defined( 'ABSPATH' ) || exit;

/**
 * Adds the top-level menu page.
 */
function action_admin_menu(): void {
	add_menu_page(
		__( 'Inventory Sync', 'inventory-sync' ),
		__( 'Inventory Sync', 'inventory-sync' ),
		CAPABILITY,
		ADMIN_PAGE,
		__NAMESPACE__ . '\\render_status_page',
		'dashicons-update',
		56
	);
	// The first entry repeats the top-level page under the name it has in the menu.
	add_submenu_page( ADMIN_PAGE, __( 'Inventory Sync', 'inventory-sync' ), __( 'Dashboard', 'inventory-sync' ), CAPABILITY, ADMIN_PAGE, __NAMESPACE__ . '\\render_status_page' );
	add_submenu_page( ADMIN_PAGE, __( 'Stock', 'inventory-sync' ), __( 'Stock', 'inventory-sync' ), CAPABILITY, ADMIN_PAGE_STOCK, __NAMESPACE__ . '\\render_stock_page' );
	add_submenu_page( ADMIN_PAGE, __( 'Channels', 'inventory-sync' ), __( 'Channels', 'inventory-sync' ), CAPABILITY, ADMIN_PAGE_CHANNELS, __NAMESPACE__ . '\\render_channels_page' );
	add_submenu_page( ADMIN_PAGE, __( 'Logs', 'inventory-sync' ), __( 'Logs', 'inventory-sync' ), CAPABILITY, ADMIN_PAGE_LOGS, __NAMESPACE__ . '\\render_logs_page' );
	add_submenu_page( ADMIN_PAGE, __( 'Reports', 'inventory-sync' ), __( 'Reports', 'inventory-sync' ), CAPABILITY, ADMIN_PAGE_REPORTS, __NAMESPACE__ . '\\render_reports_page' );
}

/**
 * A page's tab bar: one link per tab, the current one marked.
 *
 * @param array<string, string>    $tabs    Slug => label.
 * @param callable(string): string $url     A tab's address from its slug.
 */
function render_tabs( array $tabs, string $current, callable $url ): void {
	?>
	<nav class="nav-tab-wrapper">
		<?php foreach ( $tabs as $slug => $label ) : ?>
			<a href="<?php echo esc_url( $url( $slug ) ); ?>" class="nav-tab<?php echo $slug === $current ? ' nav-tab-active' : ''; ?>"><?php echo esc_html( $label ); ?></a>
		<?php endforeach; ?>
	</nav>
	<?php
}

/**
 * The capability check every admin action and page starts with.
 */
function require_capability(): void {
	if ( ! current_user_can( CAPABILITY ) ) {
		wp_die( esc_html__( 'You are not allowed to manage Inventory Sync.', 'inventory-sync' ), '', array( 'response' => 403 ) );
	}
}

/**
 * Redirects back to the top-level page (post/redirect/get) and ends the request.
 */
function back_to_page(): void {
	wp_safe_redirect( admin_url( 'admin.php?page=' . ADMIN_PAGE ) );
	exit;
}

/**
 * Stores a one-time message for the current user.
 *
 * @param array{type:string, message:string, secret?:string} $flash The message.
 */
function set_flash( array $flash ): void {
	set_transient( TRANSIENT_FLASH . get_current_user_id(), $flash, 5 * MINUTE_IN_SECONDS );
}

/**
 * Takes the current user's one-time message, if any.
 *
 * @return array{type:string, message:string, secret?:string}|null
 */
function take_flash(): ?array {
	$key   = TRANSIENT_FLASH . get_current_user_id();
	$flash = get_transient( $key );
	if ( false === $flash || ! is_array( $flash ) ) {
		return null;
	}
	delete_transient( $key );
	return $flash;
}

/**
 * Runs the extension's signature engine on a sample, as a visible self-test.
 */
function signature_self_test(): bool {
	$body = '{"event":"inventory.updated","sku":"SELF-TEST","quantity":1}';
	$key  = random_bytes( 32 );
	try {
		$good = \InventorySync\verify_generic( $body, \InventorySync\sign_generic( $body, $key ), $key );
	} catch ( \InventorySync\Exception\SyncException $e ) {
		return false;
	}
	try {
		\InventorySync\verify_generic( $body . ' ', \InventorySync\sign_generic( $body, $key ), $key );
		return false; // A changed body must never verify.
	} catch ( \InventorySync\Exception\SignatureException $e ) {
		return $good;
	}
}

/**
 * Status rows about the ledger file: where it is, its size, whether it can be downloaded, and
 * what it holds.
 *
 * @return array<string, string>
 */
function ledger_rows(): array {
	$rows     = array();
	$database = \InventorySync\ledger_in_database();
	$path     = $database ? '' : \InventorySync\ledger_path();
	if ( ! $database ) {
		$rows[ __( 'Ledger file', 'inventory-sync' ) ] = $path;
	}
	try {
		$ledger = \InventorySync\ledger();
	} catch ( \InventorySync\Exception\SyncException $e ) {
		$rows[ __( 'Ledger status', 'inventory-sync' ) ] = sprintf(
			/* translators: %s: technical reason */
			__( 'cannot be opened: %s', 'inventory-sync' ),
			$e->getMessage()
		);
		return $rows;
	}
	if ( $database ) {
		// Named without the password; a database is not served over HTTP.
		$rows[ __( 'Ledger database', 'inventory-sync' ) ] = $ledger->path();
		return $rows + ledger_content_rows( $ledger );
	}
	clearstatcache();
	$rows[ __( 'Ledger size', 'inventory-sync' ) ] = size_format( (int) @filesize( $path ), 1 ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- a missing size is shown as 0.
	switch ( \InventorySync\ledger_exposure() ) {
		case 'outside':
			$exposure = __( 'outside the web root — cannot be downloaded', 'inventory-sync' );
			break;
		case 'protected':
			$exposure = __( 'inside the web root, but a download attempt was refused', 'inventory-sync' );
			break;
		default:
			$exposure = __( 'WARNING: the ledger file can be downloaded over HTTP. Move it with INVENTORY_SYNC_DB or deny access to its directory in the web server (nginx reads no .htaccess: add location ~* /inventory-sync- { deny all; } to the site).', 'inventory-sync' );
	}
	$rows[ __( 'Ledger download check', 'inventory-sync' ) ] = $exposure;
	return $rows + ledger_content_rows( $ledger );
}

/**
 * Status rows about what the ledger holds: its locations and how many items.
 *
 * @return array<string, string>
 */
function ledger_content_rows( \InventorySync\Ledger $ledger ): array {
	$items = $ledger->items( array( 'limit' => 1000 ) );
	return array(
		__( 'Locations', 'inventory-sync' )    => implode( ', ', array_column( $ledger->locations(), 'code' ) ),
		__( 'Items (SKUs)', 'inventory-sync' ) => null === $items['next_after'] ? (string) count( $items['items'] ) : __( 'more than 1000', 'inventory-sync' ),
	);
}

/**
 * Formats a unix time for the site, or a dash.
 *
 * @param mixed $time Unix seconds.
 */
function format_time( $time ): string {
	if ( ! is_int( $time ) || $time <= 0 ) {
		return '—';
	}
	return wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $time );
}

/**
 * Renders the top-level page: the dashboard, the status table and the WooCommerce section.
 */
function render_status_page(): void {
	require_capability();
	$flash       = take_flash();
	$last_hook   = last_inbound();
	$last_health = get_option( OPTION_LAST_HEALTH_CHECK, array() );
	$next_health = wp_next_scheduled( CRON_HEALTH_CHECK );
	$self_test   = signature_self_test();
	$ledger_rows = ledger_rows();
	$rows        = array(
		__( 'Extension', 'inventory-sync' )                => sprintf(
			/* translators: %s: version */
			__( 'inventory_sync %s loaded', 'inventory-sync' ),
			\InventorySync\version()
		),
		__( 'Plugin version', 'inventory-sync' )           => VERSION,
		__( 'Signature engine', 'inventory-sync' )         => $self_test ? __( 'OK', 'inventory-sync' ) : __( 'FAILED', 'inventory-sync' ),
		__( 'Last webhook received', 'inventory-sync' )    => null === $last_hook ? '—' : format_time( $last_hook['received_at'] ) . ' · ' . $last_hook['provider'] . ' · ' . (string) $last_hook['topic'] . ' · ' . $last_hook['outcome'],
		__( 'Last health check (cron)', 'inventory-sync' ) => is_array( $last_health ) && isset( $last_health['time'] ) ? format_time( $last_health['time'] ) : '—',
		__( 'Next health check', 'inventory-sync' )        => false === $next_health ? __( 'not scheduled', 'inventory-sync' ) : format_time( $next_health ),
	) + \InventorySync\Health\status_rows( \InventorySync\Health\report() ) + $ledger_rows;
	?>
	<div class="wrap inventory-sync" id="inventory-sync-app"
		data-rest-url="<?php echo esc_url( rest_url( REST_NAMESPACE ) ); ?>"
		data-rest-nonce="<?php echo esc_attr( wp_create_nonce( 'wp_rest' ) ); ?>">
		<h1><?php esc_html_e( 'Inventory Sync', 'inventory-sync' ); ?></h1>
		<?php render_flash( $flash ); ?>
		<?php render_dashboard(); ?>
		<h2><?php esc_html_e( 'Status', 'inventory-sync' ); ?></h2>
		<table class="widefat striped inventory-sync-status" style="max-width: 60em">
			<tbody>
			<?php foreach ( $rows as $label => $value ) : ?>
				<tr>
					<th scope="row"><?php echo esc_html( $label ); ?></th>
					<td><?php echo esc_html( $value ); ?></td>
				</tr>
			<?php endforeach; ?>
			</tbody>
		</table>
		<p class="inventory-sync-settings-link">
			<a href="<?php echo esc_url( admin_url( 'admin.php?page=' . ADMIN_PAGE_SETTINGS ) ); ?>"><?php esc_html_e( 'Webhook URLs and secrets, API keys, schedules, alerts and retention are on the Settings page.', 'inventory-sync' ); ?></a>
		</p>
		<?php render_store(); ?>
	</div>
	<?php
}

/**
 * The newest entry of the inbound log, or null.
 *
 * @return array<string, mixed>|null
 */
function last_inbound(): ?array {
	try {
		$events = \InventorySync\ledger()->inboundEvents( array( 'limit' => 1 ) )['events'];
	} catch ( \InventorySync\Exception\SyncException $e ) {
		return null;
	}
	return $events[0] ?? null;
}

/**
 * The one-time message of the last action, with a new secret when there is one.
 *
 * @param array<string, string>|null $flash The message.
 */
function render_flash( ?array $flash ): void {
	if ( null === $flash ) {
		return;
	}
	?>
	<div class="notice notice-<?php echo esc_attr( 'success' === $flash['type'] ? 'success' : 'error' ); ?> is-dismissible inventory-sync-flash">
		<p><?php echo esc_html( $flash['message'] ); ?></p>
		<?php if ( ! empty( $flash['secret'] ) ) : ?>
			<p><code class="inventory-sync-new-secret"><?php echo esc_html( $flash['secret'] ); ?></code></p>
		<?php endif; ?>
		<?php if ( ! empty( $flash['signing_secret'] ) ) : ?>
			<p><?php esc_html_e( 'Signing secret for X-Signature:', 'inventory-sync' ); ?> <code class="inventory-sync-new-signing-secret"><?php echo esc_html( $flash['signing_secret'] ); ?></code></p>
		<?php endif; ?>
	</div>
	<?php
}
