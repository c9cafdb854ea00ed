<?php
/**
 * Inbound webhooks: `POST /inventory-sync/v1/webhooks/generic`.
 *
 * The raw body is verified by the extension (constant-time HMAC over the exact bytes received)
 * before anything parses it: WordPress decodes JSON bodies while matching the route, before
 * permission callbacks run, so the check runs first from `rest_pre_dispatch` and again, memoized,
 * in the permission callback.
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\SyncException;

defined( 'ABSPATH' ) || exit;

/**
 * REST controller for signed inbound webhooks.
 */
class Webhooks_Controller extends \WP_REST_Controller {

	/**
	 * Sets the namespace and base.
	 */
	public function __construct() {
		$this->namespace = REST_NAMESPACE;
		$this->rest_base = 'webhooks';
	}

	/**
	 * Registers the routes.
	 */
	public function register_routes(): void {
		register_rest_route(
			$this->namespace,
			ROUTE_WEBHOOKS_GENERIC,
			array(
				array(
					'methods'             => \WP_REST_Server::CREATABLE,
					'callback'            => array( $this, 'receive' ),
					'permission_callback' => array( $this, 'verify_signature' ),
				),
				'schema' => array( $this, 'get_public_item_schema' ),
			)
		);
	}

	/**
	 * Whether a route is one of the signed webhook routes.
	 */
	public static function is_webhook_route( string $route ): bool {
		return str_starts_with( $route, '/' . REST_NAMESPACE . '/webhooks/' );
	}

	/**
	 * Permission callback: the (memoized) verdict of verify().
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return true|\WP_Error
	 */
	public function verify_signature( $request ) {
		return self::verify( $request );
	}

	/**
	 * Size limit, configured secret, valid signature on the raw body; computed once per request.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return true|\WP_Error
	 */
	public static function verify( \WP_REST_Request $request ) {
		static $verdicts = array();
		$key = spl_object_id( $request );
		if ( ! isset( $verdicts[ $key ] ) ) {
			$verdicts[ $key ] = self::check( $request );
		}
		return $verdicts[ $key ];
	}

	/**
	 * The checks behind verify().
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return true|\WP_Error
	 */
	private static function check( \WP_REST_Request $request ) {
		$body = $request->get_body();
		if ( strlen( $body ) > MAX_BODY_BYTES ) {
			return error( 'inventory_sync_too_large', 413 );
		}
		list( $secret, $previous ) = generic_webhook_secrets();
		if ( '' === $secret ) {
			return error( 'inventory_sync_no_secret', 401 );
		}
		$signature = (string) $request->get_header( HEADER_GENERIC_SIGNATURE );
		try {
			return \InventorySync\verify_generic( $body, $signature, $secret, $previous );
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
	}

	/**
	 * Accepts a verified delivery.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function receive( $request ) {
		$payload = json_decode( $request->get_body(), true );
		if ( ! is_array( $payload ) ) {
			return error( 'inventory_sync_malformed_json', 400, json_last_error_msg() );
		}
		$event = isset( $payload['event'] ) && is_string( $payload['event'] ) ? $payload['event'] : '';
		update_option(
			OPTION_LAST_WEBHOOK,
			array(
				'time'  => time(),
				'event' => $event,
				'bytes' => strlen( $request->get_body() ),
			),
			false
		);
		return new \WP_REST_Response(
			array(
				'accepted' => true,
				'event'    => $event,
			),
			202
		);
	}

	/**
	 * Schema of the response.
	 *
	 * @return array<string, mixed>
	 */
	public function get_item_schema(): array {
		return array(
			'$schema'    => 'http://json-schema.org/draft-04/schema#',
			'title'      => 'inventory-sync-webhook-receipt',
			'type'       => 'object',
			'properties' => array(
				'accepted' => array(
					'type'        => 'boolean',
					'description' => __( 'Whether the delivery was accepted.', 'inventory-sync' ),
				),
				'event'    => array(
					'type'        => 'string',
					'description' => __( 'The event name from the payload.', 'inventory-sync' ),
				),
			),
		);
	}
}
