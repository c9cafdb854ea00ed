<?php
/**
 * Bulk channel allocation on a deterministic catalogue of 100,000 SKUs × 3 locations and
 * 5 channels, two figures:
 * - stock in PHP arrays: InventorySync\allocate_many() against the same rules written in plain
 *   PHP (bench/lib/allocation.php); allocate_many works a catalogue this size out on up to 4
 *   threads (the cores there are), so its figure on one thread is printed too;
 * - stock in a ledger file (the catalogue recorded through the extension first, not timed):
 *   Ledger::allocateAll() against reading the same file's stock with PDO SQLite and running the
 *   plain-PHP rules on it (no target: both sides' SQLite read is in it; see below).
 * Every answer must give identical quantities for every SKU (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/allocation.php [--skus=N] [--json=PATH]
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Ledger;
use PDO;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/allocation.php';
require __DIR__ . '/lib/catalogue.php';

require_extension();
if (!extension_loaded('pdo_sqlite')) {
    fwrite(STDERR, "pdo_sqlite is missing (Debian: apt-get install php8.2-sqlite3; ./build.sh deps installs it).\n");
    exit(2);
}

$skus = 100_000;
foreach ($argv as $arg) {
    if (str_starts_with($arg, '--skus=')) {
        $skus = max(1, (int) substr($arg, 7));
    }
}
const EXTENSION_RUNS = 7;
const PHP_RUNS = 3;
const LEDGER_RUNS = 7;
const PDO_RUNS = 3;
/** The baseline's stock query: every stock level, in primary-key order (so by SKU). */
const STOCK_QUERY = 'SELECT sku, location, on_hand, reserved, incoming FROM stock_levels ORDER BY sku, location';

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

// Timed runs, interleaved so that both sides see the same machine; each starts with no garbage
// pending and its result is freed outside the timing. Each side builds its 100,000 result lists
// from the memory its own previous call freed, as repeated calls of one side do. PHP hands freed
// blocks out again last-in first-out, so both results are held until both sides have run, and
// the result of the side that runs first in the next round is freed last: its own blocks are then
// the first it takes back, and the other side's lie beneath, left for the other side. (A call
// right after the other side freed its result builds on that side's blocks; the baseline leaves
// them scattered over the heap, and writing the lists then costs more: the second figure below.)
// One untimed round first, so that the first timed round starts that way too.
$extension = [];
$plain = [];
for ($run = -1; $run < max(EXTENSION_RUNS, PHP_RUNS); $run++) {
    $baseline = null;
    if ($run < PHP_RUNS) {
        gc_collect_cycles();
        $t = now();
        $baseline = allocate_many($stock, $rules, $options);
        $ms = (now() - $t) * 1000;
        if ($run >= 0) {
            $plain[] = $ms;
        }
    }
    $got = null;
    if ($run < EXTENSION_RUNS) {
        gc_collect_cycles();
        $t = now();
        $got = \InventorySync\allocate_many($stock, $rules, $options);
        $ms = (now() - $t) * 1000;
        if ($run >= 0) {
            $extension[] = $ms;
        }
        check_same($expected, $got, "run $run of allocate_many");
    }
    if ($baseline !== null) {
        check_same($expected, $baseline, "run $run of the PHP port");
    }
    if ($run + 1 < PHP_RUNS) {
        // The baseline runs first in the next round.
        unset($got, $baseline);
    } else {
        unset($baseline, $got);
    }
}

// The same call right after the plain-PHP run has freed its result, i.e. building its lists on
// the blocks that run left (as the rounds above did before each side got its own blocks back).
$afterBaseline = [];
$plainBefore = [];
for ($run = 0; $run < PHP_RUNS; $run++) {
    gc_collect_cycles();
    $t = now();
    $baseline = allocate_many($stock, $rules, $options);
    $plainBefore[] = (now() - $t) * 1000;
    check_same($expected, $baseline, "run $run of the PHP port before allocate_many");
    unset($baseline);
    gc_collect_cycles();
    $t = now();
    $got = \InventorySync\allocate_many($stock, $rules, $options);
    $afterBaseline[] = (now() - $t) * 1000;
    check_same($expected, $got, "run $run of allocate_many after the PHP port");
    unset($got);
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

// Context: the same call kept to one thread (by default a catalogue this size is worked out on
// up to 4 cores, then written out as PHP arrays on the calling thread).
$oneThread = [];
for ($run = 0; $run < PHP_RUNS; $run++) {
    gc_collect_cycles();
    $t = now();
    $got = \InventorySync\allocate_many($stock, $rules, $options + ['threads' => 1]);
    $oneThread[] = (now() - $t) * 1000;
    check_same($expected, $got, "run $run of allocate_many on one thread");
    unset($got);
}
$cores = (int) trim((string) shell_exec('nproc 2>/dev/null')) ?: 1;

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
    sprintf('allocate_many, %sk SKUs × 5 channels × 3 locations, stock passed in PHP arrays', number_format($skus / 1000)),
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
        sprintf('ms, allocate_many kept to one thread (median; the figure above may use up to 4 threads, this machine has %d cores)', $cores) => median($oneThread),
        'ms, allocate_many with explain=true (one run)' => $explainMs,
    ]
);

// The same, each call of ours right after a plain-PHP run freed its result: on the blocks the
// baseline leaves scattered (no target: the headline above has each side on its own blocks).
$report->figure(
    sprintf('allocate_many, %sk SKUs, each call right after the plain-PHP run freed its result', number_format($skus / 1000)),
    'ms',
    'lower',
    $afterBaseline,
    'same rules in plain PHP 8.2, the run before each',
    $plainBefore,
    null
);

// The second figure: the same catalogue in a ledger file, allocated from the ledger's own stock
// (what a full sync does) against the way a plain-PHP plugin would do it: read the stock with
// PDO SQLite, then run the same rules in PHP.
$dir = temp_dir('allocation');
$path = "$dir/ledger.sqlite";
$t = now();
$ledger = new Ledger($path);
$recorded = record_catalogue($ledger, $stock, catalogue_locations());
$report->note(sprintf(
    'ledger file in %s: the same %s SKUs recorded through the extension (%s items, %s movements) in %.1f s, not timed',
    sys_get_temp_dir(),
    number_format($skus),
    number_format($skus),
    number_format($recorded),
    now() - $t
));
$supplier = ['supplier_stock' => $options['supplier_stock']];
$pdo = new PDO("sqlite:$path", null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$pdo->exec('PRAGMA busy_timeout = 5000');
$report->note('baseline: PDO SQLite on the same file, ' . STOCK_QUERY . ' (and the locations), fetched into [sku => [location => [on_hand, reserved, incoming]]], then the plain-PHP rules');

// Agreement: both read the ledger and both must give the catalogue's own answer.
check_same($expected, $ledger->allocateAll($rules, $supplier), 'Ledger::allocateAll against the catalogue in memory');
check_same($expected, allocate_from_pdo($pdo, $rules, $supplier['supplier_stock']), 'PDO + plain PHP against the catalogue in memory');
$report->note(sprintf('agreement: Ledger::allocateAll and PDO + plain PHP both give the in-memory answer for all %s SKUs', number_format($skus)));
unset($stock);

$fromLedger = [];
$fromPdo = [];
for ($run = 0; $run < max(LEDGER_RUNS, PDO_RUNS); $run++) {
    if ($run < LEDGER_RUNS) {
        gc_collect_cycles();
        $t = now();
        $got = $ledger->allocateAll($rules, $supplier);
        $fromLedger[] = (now() - $t) * 1000;
        check_same($expected, $got, "timed run $run of Ledger::allocateAll");
        unset($got);
    }
    if ($run < PDO_RUNS) {
        gc_collect_cycles();
        $t = now();
        $got = allocate_from_pdo($pdo, $rules, $supplier['supplier_stock']);
        $fromPdo[] = (now() - $t) * 1000;
        check_same($expected, $got, "timed run $run of PDO + plain PHP");
        unset($got);
    }
}

// Context: how long the baseline spends merely reading the stock into PHP arrays.
$pdoRead = [];
for ($run = 0; $run < PDO_RUNS; $run++) {
    gc_collect_cycles();
    $t = now();
    $read = read_stock_with_pdo($pdo);
    $pdoRead[] = (now() - $t) * 1000;
    unset($read);
}

// Context: the same call with no rules (the ledger read and one empty list per SKU), and with
// explanations.
$ledgerRead = [];
for ($run = 0; $run < PDO_RUNS; $run++) {
    gc_collect_cycles();
    $t = now();
    $got = $ledger->allocateAll([]);
    $ledgerRead[] = (now() - $t) * 1000;
    unset($got);
}
gc_collect_cycles();
$t = now();
$explained = $ledger->allocateAll($rules, $supplier + ['explain' => true]);
$explainMs = (now() - $t) * 1000;
foreach ($expected as $sku => $quantities) {
    if (array_column($explained[$sku], 'quantity') !== $quantities) {
        disagree("Ledger::allocateAll with explain=true gives other quantities for $sku");
    }
}
unset($explained, $ledger, $pdo);

// No target here: the ≥ 30× of the allocation itself is the figure above. This one adds reading
// 300,000 stock levels from SQLite to both sides, which no allocation code can shorten (the
// no-rules call above: the ledger read and empty lists alone take most of the time), so its
// ratio shows what a full sync gains end to end, not how fast the allocation is.
$report->figure(
    sprintf('Ledger::allocateAll, %sk SKUs × 5 channels × 3 locations, stock read from a ledger file', number_format($skus / 1000)),
    'ms',
    'lower',
    $fromLedger,
    'PDO SQLite read + same rules in plain PHP 8.2',
    $fromPdo,
    null,
    [
        'ns per SKU, Ledger::allocateAll' => median($fromLedger) * 1e6 / $skus,
        'ns per SKU, PDO + plain PHP' => median($fromPdo) * 1e6 / $skus,
        'ms, PDO merely reading the stock into PHP arrays (median)' => median($pdoRead),
        'ms, Ledger::allocateAll with no rules: ledger read, empty lists out (median)' => median($ledgerRead),
        'ms, Ledger::allocateAll with explain=true (one run)' => $explainMs,
    ]
);
$report->finish();

/**
 * The stock of a ledger file read the way a plain-PHP plugin would: PDO SQLite, one query for the
 * levels and one for the locations, into the arrays bench/lib/allocation.php takes.
 *
 * @return array{0: array<string|int, array<string|int, array{0: int, 1: int, 2: int}>>, 1: array<string|int, array{priority: int, active: bool}>}
 */
function read_stock_with_pdo(PDO $pdo): array
{
    $locations = [];
    foreach ($pdo->query('SELECT code, priority, active FROM locations', PDO::FETCH_NUM) as [$code, $priority, $active]) {
        $locations[$code] = ['priority' => (int) $priority, 'active' => (bool) $active];
    }
    $stock = [];
    foreach ($pdo->query(STOCK_QUERY, PDO::FETCH_NUM) as [$sku, $code, $onHand, $reserved, $incoming]) {
        $stock[$sku][$code] = [$onHand, $reserved, $incoming];
    }
    return [$stock, $locations];
}

/**
 * The baseline: the ledger file's stock read with PDO, then the plain-PHP rules.
 *
 * @param list<array<string, mixed>> $rules
 * @param array<string|int, int> $supplier
 * @return array<string|int, list<int>>
 */
function allocate_from_pdo(PDO $pdo, array $rules, array $supplier): array
{
    [$stock, $locations] = read_stock_with_pdo($pdo);
    return allocate_many($stock, $rules, ['locations' => $locations, 'supplier_stock' => $supplier]);
}

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
