<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * WP-Cron in a real WordPress: the plugin's intervals, every event scheduled by activation (the
 * daily ones at their site time in the site's timezone) and cleared by deactivation, the
 * heartbeat recorded by a real wp-cron.php request, a daily event put back at its hour, and
 * retention deleting old log records only.
 */
final class SchedulingTest extends TestCase
{
    private const TIMEZONE = 'Pacific/Auckland';
    private const HOOKS = [
        'inventory_sync_health_check' => 'hourly',
        'inventory_sync_run_queue' => 'inventory_sync_every_minute',
        'inventory_sync_incremental_sync' => 'inventory_sync_every_five_minutes',
        'inventory_sync_pull_source' => 'inventory_sync_every_five_minutes',
        'inventory_sync_reconcile' => 'daily',
        'inventory_sync_full_sync' => 'daily',
        'inventory_sync_retention' => 'daily',
        'inventory_sync_daily_summary' => 'daily',
    ];
    private const DAILY_AT = [
        'inventory_sync_full_sync' => '02:00',
        'inventory_sync_reconcile' => '02:30',
        'inventory_sync_retention' => '03:00',
        'inventory_sync_daily_summary' => '07:00',
    ];

    private static Site $site;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('scheduling');
    }

    public static function tearDownAfterClass(): void
    {
        self::$site->stop();
    }

    protected function tearDown(): void
    {
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    /** The next time the site's clock shows $hhmm after $now, computed independently. */
    private static function nextSiteTime(string $hhmm, int $now): int
    {
        $zone = new \DateTimeZone(self::TIMEZONE);
        [$h, $m] = array_map('intval', explode(':', $hhmm));
        $day = (new \DateTimeImmutable('@' . $now))->setTimezone($zone);
        for ($i = 0; $i < 3; $i++) {
            $at = $day->modify("+$i day")->setTime($h, $m);
            if ($at->getTimestamp() > $now) {
                return $at->getTimestamp();
            }
        }
        throw new \LogicException('unreachable');
    }

    /** @return array{now: int, next: array<string, int|false>, schedules: array<string, string|false>} */
    private static function schedule(): array
    {
        // The hooks are listed here, not asked of the plugin: it may be inactive.
        return self::$site->eval(sprintf(<<<'PHP'
            $out = ['now' => time(), 'next' => [], 'schedules' => []];
            foreach (%s as $hook) {
                $out['next'][$hook] = wp_next_scheduled($hook);
                $out['schedules'][$hook] = wp_get_schedule($hook);
            }
            return $out;
            PHP, var_export(array_keys(self::HOOKS), true)));
    }

    public function test_01_activation_schedules_every_event_the_daily_ones_at_their_site_time(): void
    {
        $plugin = var_export(Site::PLUGIN, true);
        self::$site->eval(sprintf("update_option('timezone_string', %s); deactivate_plugins(%s); \$r = activate_plugin(%s); return is_wp_error(\$r) ? \$r->get_error_message() : true;", var_export(self::TIMEZONE, true), $plugin, $plugin));
        $intervals = self::$site->eval("\$s = wp_get_schedules(); return [\$s['inventory_sync_every_minute']['interval'], \$s['inventory_sync_every_five_minutes']['interval']];");
        self::assertSame([60, 300], $intervals);

        $state = self::schedule();
        self::assertSame(self::HOOKS, $state['schedules']);
        $zone = new \DateTimeZone(self::TIMEZONE);
        foreach (self::HOOKS as $hook => $recurrence) {
            $next = $state['next'][$hook];
            self::assertIsInt($next, "$hook is scheduled");
            if (isset(self::DAILY_AT[$hook])) {
                self::assertSame(self::nextSiteTime(self::DAILY_AT[$hook], $state['now']), $next, "$hook at the next " . self::DAILY_AT[$hook] . ' site time');
                self::assertSame(self::DAILY_AT[$hook], (new \DateTimeImmutable('@' . $next))->setTimezone($zone)->format('H:i'));
                self::assertLessThanOrEqual($state['now'] + 86400 + 3600, $next, 'within a day (DST aside)');
            } else {
                self::assertEqualsWithDelta($state['now'], $next, 5, "$hook runs right away");
            }
        }
    }

    public function test_02_deactivation_clears_every_event_and_activation_brings_them_back(): void
    {
        $plugin = var_export(Site::PLUGIN, true);
        self::$site->eval("deactivate_plugins($plugin); return true;");
        self::assertSame(array_fill_keys(array_keys(self::HOOKS), false), self::schedule()['next']);
        self::$site->eval("activate_plugin($plugin); return true;");
        foreach (self::schedule()['next'] as $hook => $next) {
            self::assertIsInt($next, "$hook is scheduled again");
        }
    }

    public function test_03_wp_cron_records_the_heartbeat_and_puts_a_daily_event_back_at_its_hour(): void
    {
        // As an older version did: the full sync at an arbitrary time, due now.
        self::$site->eval("delete_option('inventory_sync_cron_heartbeat'); wp_clear_scheduled_hook('inventory_sync_full_sync'); return wp_schedule_event(time() - 30, 'daily', 'inventory_sync_full_sync');");
        $before = time();
        self::assertSame(200, self::$site->runCron()->status);
        $beat = self::$site->eval("return get_option('inventory_sync_cron_heartbeat');");
        self::assertIsArray($beat, 'the heartbeat was recorded');
        self::assertGreaterThanOrEqual($before, $beat['time']);
        self::assertArrayHasKey($beat['hook'], self::HOOKS);
        $state = self::schedule();
        self::assertSame(self::nextSiteTime('02:00', $state['now']), $state['next']['inventory_sync_full_sync'], 'back at 02:00 site time');
        self::assertContains('full', array_column(self::$site->eval("return \\InventorySync\\ledger()->syncRuns()['runs'];"), 'kind'), 'the full sync ran');
        self::assertGreaterThan(time(), $state['next']['inventory_sync_run_queue'], 'the queue event ran and was rescheduled');
    }

    public function test_04_retention_deletes_old_log_records_only(): void
    {
        $fill = <<<'PHP'
            $l = \InventorySync\ledger();
            if (null === $l->channel('woocommerce_local')) {
                $l->saveChannel(['key' => 'woocommerce_local', 'kind' => 'woocommerce_local', 'name' => 'This store']);
            }
            $sku = %s;
            $l->upsertItem(['sku' => $sku, 'name' => $sku, 'product_id' => 4242]); // a store product: the local channel gets a job
            $l->record(['event_id' => "in-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => 5, 'location' => 'MAIN']);
            $l->syncSkus([$sku]);
            foreach ($l->claimLocalJobs('test') as $job) { $l->completeJob($job['id'], 'test'); }
            $l->runQueue(['budget_ms' => 1000]);
            $l->ingest('generic', json_encode(['event' => 'inventory.updated', 'sku' => "NOT-$sku", 'quantity' => 1]), []);
            $l->logSecurity(['route' => '/stock', 'reason' => 'unknown_key']);
            return time();
            PHP;
        $count = <<<'PHP'
            $l = \InventorySync\ledger();
            return [
                'runs' => count($l->syncRuns(['limit' => 1000])['runs']),
                'done' => count($l->jobs(['status' => 'done', 'limit' => 1000])['jobs']),
                'inbound' => count($l->inboundEvents(['limit' => 1000])['events']),
                'security' => count($l->securityEvents(['limit' => 1000])['events']),
                'movements' => count($l->history(['limit' => 1000])['movements']),
            ];
            PHP;
        $old = self::$site->eval(sprintf($fill, var_export('RET-OLD', true)));
        while (time() < $old + 2) {
            usleep(100_000);
        }
        self::$site->eval(sprintf($fill, var_export('RET-NEW', true)));
        $before = self::$site->eval($count);

        // The daily event with the default 30 days: everything here is younger.
        self::$site->eval("do_action('inventory_sync_retention'); return true;");
        self::assertSame($before, self::$site->eval($count), 'nothing younger than the retention period goes');

        $pruned = self::$site->eval(sprintf('return \InventorySync\Cron\prune(%d);', $old + 1));
        self::assertSame(1, $pruned['jobs']);
        self::assertSame(1, $pruned['inbound']);
        self::assertSame(1, $pruned['security']);
        self::assertGreaterThanOrEqual(1, $pruned['sync_runs']);
        $after = self::$site->eval($count);
        self::assertSame($before['done'] - 1, $after['done']);
        self::assertSame($before['inbound'] - 1, $after['inbound']);
        self::assertSame($before['security'] - 1, $after['security']);
        self::assertSame($before['runs'] - $pruned['sync_runs'], $after['runs']);
        self::assertGreaterThanOrEqual(1, $after['runs'], 'the recent runs stay');
        self::assertSame($before['movements'], $after['movements'], 'movements are never deleted');

        self::assertSame(7, self::$site->eval("update_option('inventory_sync_retention_days', 7); return \\InventorySync\\Cron\\retention_days();"));
        self::assertSame(1, self::$site->eval("update_option('inventory_sync_retention_days', -3); return \\InventorySync\\Cron\\retention_days();"));
    }
}
