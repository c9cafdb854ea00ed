<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * `wp inventory-sync` (run, sync, status, retry). WP-CLI cannot be installed here: the site gets
 * the WP-CLI stand-in (tests/stand-ins/wp-cli-stand-in.php) as a must-use plugin, which defines
 * WP_CLI for command-line PHP only, so the plugin registers its command exactly as under WP-CLI
 * and the stand-in runs it. A fake Shopify receives the pushes.
 */
final class CliCommandTest extends TestCase
{
    private static Site $site;
    private static FakeChannels $fakes;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('cli', [
            'prepare' => static function (string $dir): void {
                @mkdir($dir . '/wordpress/wp-content/mu-plugins', 0755, true);
                copy(Paths::repo() . '/tests/stand-ins/wp-cli-stand-in.php', $dir . '/wordpress/wp-content/mu-plugins/wp-cli-stand-in.php');
            },
        ]);
        self::$fakes = FakeChannels::start(['CLI-TEE'], Paths::output() . '/fake-channels-cli.log');
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertItem(['sku' => 'CLI-TEE', 'name' => 'CLI tee']);
            $l->record(['event_id' => 'open-cli', 'sku' => 'CLI-TEE', 'kind' => 'receive', 'quantity' => 8, 'location' => 'MAIN']);
            $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify'] + %s);
            // This store does not sell CLI-TEE: its own channel is off here.
            $l->saveChannel(['key' => 'woocommerce_local', 'kind' => 'woocommerce_local', 'name' => 'This store', 'enabled' => false]);
            return true;
            PHP, var_export(self::$fakes->channels['shopify'], true)));
    }

    public static function tearDownAfterClass(): void
    {
        self::$fakes->stop();
        self::$site->stop();
    }

    protected function tearDown(): void
    {
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    /**
     * @param list<string>         $args  After "wp".
     * @param array<string, mixed> $assoc Options.
     * @return array{ok: bool, output: list<string>, error: ?string}
     */
    private static function wp(array $args, array $assoc = []): array
    {
        return self::$site->eval(sprintf('return WP_CLI::run_stand_in(%s, %s);', var_export($args, true), var_export($assoc, true)));
    }

    public function test_01_the_command_is_registered_under_wp_cli_only(): void
    {
        self::assertSame(['inventory-sync' => 'InventorySync\CLI_Command'], self::$site->eval('return WP_CLI::$commands;'));
        // Web requests never see WP_CLI: the REST API works as usual.
        self::assertSame(401, self::$site->request('GET', '/wp-json/inventory-sync/v1/health')->status);
    }

    public function test_02_sync_plans_and_run_pushes_with_a_report(): void
    {
        $sync = self::wp(['inventory-sync', 'sync']);
        self::assertTrue($sync['ok'], (string) $sync['error']);
        self::assertMatchesRegularExpression('/^Success: Incremental sync \(run \d+\): 1 SKUs planned, 1 jobs enqueued, 0 unchanged\.$/', $sync['output'][0]);
        $full = self::wp(['inventory-sync', 'sync'], ['full' => true]);
        self::assertMatchesRegularExpression('/^Success: Full sync \(run \d+\): 1 SKUs planned, 0 jobs enqueued/', $full['output'][0], 'already planned');

        $run = self::wp(['inventory-sync', 'run'], ['budget' => '20']);
        self::assertTrue($run['ok'], (string) $run['error']);
        self::assertSame("channel\tpushed\tfailed\tretried\tdead\tcalls\terror", $run['output'][0]);
        self::assertStringStartsWith("shopify\t1\t0\t0\t0\t", $run['output'][1]);
        self::assertMatchesRegularExpression('/^Success: Queue run \d+: 1 pushed, 0 retried, 0 dead, \d+ calls in \d+ ms\.$/', end($run['output']));
        self::assertSame(8, self::$fakes->state()['shopify']['CLI-TEE']);

        $json = self::wp(['inventory-sync', 'run'], ['format' => 'json']);
        self::assertSame(0, json_decode($json['output'][0], true)['pushed'], 'nothing left to push');
    }

    public function test_03_status_shows_health_jobs_and_channels(): void
    {
        $table = self::wp(['inventory-sync', 'status']);
        self::assertTrue($table['ok'], (string) $table['error']);
        self::assertSame('Health: ok', $table['output'][0]);
        self::assertContains('Jobs:', $table['output']);
        self::assertContains("pending\tretrying\trunning\tdone\tfailed\tdead", $table['output']);
        self::assertContains("0\t0\t0\t1\t0\t0", $table['output'], 'Shopify\'s job is done');
        self::assertContains("key\tkind\tenabled\tpending\tdead\tlast_push\tstale", $table['output']);
        $shopify = preg_grep('/^shopify\tshopify\tyes\t0\t0\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\tno$/', $table['output']);
        self::assertCount(1, $shopify, implode("\n", $table['output']));

        $json = json_decode(self::wp(['inventory-sync', 'status'], ['format' => 'json'])['output'][0], true);
        self::assertSame('ok', $json['status']);
        $keys = array_column($json['channels'], 'key');
        sort($keys);
        self::assertSame(['shopify', 'woocommerce_local'], $keys);
    }

    /** Shopify refuses the next push (401): a dead job. Returns the dead jobs' ids. */
    private static function deadPush(string $event, int $quantity): array
    {
        self::$fakes->outage('shopify', 401);
        try {
            return self::$site->eval(sprintf(<<<'PHP'
                $l = \InventorySync\ledger();
                $l->record(['event_id' => %s, 'sku' => 'CLI-TEE', 'kind' => 'receive', 'quantity' => %d, 'location' => 'MAIN']);
                \InventorySync\Sync\changed(['CLI-TEE']);
                \InventorySync\Sync\run_queue(5000);
                return array_column($l->jobs(['status' => 'dead'])['jobs'], 'id');
                PHP, var_export($event, true), $quantity));
        } finally {
            self::$fakes->outage('shopify', null);
        }
    }

    public function test_04_retry_one_job_or_all_dead_jobs(): void
    {
        $dead = self::deadPush('more-cli-1', 1);
        self::assertCount(1, $dead);
        $status = self::wp(['inventory-sync', 'status']);
        self::assertSame('Health: degraded', $status['output'][0]);
        self::assertStringStartsWith('Warning: 1 push gave up', $status['output'][1]);

        $one = self::wp(['inventory-sync', 'retry', (string) $dead[0]]);
        self::assertTrue($one['ok'], (string) $one['error']);
        self::assertMatchesRegularExpression("/^Success: Job {$dead[0]} \\(shopify, CLI-TEE → 9\\) is pending again as job \\d+\\.$/", $one['output'][0]);

        self::assertCount(1, self::deadPush('more-cli-2', 1));
        self::assertSame(['Success: 0 dead jobs put back in line.'], self::wp(['inventory-sync', 'retry'], ['all' => true, 'channel' => 'woocommerce_local'])['output']);
        self::assertSame(['Success: 1 dead jobs put back in line.'], self::wp(['inventory-sync', 'retry'], ['all' => true])['output']);
        self::assertSame(0, self::$site->eval("return \\InventorySync\\ledger()->jobCounts()['dead'];"));

        $none = self::wp(['inventory-sync', 'retry']);
        self::assertFalse($none['ok']);
        self::assertSame('Error: Give a job id, or --all.', $none['error']);
        $unknown = self::wp(['inventory-sync', 'retry', '999999']);
        self::assertFalse($unknown['ok']);
        self::assertStringStartsWith('Error: ', (string) $unknown['error']);
        self::assertStringContainsString('999999', (string) $unknown['error']);
    }
}
