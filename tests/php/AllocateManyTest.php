<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\ValidationException;
use InventorySync\Ledger;
use PHPUnit\Framework\TestCase;

use function InventorySync\allocate_many;

/**
 * InventorySync\allocate_many(): the shape of its answer, its order, agreement with
 * Ledger::allocate() on the same stock, and refusals that name the field.
 */
final class AllocateManyTest extends TestCase
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

    /**
     * @return list<array<string, mixed>>
     */
    private static function rules(): array
    {
        return [
            ['channel_id' => 1, 'name' => 'shop', 'buffer' => 2, 'max' => 8],
            ['channel_id' => 2, 'name' => 'marketplace', 'percent' => 50, 'locations' => ['WH2']],
            ['channel_id' => 3, 'mode' => 'partitioned', 'weight' => 2, 'include_supplier' => true],
            ['channel_id' => 4, 'mode' => 'partitioned', 'weight' => 1, 'include_supplier' => true, 'zero_threshold' => 1],
        ];
    }

    public function test_quantities_come_in_rule_order_keyed_like_the_stock(): void
    {
        $stock = [
            'SKU-1' => ['WH1' => [9, 0, 0], 'WH2' => [3, 0, 0]],
            'SKU-2' => ['WH1' => [1, 1, 0]],
            'SKU-3' => [],
        ];

        self::assertSame([
            'SKU-1' => [8, 1, 8, 4],
            'SKU-2' => [0, 0, 0, 0],
            'SKU-3' => [0, 0, 0, 0],
        ], allocate_many($stock, self::rules()));
        self::assertSame([], allocate_many([], self::rules()));
        self::assertSame(['SKU-1' => []], allocate_many(['SKU-1' => ['WH1' => [5, 0, 0]]], []));
    }

    public function test_sku_order_and_keys_are_the_callers_including_numeric_ones(): void
    {
        $stock = ['Z' => ['WH1' => [1, 0, 0]], '42' => ['WH1' => [2, 0, 0]], 'A' => ['WH1' => [3, 0, 0]], 7 => ['WH1' => [4, 0, 0]]];
        $out = allocate_many($stock, [['channel_id' => 1]]);

        self::assertSame(['Z', 42, 'A', 7], array_keys($out));
        self::assertSame([[1], [2], [3], [4]], array_values($out));
    }

    public function test_options_locations_supplier_stock_and_explain(): void
    {
        $stock = ['SKU-1' => ['WH1' => [9, 0, 4], 'WH2' => [3, 0, 1], 'WH3' => [50, 0, 0]]];
        $rules = [
            ['channel_id' => 1, 'include_incoming' => true],
            ['channel_id' => 2, 'include_supplier' => true, 'max' => 60],
        ];
        $options = [
            'locations' => ['WH1' => ['priority' => 2], 'WH2' => ['priority' => 1], 'WH3' => ['active' => false]],
            'supplier_stock' => ['SKU-1' => 20, 'NOT-IN-STOCK' => 5],
        ];

        self::assertSame(['SKU-1' => [17, 32]], allocate_many($stock, $rules, $options));
        self::assertSame([
            'SKU-1' => [
                ['quantity' => 17, 'explanation' => 'available 12 (WH2 3 + WH1 9) + incoming 5 = 17'],
                ['quantity' => 32, 'explanation' => 'available 12 (WH2 3 + WH1 9) + supplier 20 = 32'],
            ],
        ], allocate_many($stock, $rules, $options + ['explain' => true]));
        self::assertSame(['SKU-1' => [17, 32]], allocate_many($stock, $rules, $options + ['explain' => false]));
    }

    public function test_agrees_with_ledger_allocate_on_the_same_stock(): void
    {
        $this->dir = sys_get_temp_dir() . '/inventory-sync-allocate-many-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        $ledger = new Ledger($this->dir . '/ledger.sqlite');
        $ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main', 'priority' => 2]);
        $ledger->upsertLocation(['code' => 'WH2', 'name' => 'Shop floor', 'priority' => 1]);
        $ledger->upsertLocation(['code' => 'WH3', 'name' => 'Closed', 'priority' => 3, 'active' => false]);
        mt_srand(11);
        $skus = [];
        for ($i = 0; $i < 40; $i++) {
            $sku = "AGREE-$i";
            $skus[] = $sku;
            $ledger->upsertItem(['sku' => $sku, 'name' => "Item $i"]);
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
        $rules = [
            ['channel_id' => 1, 'buffer' => 3, 'max' => 25, 'zero_threshold' => 1, 'include_incoming' => true],
            ['channel_id' => 2, 'percent' => 70, 'locations' => ['WH1']],
            ['channel_id' => 9, 'mode' => 'partitioned', 'weight' => 2, 'priority' => 1, 'include_supplier' => true],
            ['channel_id' => 7, 'mode' => 'partitioned', 'weight' => 2, 'priority' => 1, 'include_supplier' => true, 'locations' => ['WH2', 'WH3']],
            ['channel_id' => 8, 'mode' => 'partitioned', 'weight' => 1, 'priority' => 0, 'include_supplier' => true, 'buffer' => 1],
        ];

        $stock = [];
        $supplier = [];
        foreach ($skus as $i => $sku) {
            foreach ($ledger->stock($sku)['locations'] as $level) {
                $stock[$sku][$level['location']] = [$level['on_hand'], $level['reserved'], $level['incoming']];
            }
            $stock[$sku] ??= [];
            $supplier[$sku] = $i % 3 === 0 ? $i - 10 : 0;
        }
        $locations = [];
        foreach ($ledger->locations() as $location) {
            $locations[$location['code']] = ['priority' => $location['priority'], 'active' => $location['active']];
        }
        $options = ['locations' => $locations, 'supplier_stock' => $supplier];

        $quantities = allocate_many($stock, $rules, $options);
        $explained = allocate_many($stock, $rules, $options + ['explain' => true]);
        self::assertSame($skus, array_keys($quantities));
        foreach ($skus as $sku) {
            $expected = $ledger->allocate($sku, $rules, ['supplier_stock' => $supplier[$sku]]);
            self::assertSame(array_column($expected, 'quantity'), $quantities[$sku], $sku);
            self::assertSame(
                array_map(static fn (array $a): array => ['quantity' => $a['quantity'], 'explanation' => $a['explanation']], $expected),
                $explained[$sku],
                $sku
            );
        }
    }

    /**
     * A catalogue big enough to be worked out on several threads: string and numeric SKUs,
     * locations that vary from SKU to SKU, supplier stock for some.
     *
     * @return array{0: array<string|int, array<string, array{0: int, 1: int, 2: int}>>, 1: array<string|int, int>}
     */
    private static function bigCatalogue(int $count): array
    {
        $stock = [];
        $supplier = [];
        for ($i = 0; $i < $count; $i++) {
            $sku = $i % 7 === 0 ? 100000 + $i : sprintf('BIG-%06d', $i);
            $levels = ['WH1' => [($i * 7) % 23, $i % 3, $i % 5]];
            if ($i % 4 !== 0) {
                $levels['WH2'] = [($i * 11) % 17, 0, 1];
            }
            if ($i % 9 === 0) {
                $levels = ['WH3' => [$i % 13, 1, 0]] + $levels;
            }
            $stock[$sku] = $levels;
            if ($i % 5 === 0) {
                $supplier[$sku] = $i % 31;
            }
        }
        return [$stock, $supplier];
    }

    public function test_large_catalogues_on_several_threads_give_the_one_thread_answer_in_order(): void
    {
        [$stock, $supplier] = self::bigCatalogue(120_000);
        $options = ['supplier_stock' => $supplier, 'locations' => ['WH3' => ['active' => false]]];
        $shared = allocate_many($stock, self::rules(), $options);
        $one = allocate_many($stock, self::rules(), $options + ['threads' => 1]);
        self::assertSameAllocation($one, $shared, 'the same quantities under the same keys in the same order');
        self::assertSame(array_keys($stock), array_keys($shared));
        // The explaining path works SKU by SKU on one thread, by the general rules.
        $explained = allocate_many(array_slice($stock, 59_000, 2_000, true), self::rules(), $options + ['explain' => true]);
        foreach ($explained as $sku => $allocations) {
            self::assertSame(array_column($allocations, 'quantity'), $shared[$sku], (string) $sku);
        }
    }

    /**
     * Two allocations of a big catalogue are the same: the same SKUs in the same order with the
     * same quantities; a failure names the first SKU that differs (rather than diffing it all).
     *
     * @param array<string|int, list<int>> $expected
     * @param array<string|int, list<int>> $got
     */
    private static function assertSameAllocation(array $expected, array $got, string $what): void
    {
        $difference = null;
        if ($expected !== $got) {
            $difference = 'the SKUs or their order';
            foreach ($expected as $sku => $quantities) {
                if (($got[$sku] ?? null) !== $quantities) {
                    $difference = sprintf('SKU %s: [%s] expected, got %s', $sku, implode(', ', $quantities), json_encode($got[$sku] ?? null));
                    break;
                }
            }
        }
        self::assertNull($difference, "$what: the allocations differ");
    }

    public function test_supplier_figures_in_any_order_and_stock_with_gaps_give_the_one_thread_answer(): void
    {
        [$stock, $supplier] = self::bigCatalogue(120_000);
        // Gaps in the stock's storage (unset entries), one of them a SKU with a supplier figure.
        foreach (['BIG-000005', 'BIG-060002', 'BIG-119999'] as $gone) {
            unset($stock[$gone]);
        }
        $inStep = $supplier;
        unset($inStep['BIG-000005']);
        $orders = [
            'in the stock\'s order' => $inStep,
            'reversed' => array_reverse($inStep, true),
            'with a SKU that is not in the stock' => $supplier,
        ];
        $rules = self::rules();
        $changed = 0;
        foreach ($orders as $what => $figures) {
            $options = ['supplier_stock' => $figures];
            $one = allocate_many($stock, $rules, $options + ['threads' => 1]);
            self::assertSameAllocation($one, allocate_many($stock, $rules, $options + ['threads' => 4]), $what);
            self::assertSame(array_keys($stock), array_keys($one), $what);
            if ($changed === 0) {
                // The figures count: without them, some SKUs get less.
                $without = allocate_many($stock, $rules, ['threads' => 1]);
                foreach ($one as $sku => $quantities) {
                    $changed += $quantities !== $without[$sku] ? 1 : 0;
                }
                self::assertGreaterThan(1_000, $changed, 'SKUs whose quantities the supplier figures change');
            }
        }
    }

    public function test_on_several_threads_the_first_bad_sku_in_array_order_is_reported(): void
    {
        [$stock] = self::bigCatalogue(120_000);
        $stock['BIG-100001']['WH1'] = [5, -1, 0]; // in the last quarter
        self::assertArrayHasKey('BIG-100001', $stock);
        foreach ([null, 'BIG-030001'] as $earlier) {
            if ($earlier !== null) {
                $stock[$earlier]['WH1'] = [1, 0, -2]; // in the first half
            }
            try {
                allocate_many($stock, self::rules());
                self::fail('accepted');
            } catch (ValidationException $e) {
                self::assertStringStartsWith($earlier === null ? 'stock[BIG-100001].reserved' : 'stock[BIG-030001].incoming', $e->getMessage());
            }
        }
    }

    /**
     * @return array<string, array{0: array<mixed>, 1: array<mixed>, 2: array<mixed>|null, 3: string}>
     */
    public static function refusals(): array
    {
        $rules = [['channel_id' => 1]];
        $stock = ['SKU-1' => ['WH1' => [5, 0, 0]]];
        return [
            'levels not an array' => [['SKU-1' => 5], $rules, null, 'stock[SKU-1]: must be an array'],
            'quantities not a list' => [['SKU-1' => ['WH1' => 5]], $rules, null, 'stock[SKU-1][WH1]: must be a list [on_hand, reserved, incoming], got int'],
            'two quantities' => [['SKU-1' => ['WH1' => [5, 0]]], $rules, null, 'stock[SKU-1][WH1]: must be a list [on_hand, reserved, incoming], got an array of 2 entries'],
            'four quantities' => [['SKU-1' => ['WH1' => [5, 0, 0, 0]]], $rules, null, 'stock[SKU-1][WH1]: must be a list [on_hand, reserved, incoming], got an array of 4 entries'],
            'named quantities' => [['SKU-1' => ['WH1' => ['on_hand' => 5, 'reserved' => 0, 'incoming' => 0]]], $rules, null, 'stock[SKU-1][WH1]: must be a list [on_hand, reserved, incoming], got an array whose keys are not 0, 1, 2'],
            'string quantity' => [['SKU-1' => ['WH1' => [5, '1', 0]]], $rules, null, 'stock[SKU-1][WH1]: reserved must be an integer, got string'],
            'float quantity' => [['SKU-1' => ['WH1' => [5.0, 0, 0]]], $rules, null, 'stock[SKU-1][WH1]: on_hand must be an integer, got float'],
            'negative reserved' => [['SKU-1' => ['WH1' => [5, -1, 0]]], $rules, null, 'stock[SKU-1].reserved: WH1: must not be negative'],
            'negative incoming' => [['OK' => ['WH1' => [1, 0, 0]], 'SKU-2' => ['WH2' => [5, 0, -3]]], $rules, null, 'stock[SKU-2].incoming: WH2: must not be negative'],
            'blank location' => [['SKU-1' => [' ' => [5, 0, 0]]], $rules, null, 'stock[SKU-1].location: a stock level has no location code'],
            'rules not a list' => [$stock, ['a' => ['channel_id' => 1]], null, 'rules: must be a list'],
            'rule field' => [$stock, [['channel_id' => 1], ['channel_id' => 2, 'mode' => 'pooled']], null, 'rules[1].mode: must be "shared" or "partitioned"'],
            'rule unknown field' => [$stock, [['channel_id' => 1, 'bufer' => 2]], null, 'rules[0].bufer: unknown field'],
            'rule check' => [$stock, [['channel_id' => 7, 'name' => 'eBay', 'buffer' => -1]], null, 'buffer: channel 7 (eBay): must not be negative, got −1'],
            'duplicate channel' => [$stock, [['channel_id' => 1], ['channel_id' => 1]], null, 'channel_id: channel 1 (channel 1) and channel 1 (channel 1) share an id'],
            'unknown option' => [$stock, $rules, ['explained' => true], 'explained: unknown field'],
            'explain not bool' => [$stock, $rules, ['explain' => 1], 'explain: must be true or false, got int'],
            'no threads' => [$stock, $rules, ['threads' => 0], 'threads: must be 1 to 4, got 0'],
            'too many threads' => [$stock, $rules, ['threads' => 5], 'threads: must be 1 to 4, got 5'],
            'threads not a number' => [$stock, $rules, ['threads' => 'all'], 'threads: must be an integer'],
            'locations not an array' => [$stock, $rules, ['locations' => 'WH1'], 'locations: must be an array, got string'],
            'location setting' => [$stock, $rules, ['locations' => ['WH1' => ['active' => 'yes']]], 'locations[WH1].active: must be true or false, got string'],
            'location unknown setting' => [$stock, $rules, ['locations' => ['WH1' => ['rank' => 1]]], 'locations[WH1].rank: unknown field'],
            'supplier stock not an array' => [$stock, $rules, ['supplier_stock' => 5], 'supplier_stock: must be an array of sku => int, got int'],
            'supplier stock value' => [$stock, $rules, ['supplier_stock' => ['SKU-1' => '5']], 'supplier_stock[SKU-1]: must be an integer, got string'],
        ];
    }

    /**
     * @dataProvider refusals
     * @param array<mixed> $stock
     * @param array<mixed> $rules
     * @param array<mixed>|null $options
     */
    public function test_bad_input_is_refused_naming_the_field(array $stock, array $rules, ?array $options, string $message): void
    {
        try {
            allocate_many($stock, $rules, $options);
            self::fail('accepted');
        } catch (ValidationException $e) {
            self::assertSame(1, $e->getCode());
            self::assertStringStartsWith($message, $e->getMessage());
        }
    }

    public function test_wrong_argument_types_are_type_errors(): void
    {
        $this->expectException(\TypeError::class);
        allocate_many('SKU-1', []);
    }
}
