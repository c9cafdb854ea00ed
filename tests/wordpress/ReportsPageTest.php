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
 * The Reports page in a real WordPress: low stock and oversold SKUs, reorder suggestions with
 * their inputs, sync activity by day (today's runs, failures and failure rate), failures by hour,
 * the most frequent errors; each as CSV (same rows, formulas defused); a subscriber and a forged
 * nonce get nothing.
 */
final class ReportsPageTest extends TestCase
{
    private const PAGE = '/wp-admin/admin.php?page=inventory-sync-reports';
    private static Site $site;
    private static FakeChannels $fakes;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('reports-page');
        self::$fakes = FakeChannels::start(['REP-TEE', 'REP-MUG', '=SUM(A1)'], Paths::output() . '/fake-channels-reports.log');
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertItem(['sku' => 'REP-TEE', 'name' => 'Report tee', 'supplier' => 'Threadworks', 'lead_time_days' => 10, 'moq' => 24, 'pack_size' => 12, 'thresholds' => ['critical' => 2, 'low' => 5, 'warning' => 10]]);
            $l->upsertItem(['sku' => 'REP-MUG', 'name' => 'Report mug']);
            $l->upsertItem(['sku' => '=SUM(A1)', 'name' => 'Spreadsheet trap']);
            $l->record(['event_id' => 'r1', 'sku' => 'REP-TEE', 'kind' => 'receive', 'quantity' => 12, 'location' => 'MAIN']);
            for ($i = 0; $i < 9; $i++) {
                $l->record(['event_id' => "s$i", 'sku' => 'REP-TEE', 'kind' => 'sale', 'quantity' => 1, 'location' => 'MAIN']);
            }
            $l->record(['event_id' => 'm1', 'sku' => 'REP-MUG', 'kind' => 'sale', 'quantity' => 2, 'location' => 'MAIN']);
            $l->record(['event_id' => 't1', 'sku' => '=SUM(A1)', 'kind' => 'sale', 'quantity' => 1, 'location' => 'MAIN']);
            $l->saveChannel(['key' => 'wholesale', 'kind' => 'woocommerce_remote', 'name' => 'Wholesale'] + %s['woocommerce_remote']);
            $l->syncFull();
            $l->runQueue(['budget_ms' => 20000]);
            return true;
            PHP, var_export(self::$fakes->channels, true)));
        // Two runs that end in errors: the wholesale store refuses the key.
        self::$fakes->outage('woocommerce_remote', 401);
        self::$site->eval(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->record(['event_id' => 'r2', 'sku' => 'REP-TEE', 'kind' => 'receive', 'quantity' => 1, 'location' => 'MAIN']);
            \InventorySync\Sync\changed(['REP-TEE']);
            $l->runQueue(['budget_ms' => 20000]);
            $l->reconcile();
            return true;
            PHP);
        self::$fakes->outage('woocommerce_remote', null);
        self::$site->login();
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

    /** @return list<list<string>> the report table's rows */
    private static function rows(string $report, string $query = ''): array
    {
        $html = self::$site->request('GET', self::PAGE . '&report=' . $report . $query, [], null, true)->body;
        $doc = new \DOMDocument();
        @$doc->loadHTML($html);
        $rows = [];
        foreach ((new \DOMXPath($doc))->query('//table[contains(@class, "inventory-sync-report-' . $report . '")]/tbody/tr') as $tr) {
            $rows[] = array_map(fn ($td) => trim($td->textContent), iterator_to_array($tr->getElementsByTagName('td')));
        }
        return $rows;
    }

    /** @return array{0: int, 1: string, 2: string} status, content type, body of the CSV download */
    private static function csv(string $report, ?string $nonce = null): array
    {
        $html = self::$site->request('GET', self::PAGE . '&report=' . $report, [], null, true)->body;
        self::assertSame(1, preg_match('#class="button inventory-sync-csv" href="([^"]+)"#', $html, $m));
        $url = html_entity_decode($m[1]);
        if ($nonce !== null) {
            $url = preg_replace('/_wpnonce=[^&]+/', '_wpnonce=' . $nonce, $url);
        }
        $response = self::$site->request('GET', substr($url, strlen(self::$site->url)), [], null, true);
        return [$response->status, (string) $response->header('content-type'), $response->body];
    }

    public function test_stock_and_reorder_reports_with_their_inputs_and_csv(): void
    {
        $stock = array_column(self::rows('stock'), null, 0);
        self::assertSame('oversold', $stock['REP-MUG'][5]);
        self::assertSame(['4', 'low'], [$stock['REP-TEE'][2], $stock['REP-TEE'][5]]);

        $reorder = array_column(self::rows('reorder'), null, 0);
        self::assertArrayHasKey('REP-TEE', $reorder);
        self::assertSame(['Threadworks', '10', '24', '12'], [$reorder['REP-TEE'][2], $reorder['REP-TEE'][5], $reorder['REP-TEE'][9], $reorder['REP-TEE'][10]]);
        self::assertGreaterThanOrEqual(24, (int) $reorder['REP-TEE'][3], 'at least the MOQ');
        self::assertSame(0, (int) $reorder['REP-TEE'][3] % 12, 'whole packs');

        [$status, $type, $body] = self::csv('stock');
        self::assertSame(200, $status);
        self::assertStringStartsWith('text/csv', $type);
        $lines = array_map('str_getcsv', array_filter(explode("\n", $body)));
        self::assertSame(['SKU', 'Name', 'On hand', 'Reserved', 'Available', 'Alert', 'Supplier'], $lines[0]);
        self::assertCount(count($stock) + 1, $lines, 'the same rows as the page');
        self::assertContains("'=SUM(A1)", array_column($lines, 0), 'a formula is defused');
        self::assertNotContains('=SUM(A1)', array_column($lines, 0));
    }

    public function test_sync_activity_failures_by_hour_and_frequent_errors(): void
    {
        $runs = self::$site->eval('return \InventorySync\ledger()->syncRuns(["limit" => 100])["runs"];');
        $failedToday = count(array_filter($runs, fn ($r) => $r['status'] === 'failed'));
        $days = self::rows('activity');
        self::assertCount(30, $days);
        $today = end($days);
        self::assertSame([(string) count($runs), (string) $failedToday], [$today[1], $today[3]]);
        $months = self::rows('activity', '&period=month');
        self::assertCount(12, $months);
        self::assertSame((string) count($runs), end($months)[1], 'this month holds every run');
        $weeks = self::rows('activity', '&period=week');
        self::assertCount(26, $weeks);
        self::assertSame((string) count($runs), end($weeks)[1]);
        self::assertCount(24, self::rows('hours'));
        self::assertSame(count($runs), array_sum(array_map(fn ($h) => (int) $h[1], self::rows('hours'))));

        $errors = self::rows('errors');
        self::assertNotEmpty($errors);
        self::assertStringContainsString('401', implode(' ', array_column($errors, 2)));
        self::assertGreaterThanOrEqual((int) end($errors)[0], (int) $errors[0][0], 'most frequent first');
    }

    public function test_in_chromium_and_not_for_subscribers_nor_forged_nonces(): void
    {
        foreach ([1280 => 'reports-1280', 390 => 'reports-390'] as $width => $name) {
            Browser::screenshotAdminPage(self::$site, '/wp-admin/admin.php?page=inventory-sync-reports&report=reorder', ['Reorder suggestions', 'REP-TEE', 'Threadworks'], $name, $width);
        }
        [$status] = self::csv('stock', 'forged');
        self::assertSame(403, $status);
        self::$site->eval("wp_insert_user(['user_login' => 'rep-reader', 'user_pass' => 'rep-reader-pass', 'role' => 'subscriber']); return true;");
        self::$site->login('rep-reader', 'rep-reader-pass');
        try {
            self::assertSame(403, self::$site->request('GET', self::PAGE, [], null, true)->status);
            self::assertSame(403, self::$site->request('GET', '/wp-admin/admin-post.php?action=inventory_sync_export_report&report=stock', [], null, true)->status);
        } finally {
            self::$site->login();
        }
    }
}
