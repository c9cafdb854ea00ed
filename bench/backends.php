<?php
/**
 * The two ledger backends side by side (issue 9): the same work on the embedded SQLite file and
 * on a MariaDB database (a throw-away server this program starts on a loopback port and a socket
 * of its own, and stops), in alternating runs, each figure of MariaDB given with the SQLite
 * file's as its baseline:
 *
 * - movements: Ledger::recordBatch() in batches of 500, and Ledger::record() one per call;
 * - the queue: plan every SKU for the store's own channel (Ledger::syncSkusTo, one job per SKU),
 *   then claim the jobs 50 at a time and complete each (Ledger::claimLocalJobs, completeJob),
 *   the outbox cycle every runner goes through whatever the channel.
 *
 * Afterwards both ledgers must hold the same stock, equal to the sum of what was recorded, and
 * every planned job must have been claimed and completed once (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/backends.php [--json=PATH]
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Ledger;
use InventorySync\Tests\Harness\MariaDb;

require __DIR__ . '/lib/bench.php';
require dirname(__DIR__) . '/tests/harness/Paths.php';
require dirname(__DIR__) . '/tests/harness/Process.php';
require dirname(__DIR__) . '/tests/harness/MariaDb.php';

require_extension();

const RUNS = 3;
const BATCH = 500;
const BATCHED_PER_RUN = 10_000;
const SINGLE_PER_RUN = 1_000;
const SKUS = 1_000;
const CLAIM = 50;
const CHANNEL = 'woocommerce_local';
const LOCATIONS = ['WH1', 'WH2'];

$report = new Report('backends');
$dir = temp_dir('backends');
$serverDir = sys_get_temp_dir() . '/inventory-sync-bench-mariadb-' . getmypid();
$server = MariaDb::start($serverDir);
register_shutdown_function(static function () use ($server, $serverDir): void {
    $server->stop();
    exec('rm -rf ' . escapeshellarg($serverDir));
});
$database = $server->createDatabase('bench_backends');
$settings = ledger_sqlite_settings();
$report->note(sprintf(
    'SQLite: the ledger file in %s (journal_mode=%s, synchronous=%s). MariaDB %s: a local server over its Unix socket, InnoDB with innodb_flush_log_at_trx_commit=2 (as the test harness starts it; the server default 1 syncs the log at every commit)',
    sys_get_temp_dir(),
    $settings['journal_mode'],
    $settings['synchronous'],
    server_version($server)
));

$ledgers = [
    'sqlite' => new Ledger("$dir/ledger.sqlite"),
    'mariadb' => new Ledger('mysql://', ['mysql' => ['socket' => $server->socket, 'user' => 'root', 'database' => $database]]),
];
foreach ($ledgers as $ledger) {
    foreach (LOCATIONS as $priority => $code) {
        $ledger->upsertLocation(['code' => $code, 'name' => "Warehouse $code", 'priority' => $priority]);
    }
    for ($i = 0; $i < SKUS; $i++) {
        // Linked to a product of the store, as the store's own channel needs.
        $ledger->upsertItem(['sku' => sku($i), 'name' => "Item $i", 'product_id' => $i + 1]);
    }
    $ledger->saveChannel(['key' => CHANNEL, 'kind' => CHANNEL, 'name' => 'This store']);
}
$report->note(sprintf('%s items, %d locations, the store\'s own channel; movements: receipts (2 in 3) and sales (1 in 3) over every SKU', number_format(SKUS), count(LOCATIONS)));

$figures = ['batched' => [], 'single' => [], 'queue' => []];
$expected = [];
$jobs = ['sqlite' => 0, 'mariadb' => 0];
for ($run = 0; $run < RUNS; $run++) {
    $batched = [];
    for ($i = 0; $i < BATCHED_PER_RUN; $i++) {
        $batched[] = movement("batch$run", $i);
    }
    $single = [];
    for ($i = 0; $i < SINGLE_PER_RUN; $i++) {
        $single[] = movement("single$run", $i);
    }
    expect($expected, $batched);
    expect($expected, $single);
    // Alternate which backend goes first, so neither always meets a warmer machine.
    $order = $run % 2 === 0 ? ['sqlite', 'mariadb'] : ['mariadb', 'sqlite'];
    foreach ($order as $backend) {
        $ledger = $ledgers[$backend];
        $t = now();
        foreach (array_chunk($batched, BATCH) as $chunk) {
            foreach ($ledger->recordBatch($chunk) as $k => $outcome) {
                if (!$outcome['ok']) {
                    disagree("$backend: recordBatch refused a movement: " . json_encode($outcome['error']) . ' for ' . json_encode($chunk[$k]));
                }
            }
        }
        $figures['batched'][$backend][] = BATCHED_PER_RUN / (now() - $t);

        $t = now();
        foreach ($single as $movement) {
            $ledger->record($movement);
        }
        $figures['single'][$backend][] = SINGLE_PER_RUN / (now() - $t);

        [$rate, $done] = queue_cycle($ledger, $backend, "runner-$run");
        $figures['queue'][$backend][] = $rate;
        $jobs[$backend] += $done;
    }
}

// Both ledgers hold exactly what was recorded; every job was claimed and completed.
foreach ($ledgers as $backend => $ledger) {
    foreach ($expected as $sku => $locations) {
        foreach ($ledger->stock($sku)['locations'] as $level) {
            $want = $locations[$level['location']] ?? 0;
            if ($level['on_hand'] !== $want) {
                disagree("$backend: $sku at {$level['location']}: on hand {$level['on_hand']}, recorded movements add up to $want");
            }
        }
    }
    $counts = $ledger->jobCounts(CHANNEL);
    if ($counts['pending'] !== 0 || $counts['running'] !== 0 || $counts['retrying'] !== 0) {
        disagree("$backend: jobs left in the queue: " . json_encode($counts));
    }
}
if ($jobs['sqlite'] !== $jobs['mariadb']) {
    disagree("the backends completed different numbers of jobs: {$jobs['sqlite']} on SQLite, {$jobs['mariadb']} on MariaDB");
}
$report->note(sprintf('checked: both ledgers\' on hand equals the recorded movements for every SKU and location; %s jobs planned, claimed and completed on each, none left', number_format($jobs['sqlite'])));

$report->figure(
    sprintf('MariaDB ledger: Ledger::recordBatch, batches of %d', BATCH),
    'movements/s',
    'higher',
    $figures['batched']['mariadb'],
    'the same on the SQLite file',
    $figures['batched']['sqlite'],
    null,
    ['movements per run' => (float) BATCHED_PER_RUN]
);
$report->figure(
    'MariaDB ledger: Ledger::record, one movement per call',
    'movements/s',
    'higher',
    $figures['single']['mariadb'],
    'the same on the SQLite file',
    $figures['single']['sqlite'],
    null,
    ['movements per run' => (float) SINGLE_PER_RUN]
);
$report->figure(
    sprintf('MariaDB ledger: queue (plan, claim %d at a time, complete)', CLAIM),
    'jobs/s',
    'higher',
    $figures['queue']['mariadb'],
    'the same on the SQLite file',
    $figures['queue']['sqlite'],
    null,
    ['jobs per run' => (float) SKUS]
);
$report->finish();

/**
 * Plans every SKU for the store's channel, then claims and completes every job; returns the
 * jobs per second and how many were done.
 *
 * @return array{0: float, 1: int}
 */
function queue_cycle(Ledger $ledger, string $backend, string $owner): array
{
    $skus = array_map('InventorySync\\Bench\\sku', range(0, SKUS - 1));
    $t = now();
    $planned = $ledger->syncSkusTo($skus, CHANNEL);
    $done = 0;
    while (($claimed = $ledger->claimLocalJobs($owner, CLAIM)) !== []) {
        foreach ($claimed as $job) {
            $ledger->completeJob($job['id'], $owner);
            $done++;
        }
    }
    $seconds = now() - $t;
    if ($done !== $planned['enqueued'] || $done === 0) {
        disagree("$backend: {$planned['enqueued']} jobs planned, $done claimed and completed");
    }
    return [$done / $seconds, $done];
}

function server_version(MariaDb $server): string
{
    $mysqli = new \mysqli('localhost', 'root', '', '', 0, $server->socket);
    $version = (string) $mysqli->query('SELECT VERSION()')->fetch_row()[0];
    $mysqli->close();
    return $version;
}

function sku(int $i): string
{
    return sprintf('BK-%05d', $i);
}

/**
 * The $i-th movement of a run: receipts and sales spread over every SKU and both locations.
 *
 * @return array{event_id: string, sku: string, kind: string, quantity: int, location: string, origin: string}
 */
function movement(string $run, int $i): array
{
    return [
        'event_id' => "$run-$i",
        'sku' => sku(($i * 7919) % SKUS),
        'kind' => $i % 3 === 2 ? 'sale' : 'receive',
        'quantity' => 1 + $i % 5,
        'location' => LOCATIONS[$i % 4 === 3 ? 1 : 0],
        'origin' => 'bench',
    ];
}
