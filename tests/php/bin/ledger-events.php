<?php
/**
 * The deterministic event list shared by LedgerProcessesTest and its workers: receipts and sales
 * (facts, allowed below zero) over three SKUs at two locations.
 *
 * @return list<array{event_id: string, sku: string, kind: string, quantity: int, location: string}>
 */

declare(strict_types=1);

function inventory_sync_test_events(int $count): array
{
    $events = [];
    $x = 42;
    for ($i = 0; $i < $count; $i++) {
        $x = ($x * 1103515245 + 12345) % 2147483648;
        $events[] = [
            'event_id' => sprintf('evt-%05d', $i),
            'sku' => ['A', 'B', 'C'][$x % 3],
            'kind' => ($x >> 4) % 3 === 0 ? 'sale' : 'receive',
            'quantity' => 1 + ($x >> 8) % 9,
            'location' => ['WH1', 'WH2'][($x >> 12) % 2],
        ];
    }
    return $events;
}
