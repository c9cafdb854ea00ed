<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The queue kick in a real WordPress (php -S with 4 workers, WP-Cron disabled and never called):
 * a sale through the REST API reaches a (slow) fake Shopify within seconds, while the request
 * that recorded the sale answers without waiting for the push; a burst of sales is coalesced
 * into a few queue runs; a forged kick is refused.
 *
 * Shopify answers every call only after SHOPIFY_DELAY_MS (it applies the change at once): a
 * request that waited for the push could not answer sooner than that, so "answered before the
 * delay" proves the kick did not block it — a causal check, not a timing budget. The times
 * measured go to tests/output/queue-kick.json.
 */
final class QueueKickTest extends TestCase
{
    private const API = '/wp-json/inventory-sync/v1';
    private const SKU = 'KICK-TEE';
    private const SHOPIFY_DELAY_MS = 3000;

    private static Site $site;
    private static FakeChannels $fakes;
    private static string $apiKey;
    /** @var array<string, float|int> measurements, written to tests/output/queue-kick.json */
    private static array $measured = [];

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('queue-kick', ['constants' => ['INVENTORY_SYNC_QUEUE_KICK' => true]]);
        self::$fakes = FakeChannels::start([self::SKU], Paths::output() . '/fake-channels-kick.log');
        self::$apiKey = self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertItem(['sku' => %1$s, 'name' => 'Kick tee']);
            $l->record(['event_id' => 'open-kick', 'sku' => %1$s, 'kind' => 'receive', 'quantity' => 10, 'location' => 'MAIN']);
            $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify'] + %2$s);
            $l->syncFull();
            $l->runQueue(['budget_ms' => 20000]);
            return $l->issueApiKey(['name' => 'POS', 'scopes' => ['read', 'write']], random_bytes(32))['key'];
            PHP, var_export(self::SKU, true), var_export(self::$fakes->channels['shopify'], true)));
        self::$fakes->delay('shopify', self::SHOPIFY_DELAY_MS);
    }

    public static function tearDownAfterClass(): void
    {
        self::$fakes->stop();
        self::$site->stop();
        file_put_contents(Paths::output() . '/queue-kick.json', json_encode(self::$measured, JSON_PRETTY_PRINT) . "\n");
    }

    protected function tearDown(): void
    {
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    private static function sale(string $id, int $quantity): float
    {
        $body = json_encode(['event_id' => $id, 'sku' => self::SKU, 'kind' => 'sale', 'quantity' => $quantity, 'location' => 'MAIN']);
        $started = microtime(true);
        $response = self::$site->request('POST', self::API . '/movements', ['X-API-Key' => self::$apiKey, 'Content-Type' => 'application/json'], $body);
        $elapsed = microtime(true) - $started;
        self::assertSame(201, $response->status, $response->body);
        return $elapsed;
    }

    /** Waits until Shopify shows $quantity; returns the seconds waited. */
    private static function waitForShopify(int $quantity, float $within): float
    {
        $started = microtime(true);
        while (microtime(true) - $started < $within) {
            if ((self::$fakes->state()['shopify'][self::SKU] ?? null) === $quantity) {
                return microtime(true) - $started;
            }
            usleep(100_000);
        }
        self::fail(sprintf('Shopify still shows %s after %.1f s (expected %d)', json_encode(self::$fakes->state()['shopify'][self::SKU] ?? null), $within, $quantity));
    }

    private static function queueRuns(): int
    {
        return count(self::$site->eval("return \\InventorySync\\ledger()->syncRuns(['kind' => 'queue', 'limit' => 1000])['runs'];"));
    }

    public function test_01_a_sale_reaches_the_channel_in_seconds_without_waiting_for_it_nor_for_cron(): void
    {
        self::assertSame(10, self::$fakes->state()['shopify'][self::SKU], 'the opening quantity was pushed');
        $runs = self::queueRuns();
        // A read first, so every PHP worker has served a request (the first is slower).
        $started = microtime(true);
        for ($i = 0; $i < 4; $i++) {
            self::assertSame(200, self::$site->request('GET', self::API . '/stock/' . self::SKU, ['X-API-Key' => self::$apiKey])->status);
        }
        self::$measured['stock_read_s'] = round((microtime(true) - $started) / 4, 3);

        $answered = self::sale('kick-sale-1', 1);
        $pushed = $answered + self::waitForShopify(9, 20);
        self::$measured['sale_answered_s'] = round($answered, 3);
        self::$measured['sale_on_shopify_s'] = round($pushed, 3);

        self::assertLessThan(self::SHOPIFY_DELAY_MS / 1000, $answered, 'the sale was answered before Shopify could have answered a single push');
        self::assertSame([10, 9], self::$fakes->shopifyWrites(self::SKU));
        self::assertGreaterThan($runs, self::queueRuns(), 'a queue run did it');
        self::assertFalse(self::$site->eval("return get_option('inventory_sync_cron_heartbeat');"), 'no cron event ran');
    }

    public function test_02_a_burst_of_sales_is_coalesced_into_a_few_runs(): void
    {
        $runs = self::queueRuns();
        $slowest = 0.0;
        for ($i = 1; $i <= 4; $i++) {
            $slowest = max($slowest, self::sale("kick-burst-$i", 1));
        }
        self::$measured['burst_slowest_answer_s'] = round($slowest, 3);
        self::$measured['burst_on_shopify_s'] = round(self::waitForShopify(5, 30), 3);
        // Let a runner that is still looking finish before counting.
        $deadline = microtime(true) + 10;
        while ((float) self::$site->eval("return (float) get_option('inventory_sync_kick_runner');") > microtime(true) && microtime(true) < $deadline) {
            usleep(200_000);
        }
        $burstRuns = self::queueRuns() - $runs;
        self::$measured['burst_queue_runs'] = $burstRuns;

        self::assertLessThan(self::SHOPIFY_DELAY_MS / 1000, $slowest);
        self::assertGreaterThanOrEqual(1, $burstRuns);
        self::assertLessThanOrEqual(3, $burstRuns, 'four sales, one runner at a time: a run, a run for what came in meanwhile, at most one more');
        $writes = self::$fakes->shopifyWrites(self::SKU);
        self::assertSame(5, end($writes));
        self::assertLessThan(7, count($writes), 'intermediate quantities are skipped (newest wins)');
    }

    public function test_03_a_kick_without_a_valid_token_is_refused(): void
    {
        $runs = self::queueRuns();
        foreach ([['expires' => time() + 30, 'token' => str_repeat('0', 64)], ['expires' => time() - 5, 'token' => 'x'], []] as $form) {
            $response = self::$site->request('POST', self::API . '/queue/kick', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($form));
            self::assertContains($response->status, [400, 403], $response->body);
        }
        $valid = self::$site->eval('$e = time() + 30; return ["expires" => $e, "token" => \InventorySync\Cron\kick_token($e)];');
        $response = self::$site->request('POST', self::API . '/queue/kick', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($valid));
        self::assertSame(200, $response->status, $response->body);
        self::assertSame(1, $response->json()['passes']);
        self::assertSame($runs + 1, self::queueRuns());
    }

    public function test_04_sending_a_kick_costs_a_millisecond_and_an_unreachable_site_backs_off(): void
    {
        $result = self::$site->eval(<<<'PHP'
            delete_option('inventory_sync_kick_runner');
            add_filter('inventory_sync_queue_kick_request', fn ($request) => ['url' => 'http://127.0.0.1:1/wp-json/inventory-sync/v1/queue/kick'] + $request);
            $sent = \InventorySync\Cron\kick();
            $held = (float) get_option('inventory_sync_kick_runner') - microtime(true);
            $again = \InventorySync\Cron\kick();
            delete_option('inventory_sync_kick_runner');
            return [$sent, $held, $again];
            PHP);
        self::assertFalse($result[0], 'nobody listens there');
        self::assertGreaterThan(250, $result[1], 'kicks are held back for minutes; cron runs the queue meanwhile');
        self::assertFalse($result[2]);

        // (Last: the runner this kick starts must not touch the marker read above.)
        [$sent, $seconds] = self::$site->eval('$t = microtime(true); $sent = \InventorySync\Cron\send_kick(); return [$sent, microtime(true) - $t];');
        self::assertTrue($sent);
        self::$measured['kick_send_ms'] = round($seconds * 1000, 2);
    }
}
