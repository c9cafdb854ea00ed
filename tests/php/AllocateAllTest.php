<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\ValidationException;
use InventorySync\Ledger;
use PHPUnit\Framework\TestCase;

/**
 * Ledger::allocateAll(): every item of the ledger allocated from the ledger's own stock — the same
 * numbers and explanations as Ledger::allocate() SKU by SKU, in SKU order, and refusals that
 * name the field.
 */
final class AllocateAllTest extends TestCase
{
    private ?string $dir = null;

    protected function tearDown(): void
    {
        if ($this->dir !== null) {
            foreach (glob($this->dir . '/*') ?: [] as $file) {
                unlink($file);
            }
            rmdir($this->dir);
            $this->dir = null;
        }
    }

    private function ledger(): Ledger
    {
        $this->dir = sys_get_temp_dir() . '/inventory-sync-allocate-all-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        $ledger = new Ledger($this->dir . '/ledger.sqlite');
        // Code order and priority order differ, and one location is closed.
        $ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main', 'priority' => 2]);
        $ledger->upsertLocation(['code' => 'WH2', 'name' => 'Shop floor', 'priority' => 1]);
        $ledger->upsertLocation(['code' => 'WH3', 'name' => 'Closed', 'priority' => 3, 'active' => false]);
        return $ledger;
    }

    /**
     * @return list<array<string, mixed>>
     */
    private static function rules(): array
    {
        return [
            ['channel_id' => 1, 'buffer' => 3, 'max' => 25, 'zero_threshold' => 1, 'include_incoming' => true],
            ['channel_id' => 2, 'percent' => 70, 'locations' => ['WH1']],
            ['channel_id' => 9, 'mode' => 'partitioned', 'weight' => 2, 'priority' => 1, 'include_supplier' => true],
            ['channel_id' => 7, 'mode' => 'partitioned', 'weight' => 2, 'priority' => 1, 'include_supplier' => true, 'locations' => ['WH2', 'WH3']],
            ['channel_id' => 8, 'mode' => 'partitioned', 'weight' => 1, 'priority' => 0, 'include_supplier' => true, 'buffer' => 1],
        ];
    }

    public function test_agrees_with_ledger_allocate_for_every_sku(): void
    {
        $ledger = $this->ledger();
        mt_srand(23);
        // Numeric and non-ASCII SKUs too; and items that never had a movement.
        $skus = ['42', 'Äpfel-1', 'zz', 'NO-STOCK'];
        for ($i = 0; $i < 40; $i++) {
            $skus[] = "SKU-$i";
        }
        $supplier = [];
        foreach ($skus as $i => $sku) {
            $ledger->upsertItem(['sku' => $sku, 'name' => "Item $i"]);
            $supplier[$sku] = $i % 3 === 0 ? $i - 10 : 0;
            if ($sku === 'NO-STOCK' || $i % 11 === 5) {
                continue;
            }
            foreach (['WH1', 'WH2', 'WH3'] as $code) {
                if (mt_rand(0, 4) === 0) {
                    continue;
                }
                $ledger->record(['event_id' => "$sku-$code-in", 'sku' => $sku, 'kind' => 'receive', 'location' => $code, 'quantity' => mt_rand(1, 40)]);
                if ($code !== 'WH3' && mt_rand(0, 2) === 0) {
                    $ledger->reserve(['event_id' => "$sku-$code-res", 'sku' => $sku, 'location' => $code, 'quantity' => 1]);
                }
                if (mt_rand(0, 2) === 0) {
                    // A sale is a fact: it may oversell the location.
                    $ledger->record(['event_id' => "$sku-$code-sale", 'sku' => $sku, 'kind' => 'sale', 'location' => $code, 'quantity' => mt_rand(1, 60)]);
                }
                $ledger->record(['event_id' => "$sku-$code-po", 'sku' => $sku, 'kind' => 'incoming', 'location' => $code, 'quantity' => mt_rand(0, 9)]);
            }
        }
        $rules = self::rules();

        $quantities = $ledger->allocateAll($rules, ['supplier_stock' => $supplier + ['NOT-AN-ITEM' => 5]]);
        $explained = $ledger->allocateAll($rules, ['supplier_stock' => $supplier, 'explain' => true]);

        // Every item, in byte order of the SKU; "42" is an integer key, as PHP makes it.
        $sorted = $skus;
        sort($sorted, SORT_STRING);
        self::assertSame($sorted, array_map('strval', array_keys($quantities)));
        self::assertSame(array_keys($quantities), array_keys($explained));
        self::assertArrayHasKey(42, $quantities);
        foreach ($skus as $sku) {
            $expected = $ledger->allocate($sku, $rules, ['supplier_stock' => $supplier[$sku]]);
            self::assertSame(array_column($expected, 'quantity'), $quantities[$sku], $sku);
            self::assertSame(
                array_map(static fn (array $a): array => ['quantity' => $a['quantity'], 'explanation' => $a['explanation']], $expected),
                $explained[$sku],
                $sku
            );
        }
        self::assertSame([0, 0, 0, 0, 0], $quantities['NO-STOCK']);
    }

    public function test_quantities_options_and_explanations(): void
    {
        $ledger = $this->ledger();
        $ledger->upsertItem(['sku' => 'B', 'name' => 'Second']);
        $ledger->upsertItem(['sku' => 'A', 'name' => 'First']);
        $ledger->recordBatch([
            ['event_id' => 'a1', 'sku' => 'A', 'kind' => 'receive', 'location' => 'WH1', 'quantity' => 9],
            ['event_id' => 'a2', 'sku' => 'A', 'kind' => 'receive', 'location' => 'WH2', 'quantity' => 3],
            ['event_id' => 'a3', 'sku' => 'A', 'kind' => 'incoming', 'location' => 'WH1', 'quantity' => 5],
            ['event_id' => 'a4', 'sku' => 'A', 'kind' => 'receive', 'location' => 'WH3', 'quantity' => 50],
        ]);
        $rules = [
            ['channel_id' => 1, 'include_incoming' => true],
            ['channel_id' => 2, 'include_supplier' => true, 'max' => 30],
        ];

        self::assertSame(['A' => [17, 12], 'B' => [0, 0]], $ledger->allocateAll($rules));
        self::assertSame(['A' => [17, 30], 'B' => [0, 4]], $ledger->allocateAll($rules, ['supplier_stock' => ['A' => 20, 'B' => 4]]));
        self::assertSame(['A' => [17, 12], 'B' => [0, 0]], $ledger->allocateAll($rules, ['explain' => false, 'supplier_stock' => null]));
        self::assertSame([
            'A' => [
                ['quantity' => 17, 'explanation' => 'available 12 (WH2 3 + WH1 9) + incoming 5 = 17'],
                ['quantity' => 30, 'explanation' => 'available 12 (WH2 3 + WH1 9) + supplier 20 = 32, max 30 → 30'],
            ],
            'B' => [
                ['quantity' => 0, 'explanation' => 'available 0 (no eligible location)'],
                ['quantity' => 0, 'explanation' => 'available 0 (no eligible location)'],
            ],
        ], $ledger->allocateAll($rules, ['supplier_stock' => ['A' => 20], 'explain' => true]));
        self::assertSame(['A' => [], 'B' => []], $ledger->allocateAll([]));
    }

    public function test_an_empty_ledger_allocates_nothing(): void
    {
        self::assertSame([], $this->ledger()->allocateAll(self::rules()));
    }

    /**
     * @return array<string, array{0: array<mixed>, 1: array<mixed>|null, 2: string}>
     */
    public static function refusals(): array
    {
        $rules = [['channel_id' => 1]];
        return [
            'rules not a list' => [['a' => ['channel_id' => 1]], null, 'rules: must be a list'],
            'rule not an array' => [[5], null, 'rules[0]: must be an array, got int'],
            'rule field' => [[['channel_id' => 1], ['channel_id' => 2, 'mode' => 'partitioned']], null, 'rules[1].weight: is required in partitioned mode'],
            'rule unknown field' => [[['channel_id' => 1, 'bufer' => 2]], null, 'rules[0].bufer: unknown field'],
            'rule without channel' => [[['name' => 'shop']], null, 'rules[0].channel_id: is required'],
            'rule check' => [[['channel_id' => 7, 'name' => 'eBay', 'buffer' => -1]], null, 'buffer: channel 7 (eBay): must not be negative, got −1'],
            'duplicate channel' => [[['channel_id' => 1], ['channel_id' => 1]], null, 'channel_id: channel 1 (channel 1) and channel 1 (channel 1) share an id'],
            'unknown option' => [$rules, ['explained' => true], 'explained: unknown field'],
            'locations are the ledger\'s' => [$rules, ['locations' => []], 'locations: unknown field'],
            'explain not bool' => [$rules, ['explain' => 1], 'explain: must be true or false, got int'],
            'supplier stock not an array' => [$rules, ['supplier_stock' => 5], 'supplier_stock: must be an array of sku => int, got int'],
            'supplier stock value' => [$rules, ['supplier_stock' => ['SKU-1' => '5']], 'supplier_stock[SKU-1]: must be an integer, got string'],
        ];
    }

    /**
     * @dataProvider refusals
     * @param array<mixed> $rules
     * @param array<mixed>|null $options
     */
    public function test_bad_input_is_refused_naming_the_field(array $rules, ?array $options, string $message): void
    {
        $ledger = $this->ledger();
        $ledger->upsertItem(['sku' => 'SKU-1', 'name' => 'One']);
        try {
            $ledger->allocateAll($rules, $options);
            self::fail('accepted');
        } catch (ValidationException $e) {
            self::assertSame(1, $e->getCode());
            self::assertStringStartsWith($message, $e->getMessage());
        }
    }
}
