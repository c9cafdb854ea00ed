<?php
/**
 * `GET /health`: is the engine working? Scope `read`.
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\SyncException;

defined( 'ABSPATH' ) || exit;

/**
 * REST controller for the health summary.
 */
class Health_Controller extends \WP_REST_Controller {

	/**
	 * Sets the namespace and base.
	 */
	public function __construct() {
		$this->namespace = REST_NAMESPACE;
		$this->rest_base = 'health';
	}

	/**
	 * Registers the route.
	 */
	public function register_routes(): void {
		register_rest_route(
			$this->namespace,
			ROUTE_HEALTH,
			array(
				array(
					'methods'             => \WP_REST_Server::READABLE,
					'callback'            => array( $this, 'get_item' ),
					'permission_callback' => Rest_Auth::permission( SCOPE_READ ),
				),
			)
		);
	}

	/**
	 * The health summary. 200 when the ledger answers — `status` is `ok`, or `degraded` with the
	 * `problems` (see health.php) —, 503 when it does not (`failing`).
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response
	 */
	public function get_item( $request ) {
		$last   = get_option( OPTION_LAST_HEALTH_CHECK, array() );
		$health = array(
			'status'    => 'ok',
			'extension' => \InventorySync\version(),
			'plugin'    => VERSION,
			'ledger'    => array( 'ok' => true ),
			'cron'      => array(
				'next_health_check' => wp_next_scheduled( CRON_HEALTH_CHECK ) ?: null,
				'last_health_check' => is_array( $last ) && isset( $last['time'] ) ? (int) $last['time'] : null,
			),
		);
		try {
			$health['ledger']['locations'] = count( ledger()->locations() );
		} catch ( SyncException $e ) {
			$health['status'] = 'failing';
			$health['ledger'] = array( 'ok' => false, 'error' => $e->getMessage() );
			return new \WP_REST_Response( $health, 503 );
		}
		$report             = Health\report();
		$health['status']   = $report['status'];
		$health['problems'] = $report['problems'];
		$health['cron']    += $report['cron'];
		foreach ( array( 'queue', 'channels', 'last_queue_run', 'stock' ) as $part ) {
			$health[ $part ] = $report[ $part ];
		}
		return new \WP_REST_Response( $health, 'failing' === $health['status'] ? 503 : 200 );
	}
}
