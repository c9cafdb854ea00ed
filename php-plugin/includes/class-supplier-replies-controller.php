<?php
/**
 * `POST /supplier-replies`: a supplier answers an order it was sent (see suppliers.php) with
 * `order.acknowledged` or `order.shipped`, authenticated by an API key limited to that supplier
 * (scope `write`; the key's supplier is who the reply is from). The extension checks the reply
 * against the order message the supplier was sent and logs it once per supplier and reply id;
 * a new reply becomes a note on the WooCommerce order. 201 for a new reply, 200 for one received
 * before (nothing done again).
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\SyncException;

defined( 'ABSPATH' ) || exit;

/**
 * REST controller for supplier replies.
 */
class Supplier_Replies_Controller extends \WP_REST_Controller {

	/**
	 * Sets the namespace and base.
	 */
	public function __construct() {
		$this->namespace = REST_NAMESPACE;
		$this->rest_base = 'supplier-replies';
	}

	/**
	 * Registers the route.
	 */
	public function register_routes(): void {
		register_rest_route(
			$this->namespace,
			ROUTE_SUPPLIER_REPLIES,
			array(
				array(
					'methods'             => \WP_REST_Server::CREATABLE,
					'callback'            => array( $this, 'create_item' ),
					'permission_callback' => array( $this, 'create_item_permissions_check' ),
				),
			)
		);
	}

	/**
	 * A valid key with scope write that is limited to a supplier.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return true|\WP_Error
	 */
	public function create_item_permissions_check( $request ) {
		$allowed = Rest_Auth::check( $request, SCOPE_WRITE );
		if ( true !== $allowed ) {
			return $allowed;
		}
		$key = Rest_Auth::key( $request );
		if ( null === $key || null === $key['supplier'] ) {
			return error( 'inventory_sync_scope', 403, 'only an API key limited to a supplier can reply for that supplier' );
		}
		return true;
	}

	/**
	 * Accepts the reply; a new one is noted on the order.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function create_item( $request ) {
		$reply = json_decode( $request->get_body(), true );
		if ( ! is_array( $reply ) || ( array() !== $reply && array_is_list( $reply ) ) ) {
			return error( 'inventory_sync_invalid', 400, 'the body must be a JSON object' );
		}
		$supplier = (string) Rest_Auth::key( $request )['supplier'];
		try {
			$outcome = ledger()->supplierReply( $supplier, $reply );
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
		if ( ! $outcome['duplicate'] ) {
			Suppliers\note_reply( $outcome );
		}
		return new \WP_REST_Response( $outcome, $outcome['duplicate'] ? 200 : 201 );
	}
}
