<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * Outbound sync in a real WordPress: channels saved with sealed credentials, the cron jobs (full
 * sync, queue run, reconciliation, primary-source pull) run by the plugin against fake Shopify,
 * eBay, remote WooCommerce and ERP webhook servers on loopback, a sale through the REST API
 * reaching every channel, a channel outage, a dead letter retried, drift repaired.
 *
 * Allocation rules (MAIN is the only location): Shopify and the ERP see everything available,
 * eBay at most 5, the remote store keeps a buffer of 2.
 */
final class ChannelSyncTest extends TestCase
{
    private const API = '/wp-json/inventory-sync/v1';
    private const STOCK = ['SYNC-TEE' => 20, 'SYNC-MUG' => 7, 'SYNC-CAP' => 3];

    private static Site $site;
    private static FakeChannels $fakes;
    private static string $apiKey;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('channel-sync');
        self::$fakes = FakeChannels::start(array_keys(self::STOCK), Paths::output() . '/fake-channels-e2e.log');
        $c = self::$fakes->channels;
        self::$apiKey = self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            foreach (%s as $sku => $qty) {
                $l->upsertItem(['sku' => $sku, 'name' => $sku]);
                $l->record(['event_id' => "open-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => $qty, 'location' => 'MAIN']);
            }
            $c = %s;
            $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify'] + $c['shopify']);
            $l->saveChannel(['key' => 'ebay', 'kind' => 'ebay', 'name' => 'eBay', 'allocation' => ['max' => 5]] + $c['ebay']);
            $l->saveChannel(['key' => 'wholesale', 'kind' => 'woocommerce_remote', 'name' => 'Wholesale store', 'allocation' => ['buffer' => 2]] + $c['woocommerce_remote']);
            $l->saveChannel(['key' => 'erp', 'kind' => 'webhook', 'name' => 'ERP'] + $c['webhook']);
            // This store sells none of these SKUs: its own channel (made at activation) is switched off.
            $l->saveChannel(['key' => 'woocommerce_local', 'kind' => 'woocommerce_local', 'name' => 'This store', 'enabled' => false]);
            return $l->issueApiKey(['name' => 'POS', 'scopes' => ['read', 'write']], random_bytes(32))['key'];
            PHP, var_export(self::STOCK, true), var_export($c, true)));
    }

    public static function tearDownAfterClass(): void
    {
        self::$fakes->stop();
    }

    /** @return array<string, int> channel key => what it should show for $available */
    private static function expected(int $available): array
    {
        return [
            'shopify' => $available,
            'ebay' => min($available, 5),
            'woocommerce_remote' => max($available - 2, 0),
            'webhook' => $available,
        ];
    }

    private static function assertChannelsShow(string $sku, int $available): void
    {
        $state = self::$fakes->state();
        foreach (self::expected($available) as $kind => $quantity) {
            self::assertSame($quantity, $state[$kind][$sku], "$kind shows $sku");
        }
    }

    /** Runs a cron job's action in the site (as wp-cron.php would) and returns what it logged. */
    private static function cron(string $hook): void
    {
        self::$site->eval(sprintf('do_action(%s); return true;', var_export($hook, true)));
    }

    private static function runQueue(): array
    {
        return self::$site->eval("return \\InventorySync\\ledger()->runQueue(['budget_ms' => 20000]);");
    }

    public function test_01_channels_keep_credentials_sealed_and_show_them_masked(): void
    {
        $channels = self::$site->eval("return \\InventorySync\\ledger()->channels();");
        $byKey = array_column($channels, null, 'key');
        $keys = array_keys($byKey);
        sort($keys);
        self::assertSame(['ebay', 'erp', 'shopify', 'wholesale', 'woocommerce_local'], $keys);
        self::assertFalse($byKey['woocommerce_local']['enabled']);
        $token = self::$fakes->channels['shopify']['credentials']['access_token'];
        self::assertSame('••••' . substr($token, -4), $byKey['shopify']['credentials']['access_token']);
        self::assertTrue($byKey['shopify']['credentials_readable']);
        self::assertSame(self::$fakes->channels['shopify']['settings']['shop_url'], $byKey['shopify']['settings']['shop_url']);
        self::assertSame(5, $byKey['ebay']['allocation']['max']);

        // No secret is stored in clear in the ledger file (or its write-ahead log).
        $path = self::$site->eval("return \\InventorySync\\ledger_path();");
        $bytes = (string) file_get_contents($path) . (string) @file_get_contents($path . '-wal');
        foreach (self::$fakes->channels as $kind => $channel) {
            foreach ($channel['credentials'] as $name => $secret) {
                self::assertStringNotContainsString($secret, $bytes, "$kind $name is sealed at rest");
            }
        }

        // Every sync job is scheduled by activation.
        foreach (['inventory_sync_run_queue', 'inventory_sync_incremental_sync', 'inventory_sync_full_sync', 'inventory_sync_reconcile', 'inventory_sync_pull_source'] as $hook) {
            self::assertIsInt(self::$site->eval(sprintf('return wp_next_scheduled(%s);', var_export($hook, true))), "$hook scheduled");
        }
    }

    public function test_02_bad_channel_forms_are_refused_with_the_field_named_and_change_nothing(): void
    {
        $shopify = var_export(self::$fakes->channels['shopify']['settings'], true);
        $errors = self::$site->eval(<<<PHP
            \$l = \\InventorySync\\ledger();
            \$try = function (array \$channel) use (\$l) {
                try { \$l->saveChannel(\$channel); return 'saved'; }
                catch (\\InventorySync\\Exception\\SyncException \$e) { return get_class(\$e) . ': ' . \$e->getMessage(); }
            };
            return [
                'kind' => \$try(['key' => 'x1', 'kind' => 'etsy']),
                'missing' => \$try(['key' => 'x2', 'kind' => 'shopify', 'settings' => $shopify]),
                'unknown' => \$try(['key' => 'x3', 'kind' => 'shopify', 'settings' => $shopify, 'credentials' => ['access_token' => 't', 'password' => 'p']]),
                'url' => \$try(['key' => 'x4', 'kind' => 'shopify', 'settings' => ['shop_url' => 'ftp://shop'], 'credentials' => ['access_token' => 't']]),
                'batch' => \$try(['key' => 'x5', 'kind' => 'webhook', 'batch_size' => 0, 'settings' => ['url' => 'https://erp.example/hook'], 'credentials' => ['secret' => 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']]),
                'rate' => \$try(['key' => 'x6', 'kind' => 'woocommerce_local', 'rate' => ['per_second' => -1]]),
                'count' => count(\$l->channels()),
            ];
            PHP);
        self::assertStringStartsWith('InventorySync\Exception\ValidationException: kind', $errors['kind']);
        self::assertStringContainsString('credentials.access_token', $errors['missing']);
        self::assertStringContainsString('credentials.password', $errors['unknown']);
        self::assertStringContainsString('settings.shop_url', $errors['url']);
        self::assertStringContainsString('batch_size', $errors['batch']);
        self::assertStringContainsString('rate.per_second', $errors['rate']);
        self::assertSame(5, $errors['count'], 'nothing was saved');
    }

    public function test_03_full_sync_by_cron_pushes_every_channel_its_allocation(): void
    {
        self::cron('inventory_sync_full_sync');
        self::cron('inventory_sync_run_queue');
        foreach (self::STOCK as $sku => $available) {
            self::assertChannelsShow($sku, $available);
        }
        $runs = self::$site->eval("return \\InventorySync\\ledger()->syncRuns()['runs'];");
        $kinds = array_column($runs, 'kind');
        self::assertContains('full', $kinds);
        self::assertContains('queue', $kinds);
        $queue = $runs[array_search('queue', $kinds, true)];
        self::assertSame('done', $queue['status']);
        self::assertSame(12, $queue['pushed'], '3 SKUs × 4 channels');
        self::assertSame(['pending' => 0, 'retrying' => 0, 'running' => 0, 'done' => 12, 'failed' => 0, 'dead' => 0], self::$site->eval("return \\InventorySync\\ledger()->jobCounts();"));
        // A second full sync finds nothing to push.
        self::cron('inventory_sync_full_sync');
        self::assertSame(0, self::$site->eval("return \\InventorySync\\ledger()->jobCounts()['pending'];"));
    }

    public function test_04_a_sale_through_the_rest_api_reaches_every_channel_once(): void
    {
        $sale = json_encode(['event_id' => 'pos-sale-1', 'sku' => 'SYNC-TEE', 'kind' => 'sale', 'quantity' => 1, 'location' => 'MAIN']);
        $headers = ['X-API-Key' => self::$apiKey, 'Content-Type' => 'application/json'];
        self::assertSame(201, self::$site->request('POST', self::API . '/movements', $headers, $sale)->status);
        // Planned at once: a job for each channel whose number changes (eBay stays capped at 5).
        self::assertSame(3, self::$site->eval("return \\InventorySync\\ledger()->jobCounts()['pending'];"));
        // A replay of the same sale changes nothing and plans nothing more.
        self::assertSame(200, self::$site->request('POST', self::API . '/movements', $headers, $sale)->status);
        self::assertSame(3, self::$site->eval("return \\InventorySync\\ledger()->jobCounts()['pending'];"));

        self::cron('inventory_sync_run_queue');
        self::assertChannelsShow('SYNC-TEE', 19);
        self::assertSame([20, 19], self::$fakes->shopifyWrites('SYNC-TEE'), 'each quantity pushed once');
    }

    public function test_05_a_channel_down_keeps_its_job_while_the_others_are_updated(): void
    {
        self::$fakes->outage('shopify', 503);
        try {
            $sale = json_encode(['event_id' => 'pos-sale-2', 'sku' => 'SYNC-MUG', 'kind' => 'sale', 'quantity' => 2, 'location' => 'MAIN']);
            self::assertSame(201, self::$site->request('POST', self::API . '/movements', ['X-API-Key' => self::$apiKey, 'Content-Type' => 'application/json'], $sale)->status);
            $report = self::runQueue();
        } finally {
            self::$fakes->outage('shopify', null);
        }
        self::assertSame(1, $report['channels']['shopify']['retried'], json_encode($report));
        self::assertSame(2, $report['pushed'], 'the remote store and the ERP (eBay stays capped at 5)');
        $state = self::$fakes->state();
        self::assertSame(7, $state['shopify']['SYNC-MUG'], 'Shopify still shows the old number');
        self::assertSame(5, $state['ebay']['SYNC-MUG']);
        self::assertSame(3, $state['woocommerce_remote']['SYNC-MUG']);
        self::assertSame(5, $state['webhook']['SYNC-MUG']);
        $jobs = self::$site->eval("return \\InventorySync\\ledger()->jobs(['channel' => 'shopify', 'status' => 'pending'])['jobs'];");
        self::assertCount(1, $jobs);
        self::assertSame(5, $jobs[0]['desired']);
        self::assertSame(1, $jobs[0]['attempts']);
        self::assertStringContainsString('503', (string) $jobs[0]['last_error']);
        self::assertGreaterThan(time(), $jobs[0]['next_attempt_at'], 'backing off');
        // The next run before the backoff ends leaves it waiting: nothing is pushed twice.
        self::assertSame(0, self::runQueue()['pushed']);
        self::assertSame([7], self::$fakes->shopifyWrites('SYNC-MUG'));
    }

    public function test_06_a_refused_push_becomes_a_dead_letter_that_an_admin_retries(): void
    {
        self::$fakes->outage('woocommerce_remote', 401);
        try {
            self::$site->eval("\\InventorySync\\ledger()->record(['event_id' => 'count-cap', 'sku' => 'SYNC-CAP', 'kind' => 'receive', 'quantity' => 5, 'location' => 'MAIN']); \\InventorySync\\Sync\\changed(['SYNC-CAP']); return true;");
            $report = self::runQueue();
        } finally {
            self::$fakes->outage('woocommerce_remote', null);
        }
        self::assertSame(1, $report['channels']['wholesale']['dead']);
        $dead = self::$site->eval("return \\InventorySync\\ledger()->jobs(['status' => 'dead'])['jobs'];");
        self::assertCount(1, $dead);
        self::assertSame('wholesale', $dead[0]['channel']);
        self::assertStringContainsString('401', (string) $dead[0]['last_error']);
        self::assertStringNotContainsString(self::$fakes->channels['woocommerce_remote']['credentials']['consumer_secret'], (string) $dead[0]['last_error']);
        self::assertSame(1, self::$fakes->state()['woocommerce_remote']['SYNC-CAP'], 'unchanged while dead');

        $retried = self::$site->eval(sprintf("return \\InventorySync\\ledger()->retryJob(%d);", $dead[0]['id']));
        self::assertSame('pending', $retried['status']);
        $report = self::runQueue();
        self::assertSame(1, $report['channels']['wholesale']['pushed']);
        self::assertSame(6, self::$fakes->state()['woocommerce_remote']['SYNC-CAP']);
        self::assertSame(5, self::$fakes->state()['ebay']['SYNC-CAP'], 'eBay pushed again (3 → 5)');
        // eBay's access token outlived the PHP process that asked for it: this later run pushed
        // with the kept token (no second token request), and the token is stored sealed.
        self::assertSame(1, self::$fakes->ebayTokenRequests());
        $kept = self::$site->eval("return \\InventorySync\\ledger_path();");
        self::assertStringNotContainsString('#fake-', (string) file_get_contents($kept) . (string) @file_get_contents($kept . '-wal'));
    }

    public function test_07_reconciliation_finds_drift_on_a_channel_and_repairs_it(): void
    {
        $before = self::$fakes->state()['shopify']['SYNC-TEE'];
        self::assertSame(19, $before);
        self::$fakes->sell('shopify', 'SYNC-TEE'); // Someone changed Shopify by hand: it shows 18.
        self::cron('inventory_sync_reconcile');
        $drift = self::$site->eval("return \\InventorySync\\ledger()->drift(['channel' => 'shopify', 'sku' => 'SYNC-TEE'])['records'];");
        self::assertCount(1, $drift);
        self::assertSame(19, $drift[0]['expected']);
        self::assertSame(18, $drift[0]['remote']);
        self::assertTrue($drift[0]['repaired']);
        self::cron('inventory_sync_run_queue');
        self::assertSame(19, self::$fakes->state()['shopify']['SYNC-TEE']);
    }

    public function test_08_a_site_can_be_its_own_primary_source_through_the_filter(): void
    {
        $result = self::$site->eval(<<<'PHP'
            add_filter('inventory_sync_primary_source', fn () => [
                'source' => 'wms', 'pull_id' => 'nightly-1',
                'levels' => [['sku' => 'SYNC-TEE', 'location' => 'MAIN', 'quantity' => 25], ['sku' => 'NOT-HERE', 'location' => 'MAIN', 'quantity' => 1]],
            ]);
            do_action('inventory_sync_pull_source');
            $first = \InventorySync\ledger()->stock('SYNC-TEE')['on_hand'];
            do_action('inventory_sync_pull_source'); // the same pull again: nothing counts twice
            $runs = \InventorySync\ledger()->syncRuns(['kind' => 'pull'])['runs'];
            return ['first' => $first, 'again' => \InventorySync\ledger()->stock('SYNC-TEE')['on_hand'], 'runs' => count($runs), 'skipped' => $runs[0]['skipped']];
            PHP);
        self::assertSame(25, $result['first']);
        self::assertSame(25, $result['again']);
        self::assertSame(2, $result['runs']);
        self::assertSame(1, $result['skipped'], 'the unknown SKU is skipped and counted');
        self::cron('inventory_sync_run_queue');
        self::assertChannelsShow('SYNC-TEE', 25);
    }

    public function test_09_a_channel_with_open_jobs_cannot_be_deleted_and_nothing_broke(): void
    {
        $outcome = self::$site->eval(<<<'PHP'
            try { \InventorySync\ledger()->deleteChannel('shopify'); return 'deleted'; }
            catch (\InventorySync\Exception\ConflictException $e) { return 'conflict: ' . $e->getMessage(); }
            PHP);
        self::assertStringStartsWith('conflict: ', $outcome, 'Shopify still has its backing-off job');
        self::assertSame('', self::$site->errorLog());
    }
}
