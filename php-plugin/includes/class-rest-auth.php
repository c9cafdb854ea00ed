<?php
/**
 * Who may call the REST API, decided once per request.
 *
 * Administrators (`manage_woocommerce`) pass with WordPress's cookie + REST nonce. Everyone else
 * needs an API key (`X-API-Key: isk_…` or `Authorization: Bearer isk_…`) with the route's scope;
 * the extension checks the key's hash, expiry, revocation, the optional request signature, and the
 * key's rate limit (shared by all PHP workers through the ledger), and logs every refusal to the
 * security log without secrets.
 *
 * @package InventorySync
 */

namespace InventorySync;

use InventorySync\Exception\SyncException;

defined( 'ABSPATH' ) || exit;

/**
 * Permission callbacks and the identity behind a request.
 */
final class Rest_Auth {

	/**
	 * Decisions and keys per request object.
	 *
	 * @var array<int, array{verdict: true|\WP_Error, key: ?array}>
	 */
	private static array $decisions = array();

	/**
	 * A permission callback for routes needing $scope.
	 */
	public static function permission( string $scope ): callable {
		return static fn ( $request ) => self::check( $request, $scope );
	}

	/**
	 * Checks the request; true or a WP_Error with 401, 403 or 429.
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return true|\WP_Error
	 */
	public static function check( \WP_REST_Request $request, string $scope ) {
		$id = spl_object_id( $request );
		if ( isset( self::$decisions[ $id ] ) ) {
			return self::$decisions[ $id ]['verdict'];
		}
		if ( current_user_can( CAPABILITY ) ) {
			self::$decisions[ $id ] = array( 'verdict' => true, 'key' => null );
			return true;
		}
		$key = (string) $request->get_header( HEADER_API_KEY );
		if ( '' === $key ) {
			$auth = (string) $request->get_header( 'authorization' );
			if ( 0 === stripos( $auth, 'Bearer ' ) ) {
				$key = trim( substr( $auth, 7 ) );
			}
		}
		try {
			$decision = ledger()->authorize(
				array(
					'key'         => $key,
					'scope'       => $scope,
					'method'      => $request->get_method(),
					'path'        => request_path(),
					'body'        => $request->get_body(),
					'timestamp'   => $request->get_header( HEADER_TIMESTAMP ),
					'signature'   => $request->get_header( HEADER_SIGNATURE ),
					'rate_limit'  => max( 1, (int) get_option( OPTION_RATE_LIMIT, DEFAULT_RATE_LIMIT ) ),
					'route'       => $request->get_route(),
					'remote_addr' => isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : null,
				)
			);
		} catch ( SyncException $e ) {
			$verdict                = to_wp_error( $e );
			self::$decisions[ $id ] = array( 'verdict' => $verdict, 'key' => null );
			return $verdict;
		}
		if ( $decision['ok'] ) {
			self::$decisions[ $id ] = array( 'verdict' => true, 'key' => $decision['key'] );
			return true;
		}
		$data = array( 'status' => (int) $decision['status'], 'detail' => (string) $decision['message'] );
		if ( isset( $decision['retry_after'] ) ) {
			$data['retry_after'] = (int) $decision['retry_after'];
		}
		$verdict                = new \WP_Error( (string) $decision['code'], error_message( (string) $decision['code'] ), $data );
		self::$decisions[ $id ] = array( 'verdict' => $verdict, 'key' => null );
		return $verdict;
	}

	/**
	 * The API key a request was authorised with (null for an administrator).
	 *
	 * @param \WP_REST_Request $request The request.
	 * @return array<string, mixed>|null
	 */
	public static function key( \WP_REST_Request $request ): ?array {
		return self::$decisions[ spl_object_id( $request ) ]['key'] ?? null;
	}

	/**
	 * Refuses SKUs or locations outside the key's limits (a supplier's SKUs, some locations) with
	 * 403; administrators and unlimited keys pass.
	 *
	 * @param \WP_REST_Request $request   The request.
	 * @param string[]         $skus      SKUs the request touches.
	 * @param string[]         $locations Locations it names.
	 * @return true|\WP_Error
	 */
	public static function within_limits( \WP_REST_Request $request, array $skus, array $locations = array() ) {
		$key = self::key( $request );
		if ( null === $key ) {
			return true;
		}
		try {
			$refused = ledger()->keyRefuses( (int) $key['id'], array_values( array_unique( $skus ) ), array_values( array_unique( $locations ) ) );
		} catch ( SyncException $e ) {
			return to_wp_error( $e );
		}
		if ( array() === $refused ) {
			return true;
		}
		$error = error( 'inventory_sync_scope', 403, sprintf( 'this key may not touch: %s', implode( ', ', $refused ) ) );
		log_refusal( $request, $error, (string) $key['prefix'] );
		return $error;
	}
}

/**
 * The request path as the client signed it (with the query string).
 */
function request_path(): string {
	return isset( $_SERVER['REQUEST_URI'] ) ? (string) wp_unslash( $_SERVER['REQUEST_URI'] ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- compared byte for byte, never output.
}

/**
 * Writes a refused request to the security log (never secrets: no key, no signature, no body).
 *
 * @param \WP_REST_Request $request    The request.
 * @param \WP_Error        $error      Why it was refused.
 * @param string           $key_prefix The key's display prefix, when known.
 */
function log_refusal( \WP_REST_Request $request, \WP_Error $error, string $key_prefix = '' ): void {
	try {
		ledger()->logSecurity(
			array(
				'route'       => $request->get_method() . ' ' . $request->get_route(),
				'reason'      => reason_of( (string) $error->get_error_code() ),
				'key_prefix'  => '' === $key_prefix ? null : $key_prefix,
				'remote_addr' => isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : null,
				'detail'      => (string) ( $error->get_error_data()['detail'] ?? $error->get_error_message() ),
			)
		);
	} catch ( SyncException $e ) {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the security log itself failed.
		error_log( 'Inventory Sync: cannot write the security log: ' . $e->getMessage() );
	}
}

/**
 * The security log's reason code for one of our error codes.
 */
function reason_of( string $code ): string {
	$reasons = array(
		'inventory_sync_bad_signature' => 'bad_signature',
		'inventory_sync_no_secret'     => 'no_secret',
		'inventory_sync_too_large'     => 'too_large',
		'inventory_sync_scope'         => 'scope',
	);
	return $reasons[ $code ] ?? substr( (string) preg_replace( '/^inventory_sync_/', '', $code ), 0, 40 );
}
