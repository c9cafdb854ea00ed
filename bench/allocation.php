<?php
/**
 * Bulk channel allocation: InventorySync\allocate_many() against the same rules written in plain
 * PHP (bench/lib/allocation.php), on a deterministic catalogue of 100,000 SKUs × 3 locations and
 * 5 channels. Both must give identical quantities for every SKU (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/allocation.php [--skus=N] [--json=PATH]
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/allocation.php';
require __DIR__ . '/lib/catalogue.php';

require_extension();

$skus = 100_000;
foreach ($argv as $arg) {
    if (str_starts_with($arg, '--skus=')) {
        $skus = max(1, (int) substr($arg, 7));
    }
}
const EXTENSION_RUNS = 7;
const PHP_RUNS = 3;

$report = new Report('allocation');
$started = now();
$stock = catalogue_stock($skus);
$rules = catalogue_rules();
$options = ['locations' => catalogue_locations(), 'supplier_stock' => catalogue_supplier_stock($stock)];
$report->note(sprintf(
    'catalogue: %s SKUs × %d locations, %d channel rules (%s), supplier stock for %s SKUs; built in %.2f s',
    number_format($skus),
    count(catalogue_locations()),
    count($rules),
    implode(', ', array_map(static fn (array $r): string => $r['name'] . ' ' . ($r['mode'] ?? 'shared'), $rules)),
    number_format(count($options['supplier_stock'])),
    now() - $started
));
$report->note(sprintf(
    'PHP %s, opcache.enable_cli=%s, JIT=%s (the baseline runs as this PHP is configured)',
    PHP_VERSION,
    ini_get('opcache.enable_cli') ? 'on' : 'off',
    (ini_get('opcache.enable_cli') && ini_get('opcache.jit') && ini_get('opcache.jit') !== 'off' && (int) ini_get('opcache.jit_buffer_size') > 0) ? ini_get('opcache.jit') : 'off'
));

// The reference answer, and the first check: every SKU, every channel, identical.
$expected = allocate_many($stock, $rules, $options);
$got = \InventorySync\allocate_many($stock, $rules, $options);
check_same($expected, $got, 'the catalogue');
unset($got);

// Corners the catalogue rarely reaches (inactive and unknown locations, numeric location codes,
// percent 0 and 100, weight 0, big numbers): checked, not timed.
$corner = corner_catalogue();
check_same(
    allocate_many($corner['stock'], $corner['rules'], $corner['options']),
    \InventorySync\allocate_many($corner['stock'], $corner['rules'], $corner['options']),
    'the corner catalogue'
);
$report->note(sprintf('agreement: identical quantities for all %s SKUs, and for %s corner-case SKUs', number_format($skus), number_format(count($corner['stock']))));
unset($corner);

// Timed runs, interleaved so that both sides see the same machine. Each run starts with no
// garbage pending and its result is freed outside the timing.
$extension = [];
$plain = [];
for ($run = 0; $run < max(EXTENSION_RUNS, PHP_RUNS); $run++) {
    if ($run < EXTENSION_RUNS) {
        gc_collect_cycles();
        $t = now();
        $got = \InventorySync\allocate_many($stock, $rules, $options);
        $extension[] = (now() - $t) * 1000;
        check_same($expected, $got, "timed run $run of allocate_many");
        unset($got);
    }
    if ($run < PHP_RUNS) {
        gc_collect_cycles();
        $t = now();
        $got = allocate_many($stock, $rules, $options);
        $plain[] = (now() - $t) * 1000;
        check_same($expected, $got, "timed run $run of the PHP port");
        unset($got);
    }
}

// Context: how long plain PHP takes merely to walk the same input, without allocating anything.
$walk = [];
for ($run = 0; $run < PHP_RUNS; $run++) {
    gc_collect_cycles();
    $t = now();
    $sum = 0;
    foreach ($stock as $levels) {
        foreach ($levels as [$onHand, $reserved, $incoming]) {
            $sum += $onHand + $reserved + $incoming;
        }
    }
    $walk[] = (now() - $t) * 1000;
}

// Context: the same call with no rules, i.e. only reading the stock and writing one (empty) list
// per SKU: the part of the call no rule arithmetic can speed up.
$conversion = [];
for ($run = 0; $run < PHP_RUNS; $run++) {
    gc_collect_cycles();
    $t = now();
    $got = \InventorySync\allocate_many($stock, [], $options);
    $conversion[] = (now() - $t) * 1000;
    unset($got);
}

// Context: the same call with explanations (strings for every quantity).
gc_collect_cycles();
$t = now();
$explained = \InventorySync\allocate_many($stock, $rules, $options + ['explain' => true]);
$explainMs = (now() - $t) * 1000;
foreach ($expected as $sku => $quantities) {
    if (array_column($explained[$sku], 'quantity') !== $quantities) {
        disagree("allocate_many with explain=true gives other quantities for $sku");
    }
}
unset($explained);

$report->figure(
    sprintf('allocate_many, %sk SKUs × 5 channels × 3 locations', number_format($skus / 1000)),
    'ms',
    'lower',
    $extension,
    'same rules in plain PHP 8.2',
    $plain,
    ['kind' => 'ratio', 'min' => 30.0, 'text' => '≥ 30×'],
    [
        'ns per SKU, allocate_many' => median($extension) * 1e6 / $skus,
        'ns per SKU, plain PHP' => median($plain) * 1e6 / $skus,
        'ms, plain PHP merely walking the input (median)' => median($walk),
        'ms, allocate_many with no rules: stock in, empty lists out (median)' => median($conversion),
        'ms, allocate_many with explain=true (one run)' => $explainMs,
    ]
);
$report->finish();

/**
 * Exits 1 unless both answers hold the same SKUs, in the same order, with the same quantities.
 *
 * @param array<string|int, list<int>> $expected
 * @param array<string|int, list<int>> $got
 */
function check_same(array $expected, array $got, string $what): void
{
    if ($expected === $got) {
        return;
    }
    if (array_keys($expected) !== array_keys($got)) {
        disagree("$what: the SKUs or their order differ");
    }
    foreach ($expected as $sku => $quantities) {
        if ($got[$sku] !== $quantities) {
            disagree(sprintf('%s: SKU %s: plain PHP says [%s], the extension says [%s]', $what, $sku, implode(', ', $quantities), implode(', ', $got[$sku])));
        }
    }
    disagree("$what: the answers differ");
}
