<?php
/**
 * `POST /queue/kick`: the loopback request the plugin sends itself after a change (see
 * cron.php). Authenticated by a short-lived HMAC token only this site can make; it can only
 * start a queue run.
 *
 * @package InventorySync
 */

namespace InventorySync;

defined( 'ABSPATH' ) || exit;

/**
 * REST controller for the queue kick.
 */
class Queue_Kick_Controller extends \WP_REST_Controller {

	/**
	 * Sets the namespace and base.
	 */
	public function __construct() {
		$this->namespace = REST_NAMESPACE;
		$this->rest_base = 'queue/kick';
	}

	/**
	 * Registers the route.
	 */
	public function register_routes(): void {
		register_rest_route(
			$this->namespace,
			ROUTE_QUEUE_KICK,
			array(
				array(
					'methods'             => \WP_REST_Server::CREATABLE,
					'callback'            => array( $this, 'create_item' ),
					'permission_callback' => array( $this, 'create_item_permissions_check' ),
					'args'                => array(
						'expires' => array(
							'type'     => 'integer',
							'required' => true,
						),
						'token'   => array(
							'type'     => 'string',
							'required' => true,
						),
					),
				),
			)
		);
	}

	/**
	 * Only the site itself can make a valid token.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return true|\WP_Error
	 */
	public function create_item_permissions_check( $request ) {
		if ( Cron\valid_kick_token( (int) $request['expires'], (string) $request['token'] ) ) {
			return true;
		}
		return new \WP_Error( 'inventory_sync_forbidden', __( 'This request cannot start a queue run.', 'inventory-sync' ), array( 'status' => 403 ) );
	}

	/**
	 * Runs the queue (the sender closed the connection long ago; nobody reads the answer).
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response
	 */
	public function create_item( $request ) {
		return new \WP_REST_Response( array( 'passes' => Cron\run_kicked() ), 200 );
	}
}
