<?php
/**
 * wp-admin Channels page: the channels with their state, an add / edit form per kind (the
 * settings and credential fields each kind reads come from the extension, channel_kinds()),
 * "test connection", the allocation rule and the eligible locations, and under a channel's form
 * its SKU mappings (channel-mappings.php). Credentials are shown
 * masked once saved, never in full; a blank credential field keeps the stored value. The
 * extension validates every field on save and names the one it refuses; the form then comes
 * back with what was typed (credentials excepted).
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\ACTION_SAVE_CHANNEL;
use const InventorySync\ACTION_TEST_CHANNEL;
use const InventorySync\ADMIN_PAGE_CHANNELS;

defined( 'ABSPATH' ) || exit;

/** Allocation fields that are whole numbers (blank = the default). */
const CHANNEL_ALLOCATION_NUMBERS = array( 'weight', 'priority', 'buffer', 'max', 'zero_threshold', 'percent' );
/** Channel fields that are whole numbers. */
const CHANNEL_NUMBERS = array( 'batch_size', 'min_change', 'low_stock_level' );
/** Adapter settings sent as numbers (the others are text). */
const CHANNEL_SETTING_NUMBERS = array( 'batch_size', 'feed_threshold' );

/**
 * The Channels page's address.
 *
 * @param array<string, string> $args Query arguments.
 */
function channels_url( array $args = array() ): string {
	return add_query_arg( array( 'page' => ADMIN_PAGE_CHANNELS ) + $args, admin_url( 'admin.php' ) );
}

/**
 * The posted channel form as the extension takes it: numbers as numbers, blanks left out,
 * checkboxes as booleans; credentials only when the form has them (blank ones keep the stored
 * value).
 *
 * @param array<string, mixed> $posted The form's `channel` array (unslashed).
 * @return array<string, mixed>
 */
function channel_from_form( array $posted ): array {
	$text    = static fn ( $value ): string => is_string( $value ) ? trim( sanitize_text_field( $value ) ) : '';
	$number  = static fn ( $value ) => ctype_digit( ltrim( $text( $value ), '-' ) ) && '' !== $text( $value ) ? (int) $text( $value ) : $text( $value );
	$channel = array(
		'key'     => $text( $posted['key'] ?? '' ),
		'kind'    => $text( $posted['kind'] ?? '' ),
		'name'    => $text( $posted['name'] ?? '' ),
		'enabled' => ! empty( $posted['enabled'] ),
	);
	foreach ( CHANNEL_NUMBERS as $field ) {
		if ( '' !== $text( $posted[ $field ] ?? '' ) ) {
			$channel[ $field ] = $number( $posted[ $field ] );
		}
	}
	$a          = is_array( $posted['allocation'] ?? null ) ? $posted['allocation'] : array();
	$allocation = array(
		'mode'             => $text( $a['mode'] ?? 'shared' ),
		'include_incoming' => ! empty( $a['include_incoming'] ),
		'locations'        => array_values( array_filter( array_map( $text, is_array( $a['locations'] ?? null ) ? $a['locations'] : array() ) ) ),
	);
	foreach ( CHANNEL_ALLOCATION_NUMBERS as $field ) {
		if ( '' !== $text( $a[ $field ] ?? '' ) ) {
			$allocation[ $field ] = $number( $a[ $field ] );
		}
	}
	$channel['allocation'] = $allocation;
	$r                     = is_array( $posted['rate'] ?? null ) ? $posted['rate'] : array();
	if ( '' !== $text( $r['per_second'] ?? '' ) ) {
		$channel['rate'] = array(
			'per_second' => is_numeric( $text( $r['per_second'] ) ) ? (float) $text( $r['per_second'] ) : $text( $r['per_second'] ),
			'burst'      => max( 1, (int) $text( $r['burst'] ?? '1' ) ),
		);
	}
	$settings = array();
	foreach ( is_array( $posted['settings'] ?? null ) ? $posted['settings'] : array() as $name => $value ) {
		if ( '' !== $text( $value ) ) {
			$settings[ (string) $name ] = in_array( $name, CHANNEL_SETTING_NUMBERS, true ) ? $number( $value ) : $text( $value );
		}
	}
	$channel['settings'] = $settings;
	if ( is_array( $posted['credentials'] ?? null ) ) {
		$credentials = array();
		foreach ( $posted['credentials'] as $name => $value ) {
			// A secret is kept byte for byte (no sanitizing that could change it), only trimmed.
			$credentials[ (string) $name ] = is_string( $value ) ? trim( $value ) : '';
		}
		$channel['credentials'] = $credentials;
	}
	return $channel;
}

/**
 * `admin-post.php?action=inventory_sync_save_channel`.
 */
function action_admin_post_save_channel(): void {
	require_capability();
	check_admin_referer( ACTION_SAVE_CHANNEL );
	// phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- channel_from_form() sanitizes each field; secrets are kept as typed.
	$posted  = isset( $_POST['channel'] ) && is_array( $_POST['channel'] ) ? wp_unslash( $_POST['channel'] ) : array();
	$channel = channel_from_form( $posted );
	$is_new  = empty( $_POST['existing'] );
	try {
		if ( $is_new && null !== ledger()->channel( $channel['key'] ) ) {
			throw new \InventorySync\Exception\ValidationException( sprintf( 'key: a channel %s exists already', $channel['key'] ) );
		}
		$saved = ledger()->saveChannel( $channel );
		// Every SKU is planned for the channel as it now is; the queue kick pushes right after.
		$plan = ledger()->syncFull();
		\InventorySync\Cron\kick_wanted( true );
		set_flash(
			array(
				'type'    => 'success',
				/* translators: 1: channel name, 2: jobs queued */
				'message' => sprintf( __( 'Channel "%1$s" saved; %2$d pushes queued.', 'inventory-sync' ), $saved['name'], $plan['enqueued'] ),
			)
		);
		wp_safe_redirect( channels_url() );
	} catch ( SyncException $e ) {
		unset( $channel['credentials'] );
		set_flash(
			array(
				'type'    => 'error',
				/* translators: %s: what the extension refused, starting with the field's name */
				'message' => sprintf( __( 'Nothing was saved: %s', 'inventory-sync' ), $e->getMessage() ),
				'form'    => $channel,
			)
		);
		wp_safe_redirect( channels_url( $is_new ? array( 'new' => $channel['kind'] ) : array( 'edit' => $channel['key'] ) ) );
	}
	exit;
}

/**
 * `admin-post.php?action=inventory_sync_test_channel`: tests a saved channel's connection.
 */
function action_admin_post_test_channel(): void {
	require_capability();
	$key = isset( $_POST['key'] ) ? sanitize_text_field( wp_unslash( $_POST['key'] ) ) : '';
	check_admin_referer( ACTION_TEST_CHANNEL . '_' . $key );
	try {
		$report = ledger()->testChannel( $key );
		set_flash(
			array(
				'type'    => 'failed' === $report['status'] ? 'error' : 'success',
				/* translators: 1: channel key, 2: the test's result */
				'message' => sprintf( __( 'Test of %1$s: %2$s', 'inventory-sync' ), $key, $report['message'] ),
			)
		);
	} catch ( SyncException $e ) {
		set_flash( array( 'type' => 'error', 'message' => $e->getMessage() ) );
	}
	wp_safe_redirect( channels_url() );
	exit;
}

/**
 * Renders the Channels page: the list, or the form for a new or an existing channel.
 */
function render_channels_page(): void {
	require_capability();
	$flash = take_flash();
	// phpcs:disable WordPress.Security.NonceVerification.Recommended -- which view to show.
	$edit = isset( $_GET['edit'] ) ? sanitize_text_field( wp_unslash( $_GET['edit'] ) ) : '';
	$new  = isset( $_GET['new'] ) ? sanitize_key( wp_unslash( $_GET['new'] ) ) : '';
	// phpcs:enable
	?>
	<div class="wrap inventory-sync inventory-sync-channels">
		<h1><?php esc_html_e( 'Channels', 'inventory-sync' ); ?></h1>
		<?php render_flash( $flash ); ?>
		<?php
		try {
			$kinds = \InventorySync\channel_kinds();
			if ( '' !== $edit ) {
				$channel = ledger()->channel( $edit );
				if ( null === $channel ) {
					echo '<div class="notice notice-warning"><p>' . esc_html( sprintf( /* translators: %s: key */ __( 'There is no channel %s.', 'inventory-sync' ), $edit ) ) . '</p></div>';
				} else {
					render_channel_form( $kinds, $channel, $flash['form'] ?? null, false );
					render_channel_mappings( $channel );
				}
			} elseif ( isset( $kinds[ $new ] ) ) {
				render_channel_form( $kinds, array( 'kind' => $new ), $flash['form'] ?? null, true );
			} else {
				render_channel_list( $kinds );
			}
		} catch ( SyncException $e ) {
			echo '<div class="notice notice-error"><p>' . esc_html( $e->getMessage() ) . '</p></div>';
		}
		?>
	</div>
	<?php
}

/**
 * The channels with their state, and a way to add one of each kind.
 *
 * @param array<string, array<string, list<string>>> $kinds What channel_kinds() returned.
 * @throws SyncException From the ledger.
 */
function render_channel_list( array $kinds ): void {
	$ledger   = ledger();
	$channels = $ledger->channels();
	?>
	<div style="overflow-x: auto; max-width: 90em">
	<table class="widefat striped inventory-sync-channel-list">
		<thead><tr>
			<th><?php esc_html_e( 'Channel', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Kind', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'State', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Allocation', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Queue', 'inventory-sync' ); ?></th>
			<th><?php esc_html_e( 'Credentials', 'inventory-sync' ); ?></th>
			<th></th>
		</tr></thead>
		<tbody>
		<?php if ( array() === $channels ) : ?>
			<tr><td colspan="7"><?php esc_html_e( 'No channel yet: add one below.', 'inventory-sync' ); ?></td></tr>
		<?php endif; ?>
		<?php foreach ( $channels as $channel ) : ?>
			<?php
			$counts = $ledger->jobCounts( $channel['key'] );
			$a      = $channel['allocation'];
			?>
			<tr class="inventory-sync-channel" data-channel="<?php echo esc_attr( $channel['key'] ); ?>">
				<td><strong><a href="<?php echo esc_url( channels_url( array( 'edit' => $channel['key'] ) ) ); ?>"><?php echo esc_html( $channel['name'] ); ?></a></strong><br /><code><?php echo esc_html( $channel['key'] ); ?></code></td>
				<td><?php echo esc_html( $channel['kind'] ); ?></td>
				<td><?php echo $channel['enabled'] ? esc_html__( 'enabled', 'inventory-sync' ) : esc_html__( 'disabled', 'inventory-sync' ); ?></td>
				<td><?php echo esc_html( 'partitioned' === $a['mode'] ? sprintf( /* translators: %d: weight */ __( 'partitioned, weight %d', 'inventory-sync' ), $a['weight'] ) : __( 'shared', 'inventory-sync' ) ); ?><?php echo $a['buffer'] > 0 ? esc_html( sprintf( /* translators: %d: units */ __( ', buffer %d', 'inventory-sync' ), $a['buffer'] ) ) : ''; ?><?php echo array() !== $a['locations'] ? '<br /><span class="description">' . esc_html( implode( ', ', $a['locations'] ) ) . '</span>' : ''; ?></td>
				<td><?php echo esc_html( sprintf( /* translators: 1: pending, 2: dead */ __( '%1$d pending · %2$d dead', 'inventory-sync' ), $counts['pending'], $counts['dead'] ) ); ?></td>
				<td><?php echo esc_html( $channel['credentials_readable'] ? implode( ', ', array_map( static fn ( $k, $v ) => "$k $v", array_keys( $channel['credentials'] ), $channel['credentials'] ) ) : __( 'cannot be opened with this site\'s key', 'inventory-sync' ) ); ?></td>
				<td>
					<a class="button" href="<?php echo esc_url( channels_url( array( 'edit' => $channel['key'] ) ) ); ?>"><?php esc_html_e( 'Edit', 'inventory-sync' ); ?></a>
					<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" style="display: inline">
						<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_TEST_CHANNEL ); ?>" />
						<input type="hidden" name="key" value="<?php echo esc_attr( $channel['key'] ); ?>" />
						<?php wp_nonce_field( ACTION_TEST_CHANNEL . '_' . $channel['key'] ); ?>
						<?php submit_button( __( 'Test connection', 'inventory-sync' ), 'secondary', 'submit', false ); ?>
					</form>
				</td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	</div>
	<h2><?php esc_html_e( 'Add a channel', 'inventory-sync' ); ?></h2>
	<p class="inventory-sync-add-channel">
		<?php foreach ( array_diff( array_keys( $kinds ), array( \InventorySync\LOCAL_CHANNEL_KIND ) ) as $kind ) : ?>
			<a class="button" href="<?php echo esc_url( channels_url( array( 'new' => $kind ) ) ); ?>"><?php echo esc_html( $kind ); ?></a>
		<?php endforeach; ?>
	</p>
	<?php
}

/**
 * The add / edit form. $typed (what the owner typed before a refusal) wins over $channel.
 *
 * @param array<string, array<string, list<string>>> $kinds   What channel_kinds() returned.
 * @param array<string, mixed>                       $channel The saved channel, or just its kind.
 * @param array<string, mixed>|null                  $typed   The refused form's values.
 * @throws SyncException From the ledger.
 */
function render_channel_form( array $kinds, array $channel, ?array $typed, bool $is_new ): void {
	$kind      = (string) $channel['kind'];
	$value     = static function ( array $path, $default = '' ) use ( $channel, $typed ) {
		foreach ( array( $typed, $channel ) as $source ) {
			$v = $source;
			foreach ( $path as $step ) {
				$v = is_array( $v ) && array_key_exists( $step, $v ) ? $v[ $step ] : null;
			}
			if ( null !== $v ) {
				return $v;
			}
		}
		return $default;
	};
	$locations = ledger()->locations();
	$chosen    = (array) $value( array( 'allocation', 'locations' ), array() );
	$field     = static function ( string $label, string $name, string $current, string $type = 'text', string $hint = '' ): void {
		// channel[settings][shop_url] → inventory-sync-channel-settings-shop_url.
		$id = 'inventory-sync-' . sanitize_html_class( str_replace( array( '][', '[', ']' ), array( '-', '-', '' ), $name ) );
		?>
		<tr>
			<th scope="row"><label for="<?php echo esc_attr( $id ); ?>"><?php echo esc_html( $label ); ?></label></th>
			<td>
				<input id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $name ); ?>" type="<?php echo esc_attr( $type ); ?>" value="<?php echo esc_attr( $current ); ?>" class="regular-text" autocomplete="off" />
				<?php if ( '' !== $hint ) : ?>
					<p class="description"><?php echo esc_html( $hint ); ?></p>
				<?php endif; ?>
			</td>
		</tr>
		<?php
	};
	?>
	<h2>
		<?php
		echo esc_html(
			$is_new
				/* translators: %s: channel kind */
				? sprintf( __( 'New %s channel', 'inventory-sync' ), $kind )
				/* translators: %s: channel name */
				: sprintf( __( 'Edit channel "%s"', 'inventory-sync' ), (string) $channel['name'] )
		);
		?>
	</h2>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="inventory-sync-channel-form">
		<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_SAVE_CHANNEL ); ?>" />
		<input type="hidden" name="channel[kind]" value="<?php echo esc_attr( $kind ); ?>" />
		<?php if ( ! $is_new ) : ?>
			<input type="hidden" name="existing" value="1" />
			<input type="hidden" name="channel[key]" value="<?php echo esc_attr( (string) $channel['key'] ); ?>" />
		<?php endif; ?>
		<?php wp_nonce_field( ACTION_SAVE_CHANNEL ); ?>
		<table class="form-table" role="presentation">
			<?php
			if ( $is_new ) {
				$field( __( 'Key (names the channel in logs and the API; cannot change later)', 'inventory-sync' ), 'channel[key]', (string) $value( array( 'key' ) ) );
			}
			$field( __( 'Name', 'inventory-sync' ), 'channel[name]', (string) $value( array( 'name' ) ) );
			?>
			<tr><th scope="row"><?php esc_html_e( 'Enabled', 'inventory-sync' ); ?></th>
				<td><label><input type="checkbox" name="channel[enabled]" value="1" <?php checked( (bool) $value( array( 'enabled' ), true ) ); ?> /> <?php esc_html_e( 'Push stock to this channel', 'inventory-sync' ); ?></label></td></tr>
			<?php foreach ( $kinds[ $kind ]['settings'] as $name ) : ?>
				<?php $field( $name, "channel[settings][$name]", (string) $value( array( 'settings', $name ) ) ); ?>
			<?php endforeach; ?>
			<?php foreach ( $kinds[ $kind ]['credentials'] as $name ) : ?>
				<?php
				$stored = (string) ( $channel['credentials'][ $name ] ?? '' );
				$field(
					$name,
					"channel[credentials][$name]",
					'',
					'password',
					'' === $stored
						? __( 'Stored encrypted; shown masked once saved.', 'inventory-sync' )
						/* translators: %s: the masked stored value */
						: sprintf( __( 'Saved: %s. Leave empty to keep it, or type a new one to replace it.', 'inventory-sync' ), $stored )
				);
				?>
			<?php endforeach; ?>
			<tr><th scope="row"><label for="inventory-sync-mode"><?php esc_html_e( 'Allocation', 'inventory-sync' ); ?></label></th>
				<td>
					<select id="inventory-sync-mode" name="channel[allocation][mode]">
						<option value="shared" <?php selected( $value( array( 'allocation', 'mode' ), 'shared' ), 'shared' ); ?>><?php esc_html_e( 'shared: shows all available stock', 'inventory-sync' ); ?></option>
						<option value="partitioned" <?php selected( $value( array( 'allocation', 'mode' ), 'shared' ), 'partitioned' ); ?>><?php esc_html_e( 'partitioned: a weighted share of the pool', 'inventory-sync' ); ?></option>
					</select>
				</td></tr>
			<?php
			$field( __( 'Weight (partitioned)', 'inventory-sync' ), 'channel[allocation][weight]', (string) $value( array( 'allocation', 'weight' ) ), 'number' );
			$field( __( 'Priority (lower wins rounding ties)', 'inventory-sync' ), 'channel[allocation][priority]', (string) $value( array( 'allocation', 'priority' ) ), 'number' );
			$field( __( 'Buffer (units held back)', 'inventory-sync' ), 'channel[allocation][buffer]', (string) $value( array( 'allocation', 'buffer' ) ), 'number' );
			$field( __( 'Maximum shown (empty: no cap)', 'inventory-sync' ), 'channel[allocation][max]', (string) $value( array( 'allocation', 'max' ) ), 'number' );
			$field( __( 'Show 0 at or below', 'inventory-sync' ), 'channel[allocation][zero_threshold]', (string) $value( array( 'allocation', 'zero_threshold' ) ), 'number' );
			$field( __( 'Percent of available (shared, no buffer)', 'inventory-sync' ), 'channel[allocation][percent]', (string) $value( array( 'allocation', 'percent' ) ), 'number' );
			?>
			<tr><th scope="row"><?php esc_html_e( 'Eligible locations', 'inventory-sync' ); ?></th>
				<td>
					<?php foreach ( $locations as $location ) : ?>
						<label style="margin-right: 1em"><input type="checkbox" name="channel[allocation][locations][]" value="<?php echo esc_attr( $location['code'] ); ?>" <?php checked( in_array( $location['code'], $chosen, true ) ); ?> /> <?php echo esc_html( $location['code'] ); ?></label>
					<?php endforeach; ?>
					<p class="description"><?php esc_html_e( 'None ticked: every active location.', 'inventory-sync' ); ?></p>
					<label><input type="checkbox" name="channel[allocation][include_incoming]" value="1" <?php checked( (bool) $value( array( 'allocation', 'include_incoming' ), false ) ); ?> /> <?php esc_html_e( 'Count incoming stock as available to promise', 'inventory-sync' ); ?></label>
				</td></tr>
			<?php
			$field( __( 'Batch size (items per call)', 'inventory-sync' ), 'channel[batch_size]', (string) $value( array( 'batch_size' ) ), 'number' );
			$field( __( 'Rate limit (requests per second; empty: the kind\'s default)', 'inventory-sync' ), 'channel[rate][per_second]', (string) $value( array( 'rate', 'per_second' ) ) );
			$field( __( 'Push only changes of at least (units; 0: every change)', 'inventory-sync' ), 'channel[min_change]', (string) $value( array( 'min_change' ) ), 'number' );
			$field( __( 'Low-stock level (drops to it are always pushed)', 'inventory-sync' ), 'channel[low_stock_level]', (string) $value( array( 'low_stock_level' ) ), 'number' );
			?>
		</table>
		<?php submit_button( $is_new ? __( 'Add channel', 'inventory-sync' ) : __( 'Save channel', 'inventory-sync' ) ); ?>
		<a href="<?php echo esc_url( channels_url() ); ?>"><?php esc_html_e( 'Back to the channels', 'inventory-sync' ); ?></a>
	</form>
	<?php
}
