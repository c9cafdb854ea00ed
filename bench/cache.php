<?php
/**
 * The cache the tutorials put in front of MySQL, measured: reading one SKU's stock through the
 * extension (`Ledger::stock()` on the ledger file, 10,000 SKUs × 3 locations) against a Redis
 * `GET` of the same record plus `json_decode` — Debian's redis-server on loopback (started here
 * on a free port, no persistence, stopped at the end), PHP's redis extension, the record being
 * exactly what `Ledger::stock()` returns, stored as JSON. Both must give the same record for
 * every SKU read (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/cache.php [--json=PATH]
 *
 * What the figure leaves out, in the cache's favour: filling and invalidating it. Every movement
 * would have to rewrite the SKU's record, and a reader between the movement and the rewrite sees
 * stock that is no longer there (an oversell window); the ledger read has neither.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Tests\Harness\Process;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/catalogue.php';
require dirname(__DIR__) . '/tests/harness/Harness.php';

require_extension();
if (!extension_loaded('redis') || !is_executable('/usr/bin/redis-server')) {
    fwrite(STDERR, "This benchmark needs Debian's redis-server and php8.2-redis (./build.sh deps installs them).\n");
    exit(2);
}

const SKUS = 10_000;
const RUNS = 3;
const READS_PER_RUN = 3_000;
const LOCATIONS = ['WH1' => 0, 'WH2' => 1, 'WH3' => 2];

$report = new Report('cache');
$dir = temp_dir('cache');
$started = now();
$ledger = read_ledger("$dir/ledger.sqlite", SKUS, LOCATIONS);

$port = Process::freePort();
$pgid = Process::start(['/usr/bin/redis-server', '--port', (string) $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', $dir], "$dir/redis.log");
try {
    Process::waitForPort($port, 10, 'redis-server', "$dir/redis.log");
    $redis = new \Redis();
    $redis->connect('127.0.0.1', $port, 2.0);
    // Fill the cache with exactly what the ledger answers.
    for ($i = 0; $i < SKUS; $i++) {
        $sku = sprintf('READ-%05d', $i);
        $redis->set("stock:$sku", json_encode($ledger->stock($sku)));
    }
    $report->note(sprintf('ledger file with %s SKUs × %d locations; redis-server %s on 127.0.0.1:%d (no persistence) holding each SKU\'s Ledger::stock() record as JSON; set up in %.1f s', number_format(SKUS), count(LOCATIONS), $redis->info('server')['redis_version'] ?? '?', $port, now() - $started));

    mt_srand(9);
    $skus = [];
    for ($i = 0; $i < READS_PER_RUN; $i++) {
        $skus[] = sprintf('READ-%05d', mt_rand(0, SKUS - 1));
    }
    foreach ($skus as $sku) {
        $cached = json_decode((string) $redis->get("stock:$sku"), true);
        if ($cached !== $ledger->stock($sku)) {
            disagree("$sku: Redis holds " . json_encode($cached) . ', the ledger says ' . json_encode($ledger->stock($sku)));
        }
    }
    $report->note(sprintf('agreement: the same record from both for all %s SKUs read', number_format(count(array_unique($skus)))));

    $ledgerMicros = $redisMicros = [];
    $ledgerMedians = $redisMedians = [];
    for ($run = 0; $run < RUNS; $run++) {
        $times = time_each($skus, static fn (string $sku) => $ledger->stock($sku));
        $ledgerMicros = array_merge($ledgerMicros, $times);
        $ledgerMedians[] = median($times);
        $times = time_each($skus, static fn (string $sku) => json_decode((string) $redis->get("stock:$sku"), true));
        $redisMicros = array_merge($redisMicros, $times);
        $redisMedians[] = median($times);
    }
    $redis->close();
} finally {
    Process::stop($pgid);
}
$report->figure(
    'Ledger::stock, one SKU of 10k, per call',
    'µs',
    'lower',
    $ledgerMedians,
    'Redis GET + json_decode of the same record (loopback)',
    $redisMedians,
    null,
    [
        'p95 µs, Ledger::stock' => percentile($ledgerMicros, 95),
        'p95 µs, Redis GET + json_decode' => percentile($redisMicros, 95),
        'calls timed per side' => (float) count($ledgerMicros),
    ]
);
$report->note('not in the figure: a cache must be rewritten on every movement, and a read between the movement and the rewrite sees stock that is gone; the ledger read is always current');
$report->finish();
