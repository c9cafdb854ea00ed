<?php
/**
 * Reading one SKU's stock: Ledger::stock() in a ledger file of 10,000 SKUs × 3 locations, timed
 * call by call, against plain PHP running the SELECT of the same rows through PDO SQLite on the
 * same file. Both must return the same quantities for every SKU read (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/stock-read.php [--json=PATH]
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use PDO;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/catalogue.php';

require_extension();
if (!extension_loaded('pdo_sqlite')) {
    fwrite(STDERR, "pdo_sqlite is missing (Debian: apt-get install php8.2-sqlite3; ./build.sh deps installs it).\n");
    exit(2);
}

const SKUS = 10_000;
const RUNS = 3;
const READS_PER_RUN = 3_000;
const LOCATIONS = ['WH1' => 0, 'WH2' => 1, 'WH3' => 2];

$report = new Report('stock-read');
$dir = temp_dir('stock-read');
$path = "$dir/ledger.sqlite";

$started = now();
$ledger = read_ledger($path, SKUS, LOCATIONS);
$report->note(sprintf('ledger file with %s SKUs × %d locations (%s stock levels), set up in %.1f s', number_format(SKUS), count(LOCATIONS), number_format(SKUS * count(LOCATIONS)), now() - $started));

$pdo = new PDO("sqlite:$path", null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$pdo->exec('PRAGMA busy_timeout = 5000');
$select = $pdo->prepare(
    'SELECT s.location, l.active, s.on_hand, s.reserved, s.incoming
     FROM stock_levels s JOIN locations l ON l.code = s.location
     WHERE s.sku = ? ORDER BY l.priority, l.code'
);
$report->note('baseline: one prepared SELECT of the SKU\'s stock levels (joined with their locations), fetchAll, per SKU');

// The same SKUs, in the same random order, for both sides.
mt_srand(9);
$skus = [];
for ($i = 0; $i < READS_PER_RUN; $i++) {
    $skus[] = sprintf('READ-%05d', mt_rand(0, SKUS - 1));
}

// Warm up both (caches, prepared statements), checking that they agree on every SKU read.
foreach ($skus as $sku) {
    $stock = $ledger->stock($sku);
    $select->execute([$sku]);
    $rows = $select->fetchAll(PDO::FETCH_ASSOC);
    $fromLedger = array_map(static fn (array $l): array => [$l['location'], $l['on_hand'], $l['reserved'], $l['incoming']], $stock['locations']);
    $fromPdo = array_map(static fn (array $r): array => [$r['location'], (int) $r['on_hand'], (int) $r['reserved'], (int) $r['incoming']], $rows);
    if ($fromLedger !== $fromPdo) {
        disagree("$sku: Ledger::stock() says " . json_encode($fromLedger) . ', the SELECT says ' . json_encode($fromPdo));
    }
}
$report->note(sprintf('agreement: both return the same levels for all %s SKUs read', number_format(count(array_unique($skus)))));

$ledgerMicros = $pdoMicros = [];
$ledgerMedians = $pdoMedians = [];
for ($run = 0; $run < RUNS; $run++) {
    $times = time_each($skus, static fn (string $sku) => $ledger->stock($sku));
    $ledgerMicros = array_merge($ledgerMicros, $times);
    $ledgerMedians[] = median($times);

    $times = time_each($skus, static function (string $sku) use ($select): array {
        $select->execute([$sku]);
        return $select->fetchAll(PDO::FETCH_ASSOC);
    });
    $pdoMicros = array_merge($pdoMicros, $times);
    $pdoMedians[] = median($times);
}
unset($ledger, $select, $pdo);

$report->figure(
    sprintf('Ledger::stock, one SKU of %sk, per call', number_format(SKUS / 1000)),
    'µs',
    'lower',
    $ledgerMedians,
    'PDO SQLite SELECT of the same rows',
    $pdoMedians,
    null,
    [
        'p95 µs, Ledger::stock' => percentile($ledgerMicros, 95),
        'p95 µs, PDO SELECT' => percentile($pdoMicros, 95),
        'calls timed per side' => (float) count($ledgerMicros),
    ]
);
$report->finish();
