<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\ConflictException;
use InventorySync\Exception\LedgerException;
use InventorySync\Exception\NotFoundException;
use InventorySync\Exception\ValidationException;
use InventorySync\Ledger;
use PHPUnit\Framework\TestCase;

/**
 * InventorySync\Ledger as PHP uses it: array shapes and their order, every movement kind,
 * idempotent replays, guarded reservations, batches, history paging, allocation with
 * explanations, alerts, reorder suggestions, and the exceptions for bad input.
 */
final class LedgerTest extends TestCase
{
    private string $dir;
    private Ledger $ledger;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/inventory-sync-ledger-test-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        $this->ledger = new Ledger($this->dir . '/ledger.sqlite');
        $this->ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main warehouse', 'priority' => 1]);
        $this->ledger->upsertLocation(['code' => 'WH2', 'name' => 'Overflow', 'priority' => 2]);
        $this->ledger->upsertItem(['sku' => 'TEE-RED-M', 'name' => 'Red tee, M', 'lead_time_days' => 10, 'moq' => 24, 'pack_size' => 12, 'supplier' => 'ACME']);
    }

    protected function tearDown(): void
    {
        unset($this->ledger);
        foreach (glob($this->dir . '/*') ?: [] as $file) {
            unlink($file);
        }
        rmdir($this->dir);
    }

    /** @param array<string, mixed> $extra */
    private function move(string $id, string $kind, int $quantity, string $location = 'WH1', array $extra = []): array
    {
        return $this->ledger->record(['event_id' => $id, 'sku' => 'TEE-RED-M', 'kind' => $kind, 'quantity' => $quantity, 'location' => $location] + $extra);
    }

    public function test_the_file_is_created_on_the_path(): void
    {
        self::assertFileExists($this->dir . '/ledger.sqlite');
        self::assertSame($this->dir . '/ledger.sqlite', $this->ledger->path());
    }

    public function test_item_and_location_shapes_keep_their_key_order(): void
    {
        $item = $this->ledger->item('TEE-RED-M');
        self::assertSame(['sku', 'name', 'product_id', 'thresholds', 'lead_time_days', 'moq', 'pack_size', 'supplier', 'oversold', 'created_at', 'updated_at'], array_keys($item));
        self::assertSame(['TEE-RED-M', 'Red tee, M', null, null, 10, 24, 12, 'ACME', false], array_slice(array_values($item), 0, 9));
        self::assertNull($this->ledger->item('tee-red-m'), 'SKUs are case-sensitive');
        self::assertSame([
            ['code' => 'WH1', 'name' => 'Main warehouse', 'priority' => 1, 'active' => true],
            ['code' => 'WH2', 'name' => 'Overflow', 'priority' => 2, 'active' => true],
        ], $this->ledger->locations());
    }

    public function test_every_movement_kind_moves_stock_as_the_rules_say(): void
    {
        $this->move('rcv', 'receive', 10);
        $this->move('sale', 'sale', 3);
        $this->move('ret', 'return', 1);
        $this->move('count', 'adjustment', 20);
        $this->move('inc', 'incoming', 50, 'WH2');
        $this->move('xfer', 'transfer', 5, 'WH1', ['to_location' => 'WH2']);
        $this->move('res', 'reserve', 4);
        $this->move('rel', 'release', 1, 'WH1', ['reservation' => 'res']);
        $this->move('com', 'commit', 2, 'WH1', ['reservation' => 'res']);
        $stock = $this->ledger->stock('TEE-RED-M');
        // WH1: 10 − 3 + 1 → 8, counted to 20, −5 transferred = 15, 4 reserved, 1 released,
        // 2 committed (on hand 13, reserved 1). WH2: +5, 50 incoming.
        self::assertSame(['sku' => 'TEE-RED-M', 'on_hand' => 18, 'reserved' => 1, 'incoming' => 50, 'available' => 17], array_slice($stock, 0, 5));
        self::assertSame([
            ['location' => 'WH1', 'active' => true, 'on_hand' => 13, 'reserved' => 1, 'incoming' => 0, 'available' => 12],
            ['location' => 'WH2', 'active' => true, 'on_hand' => 5, 'reserved' => 0, 'incoming' => 50, 'available' => 5],
        ], $stock['locations']);
        $history = $this->ledger->history(['sku' => 'TEE-RED-M', 'limit' => 100]);
        $adjustment = array_values(array_filter($history['movements'], fn ($m) => $m['event_id'] === 'count'))[0];
        self::assertSame(['quantity' => 20, 'delta' => 12, 'on_hand' => 20], ['quantity' => $adjustment['quantity'], 'delta' => $adjustment['delta'], 'on_hand' => $adjustment['on_hand']]);
        $transfer = array_values(array_filter($history['movements'], fn ($m) => $m['event_id'] === 'xfer'));
        self::assertCount(2, $transfer, 'a transfer is two movements under one event');
    }

    public function test_a_sale_is_a_fact_even_below_zero_and_flags_oversold(): void
    {
        $this->move('rcv', 'receive', 2);
        $outcome = $this->move('big-sale', 'sale', 5);
        self::assertTrue($outcome['oversold']);
        self::assertSame(-3, $outcome['levels'][0]['on_hand']);
        self::assertSame(0, $outcome['levels'][0]['available']);
        self::assertTrue($this->ledger->item('TEE-RED-M')['oversold']);
        $alerts = $this->ledger->alerts();
        self::assertSame(['TEE-RED-M', 'critical', 'oversold'], [$alerts[0]['sku'], $alerts[0]['level'], $alerts[0]['trigger']]);
    }

    public function test_replaying_an_event_returns_the_original_outcome_and_changes_nothing(): void
    {
        $first = $this->move('rcv-1', 'receive', 7);
        $this->move('sale-1', 'sale', 2);
        $again = $this->move('rcv-1', 'receive', 7);
        self::assertFalse($first['replayed']);
        self::assertTrue($again['replayed']);
        self::assertSame($first['movements'], $again['movements']);
        self::assertSame(5, $this->ledger->stock('TEE-RED-M')['on_hand']);
        self::assertCount(2, $this->ledger->history()['movements']);
    }

    public function test_the_same_event_id_with_other_content_is_a_conflict(): void
    {
        $this->move('rcv-1', 'receive', 7);
        $this->expectException(ConflictException::class);
        $this->move('rcv-1', 'receive', 8);
    }

    public function test_a_reservation_beyond_available_is_refused_and_changes_nothing(): void
    {
        $this->move('rcv', 'receive', 3);
        try {
            $this->ledger->reserve(['event_id' => 'res-1', 'sku' => 'TEE-RED-M', 'quantity' => 4, 'location' => 'WH1']);
            self::fail('expected ConflictException');
        } catch (ConflictException $e) {
            self::assertSame(5, $e->getCode());
            self::assertStringContainsString('only 3 available', $e->getMessage());
            self::assertInstanceOf(LedgerException::class, $e);
        }
        self::assertSame(0, $this->ledger->stock('TEE-RED-M')['reserved']);
        $ok = $this->ledger->reserve(['event_id' => 'res-2', 'sku' => 'TEE-RED-M', 'quantity' => 3, 'location' => 'WH1']);
        self::assertSame('reserve', $ok['movements'][0]['kind']);
        self::assertSame(0, $this->ledger->stock('TEE-RED-M')['available']);
        $this->ledger->commit(['event_id' => 'com-2', 'sku' => 'TEE-RED-M', 'reservation' => 'res-2']);
        self::assertSame(['on_hand' => 0, 'reserved' => 0], array_intersect_key($this->ledger->stock('TEE-RED-M'), ['on_hand' => 1, 'reserved' => 1]));
    }

    public function test_the_convenience_methods_refuse_another_kind(): void
    {
        $this->expectException(ValidationException::class);
        $this->expectExceptionMessage('kind: must be reserve for this call');
        $this->ledger->reserve(['event_id' => 'x', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 1]);
    }

    public function test_expired_reservations_are_released_once(): void
    {
        $this->move('rcv', 'receive', 5);
        $this->ledger->reserve(['event_id' => 'hold', 'sku' => 'TEE-RED-M', 'quantity' => 2, 'location' => 'WH1', 'expires_at' => time() - 1]);
        self::assertSame(2, $this->ledger->stock('TEE-RED-M')['reserved']);
        $released = $this->ledger->expireReservations();
        self::assertCount(1, $released);
        self::assertSame('release', $released[0]['movements'][0]['kind']);
        self::assertSame([], $this->ledger->expireReservations());
        self::assertSame(0, $this->ledger->stock('TEE-RED-M')['reserved']);
    }

    public function test_a_batch_reports_each_outcome_in_order(): void
    {
        $this->move('rcv', 'receive', 1);
        $results = $this->ledger->recordBatch([
            ['event_id' => 'b-1', 'sku' => 'TEE-RED-M', 'kind' => 'receive', 'quantity' => 4],
            ['event_id' => 'b-2', 'sku' => 'NO-SUCH-SKU', 'kind' => 'sale', 'quantity' => 1],
            ['event_id' => 'b-3', 'sku' => 'TEE-RED-M', 'kind' => 'reserve', 'quantity' => 99],
            ['event_id' => 'b-4', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => '2'],
            ['event_id' => 'rcv', 'sku' => 'TEE-RED-M', 'kind' => 'receive', 'quantity' => 1, 'location' => 'WH1'],
            ['event_id' => 'b-5', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 2],
        ]);
        self::assertSame([true, false, false, false, true, true], array_column($results, 'ok'));
        self::assertSame('not_found', $results[1]['error']['code']);
        self::assertSame('conflict', $results[2]['error']['code']);
        self::assertSame(['code' => 'validation', 'field' => 'movements[3].quantity'], array_slice($results[3]['error'], 0, 2));
        self::assertTrue($results[4]['replayed']);
        self::assertSame(3, $this->ledger->stock('TEE-RED-M')['on_hand']);
    }

    public function test_history_pages_newest_first_by_cursor(): void
    {
        for ($i = 1; $i <= 7; $i++) {
            $this->move("rcv-$i", 'receive', $i);
        }
        $seen = [];
        $before = null;
        do {
            $page = $this->ledger->history(['sku' => 'TEE-RED-M', 'limit' => 3] + ($before === null ? [] : ['before' => $before]));
            foreach ($page['movements'] as $m) {
                $seen[] = $m['event_id'];
            }
            $before = $page['next_before'];
        } while ($before !== null);
        self::assertSame(['rcv-7', 'rcv-6', 'rcv-5', 'rcv-4', 'rcv-3', 'rcv-2', 'rcv-1'], $seen);
    }

    public function test_allocation_with_explanations(): void
    {
        $this->move('a', 'receive', 9, 'WH1');
        $this->move('b', 'receive', 3, 'WH2');
        $result = $this->ledger->allocate('TEE-RED-M', [
            ['channel_id' => 1, 'name' => 'Shopify', 'buffer' => 2, 'max' => 8],
            ['channel_id' => 2, 'name' => 'eBay', 'mode' => 'partitioned', 'weight' => 2, 'priority' => 1],
            ['channel_id' => 3, 'name' => 'Amazon', 'mode' => 'partitioned', 'weight' => 1, 'priority' => 2],
            ['channel_id' => 4, 'name' => 'Outlet', 'locations' => ['WH2']],
        ]);
        self::assertSame([1, 2, 3, 4], array_column($result, 'channel_id'));
        self::assertSame([8, 8, 4, 3], array_column($result, 'quantity'));
        self::assertSame('available 12 (WH1 9 + WH2 3) − buffer 2 = 10, max 8 → 8', $result[0]['explanation']);
        self::assertSame(12, $result[1]['quantity'] + $result[2]['quantity'], 'partitioned shares sum to available');
        self::assertSame('available 3 (WH2 3)', $result[3]['explanation']);
    }

    public function test_reorder_suggestion_shows_its_inputs(): void
    {
        $this->move('rcv', 'receive', 100);
        $this->move('sold', 'sale', 90);
        $suggestion = $this->ledger->reorderSuggestions(['TEE-RED-M'], null, time() + 60)[0];
        // 90 sold in 30 days = 3/day; lead 10: safety 45, target 3 × 24 + 45 = 117; position 10;
        // 107 → MOQ 24 is lower → pack 12 → 108.
        self::assertSame(108, $suggestion['quantity']);
        self::assertSame(['lead_time_days' => 10, 'moq' => 24, 'pack_size' => 12], array_intersect_key($suggestion, ['lead_time_days' => 1, 'moq' => 1, 'pack_size' => 1]));
        self::assertEqualsWithDelta(3.0, $suggestion['velocity'], 1e-9);
        self::assertStringContainsString('→ 108', $suggestion['explanation']);
    }

    /**
     * @return array<string, array{0: callable(Ledger): mixed, 1: class-string, 2: string}>
     */
    public static function badInput(): array
    {
        return [
            'unknown field' => [fn (Ledger $l) => $l->record(['event_id' => 'e', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 1, 'qty' => 1]), ValidationException::class, 'qty: unknown field'],
            'missing event id' => [fn (Ledger $l) => $l->record(['sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 1]), ValidationException::class, 'event_id: is required'],
            'negative quantity' => [fn (Ledger $l) => $l->record(['event_id' => 'e', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => -4]), ValidationException::class, 'quantity: '],
            'absurd quantity' => [fn (Ledger $l) => $l->record(['event_id' => 'e', 'sku' => 'TEE-RED-M', 'kind' => 'receive', 'quantity' => 10 ** 12]), ValidationException::class, 'quantity: '],
            'float quantity' => [fn (Ledger $l) => $l->record(['event_id' => 'e', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 1.5]), ValidationException::class, 'quantity: must be an integer, got float'],
            'unknown kind' => [fn (Ledger $l) => $l->record(['event_id' => 'e', 'sku' => 'TEE-RED-M', 'kind' => 'steal', 'quantity' => 1]), ValidationException::class, 'kind: '],
            'unknown sku' => [fn (Ledger $l) => $l->record(['event_id' => 'e', 'sku' => 'NOPE', 'kind' => 'sale', 'quantity' => 1]), NotFoundException::class, 'unknown sku: NOPE'],
            'unknown location' => [fn (Ledger $l) => $l->record(['event_id' => 'e', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 1, 'location' => 'WH9']), NotFoundException::class, 'WH9'],
            'sku too long' => [fn (Ledger $l) => $l->upsertItem(['sku' => str_repeat('A', 101), 'name' => 'x']), ValidationException::class, 'sku: '],
            'empty sku' => [fn (Ledger $l) => $l->upsertItem(['sku' => '   ', 'name' => 'x']), ValidationException::class, 'sku: '],
            'threshold type' => [fn (Ledger $l) => $l->upsertItem(['sku' => 'X', 'thresholds' => ['critical' => 'low', 'low' => 1, 'warning' => 2]]), ValidationException::class, 'thresholds.critical: must be an integer'],
            'rule mode' => [fn (Ledger $l) => $l->allocate('TEE-RED-M', [['channel_id' => 1, 'mode' => 'greedy']]), ValidationException::class, 'rules[0].mode: '],
            'rules not a list' => [fn (Ledger $l) => $l->allocate('TEE-RED-M', ['a' => ['channel_id' => 1]]), ValidationException::class, 'rules: must be a list'],
            'batch too large' => [fn (Ledger $l) => $l->recordBatch(array_fill(0, 1001, ['event_id' => 'e'])), ValidationException::class, 'movements: at most 1000'],
        ];
    }

    /**
     * @dataProvider badInput
     * @param callable(Ledger): mixed $call
     */
    public function test_bad_input_names_the_field_and_changes_nothing(callable $call, string $class, string $message): void
    {
        $before = $this->ledger->history(['limit' => 1000]);
        try {
            $call($this->ledger);
            self::fail("expected $class");
        } catch (\Throwable $e) {
            self::assertInstanceOf($class, $e, $e->getMessage());
            self::assertStringContainsString($message, $e->getMessage());
        }
        self::assertSame($before, $this->ledger->history(['limit' => 1000]));
    }

    public function test_a_file_that_is_not_a_ledger_is_refused_cleanly(): void
    {
        file_put_contents($this->dir . '/junk.sqlite', str_repeat('not a database ', 100));
        $this->expectException(LedgerException::class);
        new Ledger($this->dir . '/junk.sqlite');
    }

    public function test_an_unwritable_location_is_a_ledger_exception(): void
    {
        $this->expectException(LedgerException::class);
        new Ledger($this->dir . '/missing-dir/ledger.sqlite');
    }
}
