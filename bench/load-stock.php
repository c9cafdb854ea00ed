<?php
/**
 * The REST stock read under load, served as in production: a throw-away WordPress site (MariaDB,
 * the plugin and the extension) behind nginx and php-fpm (a static pool of 4 workers, opcache
 * on); `GET /wp-json/inventory-sync/v1/stock/{sku}` with an API key (scope read) for 500 SKUs at
 * 1, 4, 16 and 64 in flight — 400 requests per step — against an empty REST route (GET) on the
 * same pool at the same concurrency. Every answer must be 200 and carry exactly the ledger's
 * stock for its SKU (exit 1 if not). The key's rate limit is raised for the run (at the default
 * 60 requests a minute most reads would be 429s); every authorised read still counts against it
 * and in the API metrics, so each read also writes.
 *
 *   php -d extension=target/release/libinventory_sync.so bench/load-stock.php [--json=PATH]
 *
 * Bounded: 400 requests per step and side, 30 s per request, 120 s per step; loopback only. The
 * site and MariaDB are stopped and their directory removed at the end, whatever happens.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Tests\Harness\Harness;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/load.php';
require dirname(__DIR__) . '/tests/harness/Harness.php';

require_extension();
require_fpm_site();

const STEPS = [1, 4, 16, 64];
const PER_STEP = 400;
const WARM_UP = 40;
const SKUS = 500;
const STOCK_ROUTE = '/wp-json/inventory-sync/v1/stock/';
const EMPTY_ROUTE = '/wp-json/bench/v1/empty';

$report = new Report('load-stock');
$started = now();
$problem = null;
$site = null;
$steps = [];
try {
    $site = Harness::site('bench-load-stock', ['server' => 'fpm']);
    $setup = $site->eval(sprintf(<<<'PHP'
        update_option(\InventorySync\OPTION_RATE_LIMIT, 1000000);
        $l = \InventorySync\ledger();
        $l->upsertLocation(['code' => 'WH2', 'name' => 'Second', 'priority' => 1]);
        $movements = [];
        for ($i = 0; $i < %1$d; $i++) {
            $sku = sprintf('READ-%%03d', $i);
            $l->upsertItem(['sku' => $sku, 'name' => "Read item $i"]);
            $movements[] = ['event_id' => "r-$i", 'sku' => $sku, 'kind' => 'receive', 'quantity' => 10 + $i %% 90, 'location' => 'MAIN'];
            $movements[] = ['event_id' => "w-$i", 'sku' => $sku, 'kind' => 'receive', 'quantity' => $i %% 7, 'location' => 'WH2'];
        }
        foreach (array_chunk($movements, 500) as $chunk) {
            $l->recordBatch($chunk);
        }
        $stock = [];
        for ($i = 0; $i < %1$d; $i++) {
            $sku = sprintf('READ-%%03d', $i);
            $s = $l->stock($sku);
            $stock[$sku] = [$s['on_hand'], $s['available']];
        }
        return ['key' => $l->issueApiKey(['name' => 'Load', 'scopes' => ['read']], random_bytes(32))['key'], 'stock' => $stock];
        PHP, SKUS));
    install_empty_route($site);
    $key = $setup['key'];
    $stock = $setup['stock'];
    $report->note(sprintf('site: WordPress + MariaDB + php-fpm (static pool of 4, opcache on) behind nginx on %s; %d SKUs at 2 locations; API key with scope read, rate limit raised to 1,000,000/min; set up in %.1f s', $site->url, SKUS, now() - $started));

    $made = 0;
    $reads = static function (int $count) use (&$made, $site, $key): array {
        $out = [];
        for ($i = 0; $i < $count; $i++, $made++) {
            $sku = sprintf('READ-%03d', ($made * 37) % SKUS);
            $out[] = ['url' => $site->url . STOCK_ROUTE . rawurlencode($sku), 'headers' => ['X-API-Key' => $key], 'sku' => $sku];
        }
        return $out;
    };
    $warm = $reads(WARM_UP);
    fire($site->url, $warm, 4);
    fire($site->url . EMPTY_ROUTE, array_map(static fn (array $r): array => ['headers' => []], $warm), 4);

    foreach (STEPS as $concurrency) {
        $batch = $reads(PER_STEP);
        $result = fire($site->url, $batch, $concurrency);
        $empty = fire($site->url . EMPTY_ROUTE, array_map(static fn (array $r): array => ['headers' => []], $batch), $concurrency);
        // Every answer: 200 with the ledger's stock for its SKU (answers come in finishing order,
        // so each is matched by the SKU it names).
        $wrong = 0;
        $statuses = [];
        foreach ($result['answers'] as $answer) {
            $statuses[$answer['status']] = ($statuses[$answer['status']] ?? 0) + 1;
            $body = json_decode($answer['body'], true);
            $sku = is_array($body) ? ($body['sku'] ?? null) : null;
            if ($answer['status'] !== 200 || !is_string($sku) || !isset($stock[$sku]) || [$body['on_hand'], $body['available']] !== $stock[$sku]) {
                $wrong++;
            }
        }
        ksort($statuses);
        $emptyErrors = count(array_filter($empty['answers'], static fn (array $a): bool => $a['status'] !== 200));
        if ($wrong > 0 || $emptyErrors > 0 || count($result['answers']) !== PER_STEP) {
            $problem ??= sprintf('%d in flight: %d reads were not 200 with the ledger\'s stock (%s), %d empty-route errors', $concurrency, $wrong, json_encode($statuses), $emptyErrors);
        }
        $ms = array_column($result['answers'], 'ms');
        $steps[] = [
            'concurrency' => $concurrency,
            'rate' => PER_STEP / $result['seconds'],
            'empty_rate' => PER_STEP / $empty['seconds'],
            'p50' => percentile($ms, 50),
            'p95' => percentile($ms, 95),
            'p99' => percentile($ms, 99),
            'empty_p50' => percentile(array_column($empty['answers'], 'ms'), 50),
            'wrong' => $wrong,
        ];
        $report->note(sprintf(
            '%2d in flight: %.0f reads/s (empty route %.0f/s), p50 %.1f / p95 %.1f / p99 %.1f ms, answers %s, every body the ledger\'s stock: %s',
            $concurrency,
            PER_STEP / $result['seconds'],
            PER_STEP / $empty['seconds'],
            percentile($ms, 50),
            percentile($ms, 95),
            percentile($ms, 99),
            json_encode($statuses),
            $wrong === 0 ? 'yes' : "NO ($wrong)"
        ));
    }
    $counted = $site->eval(<<<'PHP'
        foreach (\InventorySync\ledger()->apiRoutes(time() - 86400, time() + 3600) as $route) {
            if ($route['route'] === '/inventory-sync/v1/stock/{sku}' && $route['method'] === 'GET') {
                return $route['requests'];
            }
        }
        return 0;
        PHP);
    if ($counted !== $made) {
        $problem ??= sprintf('the API metrics count %d stock reads, %d were made', $counted, $made);
    } else {
        $report->note(sprintf('API metrics: all %d reads counted once', $made));
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
        sprintf('REST stock read with an API key, %d in flight, php-fpm (4 workers) behind nginx', $step['concurrency']),
        'requests/s',
        'higher',
        [$step['rate']],
        'empty REST route (GET), same pool and concurrency',
        [$step['empty_rate']],
        null,
        [
            'latency p50 ms' => $step['p50'],
            'latency p95 ms' => $step['p95'],
            'latency p99 ms' => $step['p99'],
            'latency p50 ms, empty route' => $step['empty_p50'],
        ]
    );
}
$report->finish();
