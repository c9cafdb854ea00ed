<?php
/**
 * wp-admin: the Queue page — the outbox's jobs (filtered by channel and status, with their last
 * error, attempts and next attempt), dead letters retried one by one or all at once, finished and
 * dead jobs cleared, "Sync now" for chosen SKUs or WooCommerce products, and the channel feeds
 * (Amazon's bulk submissions) with where each one is. Loaded only under
 * is_admin(); the list itself is Jobs_List_Table (class-jobs-list-table.php), required only while
 * the page renders.
 *
 * Every action follows the status page's order: capability → nonce for this action (and job) →
 * sanitize → act → redirect back to the view it came from (post/redirect/get) with a flash
 * message. Retrying and "Sync now" run one queue pass right away (Sync\run_queue(), the same
 * pass as cron's), so the message says what happened to the jobs.
 *
 * @package InventorySync
 */

namespace InventorySync\Admin\Queue;

use InventorySync\Admin\Jobs_List_Table;
use InventorySync\Exception\SyncException;
use function InventorySync\Admin\format_time;
use function InventorySync\Admin\render_flash;
use function InventorySync\Admin\require_capability;
use function InventorySync\Admin\set_flash;
use function InventorySync\Admin\take_flash;
use function InventorySync\ledger;
use function InventorySync\Store\stock_holder;
use function InventorySync\Store\woocommerce_available;
use function InventorySync\Sync\queue_budget_ms;
use function InventorySync\Sync\run_queue;
use const InventorySync\ACTION_CLEAR_JOBS;
use const InventorySync\ACTION_RETRY_DEAD;
use const InventorySync\ACTION_RETRY_JOB;
use const InventorySync\ACTION_SYNC_NOW;
use const InventorySync\ADMIN_PAGE;
use const InventorySync\CAPABILITY;
use const InventorySync\FEEDS_SHOWN;
use const InventorySync\JOB_STATUSES;
use const InventorySync\QUEUE_PAGE;
use const InventorySync\SYNC_NOW_MAX_SKUS;

defined( 'ABSPATH' ) || exit;

/**
 * Adds the Queue page under the Inventory Sync menu.
 */
function action_admin_menu(): void {
	add_submenu_page(
		ADMIN_PAGE,
		__( 'Inventory Sync queue', 'inventory-sync' ),
		__( 'Queue', 'inventory-sync' ),
		CAPABILITY,
		QUEUE_PAGE,
		__NAMESPACE__ . '\\render_page'
	);
}

/**
 * Configured channels, key => name ("name (key)" when they differ); empty when the ledger cannot
 * be read.
 *
 * @return array<string, string>
 */
function channel_names(): array {
	static $names = null;
	if ( null !== $names ) {
		return $names;
	}
	try {
		$channels = ledger()->channels();
	} catch ( SyncException $e ) {
		return array();
	}
	$names = array();
	foreach ( $channels as $channel ) {
		$key           = (string) $channel['key'];
		$name          = (string) $channel['name'];
		$names[ $key ] = '' === $name || $name === $key ? $key : sprintf( '%s (%s)', $name, $key );
	}
	return $names;
}

/**
 * Whether the channel $key exists and is turned on.
 *
 * @param string $key The channel's key.
 */
function channel_enabled( string $key ): bool {
	try {
		$channel = ledger()->channel( $key );
	} catch ( SyncException $e ) {
		return false;
	}
	return null !== $channel && ! empty( $channel['enabled'] );
}

/**
 * A text field of the request, unslashed; '' when it is missing or not a string (a forged
 * `field[]` never reaches a string function).
 *
 * @param string $field The request field.
 */
function request_text( string $field ): string {
	// phpcs:ignore WordPress.Security.NonceVerification -- read for a view, or after check_admin_referer().
	$value = $_REQUEST[ $field ] ?? '';
	return is_string( $value ) ? wp_unslash( $value ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- the callers sanitize.
}

/**
 * A channel key from the request: one that is configured, else '' (all channels).
 *
 * @param string $field The request field.
 */
function requested_channel( string $field ): string {
	$channel = sanitize_text_field( request_text( $field ) );
	return isset( channel_names()[ $channel ] ) ? $channel : '';
}

/**
 * A job status from the request: one of the extension's, else '' (all).
 *
 * @param string $field The request field.
 */
function requested_status( string $field ): string {
	$status = sanitize_key( request_text( $field ) );
	return in_array( $status, JOB_STATUSES, true ) ? $status : '';
}

/**
 * Sends the browser back to the Queue page, in the view the action came from, and ends the
 * request.
 */
function back_to_queue(): never {
	$args = array_filter(
		array(
			'page'    => QUEUE_PAGE,
			'channel' => requested_channel( 'view_channel' ),
			'status'  => requested_status( 'view_status' ),
		)
	);
	wp_safe_redirect( add_query_arg( array_map( 'rawurlencode', $args ), admin_url( 'admin.php' ) ) );
	exit;
}

/**
 * Stores a flash message and goes back to the page.
 *
 * @param string $type    'success' or 'error'.
 * @param string $message The message.
 */
function done( string $type, string $message ): never {
	set_flash(
		array(
			'type'    => $type,
			'message' => $message,
		)
	);
	back_to_queue();
}

/**
 * One queue pass now, summed up in a sentence (or why it failed).
 */
function queue_pass(): string {
	try {
		$report = run_queue( queue_budget_ms() );
	} catch ( SyncException $e ) {
		/* translators: %s: the technical reason */
		return sprintf( __( 'The queue pass failed: %s', 'inventory-sync' ), $e->getMessage() );
	}
	return sprintf(
		/* translators: 1: jobs pushed, 2: jobs that failed and will be retried, 3: jobs that failed for good */
		__( 'Queue pass: %1$d pushed, %2$d to be retried, %3$d dead.', 'inventory-sync' ),
		(int) $report['pushed'],
		(int) $report['retried'],
		(int) $report['dead']
	);
}

/**
 * Puts one dead job back in line and runs a queue pass.
 */
function action_admin_post_retry_job(): void {
	require_capability();
	$id = absint( request_text( 'job_id' ) );
	check_admin_referer( ACTION_RETRY_JOB . '_' . $id );
	try {
		$job = ledger()->retryJob( $id );
	} catch ( SyncException $e ) {
		/* translators: %s: the reason */
		done( 'error', sprintf( __( 'The job was not retried: %s', 'inventory-sync' ), $e->getMessage() ) );
	}
	done(
		'success',
		sprintf(
			/* translators: 1: SKU, 2: channel key */
			__( 'The job for %1$s on %2$s is back in line.', 'inventory-sync' ),
			$job['sku'],
			$job['channel']
		) . ' ' . queue_pass()
	);
}

/**
 * Puts every dead job (of one channel or all) back in line and runs a queue pass.
 */
function action_admin_post_retry_dead(): void {
	require_capability();
	check_admin_referer( ACTION_RETRY_DEAD );
	$channel = requested_channel( 'channel' );
	try {
		$count = ledger()->retryAll( '' === $channel ? null : $channel );
	} catch ( SyncException $e ) {
		/* translators: %s: the reason */
		done( 'error', sprintf( __( 'Nothing was retried: %s', 'inventory-sync' ), $e->getMessage() ) );
	}
	if ( 0 === $count ) {
		done( 'success', __( 'There were no dead jobs to retry.', 'inventory-sync' ) );
	}
	/* translators: %d: number of jobs */
	done( 'success', sprintf( _n( '%d dead job is back in line.', '%d dead jobs are back in line.', $count, 'inventory-sync' ), $count ) . ' ' . queue_pass() );
}

/**
 * Deletes finished (done and superseded) or dead jobs, of one channel or all. Dead jobs only
 * when the confirmation box was ticked: they are pushes that never happened.
 */
function action_admin_post_clear_jobs(): void {
	require_capability();
	$what = sanitize_key( request_text( 'clear' ) );
	if ( ! in_array( $what, array( 'finished', 'dead' ), true ) ) {
		wp_die( esc_html__( 'Unknown kind of jobs to clear.', 'inventory-sync' ), '', array( 'response' => 400 ) );
	}
	check_admin_referer( ACTION_CLEAR_JOBS . '_' . $what );
	if ( 'dead' === $what && '1' !== request_text( 'confirm' ) ) {
		done( 'error', __( 'Dead jobs were not cleared: tick the box to confirm that their pushes will never be made.', 'inventory-sync' ) );
	}
	$channel = requested_channel( 'channel' );
	$filter  = array( 'status' => $what );
	if ( '' !== $channel ) {
		$filter['channel'] = $channel;
	}
	try {
		$count = ledger()->clearJobs( $filter );
	} catch ( SyncException $e ) {
		/* translators: %s: the reason */
		done( 'error', sprintf( __( 'Nothing was cleared: %s', 'inventory-sync' ), $e->getMessage() ) );
	}
	done(
		'success',
		'dead' === $what
			/* translators: %d: number of jobs */
			? sprintf( _n( '%d dead job was cleared.', '%d dead jobs were cleared.', $count, 'inventory-sync' ), $count )
			/* translators: %d: number of jobs */
			: sprintf( _n( '%d finished job was cleared.', '%d finished jobs were cleared.', $count, 'inventory-sync' ), $count )
	);
}

/**
 * The SKUs of a "Sync now" form: SKUs one per line or comma-separated, and WooCommerce product
 * ids resolved to the SKU that holds their stock. Returns the SKUs and the ids that have none.
 *
 * @param string $skus        The SKUs field.
 * @param string $product_ids The product ids field.
 * @return array{skus: list<string>, unresolved: list<int>}
 */
function sync_now_skus( string $skus, string $product_ids ): array {
	$out = array();
	foreach ( preg_split( '/[\r\n,]+/', $skus ) ?: array() as $sku ) {
		$sku = sanitize_text_field( $sku );
		if ( '' !== $sku ) {
			$out[] = $sku;
		}
	}
	$unresolved = array();
	$ids        = array_unique( array_filter( array_map( 'absint', preg_split( '/[\s,]+/', $product_ids ) ?: array() ) ) );
	foreach ( $ids as $id ) {
		$holder = woocommerce_available() ? stock_holder( wc_get_product( $id ) ) : null;
		if ( null === $holder ) {
			$unresolved[] = $id;
		} else {
			$out[] = $holder['sku'];
		}
	}
	return array(
		'skus'       => array_values( array_unique( $out ) ),
		'unresolved' => $unresolved,
	);
}

/**
 * "Sync now": plans the chosen SKUs for every enabled channel and runs a queue pass.
 */
function action_admin_post_sync_now(): void {
	require_capability();
	check_admin_referer( ACTION_SYNC_NOW );
	$chosen = sync_now_skus( request_text( 'skus' ), request_text( 'product_ids' ) );
	$notes  = array();
	if ( array() !== $chosen['unresolved'] ) {
		$notes[] = sprintf(
			/* translators: %s: comma-separated product ids */
			__( 'These product ids are not products with managed stock and a SKU: %s.', 'inventory-sync' ),
			implode( ', ', $chosen['unresolved'] )
		);
	}
	if ( array() === $chosen['skus'] ) {
		done( 'error', trim( __( 'Nothing was synced: enter at least one SKU or product id.', 'inventory-sync' ) . ' ' . implode( ' ', $notes ) ) );
	}
	if ( count( $chosen['skus'] ) > SYNC_NOW_MAX_SKUS ) {
		/* translators: %d: the most SKUs at once */
		done( 'error', sprintf( __( 'Nothing was synced: at most %d SKUs at once (a full sync runs every night).', 'inventory-sync' ), SYNC_NOW_MAX_SKUS ) );
	}
	$channel = requested_channel( 'channel' );
	$asked   = sanitize_text_field( request_text( 'channel' ) );
	if ( '' !== $asked && '' === $channel ) {
		/* translators: %s: the channel key sent */
		done( 'error', sprintf( __( 'Nothing was synced: there is no channel %s.', 'inventory-sync' ), $asked ) );
	}
	if ( '' !== $channel && ! channel_enabled( $channel ) ) {
		/* translators: %s: the channel's name */
		done( 'error', sprintf( __( 'Nothing was synced: %s is turned off. Turn it on under Channels first.', 'inventory-sync' ), channel_names()[ $channel ] ) );
	}
	try {
		// The planner gives this store's own channel jobs only when it exists (as after any change).
		\InventorySync\Sync\guarded( 'local channel', static fn () => \InventorySync\Store\ensure_local_channel() );
		$plan = '' === $channel ? ledger()->syncSkus( $chosen['skus'] ) : ledger()->syncSkusTo( $chosen['skus'], $channel );
	} catch ( SyncException $e ) {
		/* translators: %s: the reason */
		done( 'error', sprintf( __( 'Nothing was synced: %s', 'inventory-sync' ), $e->getMessage() ) );
	}
	$up_to_date = (int) $plan['unchanged'] + (int) $plan['echoes'] + (int) $plan['held_back'];
	if ( '' === $channel ) {
		$message = sprintf(
			/* translators: 1: SKUs planned, 2: jobs queued, 3: channels that already show the quantity (or will: a job is waiting) */
			_n( 'Sync now: %1$d SKU planned for every enabled channel — jobs queued: %2$d, already up to date: %3$d.', 'Sync now: %1$d SKUs planned for every enabled channel — jobs queued: %2$d, already up to date: %3$d.', (int) $plan['skus'], 'inventory-sync' ),
			(int) $plan['skus'],
			(int) $plan['enqueued'],
			$up_to_date
		);
	} else {
		$message = sprintf(
			/* translators: 1: SKUs planned, 2: the channel's name, 3: jobs queued, 4: SKUs the channel already shows right (or will: a job is waiting) */
			_n( 'Sync now: %1$d SKU planned for %2$s only — jobs queued: %3$d, already up to date: %4$d.', 'Sync now: %1$d SKUs planned for %2$s only — jobs queued: %3$d, already up to date: %4$d.', (int) $plan['skus'], 'inventory-sync' ),
			(int) $plan['skus'],
			channel_names()[ $channel ],
			(int) $plan['enqueued'],
			$up_to_date
		);
	}
	if ( (int) $plan['skipped'] > 0 ) {
		/* translators: %d: number of SKUs */
		$notes[] = sprintf( _n( '%d SKU is not in the ledger and was skipped.', '%d SKUs are not in the ledger and were skipped.', (int) $plan['skipped'], 'inventory-sync' ), (int) $plan['skipped'] );
	}
	done( 'success', trim( $message . ' ' . queue_pass() . ' ' . implode( ' ', $notes ) ) );
}

/**
 * Renders the Queue page.
 */
function render_page(): void {
	require_capability();
	require_once ABSPATH . 'wp-admin/includes/class-wp-list-table.php';
	require_once __DIR__ . '/class-jobs-list-table.php';
	$flash    = take_flash();
	$channels = channel_names();
	$channel  = requested_channel( 'channel' );
	$status   = requested_status( 'status' );
	// phpcs:ignore WordPress.Security.NonceVerification -- a cursor for reading.
	$before = isset( $_GET['before'] ) ? absint( $_GET['before'] ) : 0;
	$table  = new Jobs_List_Table( $channels, $channel, $status, $before );
	$table->prepare_items();
	$post_url = admin_url( 'admin-post.php' );
	?>
	<div class="wrap inventory-sync inventory-sync-queue">
		<h1><?php esc_html_e( 'Queue', 'inventory-sync' ); ?></h1>
		<?php render_flash( $flash ); ?>
		<p class="description"><?php esc_html_e( 'Every channel gets the quantity it should show as a job. Jobs that fail are retried with growing delays; a job that fails for good (refused credentials, an unknown product, too many attempts) is dead and waits for you here.', 'inventory-sync' ); ?></p>
		<?php $table->views(); ?>
		<?php $table->display(); ?>
		<?php render_feeds( $channels, $channel ); ?>

		<h2><?php esc_html_e( 'Sync now', 'inventory-sync' ); ?></h2>
		<form method="post" action="<?php echo esc_url( $post_url ); ?>" class="inventory-sync-sync-now">
			<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_SYNC_NOW ); ?>" />
			<?php wp_nonce_field( ACTION_SYNC_NOW ); ?>
			<?php echo $table->view_fields(); // phpcs:ignore WordPress.Security.EscapeOutput -- built escaped. ?>
			<p class="description"><?php esc_html_e( 'Works out what every enabled channel (or the one you choose) should show for these SKUs, queues a job where a channel needs another quantity, and pushes the queue right away.', 'inventory-sync' ); ?></p>
			<table class="form-table" role="presentation">
				<tr><th scope="row"><label for="inventory-sync-sync-skus"><?php esc_html_e( 'SKUs', 'inventory-sync' ); ?></label></th>
					<td><textarea id="inventory-sync-sync-skus" name="skus" rows="3" class="large-text code" placeholder="<?php esc_attr_e( 'One per line, or separated by commas', 'inventory-sync' ); ?>"></textarea></td></tr>
				<?php if ( woocommerce_available() ) : ?>
					<tr><th scope="row"><label for="inventory-sync-sync-products"><?php esc_html_e( 'or WooCommerce product ids', 'inventory-sync' ); ?></label></th>
						<td><input id="inventory-sync-sync-products" name="product_ids" type="text" class="regular-text" inputmode="numeric" placeholder="<?php esc_attr_e( 'e.g. 12, 15', 'inventory-sync' ); ?>" /></td></tr>
				<?php endif; ?>
			</table>
			<p><?php render_channel_select( 'inventory-sync-sync-channel', $channels, '' ); ?></p>
			<?php submit_button( __( 'Sync now', 'inventory-sync' ), 'primary', 'submit', false, array( 'id' => 'inventory-sync-sync-now-submit' ) ); ?>
		</form>

		<h2><?php esc_html_e( 'Dead jobs and clean-up', 'inventory-sync' ); ?></h2>
		<form method="post" action="<?php echo esc_url( $post_url ); ?>" class="inventory-sync-retry-dead">
			<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_RETRY_DEAD ); ?>" />
			<?php wp_nonce_field( ACTION_RETRY_DEAD ); ?>
			<?php echo $table->view_fields(); // phpcs:ignore WordPress.Security.EscapeOutput -- built escaped. ?>
			<p>
				<?php render_channel_select( 'inventory-sync-retry-channel', $channels, $channel ); ?>
				<?php submit_button( __( 'Retry all dead jobs', 'inventory-sync' ), 'secondary', 'submit', false, array( 'id' => 'inventory-sync-retry-dead-submit' ) ); ?>
			</p>
		</form>
		<form method="post" action="<?php echo esc_url( $post_url ); ?>" class="inventory-sync-clear-finished">
			<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_CLEAR_JOBS ); ?>" />
			<input type="hidden" name="clear" value="finished" />
			<?php wp_nonce_field( ACTION_CLEAR_JOBS . '_finished' ); ?>
			<?php echo $table->view_fields(); // phpcs:ignore WordPress.Security.EscapeOutput -- built escaped. ?>
			<p>
				<?php render_channel_select( 'inventory-sync-clear-finished-channel', $channels, $channel ); ?>
				<?php submit_button( __( 'Clear finished jobs', 'inventory-sync' ), 'secondary', 'submit', false, array( 'id' => 'inventory-sync-clear-finished-submit' ) ); ?>
				<span class="description"><?php esc_html_e( 'Done and superseded jobs; they are also removed after the retention period.', 'inventory-sync' ); ?></span>
			</p>
		</form>
		<form method="post" action="<?php echo esc_url( $post_url ); ?>" class="inventory-sync-clear-dead">
			<input type="hidden" name="action" value="<?php echo esc_attr( ACTION_CLEAR_JOBS ); ?>" />
			<input type="hidden" name="clear" value="dead" />
			<?php wp_nonce_field( ACTION_CLEAR_JOBS . '_dead' ); ?>
			<?php echo $table->view_fields(); // phpcs:ignore WordPress.Security.EscapeOutput -- built escaped. ?>
			<p>
				<?php render_channel_select( 'inventory-sync-clear-dead-channel', $channels, $channel ); ?>
				<label><input type="checkbox" name="confirm" value="1" /> <?php esc_html_e( 'I understand these pushes will never be made', 'inventory-sync' ); ?></label>
				<?php submit_button( __( 'Clear dead jobs', 'inventory-sync' ), 'delete', 'submit', false, array( 'id' => 'inventory-sync-clear-dead-submit' ) ); ?>
			</p>
		</form>
	</div>
	<?php
}

/**
 * The newest channel feeds (bulk submissions the channel processes later: Amazon's
 * JSON_LISTINGS_FEED), when there are any: where each one is, how many jobs it holds or settled,
 * and its last problem. A live feed holds its jobs (shown as running "in feed #N").
 *
 * @param array<string, string> $channels Configured channels: key => name.
 * @param string                $channel  The channel shown, or '' for all.
 */
function render_feeds( array $channels, string $channel ): void {
	try {
		$feeds = ledger()->feeds( '' === $channel ? null : $channel, FEEDS_SHOWN );
	} catch ( \Throwable $e ) {
		return; // The jobs table above already says what is wrong with the ledger.
	}
	if ( array() === $feeds ) {
		return;
	}
	$states = array(
		'submitting' => __( 'Submitting', 'inventory-sync' ),
		'submitted'  => __( 'At the channel', 'inventory-sync' ),
		'done'       => __( 'Done', 'inventory-sync' ),
		'failed'     => __( 'Failed (jobs retried)', 'inventory-sync' ),
		'cancelled'  => __( 'Cancelled (jobs released)', 'inventory-sync' ),
		'abandoned'  => __( 'Abandoned', 'inventory-sync' ),
	);
	?>
	<h2><?php esc_html_e( 'Channel feeds', 'inventory-sync' ); ?></h2>
	<p class="description"><?php esc_html_e( 'Large backlogs go to Amazon as one feed of up to 25,000 quantities instead of one call per SKU. Amazon processes a feed in its own time; its jobs wait here until Amazon reports on it.', 'inventory-sync' ); ?></p>
	<table class="widefat striped inventory-sync-feeds">
		<thead><tr>
			<th scope="col"><?php esc_html_e( 'Feed', 'inventory-sync' ); ?></th>
			<th scope="col"><?php esc_html_e( 'Channel', 'inventory-sync' ); ?></th>
			<th scope="col"><?php esc_html_e( 'State', 'inventory-sync' ); ?></th>
			<th scope="col"><?php esc_html_e( 'Jobs', 'inventory-sync' ); ?></th>
			<th scope="col"><?php esc_html_e( 'Applied', 'inventory-sync' ); ?></th>
			<th scope="col"><?php esc_html_e( 'Refused or retried', 'inventory-sync' ); ?></th>
			<th scope="col"><?php esc_html_e( 'Started', 'inventory-sync' ); ?></th>
			<th scope="col"><?php esc_html_e( 'Last problem', 'inventory-sync' ); ?></th>
		</tr></thead>
		<tbody>
		<?php foreach ( $feeds as $feed ) : ?>
			<?php
			$state = $states[ $feed['state'] ] ?? $feed['state'];
			if ( null !== $feed['processing_status'] && in_array( $feed['state'], array( 'submitted', 'failed' ), true ) ) {
				$state .= ' (' . $feed['processing_status'] . ')';
			}
			?>
			<tr class="inventory-sync-feed-<?php echo esc_attr( $feed['state'] ); ?>">
				<td>
					<?php
					/* translators: %d: our feed number */
					echo esc_html( sprintf( __( '#%d', 'inventory-sync' ), $feed['id'] ) );
					?>
					<?php if ( null !== $feed['remote_id'] ) : ?>
						<br /><code><?php echo esc_html( $feed['remote_id'] ); ?></code>
					<?php endif; ?>
				</td>
				<td><?php echo esc_html( $channels[ $feed['channel'] ] ?? $feed['channel'] ); ?></td>
				<td><?php echo esc_html( $state ); ?></td>
				<td><?php echo esc_html( number_format_i18n( $feed['messages'] ) ); ?></td>
				<td><?php echo esc_html( number_format_i18n( $feed['applied'] ) ); ?></td>
				<td><?php echo esc_html( number_format_i18n( $feed['refused'] ) ); ?></td>
				<td><?php echo esc_html( format_time( $feed['created_at'] ) ); ?></td>
				<td><?php echo esc_html( (string) ( $feed['last_error'] ?? '' ) ); ?></td>
			</tr>
		<?php endforeach; ?>
		</tbody>
	</table>
	<?php
}

/**
 * A "channel" dropdown: all channels or one.
 *
 * @param string                $id       The element id.
 * @param array<string, string> $channels Configured channels: key => name.
 * @param string                $current  The channel selected, or ''.
 */
function render_channel_select( string $id, array $channels, string $current ): void {
	?>
	<label for="<?php echo esc_attr( $id ); ?>"><?php esc_html_e( 'Channel', 'inventory-sync' ); ?></label>
	<select id="<?php echo esc_attr( $id ); ?>" name="channel" style="max-width: 100%">
		<option value=""><?php esc_html_e( 'All channels', 'inventory-sync' ); ?></option>
		<?php foreach ( $channels as $key => $name ) : ?>
			<option value="<?php echo esc_attr( $key ); ?>" <?php selected( $key, $current ); ?>><?php echo esc_html( $name ); ?></option>
		<?php endforeach; ?>
	</select>
	<?php
}
