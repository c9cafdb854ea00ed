<?php
/**
 * Recording movements from PHP into a ledger file on disk: Ledger::recordBatch() in batches of
 * 500 and Ledger::record() one per call, against plain PHP inserting the same number of movement
 * rows through PDO SQLite with the same settings (WAL, synchronous=NORMAL, busy timeout), one
 * transaction per insert. Afterwards the ledger's stock must equal the sum of what was recorded
 * (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/movements.php [--json=PATH]
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Ledger;
use PDO;

require __DIR__ . '/lib/bench.php';

require_extension();
if (!extension_loaded('pdo_sqlite')) {
    fwrite(STDERR, "pdo_sqlite is missing (Debian: apt-get install php8.2-sqlite3; ./build.sh deps installs it).\n");
    exit(2);
}

const RUNS = 3;
const BATCH = 500;
const BATCHED_PER_RUN = 10_000;
const SINGLE_PER_RUN = 2_000;
const SKUS = 1_000;

$report = new Report('movements');
$dir = temp_dir('movements');
$settings = ledger_sqlite_settings();
$report->note(sprintf(
    'ledger file in %s; SQLite as src/ledger/sqlite.rs opens it: journal_mode=%s, synchronous=%s, busy_timeout=%s, BEGIN IMMEDIATE per write',
    sys_get_temp_dir(),
    $settings['journal_mode'],
    $settings['synchronous'],
    $settings['busy_timeout']
));

$ledger = new Ledger("$dir/ledger.sqlite");
$ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main warehouse', 'priority' => 0]);
$ledger->upsertLocation(['code' => 'WH2', 'name' => 'Store', 'priority' => 1]);
for ($i = 0; $i < SKUS; $i++) {
    $ledger->upsertItem(['sku' => sku($i), 'name' => "Item $i"]);
}
$report->note(sprintf('%s items, 2 locations; movements: receipts (2 in 3) and sales (1 in 3) spread over every SKU', number_format(SKUS)));

$pdo = baseline_database("$dir/baseline.sqlite", $settings);
$insert = $pdo->prepare(
    'INSERT INTO movements (event_id, leg, sku, location, kind, quantity, delta, on_hand, reserved, incoming, origin, recorded_at)
     VALUES (?, 0, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)'
);
$baselineInserts = static function (int $count, string $prefix) use ($pdo, $insert): float {
    $t = now();
    for ($i = 0; $i < $count; $i++) {
        $m = movement($prefix, $i);
        $pdo->exec('BEGIN IMMEDIATE');
        $insert->execute([$m['event_id'], $m['sku'], $m['location'], $m['kind'], $m['quantity'], $m['kind'] === 'sale' ? -$m['quantity'] : $m['quantity'], 0, 'bench', time()]);
        $pdo->exec('COMMIT');
    }
    return $count / (now() - $t);
};

// Interleaved runs: ledger batches, PDO baseline for as many rows, ledger single records, PDO
// baseline for as many rows.
$expected = [];
$batched = $batchedBaseline = $single = $singleBaseline = [];
for ($run = 0; $run < RUNS; $run++) {
    $movements = [];
    for ($i = 0; $i < BATCHED_PER_RUN; $i++) {
        $movements[] = movement("batch$run", $i);
    }
    $t = now();
    foreach (array_chunk($movements, BATCH) as $chunk) {
        foreach ($ledger->recordBatch($chunk) as $k => $outcome) {
            if (!$outcome['ok']) {
                disagree('recordBatch refused a movement: ' . json_encode($outcome['error']) . ' for ' . json_encode($chunk[$k]));
            }
        }
    }
    $batched[] = BATCHED_PER_RUN / (now() - $t);
    expect($expected, $movements);

    $batchedBaseline[] = $baselineInserts(BATCHED_PER_RUN, "pdo-batch$run");

    $movements = [];
    for ($i = 0; $i < SINGLE_PER_RUN; $i++) {
        $movements[] = movement("single$run", $i);
    }
    $t = now();
    foreach ($movements as $movement) {
        $ledger->record($movement);
    }
    $single[] = SINGLE_PER_RUN / (now() - $t);
    expect($expected, $movements);

    $singleBaseline[] = $baselineInserts(SINGLE_PER_RUN, "pdo-single$run");
}

// The ledger must hold exactly what was recorded, and the baseline every row it inserted.
foreach ($expected as $sku => $locations) {
    $stock = $ledger->stock($sku);
    foreach ($stock['locations'] as $level) {
        $want = $locations[$level['location']] ?? 0;
        if ($level['on_hand'] !== $want) {
            disagree("$sku at {$level['location']}: on hand {$level['on_hand']}, recorded movements add up to $want");
        }
    }
}
$rows = (int) $pdo->query('SELECT COUNT(*) FROM movements')->fetchColumn();
if ($rows !== RUNS * (BATCHED_PER_RUN + SINGLE_PER_RUN)) {
    disagree("the baseline table holds $rows rows, expected " . RUNS * (BATCHED_PER_RUN + SINGLE_PER_RUN));
}
$journal = (new PDO("sqlite:$dir/ledger.sqlite"))->query('PRAGMA journal_mode')->fetchColumn();
$report->note(sprintf('checked: every SKU\'s on hand equals its recorded movements; ledger file journal_mode is %s', $journal));
unset($ledger, $insert, $pdo);

$report->figure(
    sprintf('Ledger::recordBatch, batches of %d, file on disk', BATCH),
    'movements/s',
    'higher',
    $batched,
    'PDO SQLite, one INSERT per transaction',
    $batchedBaseline,
    ['kind' => 'value', 'min' => 20_000.0, 'text' => '≥ 20,000/s'],
    ['movements per run' => (float) BATCHED_PER_RUN]
);
$report->figure(
    'Ledger::record, one movement per call, file on disk',
    'movements/s',
    'higher',
    $single,
    'PDO SQLite, one INSERT per transaction',
    $singleBaseline,
    ['kind' => 'value', 'min' => 1_000.0, 'text' => '≥ 1,000/s'],
    ['movements per run' => (float) SINGLE_PER_RUN]
);
$report->finish();

function sku(int $i): string
{
    return sprintf('MOV-%05d', $i);
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
        'location' => $i % 4 === 3 ? 'WH2' : 'WH1',
        'origin' => 'bench',
    ];
}

/**
 * The baseline: a movements table shaped like the ledger's (same columns, same unique key and
 * index) in its own file, opened with the ledger's settings.
 *
 * @param array{journal_mode: string, synchronous: string, busy_timeout: string} $settings
 */
function baseline_database(string $path, array $settings): PDO
{
    $pdo = new PDO("sqlite:$path", null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    $pdo->exec('PRAGMA busy_timeout = ' . (int) $settings['busy_timeout']);
    $pdo->exec('PRAGMA synchronous = ' . ($settings['synchronous'] === 'unknown' ? 'NORMAL' : $settings['synchronous']));
    $pdo->exec('PRAGMA journal_mode = WAL');
    $pdo->exec('CREATE TABLE movements (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id    TEXT NOT NULL,
        leg         INTEGER NOT NULL CHECK (leg IN (0, 1)),
        sku         TEXT NOT NULL,
        location    TEXT NOT NULL,
        kind        TEXT NOT NULL,
        quantity    INTEGER NOT NULL,
        delta       INTEGER NOT NULL,
        on_hand     INTEGER NOT NULL,
        reserved    INTEGER NOT NULL,
        incoming    INTEGER NOT NULL,
        reservation TEXT,
        origin      TEXT,
        reference   TEXT,
        note        TEXT,
        recorded_at INTEGER NOT NULL,
        UNIQUE (event_id, leg)
    )');
    $pdo->exec('CREATE INDEX movements_sku ON movements (sku, id)');
    return $pdo;
}
