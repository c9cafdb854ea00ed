<?php
/**
 * wp-admin: the Inventory Sync status page and its actions. Loaded only under is_admin().
 *
 * Every action follows the same order: capability → nonce for this action → sanitize → act →
 * redirect (post/redirect/get) with a flash message.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use const InventorySync\ACTION_ROTATE_SECRET;
use const InventorySync\ADMIN_PAGE;
use const InventorySync\CAPABILITY;
use const InventorySync\CRON_HEALTH_CHECK;
use const InventorySync\OPTION_LAST_HEALTH_CHECK;
use const InventorySync\OPTION_LAST_WEBHOOK;
use const InventorySync\OPTION_WEBHOOK_SECRET_GENERIC;
use const InventorySync\OPTION_WEBHOOK_SECRET_GENERIC_PREVIOUS;
use const InventorySync\REST_NAMESPACE;
use const InventorySync\ROUTE_WEBHOOKS_GENERIC;
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
}

/**
 * Generates a new webhook secret, keeping the old one as "previous" so senders can switch over.
 */
function action_admin_post_rotate_secret(): void {
	if ( ! current_user_can( CAPABILITY ) ) {
		wp_die( esc_html__( 'You are not allowed to manage Inventory Sync.', 'inventory-sync' ), '', array( 'response' => 403 ) );
	}
	check_admin_referer( ACTION_ROTATE_SECRET );

	$current = (string) get_option( OPTION_WEBHOOK_SECRET_GENERIC, '' );
	$new     = bin2hex( random_bytes( 32 ) );
	update_option( OPTION_WEBHOOK_SECRET_GENERIC_PREVIOUS, $current, false );
	update_option( OPTION_WEBHOOK_SECRET_GENERIC, $new, false );

	// The new secret is shown once, to this user only, on the next page load.
	set_flash(
		array(
			'type'    => 'success',
			'message' => __( 'A new webhook secret was generated. Copy it now: it will not be shown again. The previous secret keeps working until the next rotation.', 'inventory-sync' ),
			'secret'  => $new,
		)
	);
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
	$rows = array();
	$path = \InventorySync\ledger_path();
	$rows[ __( 'Ledger file', 'inventory-sync' ) ] = $path;
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
			$exposure = __( 'WARNING: the ledger file can be downloaded over HTTP. Move it with INVENTORY_SYNC_DB or deny access to its directory in the web server.', 'inventory-sync' );
	}
	$rows[ __( 'Ledger download check', 'inventory-sync' ) ] = $exposure;
	$items = $ledger->items( array( 'limit' => 1000 ) );
	$rows[ __( 'Locations', 'inventory-sync' ) ] = implode( ', ', array_column( $ledger->locations(), 'code' ) );
	$rows[ __( 'Items (SKUs)', 'inventory-sync' ) ] = null === $items['next_after'] ? (string) count( $items['items'] ) : __( 'more than 1000', 'inventory-sync' );
	return $rows;
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
 * Renders the status page.
 */
function render_status_page(): void {
	if ( ! current_user_can( CAPABILITY ) ) {
		wp_die( esc_html__( 'You are not allowed to manage Inventory Sync.', 'inventory-sync' ), '', array( 'response' => 403 ) );
	}
	$flash       = take_flash();
	$secret      = (string) get_option( OPTION_WEBHOOK_SECRET_GENERIC, '' );
	$last_hook   = get_option( OPTION_LAST_WEBHOOK, array() );
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
		__( 'Webhook URL (generic)', 'inventory-sync' )    => rest_url( REST_NAMESPACE . ROUTE_WEBHOOKS_GENERIC ),
		__( 'Webhook secret', 'inventory-sync' )           => '' === $secret ? __( 'not set — deliveries are refused', 'inventory-sync' ) : \InventorySync\mask_secret( $secret ),
		__( 'Last webhook received', 'inventory-sync' )    => is_array( $last_hook ) && isset( $last_hook['time'] ) ? format_time( $last_hook['time'] ) . ' · ' . (string) ( $last_hook['event'] ?? '' ) : '—',
		__( 'Last health check (cron)', 'inventory-sync' ) => is_array( $last_health ) && isset( $last_health['time'] ) ? format_time( $last_health['time'] ) : '—',
		__( 'Next health check', 'inventory-sync' )        => false === $next_health ? __( 'not scheduled', 'inventory-sync' ) : format_time( $next_health ),
	) + $ledger_rows;
	?>
	<div class="wrap inventory-sync" id="inventory-sync-app"
		data-rest-url="<?php echo esc_url( rest_url( REST_NAMESPACE ) ); ?>"
		data-rest-nonce="<?php echo esc_attr( wp_create_nonce( 'wp_rest' ) ); ?>">
		<h1><?php esc_html_e( 'Inventory Sync', 'inventory-sync' ); ?></h1>
		<?php if ( null !== $flash ) : ?>
			<div class="notice notice-<?php echo esc_attr( 'success' === $flash['type'] ? 'success' : 'error' ); ?> is-dismissible">
				<p><?php echo esc_html( $flash['message'] ); ?></p>
				<?php if ( ! empty( $flash['secret'] ) ) : ?>
					<p><code class="inventory-sync-new-secret"><?php echo esc_html( $flash['secret'] ); ?></code></p>
				<?php endif; ?>
			</div>
		<?php endif; ?>
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
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" style="margin-top: 1em">
			<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_ROTATE_SECRET ); ?>" />
			<?php wp_nonce_field( ACTION_ROTATE_SECRET ); ?>
			<?php submit_button( '' === $secret ? __( 'Generate webhook secret', 'inventory-sync' ) : __( 'Rotate webhook secret', 'inventory-sync' ), 'secondary', 'submit', false ); ?>
		</form>
	</div>
	<?php
}
