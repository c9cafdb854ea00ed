<?php
/**
 * wp-admin: the Settings page — tabs for the general settings (the Settings API form and the
 * schedules), the webhooks (URL and secret per provider), the API keys and the ledger file.
 * Loaded only under is_admin().
 *
 * The general settings are registered with register_setting() (here, in cron.php and in
 * alerts.php, all in SETTINGS_GROUP) and saved by WordPress's options.php, which checks the
 * group's nonce and this group's capability (filter_option_page_capability()), runs each
 * sanitize callback and redirects back with "Settings saved." (post/redirect/get). A setting a
 * wp-config.php constant overrides is shown disabled with the constant's value, and its sanitize
 * callback keeps the stored option (\InventorySync\sanitize_unless_defined()).
 *
 * The webhook and API key actions go through admin-post.php in the status page's order:
 * capability → nonce for this action (and provider or key) → sanitize → act → redirect to their
 * tab with a flash message.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin\Settings;

use InventorySync\Exception\SyncException;
use function InventorySync\Admin\format_time;
use function InventorySync\Admin\ledger_rows;
use function InventorySync\Admin\render_flash;
use function InventorySync\Admin\require_capability;
use function InventorySync\Admin\set_flash;
use function InventorySync\Admin\take_flash;
use function InventorySync\cron_hooks;
use function InventorySync\ledger;
use function InventorySync\webhook_secret_option;
use const InventorySync\ACTION_CREATE_KEY;
use const InventorySync\ACTION_MOVE_LEDGER;
use const InventorySync\ACTION_REVOKE_KEY;
use const InventorySync\ACTION_ROTATE_SECRET;
use const InventorySync\ADMIN_PAGE;
use const InventorySync\ADMIN_PAGE_SETTINGS;
use const InventorySync\CAPABILITY;
use const InventorySync\CONSTANT_ALERT_RECIPIENTS;
use const InventorySync\CONSTANT_ALERT_STOCK_LEVEL;
use const InventorySync\CONSTANT_LEDGER;
use const InventorySync\CONSTANT_QUEUE_KICK;
use const InventorySync\CONSTANT_STORE_LOCATION;
use const InventorySync\CRON_DAILY_SUMMARY;
use const InventorySync\CRON_FULL_SYNC;
use const InventorySync\CRON_HEALTH_CHECK;
use const InventorySync\CRON_INCREMENTAL_SYNC;
use const InventorySync\CRON_PULL_SOURCE;
use const InventorySync\CRON_RECONCILE;
use const InventorySync\CRON_RETENTION;
use const InventorySync\CRON_RUN_QUEUE;
use const InventorySync\DAILY_AT;
use const InventorySync\DEFAULT_ALERT_STOCK_LEVEL;
use const InventorySync\DEFAULT_LOCATION;
use const InventorySync\DEFAULT_RATE_LIMIT;
use const InventorySync\DEFAULT_RETENTION_DAYS;
use const InventorySync\OPTION_ALERT_DAILY_SUMMARY;
use const InventorySync\OPTION_ALERT_RECIPIENTS;
use const InventorySync\OPTION_ALERT_STOCK_LEVEL;
use const InventorySync\OPTION_ALERT_SYNC;
use const InventorySync\OPTION_AUTO_CREATE_SKUS;
use const InventorySync\OPTION_QUEUE_KICK;
use const InventorySync\OPTION_RATE_LIMIT;
use const InventorySync\OPTION_RETENTION_DAYS;
use const InventorySync\OPTION_STORE_LOCATION;
use const InventorySync\REST_NAMESPACE;
use const InventorySync\SCOPE_READ;
use const InventorySync\SCOPE_WRITE;
use const InventorySync\SETTINGS_GROUP;
use const InventorySync\WEBHOOK_PROVIDERS;

defined( 'ABSPATH' ) || exit;

/**
 * Adds the Settings page, last under the Inventory Sync menu.
 */
function action_admin_menu(): void {
	add_submenu_page(
		ADMIN_PAGE,
		__( 'Inventory Sync settings', 'inventory-sync' ),
		__( 'Settings', 'inventory-sync' ),
		CAPABILITY,
		ADMIN_PAGE_SETTINGS,
		__NAMESPACE__ . '\\render_page'
	);
}

/**
 * `option_page_capability_{SETTINGS_GROUP}`: options.php saves this group for whoever may manage
 * Inventory Sync (a shop manager has no manage_options).
 */
function filter_option_page_capability(): string {
	return CAPABILITY;
}

/**
 * The tabs: slug => label.
 *
 * @return array<string, string>
 */
function tabs(): array {
	return array(
		'general'  => __( 'General', 'inventory-sync' ),
		'webhooks' => __( 'Webhooks', 'inventory-sync' ),
		'api-keys' => __( 'API keys', 'inventory-sync' ),
		'ledger'   => __( 'Ledger', 'inventory-sync' ),
	);
}

/**
 * The tab asked for, or 'general'.
 */
function current_tab(): string {
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a view, nothing changes.
	$tab = isset( $_GET['tab'] ) && is_string( $_GET['tab'] ) ? sanitize_key( wp_unslash( $_GET['tab'] ) ) : '';
	return isset( tabs()[ $tab ] ) ? $tab : 'general';
}

/**
 * The address of a tab of the Settings page.
 */
function settings_url( string $tab ): string {
	return add_query_arg(
		array(
			'page' => ADMIN_PAGE_SETTINGS,
			'tab'  => $tab,
		),
		admin_url( 'admin.php' )
	);
}

/**
 * Sends the browser back to a tab of the Settings page (post/redirect/get) and ends the request.
 */
function back_to_settings( string $tab ): never {
	wp_safe_redirect( settings_url( $tab ) );
	exit;
}

// --- the general settings (Settings API) ------------------------------------------------------

/**
 * `admin_init`: registers the settings of this page that no other file owns, and the sections
 * and fields of the form (the retention, kick and alert settings are registered by cron.php and
 * alerts.php).
 */
function register_settings(): void {
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
	register_setting(
		SETTINGS_GROUP,
		OPTION_STORE_LOCATION,
		array(
			'type'              => 'string',
			'default'           => '',
			'sanitize_callback' => \InventorySync\sanitize_unless_defined( CONSTANT_STORE_LOCATION, OPTION_STORE_LOCATION, __NAMESPACE__ . '\\sanitize_store_location' ),
		)
	);

	$page = ADMIN_PAGE_SETTINGS;
	add_settings_section( 'inventory_sync_inbound', __( 'Webhooks and the REST API', 'inventory-sync' ), '__return_null', $page );
	add_settings_section( 'inventory_sync_queue', __( 'Queue and retention', 'inventory-sync' ), '__return_null', $page );
	add_settings_section( 'inventory_sync_alerts', __( 'Alerts', 'inventory-sync' ), '__return_null', $page );
	add_settings_section( 'inventory_sync_store', __( 'This store', 'inventory-sync' ), '__return_null', $page );

	$fields = array(
		OPTION_AUTO_CREATE_SKUS    => array( 'inventory_sync_inbound', __( 'Unknown SKUs in webhooks', 'inventory-sync' ), 'checkbox', array( 'default' => false, 'label' => __( 'Create items for SKUs the ledger does not know (otherwise they are reported and skipped)', 'inventory-sync' ) ) ),
		OPTION_RATE_LIMIT          => array( 'inventory_sync_inbound', __( 'Requests per minute per API key', 'inventory-sync' ), 'number', array( 'default' => DEFAULT_RATE_LIMIT, 'min' => 1, 'max' => 100000 ) ),
		OPTION_QUEUE_KICK          => array( 'inventory_sync_queue', __( 'Queue kick', 'inventory-sync' ), 'checkbox', array( 'default' => true, 'constant' => CONSTANT_QUEUE_KICK, 'label' => __( 'Push a change at once (a loopback request starts a queue run) instead of waiting for the next minute', 'inventory-sync' ) ) ),
		OPTION_RETENTION_DAYS      => array( 'inventory_sync_queue', __( 'Keep logs for (days)', 'inventory-sync' ), 'number', array( 'default' => DEFAULT_RETENTION_DAYS, 'min' => 1, 'max' => 3650, 'description' => __( 'Sync runs, drift records, finished jobs and the inbound and security logs older than this are deleted every night. Stock movements are never deleted.', 'inventory-sync' ) ) ),
		OPTION_ALERT_RECIPIENTS    => array( 'inventory_sync_alerts', __( 'Alert e-mails to', 'inventory-sync' ), 'text', array( 'default' => '', 'constant' => CONSTANT_ALERT_RECIPIENTS, 'placeholder' => (string) get_option( 'admin_email' ), 'description' => __( "Addresses separated by commas. Empty: the site's admin e-mail.", 'inventory-sync' ) ) ),
		OPTION_ALERT_STOCK_LEVEL   => array( 'inventory_sync_alerts', __( 'Stock alerts from', 'inventory-sync' ), 'select', array( 'default' => DEFAULT_ALERT_STOCK_LEVEL, 'constant' => CONSTANT_ALERT_STOCK_LEVEL, 'choices' => stock_level_choices(), 'value_callback' => 'InventorySync\\Alerts\\stock_level' ) ),
		OPTION_ALERT_SYNC          => array( 'inventory_sync_alerts', __( 'Sync alerts', 'inventory-sync' ), 'checkbox', array( 'default' => true, 'label' => __( 'Mail sync problems: pushes that gave up, overdue pushes, stale channels, stalled cron', 'inventory-sync' ) ) ),
		OPTION_ALERT_DAILY_SUMMARY => array( 'inventory_sync_alerts', __( 'Daily summary', 'inventory-sync' ), 'checkbox', array( 'default' => false, 'label' => __( 'Mail a summary every morning (movements, pushes, failures, drift, queue and stock)', 'inventory-sync' ) ) ),
		OPTION_STORE_LOCATION      => array( 'inventory_sync_store', __( 'Store location', 'inventory-sync' ), 'select', array( 'default' => DEFAULT_LOCATION, 'constant' => CONSTANT_STORE_LOCATION, 'value_callback' => 'InventorySync\\Store\\store_location', 'choices_callback' => __NAMESPACE__ . '\\store_location_choices', 'description' => __( "The ledger location this WooCommerce store's orders and stock edits are booked at.", 'inventory-sync' ) ) ),
	);
	foreach ( $fields as $option => [ $section, $title, $type, $args ] ) {
		add_settings_field(
			$option,
			$title,
			__NAMESPACE__ . '\\render_field',
			$page,
			$section,
			array(
				'type'      => $type,
				'option'    => $option,
				'label_for' => 'checkbox' === $type ? null : 'inventory-sync-' . $option,
			) + $args
		);
	}
}

/**
 * The stock alert levels, lowest mailed => label.
 *
 * @return array<string, string>
 */
function stock_level_choices(): array {
	return array(
		'critical' => __( 'critical (and oversold)', 'inventory-sync' ),
		'low'      => __( 'low and worse', 'inventory-sync' ),
		'warning'  => __( 'warning and worse', 'inventory-sync' ),
		'off'      => __( 'off (no stock alerts)', 'inventory-sync' ),
	);
}

/**
 * The ledger's active locations, code => "name (code)"; empty when the ledger cannot be read.
 *
 * @return array<string, string>
 */
function active_locations(): array {
	try {
		$locations = ledger()->locations();
	} catch ( SyncException $e ) {
		return array();
	}
	$choices = array();
	foreach ( $locations as $location ) {
		if ( $location['active'] ) {
			$code             = (string) $location['code'];
			$name             = (string) $location['name'];
			$choices[ $code ] = '' === $name || $name === $code ? $code : sprintf( '%s (%s)', $name, $code );
		}
	}
	return $choices;
}

/**
 * The store location's choices: the active locations, and the one in use if it is not one of
 * them (so the form shows the truth).
 *
 * @return array<string, string>
 */
function store_location_choices(): array {
	$choices = active_locations();
	$current = \InventorySync\Store\store_location();
	if ( ! isset( $choices[ $current ] ) ) {
		/* translators: %s: location code */
		$choices[ $current ] = sprintf( __( '%s (not an active location)', 'inventory-sync' ), $current );
	}
	return $choices;
}

/**
 * Sanitizes the store location: one of the ledger's active locations, else the stored value
 * stays and the form says why.
 *
 * @param mixed $value The submitted value.
 */
function sanitize_store_location( $value ): string {
	$code   = is_string( $value ) ? trim( $value ) : '';
	$stored = get_option( OPTION_STORE_LOCATION, '' );
	$stored = is_string( $stored ) ? $stored : '';
	if ( $code === $stored || isset( active_locations()[ $code ] ) ) {
		return $code;
	}
	// update_option() sanitizes twice when it adds the option: say it once.
	if ( ! in_array( 'inventory_sync_store_location', array_column( get_settings_errors( OPTION_STORE_LOCATION ), 'code' ), true ) ) {
		add_settings_error(
			OPTION_STORE_LOCATION,
			'inventory_sync_store_location',
			// settings_errors() prints messages as HTML: escape here.
			esc_html(
				/* translators: %s: the location code that was sent */
				sprintf( __( 'The store location was not changed: "%s" is not an active location of the ledger.', 'inventory-sync' ), $code )
			)
		);
	}
	return $stored;
}

/**
 * One field of the form. A setting a wp-config.php constant overrides shows the constant's
 * value, disabled (a disabled field is not sent), with the constant's name.
 *
 * @param array{type: string, option: string, default: mixed, constant?: string, label?: string, min?: int, max?: int, choices?: array<string, string>, choices_callback?: callable(): array<string, string>, value_callback?: callable(): string, placeholder?: string, description?: string} $args The field (value_callback: the value in effect, constant included; choices_callback: choices worked out only when the page is drawn).
 */
function render_field( array $args ): void {
	$option   = $args['option'];
	$id       = 'inventory-sync-' . $option;
	$constant = $args['constant'] ?? null;
	$locked   = null !== $constant && defined( $constant );
	if ( isset( $args['value_callback'] ) ) {
		$value = ( $args['value_callback'] )();
	} else {
		$value = $locked ? constant( $constant ) : get_option( $option, $args['default'] );
	}
	switch ( $args['type'] ) {
		case 'checkbox':
			?>
			<label><input type="checkbox" id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $option ); ?>" value="1" <?php checked( (bool) $value ); ?> <?php disabled( $locked ); ?> />
				<?php echo esc_html( $args['label'] ?? '' ); ?></label>
			<?php
			break;
		case 'number':
			?>
			<input type="number" class="small-text" id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $option ); ?>" min="<?php echo esc_attr( (string) $args['min'] ); ?>" max="<?php echo esc_attr( (string) $args['max'] ); ?>" value="<?php echo esc_attr( (string) (int) $value ); ?>" <?php disabled( $locked ); ?> />
			<?php
			break;
		case 'select':
			?>
			<select id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $option ); ?>" <?php disabled( $locked ); ?>>
				<?php foreach ( isset( $args['choices_callback'] ) ? ( $args['choices_callback'] )() : $args['choices'] as $choice => $label ) : ?>
					<option value="<?php echo esc_attr( (string) $choice ); ?>" <?php selected( is_scalar( $value ) ? (string) $value : '', (string) $choice ); ?>><?php echo esc_html( $label ); ?></option>
				<?php endforeach; ?>
			</select>
			<?php
			break;
		default:
			?>
			<input type="text" class="regular-text" id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $option ); ?>" value="<?php echo esc_attr( is_scalar( $value ) ? (string) $value : '' ); ?>" placeholder="<?php echo esc_attr( $args['placeholder'] ?? '' ); ?>" <?php disabled( $locked ); ?> />
			<?php
	}
	if ( isset( $args['description'] ) ) {
		echo '<p class="description">' . esc_html( $args['description'] ) . '</p>';
	}
	if ( $locked ) {
		/* translators: %s: a constant's name */
		echo '<p class="description inventory-sync-locked">' . esc_html( sprintf( __( 'Set by %s in wp-config.php: remove the constant to change it here.', 'inventory-sync' ), $constant ) ) . '</p>';
	}
}

// --- the page ---------------------------------------------------------------------------------

/**
 * Renders the Settings page.
 */
function render_page(): void {
	require_capability();
	$tab   = current_tab();
	$flash = take_flash();
	?>
	<div class="wrap inventory-sync inventory-sync-settings-page">
		<style>
			.inventory-sync-settings-page .inventory-sync-scroll { overflow-x: auto; max-width: 80em; }
			.inventory-sync-webhook-cards { display: flex; flex-wrap: wrap; gap: 12px; max-width: 80em; margin-top: 12px; }
			.inventory-sync-webhook-card { flex: 1 1 24em; min-width: 0; background: #fff; border: 1px solid #c3c4c7; padding: 8px 12px; }
			.inventory-sync-webhook-card .inventory-sync-url { display: flex; gap: 4px; }
			.inventory-sync-webhook-card .inventory-sync-url input { flex: 1 1 auto; min-width: 0; }
			.inventory-sync-webhook-card form input[type="password"] { max-width: 100%; }
			.inventory-sync-ledger td { word-break: break-all; }
		</style>
		<h1><?php esc_html_e( 'Settings', 'inventory-sync' ); ?></h1>
		<?php \InventorySync\Admin\render_tabs( tabs(), $tab, __NAMESPACE__ . '\\settings_url' ); ?>
		<?php
		render_flash( $flash );
		switch ( $tab ) {
			case 'webhooks':
				render_webhooks();
				break;
			case 'api-keys':
				render_api_keys();
				break;
			case 'ledger':
				render_ledger();
				break;
			default:
				// Custom pages show the Settings API's notices themselves ("Settings saved.", errors).
				settings_errors();
				render_general();
		}
		?>
	</div>
	<?php
}

/**
 * The Settings API form and the schedules.
 */
function render_general(): void {
	?>
	<form method="post" action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>" class="inventory-sync-settings">
		<?php
		settings_fields( SETTINGS_GROUP );
		do_settings_sections( ADMIN_PAGE_SETTINGS );
		submit_button( __( 'Save settings', 'inventory-sync' ), 'primary', 'submit', true, array( 'id' => 'inventory-sync-save-settings' ) );
		?>
	</form>
	<?php
	render_schedules();
}

/**
 * What each scheduled event does, by hook.
 *
 * @return array<string, string>
 */
function schedule_labels(): array {
	return array(
		CRON_RUN_QUEUE        => __( 'Queue run: pushes due jobs to the channels', 'inventory-sync' ),
		CRON_INCREMENTAL_SYNC => __( 'Incremental sync: plans the SKUs changed since the last one', 'inventory-sync' ),
		CRON_PULL_SOURCE      => __( 'Pull from the primary source', 'inventory-sync' ),
		CRON_HEALTH_CHECK     => __( 'Health check and alert e-mails', 'inventory-sync' ),
		CRON_FULL_SYNC        => __( 'Full sync: plans every SKU', 'inventory-sync' ),
		CRON_RECONCILE        => __( "Reconciliation: compares the channels' stock with the ledger", 'inventory-sync' ),
		CRON_RETENTION        => __( 'Retention: deletes old log records', 'inventory-sync' ),
		CRON_DAILY_SUMMARY    => __( 'Daily summary e-mail (when turned on)', 'inventory-sync' ),
	);
}

/**
 * The read-only schedules table: each cron event, when it recurs and its next run.
 */
function render_schedules(): void {
	$schedules = wp_get_schedules();
	$labels    = schedule_labels();
	?>
	<h2><?php esc_html_e( 'Schedules', 'inventory-sync' ); ?></h2>
	<p class="description">
		<?php
		echo esc_html(
			defined( 'DISABLE_WP_CRON' ) && DISABLE_WP_CRON
				? __( 'WP-Cron is turned off (DISABLE_WP_CRON): a system cron must call wp-cron.php every minute.', 'inventory-sync' )
				: __( 'WP-Cron runs these when the site gets visits; a system cron every minute keeps them on time.', 'inventory-sync' )
		);
		?>
	</p>
	<div class="inventory-sync-scroll">
	<table class="widefat striped inventory-sync-schedules">
		<thead><tr>
			<th><?php esc_html_e( 'Task', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Runs', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Next run', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php foreach ( cron_hooks() as $hook => $recurrence ) : ?>
			<?php
			$next = wp_next_scheduled( $hook );
			$runs = isset( DAILY_AT[ $hook ] )
				/* translators: %s: a time of day, 24-hour clock (02:00) */
				? sprintf( __( 'daily at %s site time', 'inventory-sync' ), DAILY_AT[ $hook ] )
				: (string) ( $schedules[ $recurrence ]['display'] ?? $recurrence );
			?>
			<tr data-hook="<?php echo esc_attr( $hook ); ?>">
				<td><?php echo esc_html( $labels[ $hook ] ?? $hook ); ?><br /><code><?php echo esc_html( $hook ); ?></code></td>
				<td><?php echo esc_html( $runs ); ?></td>
				<td><?php echo esc_html( false === $next ? __( 'not scheduled', 'inventory-sync' ) : format_time( $next ) ); ?></td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	</div>
	<?php
}

/**
 * The ledger file: where it is, its size, the download check, what it holds.
 */
function render_ledger(): void {
	$constant = defined( 'INVENTORY_SYNC_DB' ) && is_string( INVENTORY_SYNC_DB ) && '' !== INVENTORY_SYNC_DB;
	if ( \InventorySync\ledger_in_database() ) {
		$where = defined( CONSTANT_LEDGER )
			? __( 'The ledger is kept in a MariaDB/MySQL database (INVENTORY_SYNC_LEDGER in wp-config.php), which every web server of the site reaches.', 'inventory-sync' )
			: __( 'The ledger was moved into a MariaDB/MySQL database, which every web server of the site reaches. The old file is kept, read-only.', 'inventory-sync' );
	} elseif ( $constant ) {
		$where = __( 'The ledger file is set by INVENTORY_SYNC_DB in wp-config.php.', 'inventory-sync' );
	} else {
		$where = __( 'The ledger file was placed at activation, outside the web root when possible. To move it, copy it while the site is in maintenance and set INVENTORY_SYNC_DB in wp-config.php.', 'inventory-sync' );
	}
	?>
	<h2><?php esc_html_e( 'Ledger', 'inventory-sync' ); ?></h2>
	<p class="description">
		<?php echo esc_html( $where ); ?>
	</p>
	<table class="widefat striped inventory-sync-ledger" style="max-width: 60em">
		<tbody>
		<?php foreach ( ledger_rows() as $label => $value ) : ?>
			<tr>
				<th scope="row"><?php echo esc_html( $label ); ?></th>
				<td><?php echo esc_html( $value ); ?></td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	<?php
	if ( ! \InventorySync\ledger_in_database() && ! defined( CONSTANT_LEDGER ) ) {
		render_move_ledger();
	}
}

/**
 * The form that moves the ledger file into the site's database (for several web servers).
 */
function render_move_ledger(): void {
	list( $url ) = \InventorySync\ledger_database();
	$target      = 'mysql://' === $url ? __( "the site's own database", 'inventory-sync' ) : __( 'the database INVENTORY_SYNC_MYSQL_URL names', 'inventory-sync' );
	?>
	<h3><?php esc_html_e( 'Move the ledger into the database', 'inventory-sync' ); ?></h3>
	<p class="description" style="max-width: 60em">
		<?php
		echo esc_html(
			sprintf(
				/* translators: %s: which database */
				__( 'A site served by several web servers needs the ledger where all of them reach it. This copies the ledger file into %s while holding the file, checks the copy (rows, ids, stock sums), and only then switches every web server to it. The file is kept, read-only. Webhooks arriving meanwhile are answered "try again later", and their senders retry.', 'inventory-sync' ),
				$target
			)
		);
		?>
	</p>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
		<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_MOVE_LEDGER ); ?>" />
		<?php wp_nonce_field( ACTION_MOVE_LEDGER ); ?>
		<?php submit_button( __( 'Move the ledger into the database', 'inventory-sync' ), 'secondary', 'submit', false ); ?>
	</form>
	<?php
}

/**
 * Moves the ledger file into the database; the result (or why not) comes back as a notice.
 */
function action_admin_post_move_ledger(): void {
	require_capability();
	check_admin_referer( ACTION_MOVE_LEDGER );
	try {
		$report = \InventorySync\move_ledger_to_database();
		set_flash(
			array(
				'type'    => 'success',
				'message' => sprintf(
					/* translators: 1: number of rows, 2: the database (without its password), 3: seconds */
					__( 'The ledger moved into the database: %1$d rows copied to %2$s and checked in %3$.1f s. Every web server now uses it.', 'inventory-sync' ),
					array_sum( $report['rows'] ),
					$report['target'],
					$report['seconds']
				),
			)
		);
	} catch ( SyncException | \RuntimeException $e ) {
		/* translators: %s: why not */
		set_flash( array( 'type' => 'error', 'message' => sprintf( __( 'The ledger was not moved: %s', 'inventory-sync' ), $e->getMessage() ) ) );
	}
	back_to_settings( 'ledger' );
}

// --- webhooks and API keys --------------------------------------------------------------------

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
		back_to_settings( 'webhooks' );
	}
	try {
		$new = '' !== $pasted ? $pasted : ( 'standard' === WEBHOOK_PROVIDERS[ $provider ]
			? \InventorySync\standard_webhooks_secret( random_bytes( 32 ) )
			: bin2hex( random_bytes( 32 ) ) );
	} catch ( SyncException $e ) {
		set_flash( array( 'type' => 'error', 'message' => $e->getMessage() ) );
		back_to_settings( 'webhooks' );
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
	back_to_settings( 'webhooks' );
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
			back_to_settings( 'api-keys' );
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
		$issued = ledger()->issueApiKey( $spec, random_bytes( 32 ) );
	} catch ( SyncException $e ) {
		/* translators: %s: why the key was refused */
		set_flash( array( 'type' => 'error', 'message' => sprintf( __( 'No key was created: %s', 'inventory-sync' ), $e->getMessage() ) ) );
		back_to_settings( 'api-keys' );
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
	back_to_settings( 'api-keys' );
}

/**
 * Revokes an API key.
 */
function action_admin_post_revoke_api_key(): void {
	require_capability();
	$id = isset( $_POST['key_id'] ) ? absint( $_POST['key_id'] ) : 0;
	check_admin_referer( ACTION_REVOKE_KEY . '_' . $id );
	try {
		$key = ledger()->revokeApiKey( $id );
		/* translators: %s: key name */
		set_flash( array( 'type' => 'success', 'message' => sprintf( __( 'API key "%s" was revoked.', 'inventory-sync' ), $key['name'] ) ) );
	} catch ( SyncException $e ) {
		set_flash( array( 'type' => 'error', 'message' => $e->getMessage() ) );
	}
	back_to_settings( 'api-keys' );
}


/**
 * Webhook URLs (read-only, copyable) and secrets per provider, one card each.
 */
function render_webhooks(): void {
	$schemes = array(
		'generic'     => __( 'X-Webhook-Signature: hex HMAC-SHA256 of the body', 'inventory-sync' ),
		'woocommerce' => __( 'WooCommerce webhook (X-WC-Webhook-Signature); paste this URL and the secret into WooCommerce → Settings → Advanced → Webhooks', 'inventory-sync' ),
		'shopify'     => __( "Shopify (X-Shopify-Hmac-Sha256); paste your app's client secret", 'inventory-sync' ),
		'standard'    => __( 'Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) from an ERP or warehouse', 'inventory-sync' ),
	);
	?>
	<h2><?php esc_html_e( 'Webhooks', 'inventory-sync' ); ?></h2>
	<p class="description"><?php esc_html_e( 'Give each sender its URL and secret. Changing a secret keeps the previous one working until the next change, so senders can switch over.', 'inventory-sync' ); ?></p>
	<div class="inventory-sync-webhook-cards">
	<?php foreach ( WEBHOOK_PROVIDERS as $provider => $scheme ) : ?>
		<?php
		$secret = (string) get_option( webhook_secret_option( $provider ), '' );
		$url_id = 'inventory-sync-webhook-url-' . $provider;
		?>
		<div class="inventory-sync-webhook-card inventory-sync-webhook-<?php echo esc_attr( $provider ); ?>">
			<h3><?php echo esc_html( $provider ); ?></h3>
			<p class="description"><?php echo esc_html( $schemes[ $scheme ] ); ?></p>
			<p><label for="<?php echo esc_attr( $url_id ); ?>"><?php esc_html_e( 'URL', 'inventory-sync' ); ?></label></p>
			<div class="inventory-sync-url">
				<input type="text" readonly class="code" id="<?php echo esc_attr( $url_id ); ?>" onfocus="this.select()" value="<?php echo esc_attr( rest_url( REST_NAMESPACE . '/webhooks/' . $provider ) ); ?>" />
				<button type="button" class="button inventory-sync-copy" onclick="var f = document.getElementById(this.dataset.target); f.select(); document.execCommand('copy');" data-target="<?php echo esc_attr( $url_id ); ?>"><?php esc_html_e( 'Copy', 'inventory-sync' ); ?></button>
			</div>
			<p>
				<?php esc_html_e( 'Secret:', 'inventory-sync' ); ?>
				<?php echo '' === $secret ? esc_html__( 'not set — deliveries are refused', 'inventory-sync' ) : '<code>' . esc_html( \InventorySync\mask_secret( $secret ) ) . '</code>'; ?>
			</p>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_ROTATE_SECRET ); ?>" />
				<input type="hidden" name="provider" value="<?php echo esc_attr( $provider ); ?>" />
				<?php wp_nonce_field( ACTION_ROTATE_SECRET . '_' . $provider ); ?>
				<label class="screen-reader-text" for="inventory-sync-secret-<?php echo esc_attr( $provider ); ?>"><?php esc_html_e( 'New secret', 'inventory-sync' ); ?></label>
				<input type="password" id="inventory-sync-secret-<?php echo esc_attr( $provider ); ?>" name="secret" autocomplete="off" placeholder="<?php esc_attr_e( 'paste, or leave empty to generate', 'inventory-sync' ); ?>" />
				<?php submit_button( '' === $secret ? __( 'Set secret', 'inventory-sync' ) : __( 'Rotate', 'inventory-sync' ), 'secondary', 'submit', false ); ?>
			</form>
		</div>
	<?php endforeach; ?>
	</div>
	<?php
}

/**
 * API keys: the list with revoke buttons, and the form to create one.
 */
function render_api_keys(): void {
	try {
		$keys = ledger()->apiKeys();
	} catch ( SyncException $e ) {
		echo '<div class="notice notice-error"><p>' . esc_html( $e->getMessage() ) . '</p></div>';
		return;
	}
	?>
	<h2><?php esc_html_e( 'API keys', 'inventory-sync' ); ?></h2>
	<p class="description"><?php esc_html_e( 'Send a key as X-API-Key or Authorization: Bearer. Keys are stored hashed: a key is shown once, when it is created.', 'inventory-sync' ); ?></p>
	<div class="inventory-sync-scroll">
	<table class="widefat striped inventory-sync-api-keys">
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
	</div>
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
