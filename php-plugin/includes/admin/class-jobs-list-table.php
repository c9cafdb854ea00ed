<?php
/**
 * The Queue page's list of outbox jobs, in WP_List_Table's shape: status views with counts, a
 * channel filter, a "Retry" row action on dead jobs. The extension pages by cursor (newest first,
 * `before` an id), so the pagination links are "Newest" and "Older" instead of page numbers.
 * Required only while the Queue page renders (WP_List_Table is an admin-only class).
 *
 * @package InventorySync
 */

namespace InventorySync\Admin;

use InventorySync\Exception\SyncException;
use const InventorySync\ACTION_RETRY_JOB;
use const InventorySync\JOB_STATUSES;
use const InventorySync\QUEUE_PAGE;
use const InventorySync\QUEUE_PAGE_SIZE;

defined( 'ABSPATH' ) || exit;

/**
 * Outbox jobs, newest first, of one channel or all, in one status or all.
 */
class Jobs_List_Table extends \WP_List_Table {

	/**
	 * The channel shown, or '' for all.
	 *
	 * @var string
	 */
	private string $channel;

	/**
	 * The status shown, or '' for all.
	 *
	 * @var string
	 */
	private string $status;

	/**
	 * The cursor: only jobs with a smaller id (0: from the newest).
	 *
	 * @var int
	 */
	private int $before;

	/**
	 * The next page's cursor, or null on the last page.
	 *
	 * @var int|null
	 */
	private ?int $next_before = null;

	/**
	 * Jobs per status of the channel shown (the extension's jobCounts()).
	 *
	 * @var array<string, int>
	 */
	private array $counts = array();

	/**
	 * Configured channels: key => name.
	 *
	 * @var array<string, string>
	 */
	private array $channels;

	/**
	 * Why the jobs could not be read, or null.
	 *
	 * @var string|null
	 */
	public ?string $error = null;

	/**
	 * Sets up the table for one view.
	 *
	 * @param array<string, string> $channels Configured channels: key => name.
	 * @param string                $channel  The channel shown, or ''.
	 * @param string                $status   The status shown, or ''.
	 * @param int                   $before   The cursor, or 0.
	 */
	public function __construct( array $channels, string $channel, string $status, int $before ) {
		parent::__construct(
			array(
				'singular' => 'inventory-sync-job',
				'plural'   => 'inventory-sync-jobs',
				'ajax'     => false,
			)
		);
		$this->channels = $channels;
		$this->channel  = $channel;
		$this->status   = $status;
		$this->before   = $before;
	}

	/**
	 * The shown status's label.
	 *
	 * @param string $status A status name.
	 */
	public static function status_label( string $status ): string {
		switch ( $status ) {
			case 'pending':
				return __( 'Pending', 'inventory-sync' );
			case 'running':
				return __( 'Running', 'inventory-sync' );
			case 'done':
				return __( 'Done', 'inventory-sync' );
			case 'failed':
				// The extension's "failed": stopped because a newer job of the same channel and SKU took over.
				return __( 'Superseded', 'inventory-sync' );
			case 'dead':
				return __( 'Dead', 'inventory-sync' );
			default:
				return $status;
		}
	}

	/**
	 * Reads the page of jobs and the counts.
	 */
	public function prepare_items(): void {
		$this->_column_headers = array( $this->get_columns(), array(), array(), $this->get_primary_column_name() );
		$query                 = array( 'limit' => QUEUE_PAGE_SIZE );
		if ( '' !== $this->channel ) {
			$query['channel'] = $this->channel;
		}
		if ( '' !== $this->status ) {
			$query['status'] = $this->status;
		}
		if ( $this->before > 0 ) {
			$query['before'] = $this->before;
		}
		try {
			$ledger            = \InventorySync\ledger();
			$this->counts      = array_map( 'intval', $ledger->jobCounts( '' === $this->channel ? null : $this->channel ) );
			$page              = $ledger->jobs( $query );
			$this->items       = $page['jobs'];
			$this->next_before = is_int( $page['next_before'] ) ? $page['next_before'] : null;
		} catch ( SyncException $e ) {
			$this->items = array();
			$this->error = $e->getMessage();
		}
	}

	/**
	 * The columns.
	 *
	 * @return array<string, string>
	 */
	public function get_columns(): array {
		return array(
			'sku'          => __( 'SKU', 'inventory-sync' ),
			'channel'      => __( 'Channel', 'inventory-sync' ),
			'desired'      => __( 'Desired quantity', 'inventory-sync' ),
			'status'       => __( 'Status', 'inventory-sync' ),
			'attempts'     => __( 'Attempts', 'inventory-sync' ),
			'next_attempt' => __( 'Next attempt', 'inventory-sync' ),
			'last_error'   => __( 'Last error', 'inventory-sync' ),
			'updated'      => __( 'Updated', 'inventory-sync' ),
		);
	}

	/**
	 * The column that keeps its place on a phone (the others fold under it).
	 */
	protected function get_default_primary_column_name(): string {
		return 'sku';
	}

	/**
	 * What an empty view says.
	 */
	public function no_items(): void {
		if ( null !== $this->error ) {
			/* translators: %s: the technical reason */
			echo esc_html( sprintf( __( 'The queue cannot be read: %s', 'inventory-sync' ), $this->error ) );
			return;
		}
		esc_html_e( 'No jobs here.', 'inventory-sync' );
	}

	/**
	 * The page's URL with the current filters and $args.
	 *
	 * @param array<string, string|int|null> $args Query arguments to set (null removes one).
	 */
	public function url( array $args = array() ): string {
		$query = array_filter(
			array_merge(
				array(
					'page'    => QUEUE_PAGE,
					'channel' => $this->channel,
					'status'  => $this->status,
				),
				$args
			),
			static fn ( $value ): bool => null !== $value && '' !== $value && 0 !== $value
		);
		return add_query_arg( array_map( 'rawurlencode', array_map( 'strval', $query ) ), admin_url( 'admin.php' ) );
	}

	/**
	 * Status views with their counts (of the channel shown).
	 *
	 * @return array<string, string>
	 */
	protected function get_views(): array {
		$all   = 0;
		$views = array();
		foreach ( JOB_STATUSES as $status ) {
			$all += $this->counts[ $status ] ?? 0;
		}
		$link = function ( string $status, string $label, int $count, string $extra = '' ): string {
			return sprintf(
				'<a href="%s"%s>%s <span class="count">(%s)</span>%s</a>',
				esc_url( $this->url( array( 'status' => $status, 'before' => null ) ) ),
				$status === $this->status ? ' class="current" aria-current="page"' : '',
				esc_html( $label ),
				esc_html( number_format_i18n( $count ) ),
				'' === $extra ? '' : ' <span class="inventory-sync-retrying">' . esc_html( $extra ) . '</span>'
			);
		};
		$views['all'] = $link( '', __( 'All', 'inventory-sync' ), $all );
		foreach ( JOB_STATUSES as $status ) {
			$extra = '';
			if ( 'pending' === $status && ( $this->counts['retrying'] ?? 0 ) > 0 ) {
				/* translators: %s: how many pending jobs are retrying after a failure */
				$extra = sprintf( __( '%s retrying', 'inventory-sync' ), number_format_i18n( $this->counts['retrying'] ) );
			}
			$views[ $status ] = $link( $status, self::status_label( $status ), $this->counts[ $status ] ?? 0, $extra );
		}
		return $views;
	}

	/**
	 * The table's navigation without the bulk-action nonce (this table has no bulk actions; every
	 * action is its own form with its own nonce).
	 *
	 * @param string $which 'top' or 'bottom'.
	 */
	protected function display_tablenav( $which ): void {
		?>
		<div class="tablenav <?php echo esc_attr( $which ); ?>">
			<?php
			$this->extra_tablenav( $which );
			$this->pagination( $which );
			?>
			<br class="clear" />
		</div>
		<?php
	}

	/**
	 * The channel filter (a GET form of its own, above the table).
	 *
	 * @param string $which 'top' or 'bottom'.
	 */
	protected function extra_tablenav( $which ): void {
		if ( 'top' !== $which ) {
			return;
		}
		?>
		<?php // Not "actions": WordPress hides a top tablenav's actions on phones, and this filter is wanted there. ?>
		<form method="get" class="alignleft inventory-sync-queue-filter" style="margin: 0 8px 8px 0">
			<input type="hidden" name="page" value="<?php echo esc_attr( QUEUE_PAGE ); ?>" />
			<?php if ( '' !== $this->status ) : ?>
				<input type="hidden" name="status" value="<?php echo esc_attr( $this->status ); ?>" />
			<?php endif; ?>
			<label for="inventory-sync-filter-channel" class="screen-reader-text"><?php esc_html_e( 'Filter by channel', 'inventory-sync' ); ?></label>
			<select name="channel" id="inventory-sync-filter-channel" style="max-width: 18em">
				<option value=""><?php esc_html_e( 'All channels', 'inventory-sync' ); ?></option>
				<?php foreach ( $this->channels as $key => $name ) : ?>
					<option value="<?php echo esc_attr( $key ); ?>" <?php selected( $key, $this->channel ); ?>><?php echo esc_html( $name ); ?></option>
				<?php endforeach; ?>
			</select>
			<?php submit_button( __( 'Filter', 'inventory-sync' ), '', 'filter_action', false, array( 'id' => 'inventory-sync-filter-submit' ) ); ?>
		</form>
		<?php
	}

	/**
	 * Cursor paging: "Newest" and "Older" links, and how many jobs the view holds.
	 *
	 * @param string $which 'top' or 'bottom'.
	 */
	protected function pagination( $which ): void {
		$total = 0;
		foreach ( '' === $this->status ? JOB_STATUSES : array( $this->status ) as $status ) {
			$total += $this->counts[ $status ] ?? 0;
		}
		?>
		<div class="tablenav-pages">
			<span class="displaying-num">
				<?php
				/* translators: %s: number of jobs */
				echo esc_html( sprintf( _n( '%s job', '%s jobs', $total, 'inventory-sync' ), number_format_i18n( $total ) ) );
				?>
			</span>
			<span class="pagination-links">
				<?php if ( $this->before > 0 ) : ?>
					<a class="first-page button inventory-sync-newest" href="<?php echo esc_url( $this->url() ); ?>"><span class="screen-reader-text"><?php esc_html_e( 'Newest jobs', 'inventory-sync' ); ?></span><span aria-hidden="true">&laquo;</span></a>
				<?php else : ?>
					<span class="tablenav-pages-navspan button disabled" aria-hidden="true">&laquo;</span>
				<?php endif; ?>
				<?php if ( null !== $this->next_before ) : ?>
					<a class="next-page button inventory-sync-older" href="<?php echo esc_url( $this->url( array( 'before' => $this->next_before ) ) ); ?>"><span class="screen-reader-text"><?php esc_html_e( 'Older jobs', 'inventory-sync' ); ?></span><span aria-hidden="true">&rsaquo;</span></a>
				<?php else : ?>
					<span class="tablenav-pages-navspan button disabled" aria-hidden="true">&rsaquo;</span>
				<?php endif; ?>
			</span>
		</div>
		<?php
	}

	/**
	 * One job's row, with its id and status for styling and tests.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	public function single_row( $item ): void {
		printf( '<tr class="inventory-sync-job inventory-sync-job-%s" data-job-id="%s">', esc_attr( (string) $item['status'] ), esc_attr( (string) $item['id'] ) );
		$this->single_row_columns( $item );
		echo '</tr>';
	}

	/**
	 * The SKU.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_sku( array $item ): string {
		return '<strong>' . esc_html( (string) $item['sku'] ) . '</strong>';
	}

	/**
	 * "Retry" under a dead job's SKU: a form of its own with the job's nonce, always visible (a
	 * phone has no hover).
	 *
	 * @param array<string, mixed> $item        A job.
	 * @param string               $column_name The column.
	 * @param string               $primary     The primary column.
	 */
	protected function handle_row_actions( $item, $column_name, $primary ): string {
		if ( $column_name !== $primary || 'dead' !== $item['status'] ) {
			return parent::handle_row_actions( $item, $column_name, $primary );
		}
		$id   = (int) $item['id'];
		$form = '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" class="inventory-sync-retry-job">'
			. '<input type="hidden" name="action" value="' . esc_attr( ACTION_RETRY_JOB ) . '" />'
			. '<input type="hidden" name="job_id" value="' . esc_attr( (string) $id ) . '" />'
			. wp_nonce_field( ACTION_RETRY_JOB . '_' . $id, '_wpnonce', false, false )
			. $this->view_fields()
			/* translators: %s: SKU */
			. '<button type="submit" class="button-link" aria-label="' . esc_attr( sprintf( __( 'Retry the dead job of %s', 'inventory-sync' ), (string) $item['sku'] ) ) . '">' . esc_html__( 'Retry', 'inventory-sync' ) . '</button>'
			. '</form>';
		return $this->row_actions( array( 'retry' => $form ), true );
	}

	/**
	 * Hidden fields that bring an action back to the view it was sent from.
	 */
	public function view_fields(): string {
		$out = '';
		foreach ( array( 'view_channel' => $this->channel, 'view_status' => $this->status ) as $name => $value ) {
			if ( '' !== $value ) {
				$out .= '<input type="hidden" name="' . esc_attr( $name ) . '" value="' . esc_attr( $value ) . '" />';
			}
		}
		return $out;
	}

	/**
	 * The channel's name (its key when it is no longer configured).
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_channel( array $item ): string {
		$key = (string) $item['channel'];
		return esc_html( $this->channels[ $key ] ?? $key );
	}

	/**
	 * The quantity the job pushes.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_desired( array $item ): string {
		return esc_html( number_format_i18n( (int) $item['desired'] ) );
	}

	/**
	 * The status; a pending job that failed before says it is retrying.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_status( array $item ): string {
		$label = self::status_label( (string) $item['status'] );
		if ( 'pending' === $item['status'] && (int) $item['attempts'] > 0 ) {
			$label = __( 'Retrying', 'inventory-sync' );
		}
		$owner = is_string( $item['claim_owner'] ?? null ) ? $item['claim_owner'] : '';
		if ( 'running' === $item['status'] && 1 === preg_match( '/^feed:(\d+)$/', $owner, $feed ) ) {
			/* translators: %s: our feed number */
			$label = sprintf( __( 'In feed #%s', 'inventory-sync' ), $feed[1] );
		}
		return '<span class="inventory-sync-status inventory-sync-status-' . esc_attr( (string) $item['status'] ) . '">' . esc_html( $label ) . '</span>';
	}

	/**
	 * How many times the job was claimed.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_attempts( array $item ): string {
		return esc_html( number_format_i18n( (int) $item['attempts'] ) );
	}

	/**
	 * When a pending job is tried next ("due now", "in 3 mins"); a dash for the others.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_next_attempt( array $item ): string {
		if ( 'pending' !== $item['status'] || ! is_int( $item['next_attempt_at'] ) ) {
			return '—';
		}
		$at = $item['next_attempt_at'];
		if ( $at <= time() ) {
			$text = __( 'due now', 'inventory-sync' );
		} else {
			/* translators: %s: a time span, e.g. "3 mins" */
			$text = sprintf( __( 'in %s', 'inventory-sync' ), human_time_diff( time(), $at ) );
		}
		return '<span title="' . esc_attr( format_time( $at ) ) . '">' . esc_html( $text ) . '</span>';
	}

	/**
	 * The last failure's reason, shortened; the whole text in the title.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_last_error( array $item ): string {
		$error = is_string( $item['last_error'] ) ? $item['last_error'] : '';
		if ( '' === $error ) {
			return '—';
		}
		$short = mb_strlen( $error ) > 80 ? mb_substr( $error, 0, 79 ) . '…' : $error;
		return '<span class="inventory-sync-last-error" title="' . esc_attr( $error ) . '">' . esc_html( $short ) . '</span>';
	}

	/**
	 * When the job last changed ("5 mins ago"), the date in the title.
	 *
	 * @param array<string, mixed> $item A job.
	 */
	protected function column_updated( array $item ): string {
		$at = (int) $item['updated_at'];
		/* translators: %s: a time span, e.g. "5 mins" */
		$text = $at >= time() ? __( 'just now', 'inventory-sync' ) : sprintf( __( '%s ago', 'inventory-sync' ), human_time_diff( $at, time() ) );
		return '<span title="' . esc_attr( format_time( $at ) ) . '">' . esc_html( $text ) . '</span>';
	}
}
