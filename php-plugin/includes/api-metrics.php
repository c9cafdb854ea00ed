<?php
/**
 * Inbound API metrics: every answered request to our REST namespace (the API and the webhooks)
 * is counted by the extension in hourly counters per route and method — status class, duration,
 * latency histogram — which the Reports page reads. The duration runs from the request's arrival
 * at PHP (`REQUEST_TIME_FLOAT`) to the response leaving our code. Our own queue kick is not
 * counted; a failing count never changes the response.
 *
 * @package InventorySync
 */

namespace InventorySync\Metrics;

use InventorySync\Exception\SyncException;
use function InventorySync\ledger;
use const InventorySync\FILTER_RECORD_API_REQUEST;
use const InventorySync\REST_NAMESPACE;
use const InventorySync\ROUTE_QUEUE_KICK;

defined( 'ABSPATH' ) || exit;

/**
 * `rest_post_dispatch` (last): counts a request to our namespace.
 *
 * @param \WP_HTTP_Response $response The response.
 * @param \WP_REST_Server   $server   The server.
 * @param \WP_REST_Request  $request  The request.
 * @return \WP_HTTP_Response
 */
function filter_rest_post_dispatch( $response, $server, $request ) {
	if ( ! $response instanceof \WP_HTTP_Response || ! $request instanceof \WP_REST_Request
		|| ! str_starts_with( $request->get_route(), '/' . REST_NAMESPACE . '/' )
		|| '/' . REST_NAMESPACE . ROUTE_QUEUE_KICK === $request->get_route()
		|| ! isset( $_SERVER['REQUEST_TIME_FLOAT'] )
		|| ! apply_filters( FILTER_RECORD_API_REQUEST, true, $request ) ) {
		return $response;
	}
	$started = (float) $_SERVER['REQUEST_TIME_FLOAT'];
	try {
		ledger()->recordApiRequest(
			array(
				'route'       => route_label( $response, $server, $request ),
				'method'      => $request->get_method(),
				'status'      => $response->get_status(),
				'duration_ms' => max( 0.0, ( microtime( true ) - $started ) * 1000 ),
			)
		);
	} catch ( SyncException $e ) {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the response is not ours to spoil.
		error_log( 'Inventory Sync: the API request was not counted: ' . $e->getMessage() );
	}
	return $response;
}

/**
 * The route a request is counted under: the route pattern with its parameters as `{name}` (so
 * every SKU counts under `/stock/{sku}`), except a parameter limited to a few words (the webhook
 * provider), which keeps its value. A request that matched no route of ours (refused before
 * routing, or a typo) is matched against our patterns here, else counted as `(unknown)`.
 *
 * @param \WP_HTTP_Response $response The response.
 * @param \WP_REST_Server   $server   The server.
 * @param \WP_REST_Request  $request  The request.
 */
function route_label( $response, $server, \WP_REST_Request $request ): string {
	$pattern = $response instanceof \WP_REST_Response ? (string) $response->get_matched_route() : '';
	$params  = $request->get_url_params();
	if ( '' === $pattern && $server instanceof \WP_REST_Server ) {
		foreach ( array_keys( $server->get_routes( REST_NAMESPACE ) ) as $candidate ) {
			if ( preg_match( '@^' . $candidate . '$@i', $request->get_route(), $matches ) ) {
				$pattern = (string) $candidate;
				$params  = $matches;
				break;
			}
		}
	}
	if ( '' === $pattern ) {
		return '/' . REST_NAMESPACE . '/(unknown)';
	}
	return (string) preg_replace_callback(
		'/\(\?P<(\w+)>([^()]*)\)/',
		static function ( array $group ) use ( $params ): string {
			$value = $params[ $group[1] ] ?? null;
			$words = 1 === preg_match( '/^[\w-]+(\|[\w-]+)*$/', $group[2] );
			return $words && is_string( $value ) && in_array( $value, explode( '|', $group[2] ), true ) ? $value : '{' . $group[1] . '}';
		},
		$pattern
	);
}
