<?php
/**
 * How time and memory grow with the catalogue: channel allocation (InventorySync\allocate_many,
 * 5 channels × 3 locations) and a full sync (plan every SKU, then the queue until it is empty, to
 * the loopback fakes of Shopify and a remote WooCommerce store: examples/bench_sync.rs) at
 * 1,000, 10,000 and 100,000 SKUs, each size in a process of its own, smallest first. Expected:
 * linear — the time per SKU at 100k no more than 1.5× the time per SKU at 10k. (At 1k everything
 * fits in the CPU's caches and the ledger is tiny, so its time per SKU is lower still; it is
 * reported, not the baseline.)
 *
 *   php -d extension=target/release/libinventory_sync.so bench/scaling.php [--json=PATH]
 *
 * Memory: the largest resident set of the child processes so far (getrusage of the children,
 * which only grows: sizes run smallest first, so each size's figure is its own peak).
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/catalogue.php';

const SIZES = [1_000, 10_000, 100_000];
const ALLOCATION_RUNS = 3;
const SYNC_KINDS = 'shopify,woocommerce_remote';

// A child: allocation of one size, timed, as JSON on stdout.
foreach ($argv as $arg) {
    if (str_starts_with($arg, '--allocate=')) {
        require_extension();
        $skus = (int) substr($arg, 11);
        $stock = catalogue_stock($skus);
        $rules = catalogue_rules();
        $options = ['locations' => catalogue_locations(), 'supplier_stock' => catalogue_supplier_stock($stock)];
        $times = [];
        for ($run = 0; $run < ALLOCATION_RUNS; $run++) {
            gc_collect_cycles();
            $t = now();
            $got = \InventorySync\allocate_many($stock, $rules, $options);
            $times[] = (now() - $t) * 1000;
            if (count($got) !== $skus) {
                fwrite(STDERR, sprintf("allocate_many answered for %d of %d SKUs\n", count($got), $skus));
                exit(1);
            }
            unset($got);
        }
        echo json_encode(['ms' => median($times), 'peak_php_bytes' => memory_get_peak_usage(true)]), "\n";
        exit(0);
    }
}

require_extension();
$root = dirname(__DIR__);
$binary = "$root/target/release/examples/bench_sync";
if (!is_file($binary)) {
    fwrite(STDERR, "$binary is missing: build it with cargo build --release --example bench_sync (./build.sh bench does)\n");
    exit(2);
}

$report = new Report('scaling');
$dir = temp_dir('scaling');
$allocation = [];
$sync = [];
foreach (SIZES as $size) {
    // Allocation, in a PHP child loading the same extension file.
    $command = [PHP_BINARY, '-d', 'extension=' . extension_path(), __FILE__, "--allocate=$size"];
    $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', 'php://stderr', 'w']], $pipes);
    $line = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    if (proc_close($process) !== 0 || !is_array($result = json_decode((string) $line, true))) {
        fwrite(STDERR, "allocation at $size SKUs failed\n");
        exit(2);
    }
    $allocation[$size] = $result + ['max_rss_kb' => getrusage(1)['ru_maxrss']];

    // Full sync, in bench_sync (checks every remote quantity; exit 1 if one is wrong).
    $json = "$dir/sync-$size.json";
    $code = run_child([$binary, "--kinds=" . SYNC_KINDS, "--skus=$size", '--unbatched-skus=100', "--json=$json"]);
    if ($code === 1) {
        disagree("bench_sync at $size SKUs found quantities or jobs that are not what they should be");
    }
    $figures = is_file($json) ? json_decode((string) file_get_contents($json), true) : null;
    if ($code !== 0 || !is_array($figures)) {
        fwrite(STDERR, "bench_sync at $size SKUs could not run (exit $code)\n");
        exit(2);
    }
    $seconds = 0.0;
    foreach ($figures['channels'] as $channel) {
        foreach ($channel['passes'] as $pass) {
            if ($pass['pass'] === 'first') {
                $seconds += $pass['seconds'];
            }
        }
    }
    $sync[$size] = ['seconds' => $seconds, 'max_rss_kb' => getrusage(1)['ru_maxrss']];
    $report->note(sprintf(
        '%s SKUs: allocate_many %.1f ms (%.2f µs per SKU, PHP peak %s MiB), full sync to %s %.2f s (%.1f µs per SKU per channel); largest child resident set so far %s MiB',
        number_format($size),
        $allocation[$size]['ms'],
        $allocation[$size]['ms'] * 1000 / $size,
        number_format($allocation[$size]['peak_php_bytes'] / 1048576, 1),
        SYNC_KINDS,
        $seconds,
        $seconds * 1e6 / $size / 2,
        number_format($sync[$size]['max_rss_kb'] / 1024, 1)
    ));
}

$small = 10_000;
$large = SIZES[count(SIZES) - 1];
$perSku = static fn (float $total, int $size): float => $total / $size;
$linear = ['kind' => 'ratio', 'min' => 1 / 1.5, 'text' => 'linear: per SKU at 100k ≤ 1.5× per SKU at 10k (ratio ≥ 0.67×)'];
$report->figure(
    sprintf('allocate_many, µs per SKU at %s SKUs', number_format($large)),
    'µs',
    'lower',
    [$perSku($allocation[$large]['ms'] * 1000, $large)],
    sprintf('the same at %s SKUs', number_format($small)),
    [$perSku($allocation[$small]['ms'] * 1000, $small)],
    $linear,
    ['µs per SKU at 1,000' => $perSku($allocation[1_000]['ms'] * 1000, 1_000), 'PHP peak MiB at 100,000 (the catalogue arrays and the answer)' => $allocation[$large]['peak_php_bytes'] / 1048576]
);
$report->figure(
    sprintf('full sync to 2 channels, µs per SKU at %s SKUs', number_format($large)),
    'µs',
    'lower',
    [$perSku($sync[$large]['seconds'] * 1e6, $large)],
    sprintf('the same at %s SKUs', number_format($small)),
    [$perSku($sync[$small]['seconds'] * 1e6, $small)],
    $linear,
    ['µs per SKU at 1,000' => $perSku($sync[1_000]['seconds'] * 1e6, 1_000), 'resident set MiB of bench_sync at 100,000 (ledger, both fakes with every request they recorded, and the runner, in one process)' => $sync[$large]['max_rss_kb'] / 1024]
);
$report->finish();

