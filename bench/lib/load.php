<?php
/**
 * What the load programs share (bench/webhook.php, bench/load-webhook.php): requests fired with a
 * fixed number in flight, percentiles, and the empty REST route that is their baseline.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Tests\Harness\Site;

/**
 * Writes the must-use plugin with the empty route into the site (never part of php-plugin/).
 */
function install_empty_route(Site $site): void
{
    $code = <<<'PHP'
        <?php
        /**
         * Plugin Name: Inventory Sync benchmark: empty REST route (written by bench/lib/load.php)
         * Description: The baseline of the webhook benchmark: a route that does nothing (and one
         * saying whether the web server's OPcache is working).
         */

        defined( 'ABSPATH' ) || exit;

        add_action(
        	'rest_api_init',
        	static function () {
        		register_rest_route(
        			'bench/v1',
        			'/empty',
        			array(
        				'methods'             => array( 'GET', 'POST' ),
        				'permission_callback' => '__return_true',
        				'callback'            => static fn () => array(),
        			)
        		);
        		register_rest_route(
        			'bench/v1',
        			'/opcache',
        			array(
        				'methods'             => 'GET',
        				'permission_callback' => '__return_true',
        				'callback'            => static function () {
        					$status = function_exists( 'opcache_get_status' ) ? opcache_get_status( false ) : false;
        					return array( 'cached_scripts' => is_array( $status ) ? $status['opcache_statistics']['num_cached_scripts'] : 0 );
        				},
        			)
        		);
        	}
        );

        PHP;
    if (file_put_contents($site->root . '/wp-content/mu-plugins/inventory-sync-bench-empty-route.php', $code) === false) {
        throw new \RuntimeException('cannot write the must-use plugin into ' . $site->root);
    }
}

/**
 * Sends every delivery to $url (or its own `url`) with $concurrency requests in flight
 * (curl_multi, loopback) — a POST of its `body`, or a GET when it has none — and
 * returns the wall time and each answer (status — 0 when no answer came —, body, total time in
 * ms), in the order they finished. Bounded: 30 s per request, $deadline seconds in all.
 *
 * @param list<array{body?: string, headers: array<string, string>, url?: string}> $deliveries
 * @return array{seconds: float, answers: list<array{status: int, body: string, ms: float}>}
 */
function fire(string $url, array $deliveries, int $concurrency, float $deadline = 120.0): array
{
    $multi = curl_multi_init();
    $answers = [];
    $active = 0;
    $next = 0;
    $add = static function () use (&$next, &$active, $deliveries, $multi, $url): void {
        $lines = ['Expect:'];
        foreach ($deliveries[$next++]['headers'] as $name => $value) {
            $lines[] = "$name: $value";
        }
        $delivery = $deliveries[$next - 1];
        $ch = curl_init($delivery['url'] ?? $url);
        curl_setopt_array($ch, [
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => 30,
        ] + (isset($delivery['body']) ? [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $delivery['body']] : [CURLOPT_HTTPGET => true]));
        curl_multi_add_handle($multi, $ch);
        $active++;
    };
    $t = now();
    while ($active < $concurrency && $next < count($deliveries)) {
        $add();
    }
    $until = $t + $deadline;
    while ($active > 0 && now() < $until) {
        curl_multi_exec($multi, $running);
        curl_multi_select($multi, 0.1);
        while (($info = curl_multi_info_read($multi)) !== false) {
            $ch = $info['handle'];
            $answers[] = [
                'status' => $info['result'] === CURLE_OK ? (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE) : 0,
                'body' => $info['result'] === CURLE_OK ? (string) curl_multi_getcontent($ch) : curl_strerror($info['result']),
                'ms' => curl_getinfo($ch, CURLINFO_TOTAL_TIME_T) / 1000,
            ];
            curl_multi_remove_handle($multi, $ch);
            curl_close($ch);
            $active--;
            if ($next < count($deliveries)) {
                $add();
            }
        }
    }
    $seconds = now() - $t;
    curl_multi_close($multi);
    if ($active > 0) {
        throw new \RuntimeException(sprintf('%d requests to %s still running after %.0f s', $active, $url, $deadline));
    }
    return ['seconds' => $seconds, 'answers' => $answers];
}

/**
 * Exits 2 unless what a php-fpm + nginx site needs is installed (PHP's curl, Debian's php8.2-fpm
 * and nginx).
 */
function require_fpm_site(): void
{
    if (!extension_loaded('curl') || !is_executable('/usr/sbin/php-fpm8.2') || !is_executable('/usr/sbin/nginx')) {
        fwrite(STDERR, "This benchmark needs PHP's curl, Debian's php8.2-fpm and nginx (./build.sh deps installs them).\n");
        exit(2);
    }
}
