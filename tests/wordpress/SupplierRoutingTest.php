<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * Supplier order routing in a real WordPress with the WooCommerce stand-in: a paid order with
 * lines from two suppliers reaches two fake supplier endpoints (Standard Webhooks receivers that
 * check the signature) once each, also when one of them is down for a while; the order's hooks
 * firing again send nothing more; a line without a supplier is logged; endpoint secrets are
 * stored encrypted and shown masked. Suppliers answer through the inbound API with keys limited
 * to them: stock for their own SKUs only, acknowledgements and shipments of the orders they were
 * sent (once each, as order notes), nothing about other suppliers' lines or orders.
 */
final class SupplierRoutingTest extends TestCase
{
    private static Site $site;
    private static FakeChannels $fakes;
    /** @var array<string, int> SKU => product id */
    private static array $products = [];
    /** The order test_02 places, which test_03's suppliers answer. */
    private static int $order = 0;

    public static function setUpBeforeClass(): void
    {
        // Failed deliveries are retried after 1 s (then 2 s, …) instead of 30 s.
        self::$site = Harness::site('supplier-routing', ['constants' => ['INVENTORY_SYNC_RETRY_BASE_SECONDS' => 1]]);
        self::$fakes = FakeChannels::start([], Paths::output() . '/fake-channels-suppliers.log');
        self::$products = self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            foreach (['APPLE' => 'Orchard', 'PEAR' => 'Orchard', 'MANGO' => 'Tropics', 'BAG' => null] as $sku => $supplier) {
                $l->upsertItem(['sku' => $sku, 'name' => ucfirst(strtolower($sku)) . ' crate', 'supplier' => $supplier]);
            }
            $ids = [];
            foreach (['APPLE' => 30, 'PEAR' => 30, 'MANGO' => 30, 'BAG' => 30] as $sku => $stock) {
                $p = new WC_Product_Simple();
                $p->set_name("$sku crate");
                $p->set_sku($sku);
                $p->set_manage_stock(true);
                $p->set_stock_quantity($stock);
                $ids[$sku] = $p->save();
            }
            foreach (%s as $name => $endpoint) {
                $l->saveSupplierEndpoint($name, $endpoint['url'], $endpoint['secret']);
            }
            return $ids;
            PHP, var_export(self::$fakes->suppliers, true)));
    }

    public static function tearDownAfterClass(): void
    {
        self::$fakes->stop();
    }

    private static function queuePass(): void
    {
        self::$site->eval("do_action('inventory_sync_run_queue'); return true;");
    }

    public function test_01_endpoint_secrets_are_sealed_and_shown_masked(): void
    {
        $endpoints = array_column(self::$site->eval('return \\InventorySync\\ledger()->supplierEndpoints();'), null, 'supplier');
        self::assertSame(['Orchard', 'Tropics'], array_keys($endpoints));
        foreach (self::$fakes->suppliers as $name => $endpoint) {
            self::assertSame(self::$fakes->suppliers[$name]['url'], $endpoints[$name]['url']);
            self::assertSame('••••' . substr($endpoint['secret'], -4), $endpoints[$name]['secret']);
        }
        $path = self::$site->eval('return \\InventorySync\\ledger_path();');
        $bytes = (string) file_get_contents($path) . (string) @file_get_contents($path . '-wal');
        foreach (self::$fakes->suppliers as $endpoint) {
            self::assertStringNotContainsString(substr($endpoint['secret'], 6), $bytes);
        }
        $refused = self::$site->eval(<<<'PHP'
            try { \InventorySync\ledger()->saveSupplierEndpoint('Orchard', 'https://orchard.example/orders', 'not-a-whsec-secret'); return 'saved'; }
            catch (\InventorySync\Exception\ValidationException $e) { return $e->getMessage(); }
            PHP);
        self::assertStringStartsWith('secret', $refused);
    }

    public function test_02_a_paid_order_reaches_each_supplier_once_also_through_an_outage(): void
    {
        self::$fakes->refuse('Tropics', 503, 2); // Tropics is down for its next two deliveries.
        $order = self::$site->eval(sprintf(<<<'PHP'
            $ids = %s;
            $order = wc_create_order();
            foreach (['APPLE' => 2, 'MANGO' => 1, 'PEAR' => 3, 'BAG' => 1] as $sku => $qty) {
                $order->add_product(wc_get_product($ids[$sku]), $qty);
            }
            $order->save();
            $order->update_status('processing');
            return $order->get_id();
            PHP, var_export(self::$products, true)));
        self::$order = $order;
        $messages = self::$site->eval("return \\InventorySync\\ledger()->messages()['messages'];");
        self::assertCount(2, $messages, 'one message per supplier');
        self::assertSame(['Tropics', 'Orchard'], array_column($messages, 'destination'));
        // The order moves on (completed): its hooks fire again, nothing new is queued.
        self::$site->eval(sprintf("wc_get_order(%d)->update_status('completed'); return true;", $order));
        self::assertCount(2, self::$site->eval("return \\InventorySync\\ledger()->messages()['messages'];"));

        self::queuePass();
        self::assertCount(1, self::$fakes->supplier('Orchard')['events']);
        self::assertCount(0, self::$fakes->supplier('Tropics')['events']);
        $tropics = self::$site->eval("return \\InventorySync\\ledger()->messages(['destination' => 'Tropics'])['messages'][0];");
        self::assertSame('pending', $tropics['status']);
        self::assertStringContainsString('503', (string) $tropics['last_error']);

        // Retries follow the backoff (1 s, then up to 2 s) until Tropics is back.
        $deadline = microtime(true) + 20;
        while (self::$fakes->supplier('Tropics')['events'] === [] && microtime(true) < $deadline) {
            usleep(700_000);
            self::queuePass();
        }
        $orchard = self::$fakes->supplier('Orchard');
        $tropics = self::$fakes->supplier('Tropics');
        self::assertCount(1, $orchard['events'], 'Orchard got the order once');
        self::assertCount(1, $tropics['events'], 'Tropics got it once, after the outage');
        self::assertSame(3, $tropics['attempts'], 'two refused, then delivered');
        self::assertSame(0, $orchard['duplicates'] + $tropics['duplicates']);
        $sent = $orchard['events'][0];
        self::assertSame('order.paid', $sent['type']);
        self::assertSame((string) $order, $sent['order_id']);
        self::assertSame([['APPLE', 2], ['PEAR', 3]], array_map(fn ($l) => [$l['sku'], $l['quantity']], $sent['lines']));
        self::assertSame([['MANGO', 1]], array_map(fn ($l) => [$l['sku'], $l['quantity']], $tropics['events'][0]['lines']));
        self::assertSame(['done', 'done'], array_column(self::$site->eval("return \\InventorySync\\ledger()->messages()['messages'];"), 'status'));

        // More queue passes send nothing again.
        self::queuePass();
        self::assertCount(1, self::$fakes->supplier('Orchard')['events']);
        self::assertSame(1, self::$fakes->supplier('Orchard')['attempts']);

        // The line no supplier receives is logged for the owner.
        self::assertStringContainsString('BAG (the item has no supplier)', self::$site->rawErrorLog());
    }

    public function test_03_suppliers_answer_with_keys_limited_to_them(): void
    {
        self::assertGreaterThan(0, self::$order, 'test_02 placed the order');
        $keys = self::$site->eval(<<<'PHP'
            $l = \InventorySync\ledger();
            $issue = fn (array $spec) => $l->issueApiKey($spec, random_bytes(32))['key'];
            return [
                'Orchard' => $issue(['name' => 'Orchard portal', 'scopes' => ['read', 'write'], 'supplier' => 'Orchard']),
                'Tropics' => $issue(['name' => 'Tropics portal', 'scopes' => ['read', 'write'], 'supplier' => 'Tropics']),
                'erp' => $issue(['name' => 'ERP', 'scopes' => ['read', 'write']]),
                'reader' => $issue(['name' => 'Orchard reader', 'scopes' => ['read'], 'supplier' => 'Orchard']),
            ];
            PHP);
        $post = fn (string $route, ?string $key, string $body) => self::$site->request('POST', '/wp-json/inventory-sync/v1' . $route, array_filter(['X-API-Key' => $key, 'Content-Type' => 'application/json']), $body);
        $reply = fn (?string $key, array $reply) => $post('/supplier-replies', $key, json_encode($reply));
        $notes = fn (): array => array_column(self::$site->eval(sprintf('return array_map(fn ($n) => (array) $n, wc_get_order_notes(["order_id" => %d]));', self::$order)), 'content');
        $onHand = fn (string $sku): int => self::$site->eval(sprintf('return \\InventorySync\\ledger()->stock(%s)["on_hand"];', var_export($sku, true)));

        // Stock: a supplier's key moves its own SKUs only.
        $apple = $onHand('APPLE');
        $count = $post('/movements', $keys['Orchard'], json_encode(['event_id' => 'orchard-count-1', 'sku' => 'APPLE', 'kind' => 'receive', 'quantity' => 12, 'location' => 'MAIN']));
        self::assertSame(201, $count->status, $count->body);
        self::assertSame($apple + 12, $onHand('APPLE'));
        $mango = $onHand('MANGO');
        $foreign = $post('/movements', $keys['Orchard'], json_encode(['event_id' => 'orchard-count-2', 'sku' => 'MANGO', 'kind' => 'receive', 'quantity' => 5, 'location' => 'MAIN']));
        self::assertSame(403, $foreign->status, $foreign->body);
        self::assertSame($mango, $onHand('MANGO'), 'another supplier\'s SKU is not touched');

        // An acknowledgement: once, as a note on the order.
        $ack = ['id' => 'ack-77', 'type' => 'order.acknowledged', 'order_id' => (string) self::$order];
        $first = $reply($keys['Orchard'], $ack);
        self::assertSame(201, $first->status, $first->body);
        self::assertFalse($first->json()['duplicate']);
        self::assertSame(['Orchard acknowledged order ' . self::$order . '.'], $notes());
        $again = $reply($keys['Orchard'], $ack);
        self::assertSame(200, $again->status, $again->body);
        self::assertTrue($again->json()['duplicate']);
        self::assertCount(1, $notes(), 'the same reply again adds nothing');

        // A shipment of part of its lines, with tracking.
        $shipped = $reply($keys['Orchard'], ['id' => 'ship-1', 'type' => 'order.shipped', 'order_id' => (string) self::$order, 'lines' => [['sku' => 'APPLE', 'quantity' => 2]], 'carrier' => 'DHL', 'tracking_number' => '00340434', 'tracking_url' => 'https://track.example/00340434']);
        self::assertSame(201, $shipped->status, $shipped->body);
        self::assertSame([['sku' => 'APPLE', 'quantity' => 2]], $shipped->json()['lines']);
        self::assertSame('Orchard shipped order ' . self::$order . ': 2 × APPLE (DHL, tracking 00340434). Tracking: https://track.example/00340434', $notes()[0]);

        // Refused, changing nothing: another supplier's line, more than ordered, an order never
        // sent to this supplier, a key without a supplier or without write, no key, bad JSON.
        $refusals = [
            [$keys['Orchard'], json_encode(['id' => 'ship-2', 'type' => 'order.shipped', 'order_id' => (string) self::$order, 'lines' => [['sku' => 'MANGO', 'quantity' => 1]]]), 400, 'lines[0].sku'],
            [$keys['Orchard'], json_encode(['id' => 'ship-3', 'type' => 'order.shipped', 'order_id' => (string) self::$order, 'lines' => [['sku' => 'PEAR', 'quantity' => 4]]]), 400, 'lines[0].quantity'],
            [$keys['Orchard'], json_encode(['id' => 'ship-4', 'type' => 'order.shipped', 'order_id' => '999999']), 404, 'never sent to supplier Orchard'],
            [$keys['Tropics'], json_encode(['id' => 'ship-5', 'type' => 'order.shipped', 'order_id' => (string) self::$order, 'lines' => [['sku' => 'APPLE', 'quantity' => 1]]]), 400, 'lines[0].sku'],
            [$keys['Orchard'], json_encode(['id' => 'ship-6', 'type' => 'order.cancelled', 'order_id' => (string) self::$order]), 400, 'type'],
            [$keys['Orchard'], json_encode(['id' => 'ship-7', 'type' => 'order.shipped', 'order_id' => (string) self::$order, 'colour' => 'red']), 400, 'colour'],
            [$keys['erp'], json_encode($ack + ['id' => 'erp-1']), 403, 'limited to a supplier'],
            [$keys['reader'], json_encode(['id' => 'read-1'] + $ack), 403, ''],
            [null, json_encode($ack), 401, ''],
            [$keys['Orchard'], '{"id": "ack-78", "type": ', 400, 'rest_invalid_json'],
            [$keys['Orchard'], '["ack-79"]', 400, 'JSON object'],
        ];
        foreach ($refusals as [$key, $body, $status, $detail]) {
            $response = $post('/supplier-replies', $key, $body);
            self::assertSame($status, $response->status, "$body → {$response->body}");
            self::assertStringContainsString($detail, $response->body);
        }
        self::assertCount(2, $notes(), 'no refused reply reached the order');
        $logged = self::$site->eval("return \\InventorySync\\ledger()->inboundEvents(['provider' => 'supplier'])['events'];");
        self::assertSame([['Orchard/ship-1', 'order.shipped'], ['Orchard/ack-77', 'order.acknowledged']], array_map(fn ($e) => [$e['dedup_key'], $e['topic']], $logged));

        // The rest of Orchard's lines ship without naming them (every line it was sent).
        $rest = $reply($keys['Orchard'], ['id' => 'ship-8', 'type' => 'order.shipped', 'order_id' => (string) self::$order]);
        self::assertSame(201, $rest->status, $rest->body);
        self::assertSame([['sku' => 'APPLE', 'quantity' => 2], ['sku' => 'PEAR', 'quantity' => 3]], $rest->json()['lines']);
        $unexpected = array_filter(explode("\n", self::$site->errorLog()), fn ($line) => $line !== '' && !str_contains($line, 'has lines no supplier receives: BAG'));
        self::assertSame([], array_values($unexpected), 'PHP/WordPress logged problems (besides test_02\'s expected line)');
    }
}
