<?php
/**
 * Inbound webhooks: `POST /inventory-sync/v1/webhooks/{provider}` for generic, woocommerce,
 * shopify and erp senders.
 *
 * The raw body is verified by the extension (constant-time HMAC over the exact bytes received,
 * current and previous secret) before anything parses it: WordPress decodes JSON bodies while
 * matching the route, before permission callbacks run, so the check runs first from
 * `rest_pre_dispatch` and again, memoized, in the permission callback. The verified body then
 * goes to the extension, which turns it into movements with stable event ids and logs the
 * delivery once.
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
	 * Registers the route.
	 */
	public function register_routes(): void {
		register_rest_route(
			$this->namespace,
			ROUTE_WEBHOOKS,
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
	 * The provider a webhook route is for, or null when the route is not one of ours.
	 */
	public static function provider_of( string $route ): ?string {
		$prefix = '/' . REST_NAMESPACE . '/webhooks/';
		if ( ! str_starts_with( $route, $prefix ) ) {
			return null;
		}
		$provider = substr( $route, strlen( $prefix ) );
		return isset( WEBHOOK_PROVIDERS[ $provider ] ) ? $provider : null;
	}

	/**
	 * Whether a route is one of the signed webhook routes.
	 */
	public static function is_webhook_route( string $route ): bool {
		return null !== self::provider_of( $route );
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
			if ( is_wp_error( $verdicts[ $key ] ) ) {
				log_refusal( $request, $verdicts[ $key ] );
			}
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
		$provider = self::provider_of( $request->get_route() );
		if ( null === $provider ) {
			return error( 'inventory_sync_not_found', 404 );
		}
		$body = $request->get_body();
		if ( strlen( $body ) > MAX_BODY_BYTES ) {
			return error( 'inventory_sync_too_large', 413 );
		}
		$secret   = (string) get_option( webhook_secret_option( $provider ), '' );
		$previous = (string) get_option( webhook_secret_option( $provider, true ), '' );
		$previous = '' === $previous ? null : $previous;
		try {
			if ( 'woocommerce' === $provider
				&& \InventorySync\is_woocommerce_ping( $body, (string) $request->get_header( HEADER_WC_SIGNATURE ) ) ) {
				return true; // Answered 200 by receive(); changes nothing.
			}
			if ( '' === $secret ) {
				return error( 'inventory_sync_no_secret', 401 );
			}
			switch ( WEBHOOK_PROVIDERS[ $provider ] ) {
				case 'woocommerce':
					return \InventorySync\verify_woocommerce( $body, (string) $request->get_header( HEADER_WC_SIGNATURE ), $secret, $previous );
				case 'shopify':
					return \InventorySync\verify_shopify( $body, (string) $request->get_header( HEADER_SHOPIFY_SIGNATURE ), $secret, $previous );
				case 'standard':
					return \InventorySync\verify_standard_webhook(
						$body,
						(string) $request->get_header( 'webhook-id' ),
						(string) $request->get_header( 'webhook-timestamp' ),
						(string) $request->get_header( 'webhook-signature' ),
						$secret,
						$previous
					);
				default:
					return \InventorySync\verify_generic( $body, (string) $request->get_header( HEADER_GENERIC_SIGNATURE ), $secret, $previous );
			}
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
	}

	/**
	 * Takes a verified delivery into the ledger.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return \WP_REST_Response|\WP_Error
	 */
	public function receive( $request ) {
		$provider = (string) self::provider_of( $request->get_route() );
		$body     = $request->get_body();
		if ( 'woocommerce' === $provider && \InventorySync\is_woocommerce_ping( $body, (string) $request->get_header( HEADER_WC_SIGNATURE ) ) ) {
			return new \WP_REST_Response( array( 'accepted' => true, 'ping' => true ), 200 );
		}
		$headers = array();
		foreach ( $request->get_headers() as $name => $values ) {
			$headers[ str_replace( '_', '-', (string) $name ) ] = implode( ', ', (array) $values );
		}
		try {
			$result = ledger()->ingest(
				$provider,
				$body,
				$headers,
				array( 'auto_create' => (bool) get_option( OPTION_AUTO_CREATE_SKUS, false ) )
			);
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
		// What changed is planned for every other channel (the origin is not written back).
		$changed = array_filter( $result['movements'], static fn ( $m ) => empty( $m['replayed'] ) && is_string( $m['sku'] ) );
		if ( array() !== $changed ) {
			$first = reset( $changed );
			Sync\changed( array_column( $changed, 'sku' ), is_string( $first['origin'] ?? null ) ? $first['origin'] : null );
		}
		// A redelivery is acknowledged as such (200); a first delivery as accepted (202).
		return new \WP_REST_Response( array( 'accepted' => true ) + $result, $result['duplicate'] ? 200 : 202 );
	}

	/**
	 * Schema of the receipt.
	 *
	 * @return array<string, mixed>
	 */
	public function get_item_schema(): array {
		$count = array( 'type' => 'integer', 'minimum' => 0 );
		return array(
			'$schema'    => 'http://json-schema.org/draft-04/schema#',
			'title'      => 'inventory-sync-webhook-receipt',
			'type'       => 'object',
			'properties' => array(
				'accepted'     => array( 'type' => 'boolean', 'description' => __( 'The delivery was verified and taken.', 'inventory-sync' ) ),
				'duplicate'    => array( 'type' => 'boolean', 'description' => __( 'The delivery had been received before; nothing changed.', 'inventory-sync' ) ),
				'provider'     => array( 'type' => 'string' ),
				'topic'        => array( 'type' => 'string', 'description' => __( 'The event or topic name.', 'inventory-sync' ) ),
				'dedup_key'    => array( 'type' => 'string', 'description' => __( 'The key this delivery is counted under once.', 'inventory-sync' ) ),
				'outcome'      => array( 'type' => 'string', 'enum' => array( 'applied', 'duplicate', 'ignored', 'partial', 'rejected' ) ),
				'recorded'     => $count,
				'replayed'     => $count,
				'unknown_skus' => array( 'type' => 'array', 'items' => array( 'type' => 'string' ) ),
				'skipped'      => array( 'type' => 'array', 'items' => array( 'type' => 'string' ) ),
				'failed'       => array( 'type' => 'array', 'items' => array( 'type' => 'object' ) ),
				'drift'        => array( 'type' => 'array', 'items' => array( 'type' => 'object' ) ),
			),
		);
	}
}
