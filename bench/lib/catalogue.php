<?php
/**
 * A deterministic catalogue for the allocation benchmark: the same SKUs, stock and rules on every
 * run and every machine (mt_rand with a fixed seed is stable across PHP versions since 7.1).
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

/**
 * $count SKUs with stock at WH1, WH2 and WH3: [on_hand, reserved, incoming] each. Some locations
 * are oversold (negative on hand) or over-reserved, most have something incoming.
 *
 * @return array<string, array<string, array{0: int, 1: int, 2: int}>>
 */
function catalogue_stock(int $count, int $seed = 20_240_601): array
{
    mt_srand($seed);
    $stock = [];
    for ($i = 1; $i <= $count; $i++) {
        $levels = [];
        foreach (['WH1', 'WH2', 'WH3'] as $code) {
            $onHand = mt_rand(0, 19) === 0 ? -mt_rand(1, 5) : mt_rand(0, 240);
            $levels[$code] = [$onHand, mt_rand(0, 3) === 0 ? mt_rand(0, 30) : 0, mt_rand(0, 2) === 0 ? 0 : mt_rand(1, 60)];
        }
        $stock[sprintf('SKU-%06d', $i)] = $levels;
    }
    return $stock;
}

/**
 * Supplier stock for every seventh SKU (some of it negative: a backorder at the supplier).
 *
 * @param array<string, mixed> $stock
 * @return array<string, int>
 */
function catalogue_supplier_stock(array $stock, int $seed = 7): array
{
    mt_srand($seed);
    $supplier = [];
    $i = 0;
    foreach ($stock as $sku => $_) {
        if ($i++ % 7 === 0) {
            $supplier[$sku] = mt_rand(-20, 400);
        }
    }
    return $supplier;
}

/**
 * The three locations: priorities, all active.
 *
 * @return array<string, array{priority: int, active: bool}>
 */
function catalogue_locations(): array
{
    return [
        'WH1' => ['priority' => 0, 'active' => true],
        'WH2' => ['priority' => 1, 'active' => true],
        'WH3' => ['priority' => 2, 'active' => true],
    ];
}

/**
 * Five channels: two shared (buffer + max + zero threshold + incoming; percent over two
 * locations) and three partitioned (weights 3 : 2 : 1 with supplier stock, own locations,
 * buffer, cap and threshold, and equal priorities so ties fall to the channel id).
 *
 * @return list<array<string, mixed>>
 */
function catalogue_rules(): array
{
    return [
        ['channel_id' => 1, 'name' => 'shop', 'buffer' => 2, 'max' => 150, 'zero_threshold' => 1, 'include_incoming' => true],
        ['channel_id' => 2, 'name' => 'marketplace', 'percent' => 80, 'zero_threshold' => 3, 'locations' => ['WH1', 'WH2']],
        ['channel_id' => 5, 'name' => 'ebay', 'mode' => 'partitioned', 'weight' => 3, 'priority' => 1, 'buffer' => 1, 'max' => 90, 'include_supplier' => true],
        ['channel_id' => 4, 'name' => 'amazon', 'mode' => 'partitioned', 'weight' => 2, 'priority' => 1, 'locations' => ['WH1', 'WH3'], 'include_supplier' => true],
        ['channel_id' => 3, 'name' => 'etsy', 'mode' => 'partitioned', 'weight' => 1, 'priority' => 2, 'zero_threshold' => 2, 'locations' => ['WH2'], 'include_supplier' => true],
    ];
}

/**
 * A small catalogue that walks the corners the big one rarely reaches — an inactive location,
 * unknown locations, zero and huge weights of stock, percent 0 and 100, every weight 0 — for the
 * agreement check only (not timed).
 *
 * @return array{stock: array<string, mixed>, rules: list<array<string, mixed>>, options: array<string, mixed>}
 */
function corner_catalogue(int $count = 3000, int $seed = 99): array
{
    mt_srand($seed);
    $codes = ['WH1', 'WH2', 'WH3', 'SHOP', '7'];
    $stock = [];
    $supplier = [];
    for ($i = 0; $i < $count; $i++) {
        $levels = [];
        foreach ($codes as $code) {
            if (mt_rand(0, 3) === 0) {
                continue;
            }
            $levels[$code] = [mt_rand(-50, 1_000_000), mt_rand(0, 500), mt_rand(0, 100)];
        }
        $sku = "C-$i";
        $stock[$sku] = $levels;
        if (mt_rand(0, 1) === 0) {
            $supplier[$sku] = mt_rand(-2000, 2000);
        }
    }
    $rules = [
        ['channel_id' => 10, 'percent' => 0],
        ['channel_id' => 11, 'percent' => 100, 'max' => 500_000, 'locations' => ['WH1', '7']],
        ['channel_id' => 12, 'percent' => 33, 'include_supplier' => true, 'include_incoming' => true],
        ['channel_id' => 13, 'buffer' => 100, 'zero_threshold' => 50, 'locations' => ['SHOP', 'WH9']],
        ['channel_id' => 20, 'mode' => 'partitioned', 'weight' => 7, 'priority' => 3, 'include_incoming' => true, 'locations' => ['WH1']],
        ['channel_id' => 19, 'mode' => 'partitioned', 'weight' => 7, 'priority' => 3, 'include_incoming' => true, 'locations' => ['WH2', '7'], 'buffer' => 3],
        ['channel_id' => 18, 'mode' => 'partitioned', 'weight' => 0, 'priority' => -1, 'include_incoming' => true],
        ['channel_id' => 17, 'mode' => 'partitioned', 'weight' => 11, 'priority' => 0, 'include_incoming' => true, 'max' => 10, 'zero_threshold' => 4],
    ];
    $options = [
        'locations' => [
            'WH1' => ['priority' => 2],
            'WH2' => ['priority' => 1, 'active' => false],
            'SHOP' => ['priority' => 0, 'active' => true],
        ],
        'supplier_stock' => $supplier,
    ];
    return ['stock' => $stock, 'rules' => $rules, 'options' => $options];
}

/**
 * Records $stock into $ledger through the extension, so that the ledger holds exactly that
 * stock: the locations, one item per SKU, and per level the movements that leave
 * [on_hand, reserved, incoming] there — a stock count (adjustment), a reservation (after a count
 * that covers it, then the real count), a sale from what is there for a negative on hand, and the
 * incoming figure. Batches of up to 1,000 movements. Returns the number of movements recorded.
 *
 * @param array<string|int, array<string|int, array{0: int, 1: int, 2: int}>> $stock
 * @param array<string|int, array{priority?: int, active?: bool}> $locations
 */
function record_catalogue(\InventorySync\Ledger $ledger, array $stock, array $locations): int
{
    foreach ($locations as $code => $setting) {
        $ledger->upsertLocation([
            'code' => (string) $code,
            'name' => "Location $code",
            'priority' => $setting['priority'] ?? 0,
            'active' => $setting['active'] ?? true,
        ]);
    }
    $recorded = 0;
    $batch = [];
    $flush = static function () use ($ledger, &$batch, &$recorded): void {
        foreach ($ledger->recordBatch($batch) as $i => $outcome) {
            if (!$outcome['ok']) {
                disagree('recording the catalogue failed: ' . json_encode($outcome['error']) . ' for ' . json_encode($batch[$i]));
            }
        }
        $recorded += count($batch);
        $batch = [];
    };
    foreach ($stock as $sku => $levels) {
        $sku = (string) $sku;
        $ledger->upsertItem(['sku' => $sku, 'name' => "Item $sku"]);
        foreach ($levels as $code => [$onHand, $reserved, $incoming]) {
            $at = ['sku' => $sku, 'location' => (string) $code];
            $id = "$sku@$code";
            $there = 0;
            if ($reserved > 0) {
                // A reservation needs the units available when it is made.
                $batch[] = $at + ['event_id' => "$id:cover", 'kind' => 'adjustment', 'quantity' => $reserved];
                $batch[] = $at + ['event_id' => "$id:reserve", 'kind' => 'reserve', 'quantity' => $reserved];
                $there = $reserved;
            }
            if ($onHand < 0) {
                // A sale is a fact: it may take on hand below zero.
                $batch[] = $at + ['event_id' => "$id:sale", 'kind' => 'sale', 'quantity' => $there - $onHand];
            } elseif ($onHand !== $there || $reserved === 0) {
                $batch[] = $at + ['event_id' => "$id:count", 'kind' => 'adjustment', 'quantity' => $onHand];
            }
            if ($incoming > 0) {
                $batch[] = $at + ['event_id' => "$id:po", 'kind' => 'incoming', 'quantity' => $incoming];
            }
        }
        if (count($batch) > 950) {
            $flush();
        }
    }
    if ($batch !== []) {
        $flush();
    }
    return $recorded;
}

/**
 * A ledger file at $path with $count SKUs (`READ-00000` …) received at every one of $locations
 * (code => priority), quantities 1–500 from a fixed seed: what the read benchmarks read.
 *
 * @param array<string, int> $locations
 */
function read_ledger(string $path, int $count, array $locations): \InventorySync\Ledger
{
    $ledger = new \InventorySync\Ledger($path);
    foreach ($locations as $code => $priority) {
        $ledger->upsertLocation(['code' => $code, 'name' => "Location $code", 'priority' => $priority]);
    }
    mt_srand(5);
    $movements = [];
    for ($i = 0; $i < $count; $i++) {
        $sku = sprintf('READ-%05d', $i);
        $ledger->upsertItem(['sku' => $sku, 'name' => "Item $i"]);
        foreach ($locations as $code => $_) {
            $movements[] = ['event_id' => "$sku-$code", 'sku' => $sku, 'kind' => 'receive', 'location' => $code, 'quantity' => mt_rand(1, 500)];
        }
    }
    foreach (array_chunk($movements, 500) as $chunk) {
        foreach ($ledger->recordBatch($chunk) as $outcome) {
            if (!$outcome['ok']) {
                disagree('setting up the ledger failed: ' . json_encode($outcome['error']));
            }
        }
    }
    return $ledger;
}
