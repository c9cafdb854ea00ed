<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The dashboard at the top of the Inventory Sync page, in a real WordPress with a fake Shopify
 * and a fake wholesale WooCommerce store:
 * queue cards with the ledger's counts linking to the filtered queue, drift from the last
 * reconciliation, today's sync runs in the 7-day activity chart (server-side SVG), the stock
 * alerts; in Chromium at desktop and phone width (screenshots under tests/output/screenshots).
 */
final class DashboardTest extends TestCase
{
    private static Site $site;
    private static FakeChannels $fakes;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('dashboard');
        self::$fakes = FakeChannels::start(['DASH-TEE', 'DASH-MUG'], Paths::output() . '/fake-channels-dashboard.log');
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertItem(['sku' => 'DASH-TEE', 'name' => 'Dashboard tee']);
            $l->upsertItem(['sku' => 'DASH-MUG', 'name' => 'Dashboard mug', 'thresholds' => ['critical' => 2, 'low' => 5, 'warning' => 10]]);
            $l->record(['event_id' => 'dash-1', 'sku' => 'DASH-TEE', 'kind' => 'receive', 'quantity' => 40, 'location' => 'MAIN']);
            $l->record(['event_id' => 'dash-2', 'sku' => 'DASH-MUG', 'kind' => 'receive', 'quantity' => 2, 'location' => 'MAIN']);
            $c = %s;
            $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify'] + $c['shopify']);
            $l->saveChannel(['key' => 'wholesale', 'kind' => 'woocommerce_remote', 'name' => 'Wholesale'] + $c['woocommerce_remote']);
            $l->syncFull();
            $l->runQueue(['budget_ms' => 20000]);
            return true;
            PHP, var_export(self::$fakes->channels, true)));
        // Someone changes a quantity on Shopify: the reconciliation finds it and repairs it.
        self::$fakes->sell('shopify', 'DASH-TEE');
        self::$site->eval('$l = \InventorySync\ledger(); $l->reconcile(); $l->runQueue(["budget_ms" => 20000]); return true;');
        // Then the wholesale store refuses our key: its next push dies (a dead letter).
        self::$fakes->outage('woocommerce_remote', 401);
        self::$site->eval(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->record(['event_id' => 'dash-3', 'sku' => 'DASH-TEE', 'kind' => 'sale', 'quantity' => 1, 'location' => 'MAIN']);
            \InventorySync\Sync\changed(['DASH-TEE']);
            $l->runQueue(['budget_ms' => 20000]);
            return true;
            PHP);
        self::$fakes->outage('woocommerce_remote', null);
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

    public function test_the_dashboard_shows_the_ledger_s_numbers(): void
    {
        $counts = self::$site->eval('return \InventorySync\ledger()->jobCounts();');
        self::assertSame(1, $counts['dead'], 'the setup left one dead letter');
        $runs = self::$site->eval('return \InventorySync\ledger()->syncRuns(["limit" => 100])["runs"];');

        self::$site->login();
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
        self::assertSame(200, $page->status);
        $html = $page->body;

        // Cards: the counts, each linking to the queue filtered by its status.
        self::assertMatchesRegularExpression('#<a class="inventory-sync-card is-dead has-jobs"\s+href="[^"]*page=inventory-sync-queue&(amp;|\#038;)status=dead">\s*<strong>1</strong>#', $html);
        self::assertMatchesRegularExpression('#is-running"\s+href="[^"]*status=running">\s*<strong>0</strong>#', $html);

        // Drift: the one listing Shopify changed.
        self::assertStringContainsString('Drift: 1 listing showed another number than the ledger at the last reconciliation', $html);

        // The chart: seven days, today's bar holds every run of the setup.
        self::assertSame(1, preg_match('#<svg [^>]*role="img"[^>]*>.*</svg>#s', $html, $svg));
        self::assertSame(7, substr_count($svg[0], '<g class="day">'));
        $today = self::$site->eval("return wp_date(get_option('date_format'), (new DateTimeImmutable('today', wp_timezone()))->getTimestamp());");
        $done = count(array_filter($runs, fn ($r) => $r['status'] === 'done'));
        $failed = count(array_filter($runs, fn ($r) => $r['status'] === 'failed'));
        self::assertStringContainsString(sprintf('%s: %d runs (%d done, %d failed)', $today, count($runs), $done, $failed), $svg[0]);
        self::assertStringNotContainsString('<script', $svg[0]);

        // Alerts: the mug at its critical threshold.
        self::assertMatchesRegularExpression('#<code>DASH-MUG</code></td>\s*<td>critical</td>#', $html);
    }

    public function test_the_dashboard_in_chromium_at_desktop_and_phone_width(): void
    {
        foreach ([1280 => 'dashboard-1280', 390 => 'dashboard-390'] as $width => $name) {
            $file = Browser::screenshotAdminPage(self::$site, '/wp-admin/admin.php?page=inventory-sync', ['Dead letters', 'Sync activity, last 7 days', 'Stock alerts', 'DASH-MUG'], $name, $width);
            self::assertFileExists($file);
            self::assertGreaterThan(10_000, filesize($file));
        }
    }

    public function test_a_subscriber_does_not_see_it(): void
    {
        self::$site->eval("wp_insert_user(['user_login' => 'dash-reader', 'user_pass' => 'dash-reader-pass', 'role' => 'subscriber']); return true;");
        self::$site->login('dash-reader', 'dash-reader-pass');
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
        self::assertSame(403, $page->status);
        self::assertStringNotContainsString('Dead letters', $page->body);
    }
}

