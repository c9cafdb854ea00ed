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
use const InventorySync\ADMIN_PAGE_CHANNELS;
use const InventorySync\ADMIN_PAGE_LOGS;
use const InventorySync\ADMIN_PAGE_REPORTS;
use const InventorySync\ADMIN_PAGE_STOCK;
use const InventorySync\CAPABILITY;
use const InventorySync\CRON_HEALTH_CHECK;
use const InventorySync\OPTION_LAST_HEALTH_CHECK;
use const InventorySync\ACTION_CREATE_KEY;
use const InventorySync\ACTION_REVOKE_KEY;
use const InventorySync\DEFAULT_RATE_LIMIT;
use const InventorySync\OPTION_AUTO_CREATE_SKUS;
use const InventorySync\OPTION_RATE_LIMIT;
use const InventorySync\REST_NAMESPACE;
use const InventorySync\SCOPE_READ;
use const InventorySync\SCOPE_WRITE;
use const InventorySync\SETTINGS_GROUP;
use const InventorySync\WEBHOOK_PROVIDERS;

use function InventorySync\webhook_secret_option;
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
 * The capability check every admin action and page starts with.
 */
function require_capability(): void {
	if ( ! current_user_can( CAPABILITY ) ) {
		wp_die( esc_html__( 'You are not allowed to manage Inventory Sync.', 'inventory-sync' ), '', array( 'response' => 403 ) );
	}
}

/**
 * Redirects back to the status page (post/redirect/get) and ends the request.
 */
function back_to_page(): void {
	wp_safe_redirect( admin_url( 'admin.php?page=' . ADMIN_PAGE ) );
	exit;
}

/**
 * Registers the plugin's settings with the Settings API.
 */
function action_admin_init(): void {
	register_setting(
		SETTINGS_GROUP,
		OPTION_AUTO_CREATE_SKUS,
		array(
			'type'              => 'boolean',
			'default'           => false,
			'sanitize_callback' => static fn ( $value ): bool => (bool) $value,
		)
	);
	register_setting(
		SETTINGS_GROUP,
		OPTION_RATE_LIMIT,
		array(
			'type'              => 'integer',
			'default'           => DEFAULT_RATE_LIMIT,
			'sanitize_callback' => static fn ( $value ): int => max( 1, min( 100000, (int) $value ) ),
		)
	);
}

/**
 * Sets a provider's webhook secret — pasted (a Shopify app's client secret) or generated —
 * keeping the old one as "previous" so senders can switch over.
 */
function action_admin_post_rotate_secret(): void {
	require_capability();
	$provider = isset( $_POST['provider'] ) ? sanitize_key( wp_unslash( $_POST['provider'] ) ) : '';
	if ( ! isset( WEBHOOK_PROVIDERS[ $provider ] ) ) {
		wp_die( esc_html__( 'Unknown webhook provider.', 'inventory-sync' ), '', array( 'response' => 400 ) );
	}
	check_admin_referer( ACTION_ROTATE_SECRET . '_' . $provider );

	$pasted = isset( $_POST['secret'] ) ? trim( (string) wp_unslash( $_POST['secret'] ) ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- a secret is kept byte for byte.
	if ( '' !== $pasted && ( strlen( $pasted ) < 16 || strlen( $pasted ) > 256 || preg_match( '/[\x00-\x1f\x7f]/', $pasted ) ) ) {
		set_flash(
			array(
				'type'    => 'error',
				'message' => __( 'A webhook secret must be 16 to 256 printable characters. Nothing was changed.', 'inventory-sync' ),
			)
		);
		back_to_page();
	}
	try {
		$new = '' !== $pasted ? $pasted : ( 'standard' === WEBHOOK_PROVIDERS[ $provider ]
			? \InventorySync\standard_webhooks_secret( random_bytes( 32 ) )
			: bin2hex( random_bytes( 32 ) ) );
	} catch ( \InventorySync\Exception\SyncException $e ) {
		set_flash( array( 'type' => 'error', 'message' => $e->getMessage() ) );
		back_to_page();
	}
	update_option( webhook_secret_option( $provider, true ), (string) get_option( webhook_secret_option( $provider ), '' ), false );
	update_option( webhook_secret_option( $provider ), $new, false );

	$flash = array(
		'type'    => 'success',
		/* translators: %s: provider name */
		'message' => sprintf( __( 'The %s webhook secret was changed. The previous secret keeps working until the next change.', 'inventory-sync' ), $provider ),
	);
	if ( '' === $pasted ) {
		// A generated secret is shown once, to this user only, on the next page load.
		$flash['message'] .= ' ' . __( 'Copy the new secret now: it will not be shown again.', 'inventory-sync' );
		$flash['secret']   = $new;
	}
	set_flash( $flash );
	back_to_page();
}

/**
 * Issues an API key from the form; its plaintext (and signing secret) are shown once.
 */
function action_admin_post_create_api_key(): void {
	require_capability();
	check_admin_referer( ACTION_CREATE_KEY );
	$post   = wp_unslash( $_POST );
	$scopes = array_values( array_intersect( array( SCOPE_READ, SCOPE_WRITE ), array_map( 'sanitize_key', (array) ( $post['scopes'] ?? array() ) ) ) );
	$spec   = array(
		'name'   => sanitize_text_field( (string) ( $post['name'] ?? '' ) ),
		'scopes' => $scopes,
	);
	$expires = sanitize_text_field( (string) ( $post['expires'] ?? '' ) );
	if ( '' !== $expires ) {
		$date = \DateTimeImmutable::createFromFormat( '!Y-m-d', $expires, wp_timezone() );
		if ( false === $date ) {
			set_flash( array( 'type' => 'error', 'message' => __( 'The expiry date must look like 2027-01-31. No key was created.', 'inventory-sync' ) ) );
			back_to_page();
		}
		$spec['expires_at'] = $date->modify( '+1 day' )->getTimestamp();
	}
	$supplier = sanitize_text_field( (string) ( $post['supplier'] ?? '' ) );
	if ( '' !== $supplier ) {
		$spec['supplier'] = $supplier;
	}
	$locations = array_filter( array_map( 'trim', explode( ',', sanitize_text_field( (string) ( $post['locations'] ?? '' ) ) ) ) );
	if ( array() !== $locations ) {
		$spec['locations'] = array_values( $locations );
	}
	$signing = ! empty( $post['require_signing'] ) ? bin2hex( random_bytes( 24 ) ) : null;
	if ( null !== $signing ) {
		$spec['signing_secret'] = $signing;
	}
	try {
		$issued = \InventorySync\ledger()->issueApiKey( $spec, random_bytes( 32 ) );
	} catch ( \InventorySync\Exception\SyncException $e ) {
		/* translators: %s: why the key was refused */
		set_flash( array( 'type' => 'error', 'message' => sprintf( __( 'No key was created: %s', 'inventory-sync' ), $e->getMessage() ) ) );
		back_to_page();
	}
	$flash = array(
		'type'    => 'success',
		/* translators: %s: key name */
		'message' => sprintf( __( 'API key "%s" was created. Copy it now: it will not be shown again.', 'inventory-sync' ), $issued['api_key']['name'] ),
		'secret'  => $issued['key'],
	);
	if ( null !== $signing ) {
		$flash['signing_secret'] = $signing;
	}
	set_flash( $flash );
	back_to_page();
}

/**
 * Revokes an API key.
 */
function action_admin_post_revoke_api_key(): void {
	require_capability();
	$id = isset( $_POST['key_id'] ) ? absint( $_POST['key_id'] ) : 0;
	check_admin_referer( ACTION_REVOKE_KEY . '_' . $id );
	try {
		$key = \InventorySync\ledger()->revokeApiKey( $id );
		/* translators: %s: key name */
		set_flash( array( 'type' => 'success', 'message' => sprintf( __( 'API key "%s" was revoked.', 'inventory-sync' ), $key['name'] ) ) );
	} catch ( \InventorySync\Exception\SyncException $e ) {
		set_flash( array( 'type' => 'error', 'message' => $e->getMessage() ) );
	}
	back_to_page();
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
 * Renders the status page: status, webhooks, API keys, settings.
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
		<?php
		render_store();
		render_webhooks();
		render_api_keys();
		render_settings();
		?>
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

/**
 * Webhook URLs and secrets per provider.
 */
function render_webhooks(): void {
	$schemes = array(
		'generic'  => __( 'X-Webhook-Signature: hex HMAC-SHA256 of the body', 'inventory-sync' ),
		'woocommerce' => __( 'WooCommerce webhook (X-WC-Webhook-Signature); paste this URL and the secret into WooCommerce → Settings → Advanced → Webhooks', 'inventory-sync' ),
		'shopify'  => __( "Shopify (X-Shopify-Hmac-Sha256); paste your app's client secret", 'inventory-sync' ),
		'standard' => __( 'Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) from an ERP or warehouse', 'inventory-sync' ),
	);
	?>
	<h2><?php esc_html_e( 'Webhooks', 'inventory-sync' ); ?></h2>
	<table class="widefat striped inventory-sync-webhooks" style="max-width: 80em">
		<thead><tr>
			<th><?php esc_html_e( 'Sender', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'URL', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Secret', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Change secret', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php foreach ( WEBHOOK_PROVIDERS as $provider => $scheme ) : ?>
			<?php $secret = (string) get_option( webhook_secret_option( $provider ), '' ); ?>
			<tr class="inventory-sync-webhook-<?php echo esc_attr( $provider ); ?>">
				<td><strong><?php echo esc_html( $provider ); ?></strong><br /><span class="description"><?php echo esc_html( $schemes[ $scheme ] ); ?></span></td>
				<td><input type="text" readonly class="regular-text code" onfocus="this.select()" value="<?php echo esc_attr( rest_url( REST_NAMESPACE . '/webhooks/' . $provider ) ); ?>" /></td>
				<td><?php echo '' === $secret ? esc_html__( 'not set — deliveries are refused', 'inventory-sync' ) : esc_html( \InventorySync\mask_secret( $secret ) ); ?></td>
				<td>
					<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
						<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_ROTATE_SECRET ); ?>" />
						<input type="hidden" name="provider" value="<?php echo esc_attr( $provider ); ?>" />
						<?php wp_nonce_field( ACTION_ROTATE_SECRET . '_' . $provider ); ?>
						<input type="password" name="secret" autocomplete="off" placeholder="<?php esc_attr_e( 'paste, or leave empty to generate', 'inventory-sync' ); ?>" />
						<?php submit_button( '' === $secret ? __( 'Set secret', 'inventory-sync' ) : __( 'Rotate', 'inventory-sync' ), 'secondary', 'submit', false ); ?>
					</form>
				</td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	<?php
}

/**
 * API keys: the list with revoke buttons, and the form to create one.
 */
function render_api_keys(): void {
	try {
		$keys = \InventorySync\ledger()->apiKeys();
	} catch ( \InventorySync\Exception\SyncException $e ) {
		echo '<p>' . esc_html( $e->getMessage() ) . '</p>';
		return;
	}
	?>
	<h2><?php esc_html_e( 'API keys', 'inventory-sync' ); ?></h2>
	<p class="description"><?php esc_html_e( 'Send a key as X-API-Key or Authorization: Bearer. Keys are stored hashed: a key is shown once, when it is created.', 'inventory-sync' ); ?></p>
	<table class="widefat striped inventory-sync-api-keys" style="max-width: 80em">
		<thead><tr>
			<th><?php esc_html_e( 'Name', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Key', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Scopes', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Limited to', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Expires', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Last used', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Status', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php if ( array() === $keys ) : ?>
			<tr><td colspan="7"><?php esc_html_e( 'No API keys yet.', 'inventory-sync' ); ?></td></tr>
		<?php endif; ?>
		<?php foreach ( $keys as $key ) : ?>
			<?php
			$limits = array_filter( array( null === $key['supplier'] ? '' : sprintf( /* translators: %s: supplier */ __( 'supplier %s', 'inventory-sync' ), $key['supplier'] ), implode( ', ', $key['locations'] ) ) );
			$status = null !== $key['revoked_at'] ? __( 'revoked', 'inventory-sync' ) : ( null !== $key['expires_at'] && $key['expires_at'] <= time() ? __( 'expired', 'inventory-sync' ) : __( 'active', 'inventory-sync' ) );
			?>
			<tr class="inventory-sync-api-key" data-key-id="<?php echo esc_attr( (string) $key['id'] ); ?>">
				<td><?php echo esc_html( $key['name'] ); ?><?php echo $key['requires_signing'] ? ' <span class="description">' . esc_html__( '(signed requests)', 'inventory-sync' ) . '</span>' : ''; ?></td>
				<td><code><?php echo esc_html( $key['prefix'] ); ?>…</code></td>
				<td><?php echo esc_html( implode( ', ', $key['scopes'] ) ); ?></td>
				<td><?php echo esc_html( array() === $limits ? '—' : implode( '; ', $limits ) ); ?></td>
				<td><?php echo esc_html( format_time( $key['expires_at'] ) ); ?></td>
				<td><?php echo esc_html( format_time( $key['last_used_at'] ) ); ?></td>
				<td>
					<?php echo esc_html( $status ); ?>
					<?php if ( null === $key['revoked_at'] ) : ?>
						<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" style="display:inline">
							<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_REVOKE_KEY ); ?>" />
							<input type="hidden" name="key_id" value="<?php echo esc_attr( (string) $key['id'] ); ?>" />
							<?php wp_nonce_field( ACTION_REVOKE_KEY . '_' . $key['id'] ); ?>
							<?php submit_button( __( 'Revoke', 'inventory-sync' ), 'delete small', 'submit', false ); ?>
						</form>
					<?php endif; ?>
				</td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	<h3><?php esc_html_e( 'Create an API key', 'inventory-sync' ); ?></h3>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="inventory-sync-create-key">
		<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_CREATE_KEY ); ?>" />
		<?php wp_nonce_field( ACTION_CREATE_KEY ); ?>
		<table class="form-table" role="presentation">
			<tr><th scope="row"><label for="inventory-sync-key-name"><?php esc_html_e( 'Name', 'inventory-sync' ); ?></label></th>
				<td><input id="inventory-sync-key-name" name="name" type="text" class="regular-text" required maxlength="100" /></td></tr>
			<tr><th scope="row"><?php esc_html_e( 'Scopes', 'inventory-sync' ); ?></th>
				<td><label><input type="checkbox" name="scopes[]" value="read" checked /> <?php esc_html_e( 'read', 'inventory-sync' ); ?></label>
					<label><input type="checkbox" name="scopes[]" value="write" /> <?php esc_html_e( 'write', 'inventory-sync' ); ?></label></td></tr>
			<tr><th scope="row"><label for="inventory-sync-key-expires"><?php esc_html_e( 'Expires (optional)', 'inventory-sync' ); ?></label></th>
				<td><input id="inventory-sync-key-expires" name="expires" type="date" /></td></tr>
			<tr><th scope="row"><label for="inventory-sync-key-supplier"><?php esc_html_e( "Only this supplier's SKUs (optional)", 'inventory-sync' ); ?></label></th>
				<td><input id="inventory-sync-key-supplier" name="supplier" type="text" class="regular-text" /></td></tr>
			<tr><th scope="row"><label for="inventory-sync-key-locations"><?php esc_html_e( 'Only these locations (optional, comma-separated codes)', 'inventory-sync' ); ?></label></th>
				<td><input id="inventory-sync-key-locations" name="locations" type="text" class="regular-text" /></td></tr>
			<tr><th scope="row"><?php esc_html_e( 'Signed requests', 'inventory-sync' ); ?></th>
				<td><label><input type="checkbox" name="require_signing" value="1" /> <?php esc_html_e( 'Require X-Timestamp and X-Signature (a signing secret is generated)', 'inventory-sync' ); ?></label></td></tr>
		</table>
		<?php submit_button( __( 'Create API key', 'inventory-sync' ), 'primary', 'submit', false ); ?>
	</form>
	<?php
}

/**
 * Settings through the Settings API.
 */
function render_settings(): void {
	?>
	<h2><?php esc_html_e( 'Settings', 'inventory-sync' ); ?></h2>
	<form method="post" action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>" class="inventory-sync-settings">
		<?php settings_fields( SETTINGS_GROUP ); ?>
		<table class="form-table" role="presentation">
			<tr><th scope="row"><?php esc_html_e( 'Unknown SKUs in webhooks', 'inventory-sync' ); ?></th>
				<td><label><input type="checkbox" name="<?php echo esc_attr( OPTION_AUTO_CREATE_SKUS ); ?>" value="1" <?php checked( (bool) get_option( OPTION_AUTO_CREATE_SKUS, false ) ); ?> />
					<?php esc_html_e( 'Create items for SKUs the ledger does not know (otherwise they are reported and skipped)', 'inventory-sync' ); ?></label></td></tr>
			<tr><th scope="row"><label for="inventory-sync-rate-limit"><?php esc_html_e( 'Requests per minute per API key', 'inventory-sync' ); ?></label></th>
				<td><input id="inventory-sync-rate-limit" type="number" min="1" max="100000" name="<?php echo esc_attr( OPTION_RATE_LIMIT ); ?>" value="<?php echo esc_attr( (string) (int) get_option( OPTION_RATE_LIMIT, DEFAULT_RATE_LIMIT ) ); ?>" /></td></tr>
		</table>
		<?php submit_button( __( 'Save settings', 'inventory-sync' ) ); ?>
	</form>
	<?php
}
