<?php
/**
 * One worker of LedgerProcessesTest: records its share of a deterministic event list into a
 * shared ledger file, mixing single records and batches. Usage:
 *   php -d extension=… ledger-worker.php <ledger file> <worker> <workers> <events>
 * Prints a JSON summary: how many of its events were first recordings and how many replays.
 */

declare(strict_types=1);

require __DIR__ . '/ledger-events.php';

[$file, $worker, $workers, $count] = [$argv[1], (int) $argv[2], (int) $argv[3], (int) $argv[4]];
$ledger = new InventorySync\Ledger($file, ['busy_timeout_ms' => 20000]);
$mine = [];
foreach (inventory_sync_test_events($count) as $i => $event) {
    // Every event has an owner; every fifth is also sent by the next worker (a duplicate
    // delivery racing the original).
    if ($i % $workers === $worker || ($i % 5 === 0 && ($i + 1) % $workers === $worker)) {
        $mine[] = $event;
    }
}
// Each worker walks its events in its own shuffled order.
mt_srand(1000 + $worker);
shuffle($mine);

$first = 0;
$replays = 0;
$failed = 0;
foreach (array_chunk($mine, 7) as $n => $chunk) {
    if ($n % 2 === 0) {
        foreach ($chunk as $event) {
            $outcome = $ledger->record($event);
            $outcome['replayed'] ? $replays++ : $first++;
        }
    } else {
        foreach ($ledger->recordBatch($chunk) as $result) {
            if (!$result['ok']) {
                $failed++;
                fwrite(STDERR, json_encode($result) . "\n");
            } else {
                $result['replayed'] ? $replays++ : $first++;
            }
        }
    }
}
echo json_encode(['worker' => $worker, 'first' => $first, 'replays' => $replays, 'failed' => $failed]);
