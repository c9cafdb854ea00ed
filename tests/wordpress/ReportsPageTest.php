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
 * the most frequent errors, the inbound API's requests by day and by route; each as CSV (same rows, formulas defused); a subscriber and a forged
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

    public function test_inbound_api_requests_by_day_and_by_route_with_errors_and_latency(): void
    {
        $key = self::$site->eval("return \\InventorySync\\ledger()->issueApiKey(['name' => 'Report reader', 'scopes' => ['read', 'write']], random_bytes(32))['key'];");
        $byRoute = static fn (): array => array_column(array_map(fn ($r) => [$r[0] . ' ' . $r[1], $r], array_filter(self::rows('routes'), fn ($r) => count($r) > 1)), 1, 0);
        $days = self::rows('api');
        self::assertCount(30, $days);
        $before = [end($days), $byRoute()];

        $api = '/wp-json/inventory-sync/v1';
        $answers = [];
        for ($i = 0; $i < 3; $i++) {
            $answers[] = self::$site->request('GET', "$api/stock/REP-TEE", ['X-API-Key' => $key])->status;
        }
        $answers[] = self::$site->request('GET', "$api/stock/NO-SUCH-SKU", ['X-API-Key' => $key])->status;
        $answers[] = self::$site->request('GET', "$api/stock/REP-TEE")->status;
        $answers[] = self::$site->request('POST', "$api/movements", ['X-API-Key' => $key, 'Content-Type' => 'application/json'], '{"event_id":')->status;
        $answers[] = self::$site->request('POST', "$api/webhooks/shopify", ['Content-Type' => 'application/json', 'X-Shopify-Hmac-Sha256' => base64_encode(str_repeat('x', 32))], '{}')->status;
        $answers[] = self::$site->request('GET', "$api/no-such-route")->status;
        // Our own queue kick is not an inbound API request.
        self::$site->request('POST', "$api/queue/kick", ['Content-Type' => 'application/json'], '{}');
        self::assertSame([200, 200, 200, 404, 401, 400, 401, 404], $answers);

        $days = self::rows('api');
        $today = end($days);
        self::assertSame((int) $before[0][1] + 8, (int) $today[1], 'eight requests today');
        self::assertSame((int) $before[0][2] + 5, (int) $today[2], 'five refused (4xx)');
        self::assertSame((int) $before[0][3], (int) $today[3], 'none failed (5xx)');
        self::assertGreaterThan(0.0, (float) $today[4], 'an error rate');
        self::assertGreaterThan(0.0, (float) $today[5], 'an average duration');
        self::assertNotSame('', $today[6], 'a p95');
        self::assertGreaterThanOrEqual((float) $today[5], (float) $today[7], 'the slowest is at least the average');

        $routes = $byRoute();
        $grew = static fn (string $route, int $column): int => (int) ($routes[$route][$column] ?? 0) - (int) ($before[1][$route][$column] ?? 0);
        self::assertSame([5, 2], [$grew('/inventory-sync/v1/stock/{sku} GET', 2), $grew('/inventory-sync/v1/stock/{sku} GET', 3)], 'every SKU under one route; 404 and 401 refused');
        self::assertSame([1, 1], [$grew('/inventory-sync/v1/movements POST', 2), $grew('/inventory-sync/v1/movements POST', 3)]);
        self::assertSame([1, 1], [$grew('/inventory-sync/v1/webhooks/shopify POST', 2), $grew('/inventory-sync/v1/webhooks/shopify POST', 3)], 'refused before routing, counted under its provider');
        self::assertSame(1, $grew('/inventory-sync/v1/(unknown) GET', 2));
        self::assertSame([], array_filter(array_keys($routes), fn ($r) => str_contains($r, 'kick')), 'the queue kick is not counted');
        $stock = $routes['/inventory-sync/v1/stock/{sku} GET'];
        self::assertSame(round(100 * (int) $stock[3] / (int) $stock[2], 1), (float) $stock[5], 'its error rate');

        [$status, $type, $body] = self::csv('routes');
        self::assertSame(200, $status);
        $lines = array_map('str_getcsv', array_filter(explode("\n", $body)));
        self::assertSame(['Route', 'Method', 'Requests', 'Refused (4xx)', 'Failed (5xx)', 'Error rate %', 'Average ms', 'p95 ms (at most)', 'Slowest ms'], $lines[0]);
        self::assertCount(count($routes) + 1, $lines, 'the same rows as the page');
        [$status, , $body] = self::csv('api');
        self::assertSame(200, $status);
        self::assertCount(31, array_filter(explode("\n", $body)), 'a header and 30 days');
    }

    public function test_in_chromium_and_not_for_subscribers_nor_forged_nonces(): void
    {
        foreach ([1280 => 'reports-1280', 390 => 'reports-390'] as $width => $name) {
            Browser::screenshotAdminPage(self::$site, '/wp-admin/admin.php?page=inventory-sync-reports&report=reorder', ['Reorder suggestions', 'REP-TEE', 'Threadworks'], $name, $width);
            Browser::screenshotAdminPage(self::$site, '/wp-admin/admin.php?page=inventory-sync-reports&report=routes', ['API by route', '/inventory-sync/v1/stock/{sku}', 'p95 ms (at most)'], "$name-api-routes", $width);
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
