<?php
/**
 * Movements: `POST /movements` (one, or a batch under `movements`), `POST /reserve`,
 * `POST /release`, `POST /commit` (scope `write`) and `GET /history` (scope `read`).
 *
 * Every movement carries its `event_id`: sending the same event again returns the original
 * outcome with `replayed: true` (HTTP 200 instead of 201) and changes nothing.
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\SyncException;

defined( 'ABSPATH' ) || exit;

/**
 * REST controller for the movement ledger.
 */
class Movements_Controller extends \WP_REST_Controller {

	/**
	 * Sets the namespace and base.
	 */
	public function __construct() {
		$this->namespace = REST_NAMESPACE;
		$this->rest_base = 'movements';
	}

	/**
	 * Registers the routes.
	 */
	public function register_routes(): void {
		register_rest_route(
			$this->namespace,
			ROUTE_MOVEMENTS,
			array(
				array(
					'methods'             => \WP_REST_Server::CREATABLE,
					'callback'            => array( $this, 'create_item' ),
					'permission_callback' => Rest_Auth::permission( SCOPE_WRITE ),
					'args'                => $this->movement_args( false ),
				),
				'schema' => array( $this, 'get_public_item_schema' ),
			)
		);
		foreach ( array( ROUTE_RESERVE => 'reserve', ROUTE_RELEASE => 'release', ROUTE_COMMIT => 'commit' ) as $route => $kind ) {
			register_rest_route(
				$this->namespace,
				$route,
				array(
					array(
						'methods'             => \WP_REST_Server::CREATABLE,
						'callback'            => fn ( $request ) => $this->record_kind( $request, $kind ),
						'permission_callback' => Rest_Auth::permission( SCOPE_WRITE ),
						'args'                => $this->movement_args( true ),
					),
					'schema' => array( $this, 'get_public_item_schema' ),
				)
			);
		}
		register_rest_route(
			$this->namespace,
			ROUTE_HISTORY,
			array(
				array(
					'methods'             => \WP_REST_Server::READABLE,
					'callback'            => array( $this, 'get_items' ),
					'permission_callback' => Rest_Auth::permission( SCOPE_READ ),
					'args'                => array(
						'sku'    => array( 'type' => 'string', 'minLength' => 1, 'maxLength' => 100 ),
						'before' => array( 'type' => 'integer', 'minimum' => 1, 'description' => __( 'Cursor: movements older than this id.', 'inventory-sync' ) ),
						'limit'  => array( 'type' => 'integer', 'default' => 50, 'minimum' => 1, 'maximum' => 1000 ),
					),
				),
			)
		);
	}

	/**
	 * Argument schema of a movement (validated by WordPress before the extension validates again
	 * with field names). A batch request has `movements` instead.
	 *
	 * @return array<string, array<string, mixed>>
	 */
	private function movement_args( bool $fixed_kind ): array {
		$args = array(
			'event_id'    => array( 'type' => 'string', 'minLength' => 1, 'maxLength' => 200, 'description' => __( 'Idempotency key: the same event is counted once.', 'inventory-sync' ) ),
			'sku'         => array( 'type' => 'string', 'minLength' => 1, 'maxLength' => 100 ),
			'quantity'    => array( 'type' => 'integer', 'minimum' => 0, 'maximum' => 1000000000 ),
			'location'    => array( 'type' => 'string', 'maxLength' => 100 ),
			'to_location' => array( 'type' => 'string', 'maxLength' => 100 ),
			'reservation' => array( 'type' => 'string', 'maxLength' => 200 ),
			'reference'   => array( 'type' => 'string', 'maxLength' => 200 ),
			'note'        => array( 'type' => 'string', 'maxLength' => 1000 ),
			'expires_at'  => array( 'type' => 'integer', 'minimum' => 0 ),
		);
		if ( ! $fixed_kind ) {
			$args['kind']      = array( 'type' => 'string', 'enum' => array( 'sale', 'return', 'receive', 'restock', 'adjustment', 'reserve', 'release', 'commit', 'transfer', 'incoming' ) );
			$args['movements'] = array( 'type' => 'array', 'maxItems' => 1000, 'items' => array( 'type' => 'object' ), 'description' => __( 'A batch of movements, recorded in one transaction.', 'inventory-sync' ) );
		}
		return $args;
	}

	/**
	 * The movement fields of a request's JSON body.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return array<string, mixed>
	 */
	private static function movement_of( \WP_REST_Request $request ): array {
		$body = $request->get_json_params();
		$body = is_array( $body ) ? $body : array();
		$body['origin'] = self::origin( $request );
		return $body;
	}

	/**
	 * Who a movement comes from: the API key's name, or the administrator.
	 *
	 * @param \WP_REST_Request $request The request.
	 */
	private static function origin( \WP_REST_Request $request ): string {
		$key = Rest_Auth::key( $request );
		return null === $key ? 'admin:' . get_current_user_id() : 'api:' . (string) $key['prefix'];
	}

	/**
	 * Limits check for a list of movements.
	 *
	 * @param \WP_REST_Request            $request   The request.
	 * @param array<int, array<string,mixed>> $movements The movements.
	 * @return true|\WP_Error
	 */
	private static function allowed( \WP_REST_Request $request, array $movements ) {
		$skus      = array();
		$locations = array();
		foreach ( $movements as $m ) {
			if ( is_array( $m ) ) {
				foreach ( array( 'sku' => &$skus, 'location' => &$locations, 'to_location' => &$locations ) as $field => &$list ) {
					if ( isset( $m[ $field ] ) && is_string( $m[ $field ] ) ) {
						$list[] = $m[ $field ];
					}
				}
				unset( $list );
			}
		}
		return Rest_Auth::within_limits( $request, $skus, $locations );
	}

	/**
	 * Records one movement or a batch.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function create_item( $request ) {
		$body = $request->get_json_params();
		if ( is_array( $body ) && isset( $body['movements'] ) ) {
			if ( count( $body ) !== 1 || ! is_array( $body['movements'] ) ) {
				return error( 'inventory_sync_invalid', 400, 'a batch body has only "movements", a list' );
			}
			$origin    = self::origin( $request );
			$movements = array_map( static fn ( $m ) => is_array( $m ) ? $m + array( 'origin' => $origin ) : $m, $body['movements'] );
			$allowed   = self::allowed( $request, $movements );
			if ( true !== $allowed ) {
				return $allowed;
			}
			try {
				$results = ledger()->recordBatch( $movements );
			} catch ( SyncException $e ) {
				return to_wp_error( $e );
			}
			$changed = array();
			foreach ( $results as $result ) {
				if ( ! empty( $result['ok'] ) && empty( $result['replayed'] ) ) {
					$changed = array_merge( $changed, array_column( $result['levels'], 'sku' ) );
				}
			}
			Sync\changed( $changed );
			return new \WP_REST_Response( array( 'results' => $results ), 200 );
		}
		return $this->record( $request, self::movement_of( $request ), 'record' );
	}

	/**
	 * Reserve, release or commit.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function record_kind( \WP_REST_Request $request, string $kind ) {
		return $this->record( $request, self::movement_of( $request ), $kind );
	}

	/**
	 * Records through the ledger method $method; 201 for a new movement, 200 for a replay.
	 *
	 * @param \WP_REST_Request     $request  The request.
	 * @param array<string, mixed> $movement The movement.
	 * @return \WP_REST_Response|\WP_Error
	 */
	private function record( \WP_REST_Request $request, array $movement, string $method ) {
		$allowed = self::allowed( $request, array( $movement ) );
		if ( true !== $allowed ) {
			return $allowed;
		}
		try {
			$outcome = ledger()->$method( $movement );
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
		if ( ! $outcome['replayed'] ) {
			Sync\changed( array_column( $outcome['levels'], 'sku' ) );
		}
		return new \WP_REST_Response( $outcome, $outcome['replayed'] ? 200 : 201 );
	}

	/**
	 * History, newest first, paged by cursor.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function get_items( $request ) {
		$query = array( 'limit' => (int) $request['limit'] );
		if ( null !== $request['sku'] ) {
			$query['sku'] = (string) $request['sku'];
			$allowed      = Rest_Auth::within_limits( $request, array( $query['sku'] ) );
			if ( true !== $allowed ) {
				return $allowed;
			}
		} elseif ( null !== Rest_Auth::key( $request ) && ( null !== Rest_Auth::key( $request )['supplier'] || array() !== Rest_Auth::key( $request )['locations'] ) ) {
			return error( 'inventory_sync_scope', 403, 'a limited key must ask for one sku' );
		}
		if ( null !== $request['before'] ) {
			$query['before'] = (int) $request['before'];
		}
		try {
			return rest_ensure_response( ledger()->history( $query ) );
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
	}

	/**
	 * Schema of a movement outcome.
	 *
	 * @return array<string, mixed>
	 */
	public function get_item_schema(): array {
		return array(
			'$schema'    => 'http://json-schema.org/draft-04/schema#',
			'title'      => 'inventory-sync-movement-outcome',
			'type'       => 'object',
			'properties' => array(
				'replayed'  => array( 'type' => 'boolean', 'description' => __( 'The event had been recorded before; nothing changed.', 'inventory-sync' ) ),
				'oversold'  => array( 'type' => 'boolean', 'description' => __( 'The movement left on hand below zero (a sale is always recorded).', 'inventory-sync' ) ),
				'movements' => array( 'type' => 'array', 'items' => array( 'type' => 'object' ) ),
				'levels'    => array( 'type' => 'array', 'items' => array( 'type' => 'object' ) ),
			),
		);
	}
}
