<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Senders;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * Signed webhooks from each provider over real HTTP: valid, forged, replayed, expired; payloads
 * becoming movements with stable event ids; duplicates changing stock once; bad input refused
 * with the right status and nothing changed; every delivery and refusal logged.
 */
final class InboundWebhooksTest extends TestCase
{
    private const SECRETS = [
        'generic' => 'generic-secret-for-e2e-0123456789',
        'woocommerce' => 'wc-secret-for-e2e-abcdef',
        'shopify' => 'shpss_e2e_client_secret',
    ];
    private const SOURCE = 'https://other-store.example/';

    private static Site $site;
    private static string $whsec;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('inbound');
        self::$whsec = Senders::whsec();
        $secrets = self::SECRETS + ['erp' => self::$whsec];
        self::$site->eval(sprintf(<<<'PHP'
            foreach (%s as $provider => $secret) {
                update_option(\InventorySync\webhook_secret_option($provider), $secret);
            }
            $l = \InventorySync\ledger();
            // This store has its own warehouses: the default location made at activation steps aside.
            $l->upsertLocation(['code' => 'MAIN', 'name' => 'Main warehouse', 'priority' => 0, 'active' => false]);
            $l->upsertLocation(['code' => 'WH1', 'name' => 'Main', 'priority' => 1]);
            $l->upsertLocation(['code' => 'WH2', 'name' => 'Second', 'priority' => 2]);
            foreach (['A', 'B', 'TEE', 'MUG'] as $sku) {
                $l->upsertItem(['sku' => $sku, 'name' => "Item $sku"]);
            }
            $l->recordBatch([
                ['event_id' => 'seed-a', 'sku' => 'A', 'kind' => 'receive', 'quantity' => 50, 'location' => 'WH1'],
                ['event_id' => 'seed-tee', 'sku' => 'TEE', 'kind' => 'receive', 'quantity' => 20, 'location' => 'WH1'],
                ['event_id' => 'seed-mug', 'sku' => 'MUG', 'kind' => 'receive', 'quantity' => 30, 'location' => 'WH1'],
            ]);
            // What we last pushed to the remote WooCommerce store and Shopify (the outbox will do this).
            $l->upsertListing(['channel' => 'woocommerce_remote:https://other-store.example/', 'sku' => 'TEE', 'remote_id' => '42', 'pushed' => 10]);
            $l->upsertListing(['channel' => 'shopify:demo.myshopify.com', 'sku' => 'MUG', 'remote_id' => '808950810', 'pushed' => 30]);
            return true;
            PHP, var_export($secrets, true)));
    }

    public static function tearDownAfterClass(): void
    {
        self::$site->stop();
    }

    protected function tearDown(): void
    {
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    /** @param array<string, string> $headers */
    private static function post(string $provider, string $body, array $headers): \InventorySync\Tests\Harness\Response
    {
        return self::$site->request('POST', "/wp-json/inventory-sync/v1/webhooks/$provider", $headers, $body);
    }

    private static function onHand(string $sku, string $location = 'WH1'): int
    {
        $stock = self::$site->eval(sprintf('return \InventorySync\ledger()->stock(%s);', var_export($sku, true)));
        foreach ($stock['locations'] as $level) {
            if ($level['location'] === $location) {
                return $level['on_hand'];
            }
        }
        return 0;
    }

    private static function movementCount(): int
    {
        return count(self::$site->eval("return \\InventorySync\\ledger()->history(['limit' => 1000])['movements'];"));
    }

    public function test_generic_update_is_applied_once(): void
    {
        $body = json_encode(['event' => 'inventory.updated', 'id' => 'gen-1', 'sku' => 'A', 'quantity' => 12, 'location' => 'WH1']);
        $first = self::post('generic', $body, Senders::generic($body, self::SECRETS['generic']));
        self::assertSame(202, $first->status, $first->body);
        self::assertSame(['applied', 1, false], [$first->json()['outcome'], $first->json()['recorded'], $first->json()['duplicate']]);
        self::assertSame(12, self::onHand('A'));

        $again = self::post('generic', $body, Senders::generic($body, self::SECRETS['generic']));
        self::assertSame(200, $again->status, $again->body);
        self::assertTrue($again->json()['duplicate']);
        self::assertSame(12, self::onHand('A'));
    }

    public function test_generic_unknown_sku_is_reported_and_created_only_with_auto_create(): void
    {
        $body = json_encode(['event' => 'inventory.updated', 'id' => 'gen-unknown', 'sku' => 'NEW-SKU', 'quantity' => 4]);
        $response = self::post('generic', $body, Senders::generic($body, self::SECRETS['generic']));
        self::assertSame(202, $response->status, $response->body);
        self::assertSame(['NEW-SKU'], $response->json()['unknown_skus']);
        self::assertSame(0, $response->json()['recorded']);
        self::assertNull(self::$site->eval("return \\InventorySync\\ledger()->item('NEW-SKU');"));

        self::$site->eval("update_option('inventory_sync_auto_create_skus', true); return true;");
        try {
            $body = json_encode(['event' => 'inventory.updated', 'id' => 'gen-unknown-2', 'sku' => 'NEW-SKU', 'quantity' => 4]);
            $created = self::post('generic', $body, Senders::generic($body, self::SECRETS['generic']));
            self::assertSame(202, $created->status, $created->body);
            self::assertSame([1, []], [$created->json()['recorded'], $created->json()['unknown_skus']]);
            self::assertSame('NEW-SKU', self::$site->eval("return \\InventorySync\\ledger()->item('NEW-SKU')['sku'];"));
        } finally {
            self::$site->eval("delete_option('inventory_sync_auto_create_skus'); return true;");
        }
    }

    public function test_generic_product_created_creates_the_item(): void
    {
        $body = json_encode(['event' => 'product.created', 'id' => 'gen-prod-1', 'sku' => 'HAT-GREEN', 'name' => 'Green hat', 'supplier' => 'Hatters']);
        $response = self::post('generic', $body, Senders::generic($body, self::SECRETS['generic']));
        self::assertSame(202, $response->status, $response->body);
        self::assertSame(['sku' => 'HAT-GREEN', 'name' => 'Green hat', 'supplier' => 'Hatters'], self::$site->eval("\$i = \\InventorySync\\ledger()->item('HAT-GREEN'); return ['sku' => \$i['sku'], 'name' => \$i['name'], 'supplier' => \$i['supplier']];"));
    }

    /**
     * @return array<string, array{0: string, 1: callable(string): array<string,string>, 2: string, 3: int, 4: string}>
     */
    public static function refusals(): array
    {
        $generic = json_encode(['event' => 'inventory.updated', 'id' => 'bad-1', 'sku' => 'A', 'quantity' => 999]);
        $wc = json_encode(['id' => 42, 'sku' => 'TEE', 'manage_stock' => true, 'stock_quantity' => 0, 'date_modified_gmt' => '2026-11-01T00:00:00']);
        $order = json_encode(['id' => 77, 'name' => '#77', 'line_items' => [['id' => 1, 'sku' => 'A', 'quantity' => 40]]]);
        $erp = json_encode(['type' => 'stock.updated', 'data' => ['items' => [['sku' => 'A', 'location' => 'WH1', 'quantity' => 999]]]]);
        return [
            'generic wrong secret' => ['generic', fn () => Senders::generic($generic, 'wrong'), $generic, 401, 'inventory_sync_bad_signature'],
            'generic no signature' => ['generic', fn () => ['Content-Type' => 'application/json'], $generic, 401, 'inventory_sync_bad_signature'],
            'generic signed, wrong types' => ['generic', fn () => Senders::generic('{"event":"inventory.updated","sku":"A","quantity":"999"}', self::SECRETS['generic']), '{"event":"inventory.updated","sku":"A","quantity":"999"}', 400, 'inventory_sync_invalid'],
            'generic signed, not JSON' => ['generic', fn () => ['Content-Type' => 'text/plain'] + Senders::generic('{"event":', self::SECRETS['generic']), '{"event":', 400, 'inventory_sync_invalid'],
            'generic signed, negative' => ['generic', fn () => Senders::generic('{"event":"inventory.updated","sku":"A","quantity":-5}', self::SECRETS['generic']), '{"event":"inventory.updated","sku":"A","quantity":-5}', 400, 'inventory_sync_invalid'],
            'woocommerce wrong secret' => ['woocommerce', fn () => Senders::woocommerce($wc, 'wrong', self::SOURCE), $wc, 401, 'inventory_sync_bad_signature'],
            'woocommerce hex instead of base64' => ['woocommerce', fn () => ['X-WC-Webhook-Signature' => hash_hmac('sha256', $wc, self::SECRETS['woocommerce'])] + Senders::woocommerce($wc, self::SECRETS['woocommerce'], self::SOURCE), $wc, 401, 'inventory_sync_bad_signature'],
            'shopify wrong secret' => ['shopify', fn () => Senders::shopify($order, 'wrong', 'orders/create', 'wh-bad'), $order, 401, 'inventory_sync_bad_signature'],
            'erp wrong secret' => ['erp', fn () => Senders::standard($erp, Senders::whsec(), 'msg_bad'), $erp, 401, 'inventory_sync_bad_signature'],
            'erp expired' => ['erp', fn () => Senders::standard($erp, self::$whsec, 'msg_old', time() - 600), $erp, 401, 'inventory_sync_bad_signature'],
            'erp from the future' => ['erp', fn () => Senders::standard($erp, self::$whsec, 'msg_future', time() + 600), $erp, 401, 'inventory_sync_bad_signature'],
            'erp missing headers' => ['erp', fn () => ['Content-Type' => 'application/json'], $erp, 401, 'inventory_sync_bad_signature'],
            'oversized' => ['generic', fn () => Senders::generic(str_repeat(' ', 1048577), self::SECRETS['generic']), str_repeat(' ', 1048577), 413, 'inventory_sync_too_large'],
            'unknown provider' => ['ebay', fn () => ['Content-Type' => 'application/json'], '{}', 404, 'rest_no_route'],
        ];
    }

    /**
     * @dataProvider refusals
     * @param callable(): array<string,string> $headers
     */
    public function test_refused_deliveries_change_nothing(string $provider, callable $headers, string $body, int $status, string $code): void
    {
        $before = [self::onHand('A'), self::onHand('TEE'), self::movementCount()];
        $response = self::post($provider, $body, $headers());
        self::assertSame($status, $response->status, $response->body);
        self::assertSame($code, $response->json()['code'] ?? null, $response->body);
        self::assertSame($before, [self::onHand('A'), self::onHand('TEE'), self::movementCount()]);
    }

    public function test_woocommerce_creation_ping_gets_200_and_changes_nothing(): void
    {
        $before = self::movementCount();
        $ping = self::post('woocommerce', 'webhook_id=12', ['Content-Type' => 'application/x-www-form-urlencoded']);
        self::assertSame(200, $ping->status, $ping->body);
        self::assertTrue($ping->json()['ping']);
        self::assertSame($before, self::movementCount());
        // Anything else unsigned is refused.
        $fake = self::post('woocommerce', 'webhook_id=12&stock_quantity=0', ['Content-Type' => 'application/x-www-form-urlencoded']);
        self::assertSame(401, $fake->status);
    }

    public function test_woocommerce_level_reports_become_sales_by_difference(): void
    {
        $deliver = function (int $level, string $modified): \InventorySync\Tests\Harness\Response {
            $body = json_encode(['id' => 42, 'sku' => 'TEE', 'name' => 'Tee', 'manage_stock' => true, 'stock_quantity' => $level, 'date_modified_gmt' => $modified]);
            return self::post('woocommerce', $body, Senders::woocommerce($body, self::SECRETS['woocommerce'], self::SOURCE));
        };
        $start = self::onHand('TEE');
        // We pushed 10; the store now shows 7: 3 sold there.
        $sold = $deliver(7, '2026-11-20T10:00:00');
        self::assertSame(202, $sold->status, $sold->body);
        self::assertSame($start - 3, self::onHand('TEE'));
        // The same delivery again (same modification time): counted once.
        self::assertTrue($deliver(7, '2026-11-20T10:00:00')->json()['duplicate']);
        self::assertSame($start - 3, self::onHand('TEE'));
        // A later delivery showing the same level is an echo: nothing moves.
        $echo = $deliver(7, '2026-11-20T10:01:00');
        self::assertSame([0, 'ignored'], [$echo->json()['recorded'], $echo->json()['outcome']]);
        self::assertSame($start - 3, self::onHand('TEE'));
        // Two more sold there.
        $deliver(5, '2026-11-20T10:02:00');
        self::assertSame($start - 5, self::onHand('TEE'));
        // More than it had: drift for reconciliation, never a movement.
        $drift = $deliver(9, '2026-11-20T10:03:00');
        self::assertSame(0, $drift->json()['recorded']);
        self::assertSame(4, $drift->json()['drift'][0]['difference']);
        self::assertSame($start - 5, self::onHand('TEE'));
    }

    public function test_shopify_orders_count_once_and_cancellations_return_stock(): void
    {
        $start = self::onHand('A');
        $order = json_encode(['id' => 1001, 'name' => '#1001', 'line_items' => [['id' => 11, 'sku' => 'A', 'quantity' => 2], ['id' => 12, 'sku' => null, 'quantity' => 1]]]);
        $created = self::post('shopify', $order, Senders::shopify($order, self::SECRETS['shopify'], 'orders/create', 'wh-order-1001'));
        self::assertSame(202, $created->status, $created->body);
        self::assertSame($start - 2, self::onHand('A'));
        self::assertSame(['order #1001 line 12: no SKU'], $created->json()['skipped']);
        // Shopify retries with the same webhook id: a duplicate.
        self::assertTrue(self::post('shopify', $order, Senders::shopify($order, self::SECRETS['shopify'], 'orders/create', 'wh-order-1001'))->json()['duplicate']);
        // The same order under another webhook id (orders/paid, a re-subscription): lines count once.
        $other = self::post('shopify', $order, Senders::shopify($order, self::SECRETS['shopify'], 'orders/create', 'wh-order-1001-again'));
        self::assertSame([0, 1], [$other->json()['recorded'], $other->json()['replayed']]);
        self::assertSame($start - 2, self::onHand('A'));

        $cancel = self::post('shopify', $order, Senders::shopify($order, self::SECRETS['shopify'], 'orders/cancelled', 'wh-cancel-1001'));
        self::assertSame(202, $cancel->status, $cancel->body);
        self::assertSame($start, self::onHand('A'));
        // Cancelling an order we never counted adds nothing.
        $unknown = json_encode(['id' => 999, 'name' => '#999', 'line_items' => [['id' => 1, 'sku' => 'A', 'quantity' => 5]]]);
        $nothing = self::post('shopify', $unknown, Senders::shopify($unknown, self::SECRETS['shopify'], 'orders/cancelled', 'wh-cancel-999'));
        self::assertSame(0, $nothing->json()['recorded']);
        self::assertSame($start, self::onHand('A'));
    }

    public function test_shopify_level_updates_only_reveal_drift(): void
    {
        $before = [self::onHand('MUG'), self::movementCount()];
        $body = json_encode(['inventory_item_id' => 808950810, 'location_id' => 905684977, 'available' => 27, 'updated_at' => '2026-11-20T10:00:00Z']);
        $response = self::post('shopify', $body, Senders::shopify($body, self::SECRETS['shopify'], 'inventory_levels/update', 'wh-level-1'));
        self::assertSame(202, $response->status, $response->body);
        self::assertSame(0, $response->json()['recorded']);
        self::assertSame(-3, $response->json()['drift'][0]['difference']);
        self::assertSame($before, [self::onHand('MUG'), self::movementCount()]);
    }

    public function test_erp_standard_webhooks_with_rotation(): void
    {
        $body = json_encode(['type' => 'stock.received', 'data' => ['items' => [['sku' => 'B', 'location' => 'WH2', 'quantity' => 6, 'reference' => 'ASN-1']]]]);
        $ok = self::post('erp', $body, Senders::standard($body, self::$whsec, 'msg_erp_1'));
        self::assertSame(202, $ok->status, $ok->body);
        self::assertSame(6, self::onHand('B', 'WH2'));
        $replay = self::post('erp', $body, Senders::standard($body, self::$whsec, 'msg_erp_1', time() + 5));
        self::assertSame(200, $replay->status);
        self::assertSame(6, self::onHand('B', 'WH2'));

        // Rotate: the new secret works, and the previous one still does during the rotation.
        $new = Senders::whsec();
        self::$site->eval(sprintf("update_option(\\InventorySync\\webhook_secret_option('erp', true), %s); update_option(\\InventorySync\\webhook_secret_option('erp'), %s); return true;", var_export(self::$whsec, true), var_export($new, true)));
        try {
            foreach (['msg_erp_2' => $new, 'msg_erp_3' => self::$whsec] as $id => $secret) {
                $response = self::post('erp', $body, Senders::standard($body, $secret, $id));
                self::assertSame(202, $response->status, $response->body);
            }
            self::assertSame(18, self::onHand('B', 'WH2'));
        } finally {
            self::$site->eval(sprintf("delete_option(\\InventorySync\\webhook_secret_option('erp', true)); update_option(\\InventorySync\\webhook_secret_option('erp'), %s); return true;", var_export(self::$whsec, true)));
        }
    }

    public function test_every_delivery_and_refusal_is_logged_without_secrets(): void
    {
        $body = json_encode(['event' => 'inventory.low_stock', 'id' => 'gen-low-1', 'sku' => 'A', 'quantity' => 1]);
        self::assertSame(202, self::post('generic', $body, Senders::generic($body, self::SECRETS['generic']))->status);
        self::post('generic', $body, Senders::generic($body, 'forged-secret'));
        $inbound = self::$site->eval("return \\InventorySync\\ledger()->inboundEvents(['provider' => 'generic', 'limit' => 100])['events'];");
        $low = array_values(array_filter($inbound, fn ($e) => $e['dedup_key'] === 'gen-low-1'));
        self::assertCount(1, $low);
        self::assertSame(['inventory.low_stock', 'ignored'], [$low[0]['topic'], $low[0]['outcome']]);
        $security = self::$site->eval("return \\InventorySync\\ledger()->securityEvents(['limit' => 1000])['events'];");
        self::assertContains('bad_signature', array_column($security, 'reason'));
        $dump = json_encode([$inbound, $security]);
        foreach (self::SECRETS + ['erp' => self::$whsec] as $secret) {
            self::assertStringNotContainsString($secret, $dump);
        }
        self::assertStringNotContainsString('forged-secret', $dump);
    }
}
