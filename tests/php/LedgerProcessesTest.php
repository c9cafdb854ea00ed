<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Ledger;
use InventorySync\Tests\Harness\Paths;
use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/bin/ledger-events.php';

/**
 * Several PHP workers share one ledger file, as PHP-FPM workers do. Four `php` processes with the
 * extension record interleaved events, a fifth of them delivered twice by different processes at
 * the same time; the ledger must end with every event counted exactly once.
 */
final class LedgerProcessesTest extends TestCase
{
    private const WORKERS = 4;
    private const EVENTS = 600;

    public function test_concurrent_processes_count_each_event_exactly_once(): void
    {
        $dir = sys_get_temp_dir() . '/inventory-sync-processes-' . bin2hex(random_bytes(4));
        mkdir($dir);
        $file = "$dir/ledger.sqlite";
        try {
            $setup = new Ledger($file);
            foreach (['WH1' => 1, 'WH2' => 2] as $code => $priority) {
                $setup->upsertLocation(['code' => $code, 'name' => $code, 'priority' => $priority]);
            }
            foreach (['A', 'B', 'C'] as $sku) {
                $setup->upsertItem(['sku' => $sku, 'name' => "Item $sku"]);
            }
            unset($setup);

            $procs = [];
            for ($w = 0; $w < self::WORKERS; $w++) {
                $procs[$w] = proc_open(
                    ['php', '-d', 'extension=' . Paths::extension(), __DIR__ . '/bin/ledger-worker.php', $file, (string) $w, (string) self::WORKERS, (string) self::EVENTS],
                    [1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
                    $pipes[$w]
                );
            }
            $summaries = [];
            foreach ($procs as $w => $proc) {
                $out = stream_get_contents($pipes[$w][1]);
                $err = stream_get_contents($pipes[$w][2]);
                self::assertSame(0, proc_close($proc), "worker $w failed: $err");
                self::assertSame('', $err, "worker $w reported failures");
                $summaries[] = json_decode((string) $out, true);
            }

            // Expected: each event applied once, whichever process won the race.
            $expected = [];
            foreach (inventory_sync_test_events(self::EVENTS) as $e) {
                $delta = $e['kind'] === 'sale' ? -$e['quantity'] : $e['quantity'];
                $expected[$e['sku']][$e['location']] = ($expected[$e['sku']][$e['location']] ?? 0) + $delta;
            }
            $ledger = new Ledger($file);
            foreach ($expected as $sku => $byLocation) {
                $stock = $ledger->stock($sku);
                foreach ($stock['locations'] as $level) {
                    self::assertSame($byLocation[$level['location']] ?? 0, $level['on_hand'], "$sku at {$level['location']}");
                }
            }
            $duplicates = intdiv(self::EVENTS + 4, 5);
            self::assertSame(self::EVENTS, array_sum(array_column($summaries, 'first')), 'each event recorded first exactly once');
            self::assertSame($duplicates, array_sum(array_column($summaries, 'replays')), 'every duplicate delivery was a replay');

            $ids = [];
            $before = null;
            do {
                $page = $ledger->history(['limit' => 1000] + ($before === null ? [] : ['before' => $before]));
                foreach ($page['movements'] as $m) {
                    $ids[] = $m['event_id'];
                }
                $before = $page['next_before'];
            } while ($before !== null);
            self::assertCount(self::EVENTS, $ids);
            self::assertCount(self::EVENTS, array_unique($ids));
        } finally {
            foreach (glob("$dir/*") ?: [] as $f) {
                unlink($f);
            }
            rmdir($dir);
        }
    }
}
