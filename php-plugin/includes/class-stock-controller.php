<?php
/**
 * Stock reads: `GET /stock/{sku}` (per location) and `GET /stock` (search, low-stock filter,
 * paging by cursor). Scope `read`.
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\SyncException;

defined( 'ABSPATH' ) || exit;

/**
 * REST controller for stock levels.
 */
class Stock_Controller extends \WP_REST_Controller {

	/**
	 * Sets the namespace and base.
	 */
	public function __construct() {
		$this->namespace = REST_NAMESPACE;
		$this->rest_base = 'stock';
	}

	/**
	 * Registers the routes.
	 */
	public function register_routes(): void {
		register_rest_route(
			$this->namespace,
			ROUTE_STOCK_SKU,
			array(
				array(
					'methods'             => \WP_REST_Server::READABLE,
					'callback'            => array( $this, 'get_item' ),
					'permission_callback' => Rest_Auth::permission( SCOPE_READ ),
					'args'                => array(
						'sku' => array(
							'description' => __( 'The SKU (case-sensitive).', 'inventory-sync' ),
							'type'        => 'string',
							'minLength'   => 1,
							'maxLength'   => 100,
						),
					),
				),
				'schema' => array( $this, 'get_public_item_schema' ),
			)
		);
		register_rest_route(
			$this->namespace,
			ROUTE_STOCK,
			array(
				array(
					'methods'             => \WP_REST_Server::READABLE,
					'callback'            => array( $this, 'get_items' ),
					'permission_callback' => Rest_Auth::permission( SCOPE_READ ),
					'args'                => $this->get_collection_params(),
				),
				'schema' => array( $this, 'get_public_item_schema' ),
			)
		);
	}

	/**
	 * Query parameters of the search.
	 *
	 * @return array<string, array<string, mixed>>
	 */
	public function get_collection_params(): array {
		return array(
			'search'    => array(
				'description' => __( 'SKU or name prefix.', 'inventory-sync' ),
				'type'        => 'string',
				'maxLength'   => 100,
			),
			'low_stock' => array(
				'description' => __( 'Only SKUs with a low-stock alert (warning, low, critical).', 'inventory-sync' ),
				'type'        => 'boolean',
				'default'     => false,
			),
			'after'     => array(
				'description' => __( 'Cursor: the last SKU of the previous page.', 'inventory-sync' ),
				'type'        => 'string',
				'maxLength'   => 100,
			),
			'per_page'  => array(
				'description' => __( 'Items per page.', 'inventory-sync' ),
				'type'        => 'integer',
				'default'     => 20,
				'minimum'     => 1,
				'maximum'     => 100,
			),
		);
	}

	/**
	 * Stock of one SKU.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function get_item( $request ) {
		$sku     = (string) $request['sku'];
		$allowed = Rest_Auth::within_limits( $request, array( $sku ) );
		if ( true !== $allowed ) {
			return $allowed;
		}
		try {
			$item  = ledger()->item( $sku );
			$stock = ledger()->stock( $sku );
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
		return rest_ensure_response( array( 'name' => $item['name'] ?? '' ) + $stock );
	}

	/**
	 * A page of SKUs with their stock.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function get_items( $request ) {
		$query = array(
			'low_stock' => (bool) $request['low_stock'],
			'limit'     => (int) $request['per_page'],
		);
		foreach ( array( 'search', 'after' ) as $field ) {
			if ( null !== $request[ $field ] && '' !== $request[ $field ] ) {
				$query[ $field ] = (string) $request[ $field ];
			}
		}
		$key = Rest_Auth::key( $request );
		if ( null !== $key && null !== $key['supplier'] ) {
			$query['supplier'] = (string) $key['supplier'];
		}
		try {
			$page = ledger()->searchStock( $query );
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
		$response = rest_ensure_response( $page );
		if ( null !== $page['next_after'] ) {
			$response->link_header( 'next', add_query_arg( array( 'after' => rawurlencode( $page['next_after'] ) ) + $request->get_query_params(), rest_url( REST_NAMESPACE . ROUTE_STOCK ) ) );
		}
		return $response;
	}

	/**
	 * Schema of one SKU's stock.
	 *
	 * @return array<string, mixed>
	 */
	public function get_item_schema(): array {
		$qty = array( 'type' => 'integer' );
		return array(
			'$schema'    => 'http://json-schema.org/draft-04/schema#',
			'title'      => 'inventory-sync-stock',
			'type'       => 'object',
			'properties' => array(
				'sku'       => array( 'type' => 'string' ),
				'name'      => array( 'type' => 'string' ),
				'on_hand'   => $qty,
				'reserved'  => $qty,
				'incoming'  => $qty,
				'available' => $qty,
				'locations' => array(
					'type'  => 'array',
					'items' => array(
						'type'       => 'object',
						'properties' => array(
							'location'  => array( 'type' => 'string' ),
							'active'    => array( 'type' => 'boolean' ),
							'on_hand'   => $qty,
							'reserved'  => $qty,
							'incoming'  => $qty,
							'available' => $qty,
						),
					),
				),
			),
		);
	}
}
