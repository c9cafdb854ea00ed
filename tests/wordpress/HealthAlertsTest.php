<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The health report and the alert e-mails in a real WordPress: a dead job, a past-due backlog,
 * a stale channel and a stalled WP-Cron are flagged (in the report, `GET /health` and the status
 * page); alerts for oversold and low stock and for sync problems are mailed once per problem,
 * again when a problem gets worse or comes back; the daily summary. States are made through the
 * Ledger API (the store's own channel, whose jobs PHP claims, needs no HTTP), option timestamps,
 * and reports taken "later" (report($now)). Mails are captured by the harness.
 */
final class HealthAlertsTest extends TestCase
{
    private static Site $site;
    private static string $apiKey;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('health-alerts');
        self::$apiKey = self::$site->eval(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->saveChannel(['key' => 'woocommerce_local', 'kind' => 'woocommerce_local', 'name' => 'This store']);
            update_option('inventory_sync_alert_recipients', 'ops@example.test, not an address; buyer@example.test');
            return $l->issueApiKey(['name' => 'Monitor', 'scopes' => ['read']], random_bytes(32))['key'];
            PHP);
    }

    /** GET /health with a read key. */
    private static function restHealth(): \InventorySync\Tests\Harness\Response
    {
        return self::$site->request('GET', '/wp-json/inventory-sync/v1/health', ['X-API-Key' => self::$apiKey]);
    }

    /**
     * Records a cron heartbeat $offset seconds from now. Reports and checks taken "later" would
     * otherwise (rightly) find WP-Cron stalled: nothing runs cron in these sites.
     */
    private static function cronRanAt(int $offset): void
    {
        self::$site->eval(sprintf("update_option('inventory_sync_cron_heartbeat', ['time' => time() + %d, 'hook' => 'inventory_sync_run_queue'], false); return true;", $offset));
    }

    public static function tearDownAfterClass(): void
    {
        self::$site->stop();
    }

    protected function tearDown(): void
    {
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    /** @return array<string, mixed> the health report, taken $later seconds from now */
    private static function report(int $later = 0): array
    {
        return self::$site->eval(sprintf('return \InventorySync\Health\report(time() + %d);', $later));
    }

    /** @return list<string> */
    private static function keys(array $report): array
    {
        return array_column($report['problems'], 'key');
    }

    /**
     * Receives $quantity of a new item of the store (linked to product 42) and plans it: the
     * store's channel gets a pending job.
     */
    private static function stocked(string $sku, int $quantity): void
    {
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertItem(['sku' => %1$s, 'name' => 'Item ' . %1$s, 'product_id' => 42]);
            $l->record(['event_id' => 'in-' . %1$s, 'sku' => %1$s, 'kind' => 'receive', 'quantity' => %2$d, 'location' => 'MAIN']);
            \InventorySync\Sync\changed([%1$s]);
            return true;
            PHP, var_export($sku, true), $quantity));
    }

    /** Claims the store channel's jobs and answers each: done, or dead. */
    private static function answerJobs(bool $ok): array
    {
        return self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $done = [];
            foreach ($l->claimLocalJobs('test') as $job) {
                $done[] = %s ? $l->completeJob($job['id'], 'test') : $l->failJob($job['id'], 'test', 'product 42 is gone', false);
            }
            return $done;
            PHP, $ok ? 'true' : 'false'));
    }

    private static function check(int $later = 0): ?array
    {
        return self::$site->eval(sprintf('return \InventorySync\Alerts\check(null, time() + %d);', $later));
    }

    public function test_01_a_fresh_site_is_healthy_in_the_report_and_over_rest(): void
    {
        $report = self::report();
        self::assertSame('ok', $report['status'], json_encode($report['problems']));
        self::assertFalse($report['cron']['stalled'], 'just activated: cron has not had time to run');
        self::assertSame(['woocommerce_local'], array_column($report['channels'], 'key'));

        $rest = self::restHealth();
        self::assertSame(200, $rest->status, $rest->body);
        $health = $rest->json();
        self::assertSame('ok', $health['status']);
        self::assertSame([], $health['problems']);
        foreach (['next_health_check', 'last_health_check', 'last_run', 'next_queue_run', 'stalled'] as $field) {
            self::assertArrayHasKey($field, $health['cron']);
        }
        self::assertSame(0, $health['queue']['counts']['dead']);
        self::assertSame(['oversold' => 0, 'critical' => 0, 'low' => 0, 'warning' => 0], $health['stock']);
    }

    public function test_02_a_dead_job_is_flagged(): void
    {
        self::stocked('DEAD-1', 50);
        $dead = self::answerJobs(false);
        self::assertSame(['dead'], array_column($dead, 'status'));

        $report = self::report();
        self::assertSame('degraded', $report['status']);
        self::assertSame(['dead_jobs'], self::keys($report));
        self::assertSame(1, $report['problems'][0]['count']);
        self::assertSame(1, $report['channels'][0]['dead']);

        $rest = self::restHealth();
        self::assertSame(200, $rest->status, 'degraded is not down');
        self::assertSame('degraded', $rest->json()['status']);
        self::assertSame(['dead_jobs'], array_column($rest->json()['problems'], 'key'));
    }

    public function test_03_a_past_due_backlog_and_then_a_stale_channel_are_flagged(): void
    {
        self::stocked('LATE-1', 40);
        $now = self::report();
        self::assertNotContains('backlog', self::keys($now), 'due now, not overdue');
        self::assertSame(1, $now['queue']['counts']['pending']);

        $in20min = self::report(20 * 60);
        self::assertContains('backlog', self::keys($in20min));
        self::assertSame(1, $in20min['queue']['past_due']);
        self::assertNotContains('stale_channel:woocommerce_local', self::keys($in20min), 'waiting 20 minutes is not stale yet');

        $in2h = self::report(2 * 3600);
        self::assertContains('cron_stalled', self::keys($in2h), 'nothing ran cron for 2 hours');
        self::assertContains('stale_channel:woocommerce_local', self::keys($in2h));
        self::assertTrue($in2h['channels'][0]['stale']);
        self::assertStringContainsString('This store', $in2h['problems'][array_search('stale_channel:woocommerce_local', self::keys($in2h), true)]['message']);

        // Pushing the job clears both.
        self::assertSame(['done'], array_column(self::answerJobs(true), 'status'));
        $after = self::report(2 * 3600);
        self::assertSame(['cron_stalled', 'dead_jobs'], self::keys($after));
        self::assertIsInt($after['channels'][0]['last_push_at']);
    }

    public function test_04_wp_cron_not_running_is_flagged(): void
    {
        $stall = <<<'PHP'
            update_option('inventory_sync_cron_heartbeat', ['time' => time() - %d, 'hook' => 'inventory_sync_run_queue'], false);
            wp_clear_scheduled_hook('inventory_sync_run_queue');
            wp_schedule_event(time() - %d, 'inventory_sync_every_minute', 'inventory_sync_run_queue');
            return \InventorySync\Health\report();
            PHP;
        $stalled = self::$site->eval(sprintf($stall, 3600, 3600));
        self::assertTrue($stalled['cron']['stalled']);
        self::assertContains('cron_stalled', self::keys($stalled));
        self::assertStringContainsString('1 hour', $stalled['problems'][array_search('cron_stalled', self::keys($stalled), true)]['message']);

        // One late signal alone is no alarm: an old heartbeat with the queue event on time…
        $onTime = self::$site->eval(sprintf($stall, 3600, 0));
        self::assertNotContains('cron_stalled', self::keys($onTime));
        // … nor a late event right after cron ran.
        $ran = self::$site->eval(sprintf($stall, 10, 3600));
        self::assertNotContains('cron_stalled', self::keys($ran));
        self::$site->eval(sprintf($stall, 0, 0));
    }

    public function test_05_alerts_are_mailed_once_per_problem_and_again_when_it_returns_or_worsens(): void
    {
        self::stocked('LOW-1', 12);        // low (≤ 15)
        self::stocked('OVER-1', 1);
        self::$site->eval("\\InventorySync\\ledger()->record(['event_id' => 'sale-over', 'sku' => 'OVER-1', 'kind' => 'sale', 'quantity' => 3, 'location' => 'MAIN']); return true;");
        self::answerJobs(true);

        $start = count(self::$site->mails());
        self::$site->eval("do_action('inventory_sync_health_check'); return true;");
        $mails = array_slice(self::$site->mails(), $start);
        self::assertCount(1, $mails, 'one mail for every problem found');
        $mail = $mails[0];
        self::assertSame(['ops@example.test', 'buyer@example.test'], $mail['to']);
        self::assertStringContainsString('Inventory Sync: 3 problems need attention', $mail['subject']);
        self::assertStringContainsString('OVER-1 (Item OVER-1): oversold, 0 available', $mail['message']);
        self::assertStringContainsString('LOW-1 (Item LOW-1): low, 12 available', $mail['message']);
        self::assertStringContainsString('1 push gave up', $mail['message']);
        self::assertStringNotContainsString('DEAD-1 (', $mail['message'], '50 in stock is no alert');

        // The same problems an hour later, and the hour after: no more mail.
        self::$site->eval("do_action('inventory_sync_health_check'); return true;");
        self::cronRanAt(3 * 86400); // (the event recorded a heartbeat: keep later checks quiet about cron)
        self::assertNull(self::check(3600));
        self::assertCount(1, array_slice(self::$site->mails(), $start));

        // The dead job is retried and pushed: solved, forgotten, no mail.
        self::$site->eval("\\InventorySync\\ledger()->retryAll(); return true;");
        self::answerJobs(true);
        self::assertNull(self::check());
        self::assertArrayNotHasKey('dead_jobs', self::$site->eval("return get_option('inventory_sync_alert_state');"));
        // It comes back: mailed again, alone.
        self::$site->eval("\\InventorySync\\ledger()->record(['event_id' => 'count-dead', 'sku' => 'DEAD-1', 'kind' => 'adjustment', 'quantity' => 45, 'location' => 'MAIN']); \\InventorySync\\Sync\\changed(['DEAD-1']); return true;");
        self::answerJobs(false);
        $again = self::check();
        self::assertNotNull($again);
        self::assertStringContainsString('1 problem needs attention', $again['subject']);
        self::assertStringContainsString('1 push gave up', $again['body']);
        self::assertStringNotContainsString('OVER-1', $again['body']);

        // LOW-1 gets worse (low → critical): mailed again.
        self::$site->eval("\\InventorySync\\ledger()->record(['event_id' => 'sale-low', 'sku' => 'LOW-1', 'kind' => 'sale', 'quantity' => 9, 'location' => 'MAIN']); return true;");
        $worse = self::check();
        self::assertNotNull($worse);
        self::assertStringContainsString('LOW-1 (Item LOW-1): critical, 3 available', $worse['body']);
        self::assertStringNotContainsString('OVER-1', $worse['body']);

        // Still open a day later: reminded once.
        $reminder = self::check(86400 + 60);
        self::assertNotNull($reminder);
        self::assertStringContainsString('OVER-1', $reminder['body']);
        self::assertNull(self::check(86400 + 120));
        self::assertCount(4, array_slice(self::$site->mails(), $start), 'the 4 mails asserted above, no other');

        // Stock alerts can be turned off; sync problems too.
        self::$site->eval("update_option('inventory_sync_alert_state', []); update_option('inventory_sync_alert_stock_level', 'off'); update_option('inventory_sync_alert_sync', 0); return true;");
        self::assertNull(self::check());
        self::$site->eval("update_option('inventory_sync_alert_stock_level', 'critical'); return true;");
        $critical = self::check();
        self::assertStringContainsString('LOW-1', $critical['body']);
        self::assertStringContainsString('OVER-1', $critical['body'], 'oversold is mailed at every level');
        self::assertStringNotContainsString('gave up', $critical['body']);
        self::$site->eval("update_option('inventory_sync_alert_sync', true); update_option('inventory_sync_alert_stock_level', 'low'); return true;");
        self::cronRanAt(0);
    }

    public function test_06_the_daily_summary_is_mailed_when_asked_for(): void
    {
        $start = count(self::$site->mails());
        self::$site->eval("do_action('inventory_sync_daily_summary'); return true;");
        self::assertCount(0, array_slice(self::$site->mails(), $start), 'off by default');

        self::$site->eval("update_option('inventory_sync_alert_daily_summary', true); \\InventorySync\\ledger()->runQueue(['budget_ms' => 1000]); do_action('inventory_sync_daily_summary'); return true;");
        $mails = array_slice(self::$site->mails(), $start);
        self::assertCount(1, $mails);
        self::assertStringContainsString('Inventory Sync daily summary', $mails[0]['subject']);
        $movements = count(self::$site->eval("return \\InventorySync\\ledger()->history(['limit' => 1000])['movements'];"));
        self::assertStringContainsString("Stock movements: $movements (", $mails[0]['message']);
        self::assertStringContainsString('in 1 queue runs', $mails[0]['message']);
        self::assertStringContainsString('Queue now: 0 pending, 1 dead', $mails[0]['message']);
        self::assertStringContainsString('Stock now: 1 oversold, 1 critical, 0 low', $mails[0]['message']);
    }

    public function test_07_the_status_page_shows_the_health(): void
    {
        self::$site->login();
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
        self::assertSame(200, $page->status);
        self::assertMatchesRegularExpression('#Sync health</th>\s*<td>1 push gave up#', $page->body);
        self::assertMatchesRegularExpression('#Queue</th>\s*<td>0 pending · 0 running · 1 dead</td>#', $page->body);
    }
}
