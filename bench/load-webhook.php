<?php
/**
 * Signed webhooks under load, served as in production: a throw-away WordPress site (MariaDB, the
 * plugin and the extension) behind nginx and php-fpm (a static pool of 4 workers, opcache on),
 * fed signed `inventory.updated` deliveries at 1, 4, 16 and 64 in flight — 400 deliveries per
 * step, each with its own id, spread over 16 SKUs — and the empty REST route on the same pool
 * at the same concurrency as the baseline. After every step the ledger is checked exactly: every
 * delivery id recorded once, no other movement, the inbound log and the API metrics counting
 * each delivery once (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/load-webhook.php [--json=PATH]
 *
 * Bounded: 400 requests per step and side, 30 s per request, 120 s per step; loopback only. The
 * site and MariaDB are stopped and their directory removed at the end, whatever happens.
 *
 * Per step: deliveries per second, latency p50 / p95 / p99, answers that were not 202 (errors),
 * and the ratio to the empty route. Target: no error at any step (nginx queues what the 4
 * workers cannot take yet; nothing is refused or lost).
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Senders;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/load.php';
require dirname(__DIR__) . '/tests/harness/Harness.php';

require_extension();
require_fpm_site();

const STEPS = [1, 4, 16, 64];
const PER_STEP = 400;
const WARM_UP = 40;
const SKUS = 16;
const SECRET = 'bench-load-generic-secret-7f3a91c2';
const WEBHOOK_ROUTE = '/wp-json/inventory-sync/v1/webhooks/generic';
const EMPTY_ROUTE = '/wp-json/bench/v1/empty';

$report = new Report('load-webhook');
$started = now();
$problem = null;
$site = null;
$steps = [];
try {
    $site = Harness::site('bench-load-webhook', ['server' => 'fpm']);
    $site->eval(sprintf(<<<'PHP'
        update_option(\InventorySync\webhook_secret_option('generic'), %s);
        $ledger = \InventorySync\ledger();
        for ($i = 0; $i < %d; $i++) {
            $ledger->upsertItem(['sku' => sprintf('LOAD-%%02d', $i), 'name' => "Load item $i"]);
        }
        return true;
        PHP, var_export(SECRET, true), SKUS));
    install_empty_route($site);
    $report->note(sprintf('site: WordPress + MariaDB + php-fpm (static pool of 4, opcache on) behind nginx on %s; %d SKUs; set up in %.1f s', $site->url, SKUS, now() - $started));

    $made = 0;
    $deliveries = static function (int $count) use (&$made): array {
        $out = [];
        for ($i = 0; $i < $count; $i++, $made++) {
            $body = json_encode(['event' => 'inventory.updated', 'id' => sprintf('load-%05d', $made), 'sku' => sprintf('LOAD-%02d', $made % SKUS), 'quantity' => 5 + $made % 50]);
            $out[] = ['body' => $body, 'headers' => Senders::generic($body, SECRET)];
        }
        return $out;
    };
    $warm = $deliveries(WARM_UP);
    fire($site->url . WEBHOOK_ROUTE, $warm, 4);
    fire($site->url . EMPTY_ROUTE, $warm, 4);

    foreach (STEPS as $concurrency) {
        $batch = $deliveries(PER_STEP);
        $webhook = fire($site->url . WEBHOOK_ROUTE, $batch, $concurrency);
        $empty = fire($site->url . EMPTY_ROUTE, $batch, $concurrency);
        $errors = count(array_filter($webhook['answers'], static fn (array $a): bool => $a['status'] !== 202));
        $emptyErrors = count(array_filter($empty['answers'], static fn (array $a): bool => $a['status'] !== 200));
        $statuses = array_count_values(array_map(static fn (array $a): string => (string) $a['status'], $webhook['answers']));
        ksort($statuses);
        $ms = array_column($webhook['answers'], 'ms');
        $steps[] = [
            'concurrency' => $concurrency,
            'rate' => PER_STEP / $webhook['seconds'],
            'empty_rate' => PER_STEP / $empty['seconds'],
            'p50' => percentile($ms, 50),
            'p95' => percentile($ms, 95),
            'p99' => percentile($ms, 99),
            'empty_p50' => percentile(array_column($empty['answers'], 'ms'), 50),
            'errors' => $errors,
            'empty_errors' => $emptyErrors,
        ];
        // The ledger, exactly: every delivery so far recorded once, nothing else.
        $check = $site->eval(<<<'PHP'
            $ids = [];
            $before = null;
            do {
                $page = \InventorySync\ledger()->history(['limit' => 1000] + ($before === null ? [] : ['before' => $before]));
                foreach ($page['movements'] as $movement) {
                    $ids[] = $movement['event_id'];
                }
                $before = $page['next_before'];
            } while ($before !== null);
            $routes = \InventorySync\ledger()->apiRoutes(time() - 86400, time() + 3600);
            $counted = 0;
            foreach ($routes as $route) {
                if ($route['route'] === '/inventory-sync/v1/webhooks/generic') {
                    $counted += $route['requests'];
                }
            }
            $inbound = 0;
            $before = null;
            do {
                $page = \InventorySync\ledger()->inboundEvents(['limit' => 1000] + ($before === null ? [] : ['before' => $before]));
                $inbound += count($page['events']);
                $before = $page['next_before'];
            } while ($before !== null);
            return ['ids' => $ids, 'api_requests' => $counted, 'inbound' => $inbound];
            PHP);
        $expected = array_map(static fn (int $i): string => sprintf('generic:load-%05d:0', $i), range(0, $made - 1));
        $recorded = $check['ids'];
        sort($recorded);
        if ($errors > 0 || $emptyErrors > 0) {
            $problem ??= sprintf('%d in flight: %d webhook answers were not 202 (%s), %d empty-route answers not 200', $concurrency, $errors, json_encode($statuses), $emptyErrors);
        }
        if ($recorded !== $expected) {
            $problem ??= sprintf('after %d in flight the ledger holds %d movements for %d deliveries (%d distinct)', $concurrency, count($recorded), $made, count(array_unique($recorded)));
        }
        if ($check['api_requests'] !== $made || $check['inbound'] !== $made) {
            $problem ??= sprintf('after %d in flight the API metrics count %d requests and the inbound log %d deliveries, %d were sent', $concurrency, $check['api_requests'], $check['inbound'], $made);
        }
        $report->note(sprintf(
            '%2d in flight: %.0f webhooks/s (empty route %.0f/s), p50 %.1f / p95 %.1f / p99 %.1f ms, answers %s; ledger after it: %d movements, each delivery id once: %s',
            $concurrency,
            PER_STEP / $webhook['seconds'],
            PER_STEP / $empty['seconds'],
            percentile($ms, 50),
            percentile($ms, 95),
            percentile($ms, 99),
            json_encode($statuses),
            count($recorded),
            $recorded === $expected ? 'yes' : 'NO'
        ));
    }
    $log = $site->errorLog();
    $report->note($log === '' ? 'PHP/WordPress error log: empty' : 'PHP/WordPress error log: ' . strtok($log, "\n"));
    if ($log !== '') {
        $problem ??= 'PHP/WordPress logged problems: ' . strtok($log, "\n");
    }
} finally {
    $site?->stop();
    Harness::shutdown();
}
if ($problem !== null) {
    disagree($problem);
}
foreach ($steps as $step) {
    $report->figure(
        sprintf('signed webhooks, %d in flight, php-fpm (4 workers) behind nginx', $step['concurrency']),
        'requests/s',
        'higher',
        [$step['rate']],
        'empty REST route, same pool and concurrency',
        [$step['empty_rate']],
        null,
        [
            'latency p50 ms' => $step['p50'],
            'latency p95 ms' => $step['p95'],
            'latency p99 ms' => $step['p99'],
            'latency p50 ms, empty route' => $step['empty_p50'],
            'answers other than 202' => $step['errors'],
        ]
    );
}
$report->finish();
