<?php
/**
 * `wp inventory-sync`: run the queue, plan a sync, show the status, retry dead jobs, move the
 * ledger into the database — for system cron setups and for owners who prefer a shell. Loaded
 * and registered only when WP-CLI runs the site.
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\SyncException;

defined( 'ABSPATH' ) || exit;

/**
 * Runs and inspects Inventory Sync's stock sync.
 */
class CLI_Command {

	/**
	 * Pushes due jobs to the channels now and prints what happened.
	 *
	 * ## OPTIONS
	 *
	 * [--budget=<seconds>]
	 * : The longest the run may take.
	 * ---
	 * default: 50
	 * ---
	 *
	 * [--format=<format>]
	 * : table or json.
	 * ---
	 * default: table
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     wp inventory-sync run
	 *     wp inventory-sync run --budget=240
	 *
	 * @param string[]              $args       Positional arguments.
	 * @param array<string, string> $assoc_args Options.
	 */
	public function run( array $args, array $assoc_args ): void {
		$budget = max( 1, min( 3600, (int) ( $assoc_args['budget'] ?? 50 ) ) );
		$report = $this->call( static fn () => Sync\run_queue( $budget * 1000 ) );
		if ( 'json' === ( $assoc_args['format'] ?? 'table' ) ) {
			\WP_CLI::line( (string) wp_json_encode( $report ) );
			return;
		}
		$rows = array();
		foreach ( $report['channels'] as $key => $channel ) {
			$rows[] = array( 'channel' => $key ) + array_intersect_key( $channel, array_flip( array( 'pushed', 'failed', 'retried', 'dead', 'calls', 'error' ) ) );
		}
		if ( array() !== $rows ) {
			\WP_CLI\Utils\format_items( 'table', $rows, array( 'channel', 'pushed', 'failed', 'retried', 'dead', 'calls', 'error' ) );
		}
		\WP_CLI::success(
			sprintf(
				'Queue run %d: %d pushed, %d retried, %d dead, %d calls in %d ms.',
				$report['run_id'],
				$report['pushed'],
				$report['retried'],
				$report['dead'],
				$report['calls'],
				$report['elapsed_ms']
			)
		);
	}

	/**
	 * Plans a sync: the SKUs changed since the last incremental run, or with --full every SKU
	 * for every channel. The queue pushes the jobs (run `wp inventory-sync run`).
	 *
	 * ## OPTIONS
	 *
	 * [--full]
	 * : Plan every SKU, not only the changed ones.
	 *
	 * ## EXAMPLES
	 *
	 *     wp inventory-sync sync --full && wp inventory-sync run
	 *
	 * @param string[]              $args       Positional arguments.
	 * @param array<string, string> $assoc_args Options.
	 */
	public function sync( array $args, array $assoc_args ): void {
		$full   = ! empty( $assoc_args['full'] );
		$report = $this->call( static fn () => $full ? ledger()->syncFull() : ledger()->syncIncremental() );
		\WP_CLI::success(
			sprintf(
				'%s sync (run %d): %d SKUs planned, %d jobs enqueued, %d unchanged.',
				$full ? 'Full' : 'Incremental',
				$report['run_id'],
				$report['skus'],
				$report['enqueued'],
				$report['unchanged']
			)
		);
	}

	/**
	 * Shows the health report, the job counts and the channels.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : table or json.
	 * ---
	 * default: table
	 * ---
	 *
	 * @param string[]              $args       Positional arguments.
	 * @param array<string, string> $assoc_args Options.
	 */
	public function status( array $args, array $assoc_args ): void {
		$report = Health\report();
		if ( 'json' === ( $assoc_args['format'] ?? 'table' ) ) {
			\WP_CLI::line( (string) wp_json_encode( $report ) );
			return;
		}
		\WP_CLI::line( 'Health: ' . $report['status'] );
		foreach ( $report['problems'] as $problem ) {
			\WP_CLI::warning( $problem['message'] );
		}
		$cron = $report['cron'];
		\WP_CLI::line( 'Last cron run: ' . ( null === $cron['last_run'] ? 'never' : gmdate( 'Y-m-d H:i:s', $cron['last_run'] ) . ' UTC (' . $cron['last_hook'] . ')' ) );
		if ( null !== $report['queue'] ) {
			\WP_CLI::line( 'Jobs:' );
			\WP_CLI\Utils\format_items( 'table', array( $report['queue']['counts'] ), array_keys( $report['queue']['counts'] ) );
		}
		if ( array() !== $report['channels'] ) {
			\WP_CLI::line( 'Channels:' );
			$rows = array();
			foreach ( $report['channels'] as $channel ) {
				$rows[] = array(
					'key'       => $channel['key'],
					'kind'      => $channel['kind'],
					'enabled'   => $channel['enabled'] ? 'yes' : 'no',
					'pending'   => $channel['pending'],
					'dead'      => $channel['dead'],
					'last_push' => null === $channel['last_push_at'] ? 'never' : gmdate( 'Y-m-d H:i:s', $channel['last_push_at'] ),
					'stale'     => $channel['stale'] ? 'yes' : 'no',
				);
			}
			\WP_CLI\Utils\format_items( 'table', $rows, array( 'key', 'kind', 'enabled', 'pending', 'dead', 'last_push', 'stale' ) );
		}
	}

	/**
	 * Puts a dead or failed job back in line, or every dead job with --all.
	 *
	 * ## OPTIONS
	 *
	 * [<job-id>]
	 * : The job to retry.
	 *
	 * [--all]
	 * : Retry every dead job.
	 *
	 * [--channel=<key>]
	 * : With --all: only this channel's dead jobs.
	 *
	 * ## EXAMPLES
	 *
	 *     wp inventory-sync retry 42
	 *     wp inventory-sync retry --all --channel=shopify
	 *
	 * @param string[]              $args       Positional arguments.
	 * @param array<string, string> $assoc_args Options.
	 */
	public function retry( array $args, array $assoc_args ): void {
		if ( ! empty( $assoc_args['all'] ) ) {
			$channel = isset( $assoc_args['channel'] ) ? (string) $assoc_args['channel'] : null;
			$count   = $this->call( static fn () => ledger()->retryAll( $channel ) );
			\WP_CLI::success( sprintf( '%d dead jobs put back in line.', $count ) );
			return;
		}
		if ( ! isset( $args[0] ) || ! ctype_digit( (string) $args[0] ) ) {
			\WP_CLI::error( 'Give a job id, or --all.' );
			return;
		}
		$id  = (int) $args[0];
		$job = $this->call( static fn () => ledger()->retryJob( $id ) );
		\WP_CLI::success( sprintf( 'Job %d (%s, %s → %d) is pending again as job %d.', $id, $job['channel'], $job['sku'], $job['desired'], $job['id'] ) );
	}

	/**
	 * Moves the ledger file into the site's MariaDB/MySQL database, for a site about to run on
	 * several web servers.
	 *
	 * The file is copied under its write lock into empty tables (named after the site's table
	 * prefix, in the database INVENTORY_SYNC_MYSQL_URL names, else the site's own) and the copy
	 * is checked: row counts, largest ids, stock sums. Then the file is retired (it stays
	 * readable, as the ledger at the moment of the move) and every web server of the site
	 * switches to the database. Nothing switches when a check fails.
	 *
	 * ## OPTIONS
	 *
	 * <action>
	 * : What to do with the ledger.
	 * ---
	 * options:
	 *   - migrate
	 * ---
	 *
	 * --to=<backend>
	 * : Where to move it.
	 * ---
	 * options:
	 *   - mysql
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     wp inventory-sync ledger migrate --to=mysql
	 *
	 * @param string[]              $args       Positional arguments.
	 * @param array<string, string> $assoc_args Options.
	 */
	public function ledger( array $args, array $assoc_args ): void {
		if ( 'migrate' !== ( $args[0] ?? '' ) ) {
			\WP_CLI::error( 'Usage: wp inventory-sync ledger migrate --to=mysql' );
			return;
		}
		if ( LEDGER_IN_DATABASE !== ( $assoc_args['to'] ?? '' ) ) {
			\WP_CLI::error( 'The ledger can move --to=mysql only.' );
			return;
		}
		try {
			$report = move_ledger_to_database();
		} catch ( SyncException | \RuntimeException $e ) {
			\WP_CLI::error( $e->getMessage() );
			return;
		}
		$rows = array();
		foreach ( $report['rows'] as $table => $count ) {
			$rows[] = array(
				'table' => $table,
				'rows'  => $count,
			);
		}
		\WP_CLI\Utils\format_items( 'table', $rows, array( 'table', 'rows' ) );
		\WP_CLI::success(
			sprintf(
				'The ledger moved to %s (%d rows, checked, in %.1f s). The file is kept, read-only.',
				$report['target'],
				array_sum( $report['rows'] ),
				$report['seconds']
			)
		);
	}

	/**
	 * Runs an extension call; its exception ends the command with the message.
	 *
	 * @param callable $step The call.
	 * @return mixed
	 */
	private function call( callable $step ) {
		try {
			return $step();
		} catch ( SyncException $e ) {
			\WP_CLI::error( $e->getMessage() );
			return null;
		}
	}
}
