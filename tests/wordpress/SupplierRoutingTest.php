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
 * stored encrypted and shown masked.
 */
final class SupplierRoutingTest extends TestCase
{
    private static Site $site;
    private static FakeChannels $fakes;
    /** @var array<string, int> SKU => product id */
    private static array $products = [];

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
}
