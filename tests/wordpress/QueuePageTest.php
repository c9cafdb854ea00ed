<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Response;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The Queue page (wp-admin → Inventory Sync → Queue) against fake Shopify and eBay servers: in
 * Chromium at desktop and phone width, "Sync now" drains the queue to the channels, a refused
 * push becomes a dead job shown with its error and is retried from its row once the channel is
 * back, views and the channel filter, clearing dead jobs behind a confirmation; over HTTP,
 * product ids resolved to SKUs, retry all dead jobs of a channel, cursor paging of a long queue,
 * a subscriber kept out of the page and every action, forged and missing nonces changing
 * nothing, and an Amazon backlog sent as one feed (settled at once, then one left in progress
 * with its jobs held "in feed #N"). The PHP debug log stays empty throughout.
 */
final class QueuePageTest extends TestCase
{
    private const PAGE = '/wp-admin/admin.php?page=inventory-sync-queue';
    private const STOCK = ['QUEUE-TEE' => 12, 'QUEUE-MUG' => 5];

    private static Site $site;
    private static FakeChannels $fakes;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('queue-page');
        self::$fakes = FakeChannels::start([...array_keys(self::STOCK), 'QUEUE-CAP', 'FEED-1', 'FEED-2', 'FEED-3', 'FEED-4', 'FEED-5'], Paths::output() . '/fake-channels-queue-page.log');
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            foreach (%s as $sku => $qty) {
                $l->upsertItem(['sku' => $sku, 'name' => $sku]);
                $l->record(['event_id' => "open-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => $qty, 'location' => 'MAIN']);
            }
            $c = %s;
            $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify'] + $c['shopify']);
            $l->saveChannel(['key' => 'ebay', 'kind' => 'ebay', 'name' => 'eBay', 'allocation' => ['max' => 5]] + $c['ebay']);
            wp_insert_user(['user_login' => 'subscriber', 'user_pass' => 'subscriber-password', 'user_email' => 'sub@example.test', 'role' => 'subscriber']);
            return true;
            PHP, var_export(self::STOCK, true), var_export(self::$fakes->channels, true)));
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

    /** @return array<string, int> */
    private static function counts(): array
    {
        return self::$site->eval('return \InventorySync\ledger()->jobCounts();');
    }

    /** @return list<array<string, mixed>> */
    private static function jobs(string $status): array
    {
        return self::$site->eval(sprintf("return \\InventorySync\\ledger()->jobs(['status' => %s])['jobs'];", var_export($status, true)));
    }

    /** Books a sale in the ledger without planning it (the page's "Sync now" plans it). */
    private static function sell(string $sku, int $quantity, string $event): void
    {
        self::$site->eval(sprintf(
            "\\InventorySync\\ledger()->record(['event_id' => %s, 'sku' => %s, 'kind' => 'sale', 'quantity' => %d, 'location' => 'MAIN']); return true;",
            var_export($event, true),
            var_export($sku, true),
            $quantity,
        ));
    }

    private static function page(string $query = ''): Response
    {
        return self::$site->request('GET', self::PAGE . $query, [], null, true);
    }

    /** The nonce of the form whose marker appears before it on the page. */
    private static function nonce(string $body, string $marker): string
    {
        self::assertSame(1, preg_match('/' . preg_quote($marker, '/') . '.*?name="_wpnonce" value="([0-9a-f]+)"/s', $body, $m), "nonce after $marker");
        return $m[1];
    }

    /** @param array<string, mixed> $fields */
    private static function post(array $fields): Response
    {
        return self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($fields), true);
    }

    /** @param array{consoleErrors: list<string>} $result What Browser::run() returned. */
    private static function assertConsoleClean(array $result): void
    {
        self::assertSame([], $result['consoleErrors'], 'the browser console stayed free of errors');
    }

    public function test_01_sync_now_in_chromium_drains_the_queue_at_desktop_and_phone_width(): void
    {
        $result = Browser::run(self::$site, [
            ['goto' => self::PAGE],
            ['expect' => ['Queue', 'No jobs here.', 'Sync now', 'Dead jobs and clean-up', 'I understand these pushes will never be made']],
            ['screenshot' => 'queue-empty'],
            ['fill' => '#inventory-sync-sync-skus', 'value' => "QUEUE-TEE\nQUEUE-MUG"],
            ['click' => '#inventory-sync-sync-now-submit'],
            ['expect' => ['Sync now: 2 SKUs planned for every enabled channel — jobs queued: 4, already up to date: 0.', 'Queue pass: 4 pushed, 0 to be retried, 0 dead.']],
            ['expect' => ['QUEUE-TEE', 'QUEUE-MUG', 'Shopify (shopify)', 'eBay (ebay)', 'Done'], 'in' => 'table.wp-list-table'],
            ['expectNo' => ['Pending', 'Dead'], 'in' => 'table.wp-list-table tbody'],
            ['fitsWidth' => true],
            ['screenshot' => 'queue-desktop'],
            ['width' => 390],
            ['goto' => self::PAGE],
            ['expect' => ['QUEUE-TEE', 'QUEUE-MUG', 'Sync now']],
            ['fitsWidth' => true],
            ['screenshot' => 'queue-phone'],
        ], ['name' => 'queue-sync-now']);
        self::assertConsoleClean($result);
        foreach (['queue-empty', 'queue-desktop', 'queue-phone'] as $name) {
            self::assertFileExists(Browser::screenshots() . "/$name.png");
        }

        $state = self::$fakes->state();
        self::assertSame([12, 5], [$state['shopify']['QUEUE-TEE'], $state['shopify']['QUEUE-MUG']], 'Shopify shows everything available');
        self::assertSame([5, 5], [$state['ebay']['QUEUE-TEE'], $state['ebay']['QUEUE-MUG']], 'eBay at most 5');
        self::assertSame(['pending' => 0, 'retrying' => 0, 'running' => 0, 'done' => 4, 'failed' => 0, 'dead' => 0], self::counts());
    }

    public function test_02_a_refused_push_is_a_dead_job_shown_with_its_error_and_retried_from_its_row(): void
    {
        self::sell('QUEUE-TEE', 1, 'queue-sale-1');
        self::$fakes->outage('shopify', 401);
        try {
            $result = Browser::run(self::$site, [
                ['goto' => self::PAGE],
                ['fill' => '#inventory-sync-sync-skus', 'value' => 'QUEUE-TEE'],
                ['click' => '#inventory-sync-sync-now-submit'],
                // Shopify needs 11 and refuses it; eBay stays at its cap of 5.
                ['expect' => ['Sync now: 1 SKU planned for every enabled channel — jobs queued: 1, already up to date: 1.', 'Queue pass: 0 pushed, 0 to be retried, 1 dead.']],
                ['click' => '.subsubsub .dead a'],
                ['expect' => ['Dead (1)', 'QUEUE-TEE', 'Shopify (shopify)', '401', 'Retry'], 'in' => '#wpbody-content'],
                ['expectNo' => ['QUEUE-MUG'], 'in' => 'table.wp-list-table tbody'],
                ['screenshot' => 'queue-dead-job'],
            ], ['name' => 'queue-dead']);
            self::assertConsoleClean($result);
        } finally {
            self::$fakes->outage('shopify', null);
        }
        $dead = self::jobs('dead');
        self::assertCount(1, $dead);
        self::assertSame(['shopify', 'QUEUE-TEE', 11], [$dead[0]['channel'], $dead[0]['sku'], $dead[0]['desired']]);
        // The error is escaped and shortened; its whole text is in the title.
        $body = self::page('&status=dead')->body;
        self::assertStringContainsString('title="' . htmlspecialchars((string) $dead[0]['last_error'], ENT_QUOTES, 'UTF-8') . '"', $body);

        $result = Browser::run(self::$site, [
            ['goto' => self::PAGE . '&status=dead'],
            ['click' => 'tr[data-job-id="' . $dead[0]['id'] . '"] form.inventory-sync-retry-job button'],
            ['expect' => ['The job for QUEUE-TEE on shopify is back in line.', 'Queue pass: 1 pushed, 0 to be retried, 0 dead.']],
            ['expect' => ['Dead (0)', 'No jobs here.'], 'in' => '#wpbody-content'],
            ['goto' => self::PAGE],
            ['expect' => ['Done'], 'in' => 'tr[data-job-id="' . $dead[0]['id'] . '"]'],
            ['screenshot' => 'queue-retried'],
        ], ['name' => 'queue-retry']);
        self::assertConsoleClean($result);
        self::assertSame(11, self::$fakes->state()['shopify']['QUEUE-TEE']);
        self::assertSame([], self::jobs('dead'));
        self::assertSame(0, self::counts()['pending']);
    }

    public function test_03_views_the_channel_filter_and_clearing_dead_jobs_behind_a_confirmation(): void
    {
        self::sell('QUEUE-MUG', 1, 'queue-sale-2');
        self::$fakes->outage('shopify', 401);
        try {
            $result = Browser::run(self::$site, [
                ['goto' => self::PAGE],
                ['fill' => '#inventory-sync-sync-skus', 'value' => 'QUEUE-MUG'],
                ['click' => '#inventory-sync-sync-now-submit'],
                ['expect' => 'Queue pass: 1 pushed, 0 to be retried, 1 dead.'],
                // The channel filter keeps only eBay's jobs.
                ['select' => '#inventory-sync-filter-channel', 'value' => 'ebay'],
                ['click' => '#inventory-sync-filter-submit'],
                ['expect' => ['eBay (ebay)', 'QUEUE-MUG', 'QUEUE-TEE'], 'in' => 'table.wp-list-table tbody'],
                ['expectNo' => ['Shopify'], 'in' => 'table.wp-list-table tbody'],
                ['expect' => 'Dead (0)', 'in' => '.subsubsub'],
                // Clearing dead jobs needs the box ticked.
                ['goto' => self::PAGE . '&status=dead'],
                ['select' => '#inventory-sync-clear-dead-channel', 'value' => 'shopify'],
                ['click' => '#inventory-sync-clear-dead-submit'],
                ['expect' => 'Dead jobs were not cleared: tick the box'],
                ['expect' => ['QUEUE-MUG'], 'in' => 'table.wp-list-table tbody'],
                ['select' => '#inventory-sync-clear-dead-channel', 'value' => 'shopify'],
                ['check' => 'form.inventory-sync-clear-dead input[name="confirm"]'],
                ['click' => '#inventory-sync-clear-dead-submit'],
                ['expect' => '1 dead job was cleared.'],
                ['expect' => ['Dead (0)', 'No jobs here.'], 'in' => '#wpbody-content'],
                ['goto' => self::PAGE],
                ['click' => '#inventory-sync-clear-finished-submit'],
                ['expect' => ['finished jobs were cleared.', 'No jobs here.']],
            ], ['name' => 'queue-clear']);
            self::assertConsoleClean($result);
        } finally {
            self::$fakes->outage('shopify', null);
        }
        self::assertSame(['pending' => 0, 'retrying' => 0, 'running' => 0, 'done' => 0, 'failed' => 0, 'dead' => 0], self::counts());
    }

    public function test_04_sync_now_takes_woocommerce_product_ids(): void
    {
        // A store product with a SKU: its stock is booked in the ledger when it is saved.
        $id = self::$site->eval(<<<'PHP'
            $p = new WC_Product_Simple();
            $p->set_name('Cap');
            $p->set_sku('QUEUE-CAP');
            $p->set_manage_stock(true);
            $p->set_stock_quantity(7);
            return $p->save();
            PHP);
        $nonce = self::nonce(self::page()->body, 'inventory-sync-sync-now');
        self::assertSame(302, self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => '', 'product_ids' => "$id, 999999"])->status);
        $page = self::page()->body;
        self::assertStringContainsString('Sync now: 1 SKU planned for every enabled channel', $page);
        self::assertStringContainsString('These product ids are not products with managed stock and a SKU: 999999.', $page);
        self::assertSame([7, 5], [self::$fakes->state()['shopify']['QUEUE-CAP'], self::$fakes->state()['ebay']['QUEUE-CAP']]);

        // Nothing chosen, or unknown SKUs: said so.
        $nonce = self::nonce($page, 'inventory-sync-sync-now');
        self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => " ,\n"]);
        $page = self::page()->body;
        self::assertStringContainsString('Nothing was synced: enter at least one SKU or product id.', $page);
        $nonce = self::nonce($page, 'inventory-sync-sync-now');
        self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => 'NO-SUCH-SKU']);
        self::assertStringContainsString('1 SKU is not in the ledger and was skipped.', self::page()->body);
    }

    public function test_05_forged_or_missing_nonces_change_nothing(): void
    {
        // A dead job to act on.
        self::sell('QUEUE-TEE', 1, 'queue-sale-3');
        self::$fakes->outage('shopify', 401);
        try {
            $nonce = self::nonce(self::page()->body, 'inventory-sync-sync-now');
            self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => 'QUEUE-TEE']);
        } finally {
            self::$fakes->outage('shopify', null);
        }
        $dead = self::jobs('dead');
        self::assertCount(1, $dead);
        $id = $dead[0]['id'];
        self::sell('QUEUE-MUG', 1, 'queue-sale-4'); // planned only by a "Sync now" that goes through
        $counts = self::counts();
        $remote = self::$fakes->state();

        $page = self::page('&status=dead')->body;
        $retryNonce = self::nonce($page, 'data-job-id="' . $id . '"');
        foreach ([
            'retry one' => ['action' => 'inventory_sync_retry_job', 'job_id' => $id],
            'retry all' => ['action' => 'inventory_sync_retry_dead'],
            'clear dead' => ['action' => 'inventory_sync_clear_jobs', 'clear' => 'dead', 'confirm' => '1'],
            'clear finished' => ['action' => 'inventory_sync_clear_jobs', 'clear' => 'finished'],
            'sync now' => ['action' => 'inventory_sync_sync_now', 'skus' => 'QUEUE-MUG'],
        ] as $what => $fields) {
            self::assertSame(403, self::post($fields + ['_wpnonce' => 'deadbeef00'])->status, "$what with a forged nonce");
            self::assertSame(403, self::post($fields)->status, "$what without a nonce");
            // Another action's (or object's) nonce is no good either.
            self::assertSame(403, self::post($fields + ['_wpnonce' => $what === 'retry one' ? self::nonce($page, 'inventory-sync-sync-now') : $retryNonce])->status, "$what with another form's nonce");
        }
        // One job's nonce does not retry another.
        $done = self::jobs('done')[0]['id'];
        self::assertSame(403, self::post(['action' => 'inventory_sync_retry_job', 'job_id' => $done, '_wpnonce' => $retryNonce])->status);

        self::assertSame($counts, self::counts(), 'no job changed');
        self::assertSame($remote, self::$fakes->state(), 'nothing was pushed');
        self::assertSame('dead', self::jobs('dead')[0]['status']);
    }

    public function test_06_a_subscriber_gets_no_access_to_the_page_or_any_action(): void
    {
        $counts = self::counts();
        $remote = self::$fakes->state();
        self::$site->login('subscriber', 'subscriber-password');
        try {
            $page = self::page();
            self::assertSame(403, $page->status);
            self::assertStringNotContainsString('inventory-sync-sync-now', $page->body);
            self::assertStringNotContainsString('page=inventory-sync-queue', self::$site->request('GET', '/wp-admin/profile.php', [], null, true)->body, 'no menu entry');
            foreach ([
                ['action' => 'inventory_sync_retry_job', 'job_id' => self::jobs('dead')[0]['id']],
                ['action' => 'inventory_sync_retry_dead'],
                ['action' => 'inventory_sync_clear_jobs', 'clear' => 'dead', 'confirm' => '1'],
                ['action' => 'inventory_sync_clear_jobs', 'clear' => 'finished'],
                ['action' => 'inventory_sync_sync_now', 'skus' => 'QUEUE-MUG'],
            ] as $fields) {
                $response = self::post($fields + ['_wpnonce' => 'deadbeef00']);
                self::assertSame(403, $response->status, $fields['action']);
                self::assertStringContainsString('You are not allowed to manage Inventory Sync.', $response->body);
            }
            // In the browser too.
            $result = Browser::run(self::$site, [
                ['goto' => self::PAGE],
                ['expectNo' => ['Sync now', 'Retry all dead jobs']],
                ['screenshot' => 'queue-subscriber'],
            ], ['user' => 'subscriber', 'password' => 'subscriber-password', 'name' => 'queue-subscriber']);
            self::assertSame(['queue-subscriber'], array_map(static fn (string $f): string => basename($f, '.png'), $result['screenshots']));
        } finally {
            self::$site->login();
        }
        self::assertSame($counts, self::counts(), 'no job changed');
        self::assertSame($remote, self::$fakes->state(), 'nothing was pushed');
    }

    public function test_07_retry_all_dead_jobs_of_a_channel_pushes_them(): void
    {
        $dead = self::jobs('dead');
        self::assertCount(1, $dead);
        $page = self::page()->body;
        self::assertSame(302, self::post(['action' => 'inventory_sync_retry_dead', 'channel' => 'ebay', '_wpnonce' => self::nonce($page, 'inventory-sync-retry-dead')])->status);
        self::assertStringContainsString('There were no dead jobs to retry.', self::page()->body, 'eBay has none');
        $page = self::page()->body;
        self::assertSame(302, self::post(['action' => 'inventory_sync_retry_dead', 'channel' => 'shopify', '_wpnonce' => self::nonce($page, 'inventory-sync-retry-dead')])->status);
        self::assertStringContainsString('1 dead job is back in line. Queue pass: 1 pushed, 0 to be retried, 0 dead.', self::page()->body);
        self::assertSame($dead[0]['desired'], self::$fakes->state()['shopify']['QUEUE-TEE']);
        self::assertSame([], self::jobs('dead'));
    }

    public function test_08_sync_now_for_one_channel_queues_and_pushes_that_channel_only(): void
    {
        self::$site->eval(sprintf(
            "\\InventorySync\\ledger()->saveChannel(['key' => 'old-erp', 'kind' => 'webhook', 'name' => 'Old ERP', 'enabled' => false] + %s); return true;",
            var_export(self::$fakes->channels['webhook'], true),
        ));
        self::sell('QUEUE-MUG', 1, 'queue-sale-one-channel');
        $before = self::$fakes->state();
        $counts = self::counts();
        $page = self::page()->body;
        self::assertSame(1, preg_match('/id="inventory-sync-sync-channel" name="channel".*?<option value="ebay"\s*>eBay \(ebay\)<\/option>.*?inventory-sync-sync-now-submit/s', $page), 'the channel choice in the form');
        $nonce = self::nonce($page, 'inventory-sync-sync-now');
        self::assertSame(302, self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => 'QUEUE-MUG', 'channel' => 'ebay'])->status);
        $page = self::page()->body;
        self::assertStringContainsString('Sync now: 1 SKU planned for eBay (ebay) only — jobs queued: 1, already up to date: 0. Queue pass: 1 pushed, 0 to be retried, 0 dead.', $page);
        $after = self::$fakes->state();
        $available = self::$site->eval("return \\InventorySync\\ledger()->stock('QUEUE-MUG')['available'];");
        self::assertNotSame($before['ebay']['QUEUE-MUG'], $available, 'eBay was behind');
        self::assertSame($available, $after['ebay']['QUEUE-MUG'], 'eBay shows the ledger');
        self::assertSame($before['shopify'], $after['shopify'], 'Shopify was left alone');
        self::assertSame($counts['done'] + 1, self::counts()['done'], 'one job, for eBay');
        self::assertSame(0, self::counts()['pending']);

        // A channel that is off, or one that does not exist: nothing planned, said so.
        foreach (['old-erp' => 'Nothing was synced: Old ERP (old-erp) is turned off. Turn it on under Channels first.', 'nope' => 'Nothing was synced: there is no channel nope.'] as $channel => $said) {
            $nonce = self::nonce(self::page()->body, 'inventory-sync-sync-now');
            self::assertSame(302, self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => 'QUEUE-MUG', 'channel' => $channel])->status);
            self::assertStringContainsString($said, self::page()->body);
        }
        // The rest of the sale reaches Shopify with "every channel".
        $nonce = self::nonce(self::page()->body, 'inventory-sync-sync-now');
        self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => 'QUEUE-MUG', 'channel' => '']);
        self::assertStringContainsString('Sync now: 1 SKU planned for every enabled channel — jobs queued: 1, already up to date: 1.', self::page()->body);
        self::assertSame($available, self::$fakes->state()['shopify']['QUEUE-MUG'], 'Shopify caught up');
    }

    public function test_09_long_queues_are_paged_by_cursor_newest_first(): void
    {
        // 30 new SKUs: 60 pending jobs (no queue pass runs), more than a page of 50.
        self::$site->eval(<<<'PHP'
            $l = \InventorySync\ledger();
            $skus = [];
            for ($i = 1; $i <= 30; $i++) {
                $sku = sprintf('PAGE-%02d', $i);
                $l->upsertItem(['sku' => $sku, 'name' => $sku]);
                $l->record(['event_id' => "open-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => $i, 'location' => 'MAIN']);
                $skus[] = $sku;
            }
            return $l->syncSkus($skus)['enqueued'];
            PHP);
        $first = self::page('&status=pending')->body;
        self::assertSame(50, substr_count($first, 'class="inventory-sync-job '));
        self::assertStringContainsString('60 jobs', $first);
        self::assertStringNotContainsString('inventory-sync-newest', $first);
        self::assertSame(1, preg_match('/class="next-page button inventory-sync-older" href="([^"]+)"/', $first, $m));
        $older = self::$site->request('GET', str_replace(self::$site->url, '', html_entity_decode($m[1])), [], null, true)->body;
        self::assertSame(10, substr_count($older, 'class="inventory-sync-job '));
        self::assertStringContainsString('inventory-sync-newest', $older);
        self::assertStringNotContainsString('inventory-sync-older', $older);
        // Newest first: the first page ends where the second begins, and no job is on both.
        preg_match_all('/data-job-id="(\d+)"/', $first . $older, $ids);
        $ids = array_map('intval', $ids[1]);
        self::assertCount(60, array_unique($ids));
        $sorted = $ids;
        rsort($sorted);
        self::assertSame($sorted, $ids);
    }

    public function test_10_a_backlog_for_amazon_goes_in_one_feed_shown_with_its_jobs(): void
    {
        // Amazon with a feed threshold of 2: seven jobs go in one JSON_LISTINGS_FEED. (The
        // paging test's jobs, for SKUs the fakes do not have, are run out of the queue first.)
        $skus = ['QUEUE-TEE', 'QUEUE-MUG', 'FEED-1', 'FEED-2', 'FEED-3', 'FEED-4', 'FEED-5'];
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->runQueue(['budget_ms' => 20000]);
            foreach (%s as $i => $sku) {
                if (str_starts_with($sku, 'FEED-')) {
                    $l->upsertItem(['sku' => $sku, 'name' => $sku]);
                    $l->record(['event_id' => "open-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => 3 + $i, 'location' => 'MAIN']);
                }
            }
            $c = %s;
            $c['settings']['feed_threshold'] = 2;
            $l->saveChannel(['key' => 'amazon', 'kind' => 'amazon', 'name' => 'Amazon US'] + $c);
            return true;
            PHP, var_export($skus, true), var_export(self::$fakes->channels['amazon'], true)));
        self::assertSame(0, self::counts()['pending'] + self::counts()['running']);
        $syncNow = function () use ($skus): string {
            $nonce = self::nonce(self::page()->body, 'inventory-sync-sync-now');
            self::assertSame(302, self::post(['action' => 'inventory_sync_sync_now', '_wpnonce' => $nonce, 'skus' => implode("\n", $skus), 'channel' => 'amazon'])->status);
            return self::page()->body;
        };
        $allocations = fn (): array => self::$site->eval(sprintf(<<<'PHP'
            $out = [];
            foreach (%s as $sku) {
                foreach (\InventorySync\ledger()->channelStock($sku) as $channel) {
                    if ($channel['channel'] === 'amazon') {
                        $out[$sku] = $channel['quantity'];
                    }
                }
            }
            return $out;
            PHP, var_export($skus, true)));

        // Amazon answers the first poll with DONE: settled in the same queue pass.
        self::$fakes->amazonFeedsBehave(1);
        $page = $syncNow();
        self::assertStringContainsString('Sync now: 7 SKUs planned for Amazon US (amazon) only — jobs queued: 7, already up to date: 0. Queue pass: 7 pushed, 0 to be retried, 0 dead.', $page);
        $feeds = self::$fakes->amazonFeeds();
        self::assertCount(1, $feeds);
        self::assertSame(['status' => 'DONE', 'messages' => 7], ['status' => $feeds[0]['status'], 'messages' => $feeds[0]['messages']]);
        $shown = array_intersect_key(self::$fakes->state()['amazon'], array_flip($skus));
        $expected = $allocations();
        ksort($shown);
        ksort($expected);
        self::assertSame($expected, $shown, 'Amazon shows every allocation');
        self::assertSame(1, preg_match('/<h2>Channel feeds<\/h2>.*?<tr class="inventory-sync-feed-done">\s*<td>\s*#(\d+)\s*<br \/><code>' . preg_quote($feeds[0]['id'], '/') . '<\/code>.*?<td>Amazon US \(amazon\)<\/td>\s*<td>Done<\/td>\s*<td>7<\/td>\s*<td>7<\/td>\s*<td>0<\/td>/s', $page), 'the feed is listed as done: 7 jobs, 7 applied');

        // The next one stays IN_PROGRESS at Amazon: its jobs are held "in feed #N" and Amazon
        // still shows the old quantities.
        self::$fakes->amazonFeedsBehave(1000);
        foreach ($skus as $i => $sku) {
            self::sell($sku, 1, "queue-feed-sale-$i");
        }
        $before = self::$fakes->state()['amazon'];
        $page = $syncNow();
        self::assertStringContainsString('jobs queued: 7, already up to date: 0. Queue pass: 0 pushed, 0 to be retried, 0 dead.', $page);
        self::assertSame(1, preg_match('/<tr class="inventory-sync-feed-submitted">\s*<td>\s*#(\d+)\s*<br \/><code>\d+<\/code>.*?<td>At the channel \(IN_PROGRESS\)<\/td>\s*<td>7<\/td>/s', $page, $m), 'the second feed is at Amazon');
        $running = self::page('&status=running')->body;
        self::assertSame(7, substr_count($running, 'In feed #' . $m[1]), 'its seven jobs are held by it');
        self::assertSame($before, self::$fakes->state()['amazon'], 'nothing applied yet');
        self::assertSame(7, self::counts()['running']);
        $result = Browser::run(self::$site, [
            ['goto' => self::PAGE],
            ['expect' => ['Channel feeds', 'At the channel (IN_PROGRESS)', 'In feed #' . $m[1]]],
            ['screenshot' => 'queue-feeds'],
        ], ['name' => 'queue-feeds']);
        self::assertConsoleClean($result);
    }
}
