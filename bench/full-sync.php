<?php
/**
 * A full sync of a large catalogue (default 100,000 SKUs × 3 locations) to four fake channels —
 * Shopify, eBay, a remote WooCommerce store and Amazon (examples/fake_channels.rs on 127.0.0.1,
 * no rate limits, no added latency) — from one PHP worker, the way WP-Cron drives it: one
 * `Ledger::syncFull()`, then `Ledger::runQueue(['budget_ms' => 50000])` (the plugin's queue pass)
 * again and again until no job is open. Per run:
 *
 * - **the fakes' floor**: examples/sync_floor.rs sends the fewest calls a first full sync can
 *   make (the channel adapters alone: every SKU looked up and written in the largest batches each
 *   channel takes, Amazon in 25,000-message feeds; no ledger, no planning, no queue), one channel
 *   after the other as one worker goes; the time the fakes need just to accept those calls;
 * - **the worker**: a fresh PHP process with the extension, on a copy of the same ledger file (the
 *   catalogue and the four channels recorded beforehand, not timed): wall time from syncFull to an
 *   empty queue, its peak resident memory (VmHWM: PHP, the extension, SQLite's cache, all of it)
 *   and PHP's own peak (memory_get_peak_usage), the calls each fake saw;
 * - **checked**: every SKU's quantity on every channel equals the ledger's allocation
 *   (Ledger::allocateAll), every job done, none dead (exit 1 otherwise).
 *
 * Also reported: the calls made against the floor's (and the write calls against
 * ceil(SKUs / batch)), and how the worker's own time compares with the time the channels' rate
 * limits would impose anyway (computed from the calls made and the limits in
 * docs/channel-apis.md; not run: at those limits a 100,000-SKU first sync takes hours).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/full-sync.php [--skus=100000] [--runs=1] [--json=PATH]
 *
 * Needs target/release/examples/fake_channels and sync_floor (./build.sh bench builds them).
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Ledger;
use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Paths;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/catalogue.php';
require dirname(__DIR__) . '/tests/harness/Harness.php';

/** The four channels: key => kind (each a fake of that kind). */
const CHANNELS = ['shopify' => 'shopify', 'ebay' => 'ebay', 'wholesale' => 'woocommerce_remote', 'amazon' => 'amazon'];
/** The plugin's queue pass (QUEUE_RUN_BUDGET_MS in php-plugin/includes/constants.php). */
const QUEUE_BUDGET_MS = 50_000;
/** The most queue passes one worker makes before the run counts as stuck. */
const MAX_PASSES = 400;
/** Sealing key for the channels' credentials (any 16+ bytes; the plugin derives one from wp-config). */
const CREDENTIAL_KEY = 'bench-full-sync-credential-key-0123456789';
/** Memory the worker must stay under. */
const WORKER_MEMORY_LIMIT_MIB = 64;

/**
 * What the channels' rate limits allow (docs/channel-apis.md), per kind: requests per second and
 * burst for a plain request limit, or the points a call costs against a points-per-second budget
 * (Shopify GraphQL: 100 points/s on the Standard plan; a mutation costs 10 points, a connection
 * about one point per object returned — a variant and its inventory item: 2 per SKU looked up;
 * Amazon: 5 JSON_LISTINGS_FEED submissions per 5 minutes); null: none found (WooCommerce core
 * REST has no limit; eBay limits calls per day, not per second).
 */
const RATE_LIMITS = [
    'shopify' => ['points_per_second' => 100.0, 'write_points' => 10, 'lookup_points_per_sku' => 2],
    'amazon' => ['feeds_per_window' => 5, 'window_seconds' => 300],
    'ebay' => null,
    'woocommerce_remote' => null,
];

// ---------------------------------------------------------------------------------------------
// Children: --populate (the ledger, not timed) and --worker (the timed sync)
// ---------------------------------------------------------------------------------------------

$options = getopt('', ['skus:', 'runs:', 'json:', 'populate:', 'worker:', 'fakes:']);
$skus = max(1, (int) ($options['skus'] ?? 100_000));
$runs = max(1, min(10, (int) ($options['runs'] ?? 1)));

if (isset($options['populate'])) {
    require_extension();
    $fakes = json_decode((string) file_get_contents((string) $options['fakes']), true);
    $ledger = new Ledger((string) $options['populate'], ['credential_key' => CREDENTIAL_KEY]);
    $recorded = record_catalogue($ledger, catalogue_stock($skus), catalogue_locations());
    foreach (CHANNELS as $key => $kind) {
        $ledger->saveChannel(['key' => $key, 'kind' => $kind, 'name' => $key] + $fakes['channels'][$kind]);
    }
    echo json_encode(['movements' => $recorded]), "\n";
    exit(0);
}

if (isset($options['worker'])) {
    require_extension();
    $rssAtStart = resident_kb('VmRSS');
    $ledger = new Ledger((string) $options['worker'], ['credential_key' => CREDENTIAL_KEY]);
    $t = now();
    $plan = $ledger->syncFull();
    $planSeconds = now() - $t;
    $passes = 0;
    $runnerCalls = 0;
    do {
        $report = $ledger->runQueue(['budget_ms' => QUEUE_BUDGET_MS]);
        $passes++;
        $runnerCalls += $report['calls'];
        $counts = $ledger->jobCounts();
        $open = $counts['pending'] + $counts['retrying'] + $counts['running'];
    } while ($open > 0 && $passes < MAX_PASSES);
    $seconds = now() - $t;
    echo json_encode([
        'seconds' => $seconds,
        'plan_seconds' => $planSeconds,
        'planned' => $plan['enqueued'] ?? null,
        'passes' => $passes,
        'runner_calls' => $runnerCalls,
        'jobs' => $counts,
        'vm_hwm_kb' => resident_kb('VmHWM'),
        'rss_at_start_kb' => $rssAtStart,
        'php_peak_bytes' => memory_get_peak_usage(true),
    ]), "\n";
    exit(0);
}

// ---------------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------------

require_extension();
$floorBinary = Paths::repo() . '/target/release/examples/sync_floor';
if (!is_executable(FakeChannels::binary()) || !is_executable($floorBinary)) {
    fwrite(STDERR, "Build the fakes and the floor client first: cargo build --release --example fake_channels --example sync_floor (./build.sh bench does)\n");
    exit(2);
}

$report = new Report('full-sync');
$dir = temp_dir('full-sync');
$fakes = FakeChannels::start([], "$dir/fake-channels.log", $skus);
// Stopped however this ends (disagree() exits; finally blocks do not run on exit).
register_shutdown_function(static fn () => $fakes->stop());
$fakesFile = "$dir/fakes.json";
file_put_contents($fakesFile, json_encode(['channels' => $fakes->channels]));
$template = "$dir/template.sqlite";
$t = now();
$populated = child_json([PHP_BINARY, '-d', 'extension=' . extension_path(), __FILE__, "--populate=$template", "--fakes=$fakesFile", "--skus=$skus"]);
$report->note(sprintf(
    'catalogue: %s SKUs × %d locations (%s movements) and the four channels (shared allocation, no buffer) recorded through the extension in %.1f s, not timed; ledger file in %s',
    number_format($skus),
    count(catalogue_locations()),
    number_format($populated['movements']),
    now() - $t,
    sys_get_temp_dir()
));
$report->note('fakes: examples/fake_channels.rs on 127.0.0.1, a thread per connection, connections kept open between requests (HTTP keep-alive), no rate limits, no added latency; each keeps every request it gets');

$workerRuns = [];
$floorRuns = [];
for ($run = 0; $run < $runs; $run++) {
    // The floor first (it sets every remote quantity to 0, so that the worker's writes change them).
    $before = $fakes->calls();
    $floor = child_json([$floorBinary, "--fakes=$fakesFile", "--skus=$skus", '--quantity=0']);
    $floor['fake_calls'] = calls_between($before, $fakes->calls());
    $floorRuns[] = $floor;

    $path = "$dir/run-$run.sqlite";
    // The file and its write-ahead log (the populating process kept its connection to the end).
    foreach (['', '-wal'] as $suffix) {
        if (is_file($template . $suffix) && !copy($template . $suffix, $path . $suffix)) {
            fwrite(STDERR, "cannot copy the ledger to $path$suffix\n");
            exit(2);
        }
    }
    $before = $fakes->calls();
    $worker = child_json([PHP_BINARY, '-d', 'extension=' . extension_path(), __FILE__, "--worker=$path"]);
    $worker['fake_calls'] = calls_between($before, $fakes->calls());
    check_run($worker, $path, $fakes, $skus);
    $workerRuns[] = $worker;
    printf("   run %d: worker %.1f s (plan %.1f s, %d queue passes), floor %.1f s\n", $run + 1, $worker['seconds'], $worker['plan_seconds'], $worker['passes'], $floor['seconds']);
    array_map('unlink', glob("$path*") ?: []);
}

$pick = static fn (array $runs, callable $f): array => array_map(static fn (array $r): float => (float) $f($r), $runs);
$kinds = array_values(CHANNELS);
$floorSeconds = median($pick($floorRuns, static fn (array $r): float => $r['seconds']));
$workerSeconds = median($pick($workerRuns, static fn (array $r): float => $r['seconds']));
$extra = [
    'seconds planning (syncFull)' => median($pick($workerRuns, static fn (array $r): float => $r['plan_seconds'])),
    'queue passes (runQueue, 50 s budget each)' => median($pick($workerRuns, static fn (array $r): float => $r['passes'])),
    'SKUs per second, all four channels' => $skus * count($kinds) / $workerSeconds,
];
foreach ($kinds as $kind) {
    $extra["seconds of the floor: $kind"] = median($pick($floorRuns, static fn (array $r): float => $r['channels'][$kind]['seconds']));
}
$report->figure(
    sprintf('full sync of %sk SKUs to 4 fakes (Shopify, eBay, WooCommerce, Amazon) from one PHP worker', number_format($skus / 1000)),
    's',
    'lower',
    $pick($workerRuns, static fn (array $r): float => $r['seconds']),
    'the fakes\' floor: the fewest calls, sent by the adapters alone (examples/sync_floor.rs)',
    $pick($floorRuns, static fn (array $r): float => $r['seconds']),
    ['kind' => 'ratio', 'min' => 0.5, 'text' => 'within 2× of the floor (ratio ≥ 0.5)'],
    $extra
);

$report->figure(
    'peak resident memory of the PHP worker (VmHWM: PHP, the extension, SQLite)',
    'MiB',
    'lower',
    $pick($workerRuns, static fn (array $r): float => $r['vm_hwm_kb'] / 1024),
    'the same worker before it opened the ledger (PHP with the extension loaded)',
    $pick($workerRuns, static fn (array $r): float => $r['rss_at_start_kb'] / 1024),
    ['kind' => 'value', 'max' => WORKER_MEMORY_LIMIT_MIB, 'text' => '< ' . WORKER_MEMORY_LIMIT_MIB . ' MiB'],
    ['PHP\'s own peak (memory_get_peak_usage(true)), MiB' => median($pick($workerRuns, static fn (array $r): float => $r['php_peak_bytes'] / 1048576))]
);

$callExtra = [];
$minimumWrites = 0;
$writes = 0;
foreach ($kinds as $kind) {
    $callExtra["$kind: requests, worker"] = median($pick($workerRuns, static fn (array $r): float => $r['fake_calls'][$kind]['requests']));
    $callExtra["$kind: requests, floor"] = median($pick($floorRuns, static fn (array $r): float => $r['fake_calls'][$kind]['requests']));
    $callExtra["$kind: write calls, worker"] = median($pick($workerRuns, static fn (array $r): float => $r['fake_calls'][$kind]['writes']));
    $callExtra["$kind: write calls, floor"] = median($pick($floorRuns, static fn (array $r): float => $r['fake_calls'][$kind]['writes']));
    $writes += $callExtra["$kind: write calls, worker"];
    $minimumWrites += $callExtra["$kind: write calls, floor"];
}
$report->figure(
    sprintf('HTTP requests of the full sync of %sk SKUs to 4 channels', number_format($skus / 1000)),
    'requests',
    'lower',
    $pick($workerRuns, static fn (array $r): float => array_sum(array_column($r['fake_calls'], 'requests'))),
    'the fewest (the floor\'s: look-ups and writes in the largest batches)',
    $pick($floorRuns, static fn (array $r): float => array_sum(array_column($r['fake_calls'], 'requests'))),
    ['kind' => 'ratio', 'min' => 0.99, 'text' => '= the fewest (ratio ≥ 0.99)'],
    $callExtra + ['write calls, worker (all channels)' => $writes, 'write calls, the fewest (ceil(SKUs / batch) per channel; Amazon: createFeed)' => $minimumWrites]
);

// The rate-limit floor: the time the channels' limits would impose on the calls the worker made.
$limited = rate_limit_floor($workerRuns[0]['fake_calls'], $skus);
$ownSeconds = max(0.0, $workerSeconds - $floorSeconds);
$report->note(sprintf(
    'rate-limit floor (from the calls made and docs/channel-apis.md; not run): %s; the slowest channel alone needs %.0f s, all of them one after the other %.0f s. The worker\'s own time above the fakes\' floor, %.1f s, is %.1f %% of the slowest channel\'s limit-bound time',
    implode('; ', array_map(static fn (string $k, array $l): string => sprintf('%s %.0f s (%s)', $k, $l['seconds'], $l['why']), array_keys($limited), $limited)),
    max(array_column($limited, 'seconds')),
    array_sum(array_column($limited, 'seconds')),
    $ownSeconds,
    100 * $ownSeconds / max(1e-9, max(array_column($limited, 'seconds')))
));
$report->finish();

/**
 * A child's one JSON line on stdout (its stderr passes through); exit 2 when it fails.
 *
 * @param list<string> $command
 * @return array<string, mixed>
 */
function child_json(array $command): array
{
    $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', 'php://stderr', 'w']], $pipes);
    $out = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    $status = proc_close($process);
    $lines = array_values(array_filter(explode("\n", (string) $out)));
    $result = json_decode((string) end($lines), true);
    if ($status !== 0 || !is_array($result)) {
        fwrite(STDERR, basename($command[0]) . " failed (exit $status):\n$out\n");
        exit($status === 1 ? 1 : 2);
    }
    return $result;
}

/**
 * The requests and write calls each fake got between two readings of its counters.
 *
 * @return array<string, array{requests: int, writes: int}>
 */
function calls_between(array $before, array $after): array
{
    $calls = [];
    foreach (array_values(CHANNELS) as $kind) {
        $calls[$kind] = [
            'requests' => $after[$kind]['requests'] - $before[$kind]['requests'],
            'writes' => $after[$kind]['writes'] - $before[$kind]['writes'],
        ];
    }
    return $calls;
}

/**
 * Every job done, and every SKU's quantity on every fake equal to the ledger's allocation.
 */
function check_run(array $worker, string $path, FakeChannels $fakes, int $skus): void
{
    $jobs = $worker['jobs'];
    if ($jobs['pending'] + $jobs['retrying'] + $jobs['running'] + $jobs['failed'] + $jobs['dead'] !== 0) {
        disagree('jobs left after the sync: ' . json_encode($jobs));
    }
    if ($jobs['done'] !== $skus * count(CHANNELS)) {
        disagree(sprintf('%d jobs done, expected one per SKU and channel (%d)', $jobs['done'], $skus * count(CHANNELS)));
    }
    $ledger = new Ledger($path, ['credential_key' => CREDENTIAL_KEY]);
    $rules = [];
    foreach (array_keys(CHANNELS) as $i => $key) {
        $rules[] = ['channel_id' => $i + 1, 'name' => $key];
    }
    $expected = $ledger->allocateAll($rules);
    if (count($expected) !== $skus) {
        disagree(sprintf('the ledger allocates %d SKUs, expected %d', count($expected), $skus));
    }
    $state = $fakes->state();
    foreach (array_values(CHANNELS) as $i => $kind) {
        foreach ($expected as $sku => $quantities) {
            $shown = $state[$kind][$sku] ?? null;
            if ($shown !== $quantities[$i]) {
                disagree(sprintf('%s shows %s for %s, the ledger allocates %d', $kind, json_encode($shown), $sku, $quantities[$i]));
            }
        }
    }
}

/**
 * What the documented rate limits would make each channel take for these calls.
 *
 * @param array<string, array{requests: int, writes: int}> $calls
 * @return array<string, array{seconds: float, why: string}>
 */
function rate_limit_floor(array $calls, int $skus): array
{
    $shopify = RATE_LIMITS['shopify'];
    $points = $calls['shopify']['writes'] * $shopify['write_points'] + $skus * $shopify['lookup_points_per_sku'];
    $amazon = RATE_LIMITS['amazon'];
    $feeds = $calls['amazon']['writes'];
    return [
        'shopify' => [
            'seconds' => $points / $shopify['points_per_second'],
            'why' => sprintf('%s points at %d points/s', number_format($points), $shopify['points_per_second']),
        ],
        'amazon' => [
            'seconds' => max(0, (int) ceil($feeds / $amazon['feeds_per_window']) - 1) * $amazon['window_seconds'],
            'why' => sprintf('%d feeds at %d per %d s; Amazon\'s processing time not counted', $feeds, $amazon['feeds_per_window'], $amazon['window_seconds']),
        ],
        'ebay' => ['seconds' => 0.0, 'why' => sprintf('%s calls against a daily quota, no per-second limit', number_format($calls['ebay']['requests']))],
        'woocommerce_remote' => ['seconds' => 0.0, 'why' => 'no limit in WooCommerce core'],
    ];
}

/**
 * This process's resident memory figure ($field: VmRSS now, VmHWM its peak) in KiB.
 */
function resident_kb(string $field): int
{
    $status = (string) @file_get_contents('/proc/self/status');
    return preg_match('/^' . preg_quote($field, '/') . ':\s+(\d+)\s+kB/m', $status, $m) === 1 ? (int) $m[1] : 0;
}
