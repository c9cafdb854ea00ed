<?php
/**
 * Scheduling glue: the cron heartbeat, daily events kept at their site time, retention, and the
 * queue kick — after a change, a queue run starts at once in another PHP worker instead of at
 * the next cron tick.
 *
 * The kick is a fire-and-forget loopback POST to our own REST route ROUTE_QUEUE_KICK, sent at
 * `shutdown` once per request that changed the ledger. The socket is written and closed without
 * waiting for an answer, so the request that made the change is not slowed (under a
 * millisecond). WordPress's non-blocking HTTP API is not used: with cURL it still waits for the
 * response, up to its one-second minimum timeout — here the whole queue run, 30–330 ms measured
 * against the test sites. The route is authenticated by an HMAC token (wp_salt) valid for a
 * minute; all it can do is start a queue run, which claims make safe to overlap.
 *
 * Kicks are coalesced through two options read past the object cache: OPTION_KICK_REQUESTED
 * (when a run was last asked for) and OPTION_KICK_RUNNER (until when a runner is at work). A
 * kicker writes the request, then sends a loopback only when no runner is at work; a runner
 * runs passes while requests arrive after its pass began, clears its marker, then looks at the
 * request time once more, so a request is never left between the two.
 *
 * @package InventorySync
 */

namespace InventorySync\Cron;

use function InventorySync\ledger;
use function InventorySync\next_site_time;
use function InventorySync\Sync\action_run_queue;
use function InventorySync\Sync\guarded;
use const InventorySync\CONSTANT_QUEUE_KICK;
use const InventorySync\DAILY_AT;
use const InventorySync\DEFAULT_RETENTION_DAYS;
use const InventorySync\FILTER_QUEUE_KICK_REQUEST;
use const InventorySync\KICK_RUN_SECONDS;
use const InventorySync\KICK_START_SECONDS;
use const InventorySync\OPTION_CRON_HEARTBEAT;
use const InventorySync\OPTION_KICK_REQUESTED;
use const InventorySync\OPTION_KICK_RUNNER;
use const InventorySync\OPTION_QUEUE_KICK;
use const InventorySync\OPTION_RETENTION_DAYS;
use const InventorySync\QUEUE_RUN_BUDGET_MS;
use const InventorySync\REST_NAMESPACE;
use const InventorySync\ROUTE_QUEUE_KICK;

defined( 'ABSPATH' ) || exit;

/** A failed loopback connection holds kicks back this long (cron runs the queue meanwhile). */
const KICK_FAILURE_BACKOFF_SECONDS = 300;
/** How long a kick token is valid. */
const KICK_TOKEN_SECONDS = 60;

/**
 * Every cron event of ours, first (priority 0): records the heartbeat the health check reads,
 * and keeps a daily event at its site time (after a DST change, or when it was scheduled at
 * another hour by an older version).
 */
function action_cron_tick(): void {
	$hook = (string) current_action();
	update_option(
		OPTION_CRON_HEARTBEAT,
		array(
			'time' => time(),
			'hook' => $hook,
		),
		false
	);
	if ( isset( DAILY_AT[ $hook ] ) ) {
		realign_daily( $hook, time() );
	}
}

/**
 * Moves a daily event back to its site time when its next run drifted from it.
 */
function realign_daily( string $hook, int $now ): void {
	$next     = wp_next_scheduled( $hook );
	$expected = next_site_time( DAILY_AT[ $hook ], $now );
	if ( false !== $next && abs( $next - $expected ) <= MINUTE_IN_SECONDS ) {
		return;
	}
	wp_clear_scheduled_hook( $hook );
	wp_schedule_event( $expected, 'daily', $hook );
}

/**
 * Days the logs are kept (1–3650).
 */
function retention_days(): int {
	return max( 1, min( 3650, (int) get_option( OPTION_RETENTION_DAYS, DEFAULT_RETENTION_DAYS ) ) );
}

/**
 * Cron, daily at 03:00: deletes sync runs, drift, finished jobs and the inbound and security
 * logs older than the retention setting. Movements are never deleted.
 */
function action_retention(): void {
	prune( time() - retention_days() * DAY_IN_SECONDS );
}

/**
 * Deletes log records older than $older_than; returns the counts per kind, or null when the
 * ledger failed (logged).
 *
 * @return array<string, int>|null
 */
function prune( int $older_than ): ?array {
	return guarded( 'retention', static fn () => ledger()->prune( $older_than ) );
}

/**
 * `admin_init`: registers the retention and kick settings with the Settings API.
 */
function register_settings(): void {
	register_setting(
		\InventorySync\SETTINGS_GROUP,
		OPTION_RETENTION_DAYS,
		array(
			'type'              => 'integer',
			'default'           => DEFAULT_RETENTION_DAYS,
			'sanitize_callback' => static fn ( $value ): int => max( 1, min( 3650, (int) $value ) ),
		)
	);
	register_setting(
		\InventorySync\SETTINGS_GROUP,
		OPTION_QUEUE_KICK,
		array(
			'type'              => 'boolean',
			'default'           => true,
			'sanitize_callback' => \InventorySync\sanitize_unless_defined( CONSTANT_QUEUE_KICK, OPTION_QUEUE_KICK, static fn ( $value ): bool => (bool) $value ),
		)
	);
}

// --- the queue kick --------------------------------------------------------------------------

/**
 * Whether changes kick the queue: the constant INVENTORY_SYNC_QUEUE_KICK when defined, else
 * the setting (on by default).
 */
function kick_enabled(): bool {
	if ( defined( CONSTANT_QUEUE_KICK ) ) {
		return (bool) constant( CONSTANT_QUEUE_KICK );
	}
	return (bool) get_option( OPTION_QUEUE_KICK, true );
}

/**
 * Remembers, for this request, that a queue run is wanted (set) and tells whether it is.
 */
function kick_wanted( ?bool $set = null ): bool {
	static $wanted = false;
	if ( null !== $set ) {
		$wanted = $set;
	}
	return $wanted;
}

/**
 * Whether this request is a kicked runner (its own changes never kick another one).
 */
function in_runner( ?bool $set = null ): bool {
	static $runner = false;
	if ( null !== $set ) {
		$runner = $set;
	}
	return $runner;
}

/**
 * HOOK_LEDGER_CHANGED, after planning: the jobs are in the outbox; push them at the end of this
 * request.
 */
function action_ledger_changed(): void {
	kick_wanted( true );
}

/**
 * `shutdown`: sends one kick when this request changed the ledger.
 */
function action_shutdown(): void {
	if ( kick_wanted() && ! in_runner() ) {
		kick_wanted( false );
		kick();
	}
}

/**
 * Asks for a queue run now: records the request and, unless a runner is at work (it will see
 * the request), starts one with a loopback POST. Returns whether a loopback was sent.
 */
function kick(): bool {
	if ( ! kick_enabled() ) {
		return false;
	}
	$now = microtime( true );
	update_option( OPTION_KICK_REQUESTED, sprintf( '%.6F', $now ), false );
	if ( stored_time( OPTION_KICK_RUNNER ) > $now ) {
		return false;
	}
	update_option( OPTION_KICK_RUNNER, sprintf( '%.6F', $now + KICK_START_SECONDS ), false );
	if ( send_kick() ) {
		return true;
	}
	// The site cannot reach itself: stop trying for a while; cron runs the queue meanwhile.
	update_option( OPTION_KICK_RUNNER, sprintf( '%.6F', $now + KICK_FAILURE_BACKOFF_SECONDS ), false );
	return false;
}

/**
 * A microtime kept in an option, read from the database (another process may just have
 * written it; the object cache would answer with this request's copy).
 */
function stored_time( string $option ): float {
	global $wpdb;
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- deliberately uncached, see above.
	return (float) $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) );
}

/**
 * The kick route's token for a given expiry.
 */
function kick_token( int $expires ): string {
	return hash_hmac( 'sha256', 'inventory_sync_queue_kick|' . $expires, wp_salt( 'auth' ) );
}

/**
 * Whether a kick request carries a valid, unexpired token.
 */
function valid_kick_token( int $expires, string $token ): bool {
	$now = time();
	return $expires >= $now && $expires <= $now + 2 * KICK_TOKEN_SECONDS && hash_equals( kick_token( $expires ), $token );
}

/**
 * Sends the loopback POST that starts a runner, without waiting for any answer.
 */
function send_kick(): bool {
	$expires = time() + KICK_TOKEN_SECONDS;
	$request = apply_filters(
		FILTER_QUEUE_KICK_REQUEST,
		array(
			'url'  => rest_url( REST_NAMESPACE . ROUTE_QUEUE_KICK ),
			'body' => array(
				'expires' => $expires,
				'token'   => kick_token( $expires ),
			),
		)
	);
	if ( ! is_array( $request ) || ! is_string( $request['url'] ?? null ) ) {
		return false;
	}
	return post_and_forget( $request['url'], http_build_query( (array) ( $request['body'] ?? array() ) ) );
}

/**
 * Writes a form POST to $url and closes the connection at once: the receiving PHP keeps running
 * (the route ignores the client going away). Loopback to this site, so TLS is not verified
 * unless `https_local_ssl_verify` says so (as WordPress does for its own cron spawn).
 */
function post_and_forget( string $url, string $body ): bool {
	$parts = wp_parse_url( $url );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) || ! in_array( $parts['scheme'] ?? '', array( 'http', 'https' ), true ) ) {
		return false;
	}
	$tls    = 'https' === $parts['scheme'];
	$port   = (int) ( $parts['port'] ?? ( $tls ? 443 : 80 ) );
	$verify = (bool) apply_filters( 'https_local_ssl_verify', false, $url );
	$errno  = 0;
	$errstr = '';
	// phpcs:ignore WordPress.PHP.NoSilencedErrors -- a refused connection is answered by the return value.
	$socket = @stream_socket_client(
		( $tls ? 'ssl://' : 'tcp://' ) . $parts['host'] . ':' . $port,
		$errno,
		$errstr,
		1.0,
		STREAM_CLIENT_CONNECT,
		stream_context_create(
			array(
				'ssl' => array(
					'verify_peer'      => $verify,
					'verify_peer_name' => $verify,
				),
			)
		)
	);
	if ( false === $socket ) {
		return false;
	}
	$target  = ( $parts['path'] ?? '/' ) . ( isset( $parts['query'] ) ? '?' . $parts['query'] : '' );
	$host    = $parts['host'] . ( isset( $parts['port'] ) ? ':' . $port : '' );
	$request = "POST {$target} HTTP/1.1\r\nHost: {$host}\r\nUser-Agent: Inventory Sync queue kick\r\n"
		. "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " . strlen( $body ) . "\r\nConnection: close\r\n\r\n" . $body;
	// phpcs:ignore WordPress.WP.AlternativeFunctions -- a raw socket: nothing is read back.
	$written = fwrite( $socket, $request );
	fclose( $socket ); // phpcs:ignore WordPress.WP.AlternativeFunctions
	return strlen( $request ) === $written;
}

/**
 * The kicked runner (the route's callback): queue passes while runs are asked for, for at most
 * KICK_RUN_SECONDS, then a fresh kick takes over. Returns how many passes ran.
 */
function run_kicked(): int {
	ignore_user_abort( true );
	in_runner( true );
	$deadline = microtime( true ) + KICK_RUN_SECONDS;
	$passes   = 0;
	while ( true ) {
		$start = microtime( true );
		update_option( OPTION_KICK_RUNNER, sprintf( '%.6F', $start + QUEUE_RUN_BUDGET_MS / 1000 + KICK_START_SECONDS ), false );
		action_run_queue();
		++$passes;
		$more = stored_time( OPTION_KICK_REQUESTED ) >= $start;
		if ( $more && microtime( true ) < $deadline ) {
			continue;
		}
		delete_option( OPTION_KICK_RUNNER );
		// A kick asked for just before the marker went saw it and sent nothing: look once more.
		if ( stored_time( OPTION_KICK_REQUESTED ) < $start ) {
			break;
		}
		if ( microtime( true ) >= $deadline ) {
			kick();
			break;
		}
	}
	// Without WP-Cron nothing else would mail a stalled sync: the runner checks now and then.
	\InventorySync\Alerts\maybe_check();
	return $passes;
}
