<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\ValidationException;
use InventorySync\Ledger;
use PHPUnit\Framework\TestCase;

/**
 * Ledger::prune(): retention of the logs (sync runs, drift, finished jobs, inbound and security
 * logs, API request counters) by age; movements and open or dead jobs are never deleted.
 */
final class PruneTest extends TestCase
{
    private string $dir;
    private Ledger $ledger;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/inventory-sync-prune-test-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        $this->ledger = new Ledger($this->dir . '/ledger.sqlite');
        $this->ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main warehouse']);
        $this->ledger->saveChannel(['key' => 'local', 'kind' => 'woocommerce_local', 'name' => 'This store']);
    }

    protected function tearDown(): void
    {
        unset($this->ledger);
        foreach (glob($this->dir . '/*') ?: [] as $file) {
            unlink($file);
        }
        rmdir($this->dir);
    }

    /** One record of every kind prune() handles, plus a movement and a dead job. */
    private function fill(string $sku): void
    {
        $l = $this->ledger;
        $l->upsertItem(['sku' => $sku, 'name' => $sku, 'product_id' => 4242]); // a store product: the local channel gets jobs
        $l->record(['event_id' => "in-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => 5, 'location' => 'WH1']);
        $l->syncSkus([$sku]);
        foreach ($l->claimLocalJobs('test') as $job) {
            $l->completeJob($job['id'], 'test');
        }
        $l->record(['event_id' => "out-$sku", 'sku' => $sku, 'kind' => 'sale', 'quantity' => 1, 'location' => 'WH1']);
        $l->syncSkus([$sku]);
        foreach ($l->claimLocalJobs('test') as $job) {
            $l->failJob($job['id'], 'test', 'refused', false);
        }
        $l->runQueue(['budget_ms' => 1000]); // a sync run (the local channel's jobs are not its)
        $l->ingest('generic', (string) json_encode(['event' => 'inventory.updated', 'sku' => 'NOT-' . $sku, 'quantity' => 1]), []);
        $l->logSecurity(['route' => '/stock', 'reason' => 'unknown_key']);
        $l->recordApiRequest(['route' => '/inventory-sync/v1/stock', 'method' => 'GET', 'status' => 200, 'duration_ms' => 12.5]);
    }

    public function test_only_records_older_than_the_cutoff_go_and_the_ledger_stays(): void
    {
        $this->fill('OLD-1');
        $old = time();
        while (time() < $old + 2) {
            usleep(100_000);
        }
        $this->fill('NEW-1');

        self::assertSame(['sync_runs' => 0, 'drift' => 0, 'jobs' => 0, 'inbound' => 0, 'security' => 0, 'messages' => 0, 'api_requests' => 0], $this->ledger->prune($old - 60));
        self::assertSame(['sync_runs' => 1, 'drift' => 0, 'jobs' => 1, 'inbound' => 1, 'security' => 1, 'messages' => 0, 'api_requests' => 0], $this->ledger->prune($old + 1));

        $l = $this->ledger;
        self::assertCount(1, $l->syncRuns()['runs']);
        self::assertCount(1, $l->inboundEvents()['events']);
        self::assertCount(1, $l->securityEvents()['events']);
        self::assertSame(['NEW-1'], array_column($l->jobs(['status' => 'done'])['jobs'], 'sku'));
        self::assertSame(['NEW-1', 'OLD-1'], array_column($l->jobs(['status' => 'dead'])['jobs'], 'sku'), 'dead jobs wait for an admin');
        self::assertCount(4, $l->history()['movements'], 'movements are never deleted');
        // Request counters go by whole hours: this hour's are kept (the Rust tests prune ended hours).
        $hour = intdiv(time(), 3600) * 3600;
        self::assertSame(2, $l->apiActivity(['since' => $hour, 'until' => $hour + 3600, 'bucket' => 'hour'])[0]['requests']);
    }

    public function test_a_negative_cutoff_is_refused(): void
    {
        $this->expectException(ValidationException::class);
        $this->expectExceptionMessageMatches('/^older_than/');
        $this->ledger->prune(-1);
    }
}
