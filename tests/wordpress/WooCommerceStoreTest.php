<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Response;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * This WooCommerce store as part of the ledger, in a real WordPress with the WooCommerce stand-in:
 * the first-run import at activation, admin and plugin stock writes as adjustments, orders as
 * sales and returns keyed by order line (duplicates, WooCommerce's racy double reduction and
 * status flip-flops counted exactly), the ledger's quantities written back through the local
 * channel without echo, variations with parent-managed stock, products without SKU, local jobs
 * that cannot be applied, the admin import button — and a site without WooCommerce.
 *
 * The store existed before the plugin: its catalogue is made with only the stand-in active, then
 * the plugin is activated. A fake Shopify (loopback) stands for "every other channel".
 */
final class WooCommerceStoreTest extends TestCase
{
    private const API = '/wp-json/inventory-sync/v1';
    private const SKUS = ['WOO-TEE', 'WOO-MUG', 'WOO-HOODIE-S', 'WOO-HOODIE-M', 'WOO-SOCKS', 'WOO-CARD'];

    private static Site $site;
    private static FakeChannels $fakes;
    /** @var array<string, int> product name => id */
    private static array $ids = [];
    private static string $apiKey;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('woocommerce-store', ['plugins' => [Site::STAND_IN]]);
        self::$ids = self::$site->eval(<<<'PHP'
            $simple = function (string $name, string $sku, ?int $stock): int {
                $p = new WC_Product_Simple();
                $p->set_name($name);
                $p->set_sku($sku);
                $p->set_manage_stock(null !== $stock);
                $p->set_stock_quantity($stock);
                return $p->save();
            };
            $variable = function (string $name, string $sku, ?int $stock, array $variations) {
                $p = new WC_Product_Variable();
                $p->set_name($name);
                $p->set_sku($sku);
                $p->set_manage_stock(null !== $stock);
                $p->set_stock_quantity($stock);
                $ids = [$name => $p->save()];
                foreach ($variations as $vsku => $vstock) {
                    $v = new WC_Product_Variation();
                    $v->set_parent_id($ids[$name]);
                    $v->set_name("$name - $vsku");
                    $v->set_sku($vsku);
                    $v->set_manage_stock(null !== $vstock);
                    $v->set_stock_quantity($vstock);
                    $ids[$vsku] = $v->save();
                }
                return $ids;
            };
            return ['tee' => $simple('T-shirt', 'WOO-TEE', 10), 'mug' => $simple('Mug', 'WOO-MUG', 6),
                    'card' => $simple('Handmade card', '', 4), 'gift' => $simple('Gift wrapping', 'WOO-GIFT', null)]
                + $variable('Hoodie', 'WOO-HOODIE', null, ['WOO-HOODIE-S' => 3, 'WOO-HOODIE-M' => 5])
                + $variable('Socks', 'WOO-SOCKS', 12, ['WOO-SOCKS-RED' => null, 'WOO-SOCKS-BLUE' => null])
                + $variable('<b>Scarf</b>', '', 2, ['WOO-SCARF-RED' => null]);
            PHP);
        // The plugin arrives in a store that already sells: activation imports the catalogue.
        $activated = self::$site->eval(sprintf('$r = activate_plugin(%s); return is_wp_error($r) ? $r->get_error_message() : $r;', var_export(Site::PLUGIN, true)));
        self::assertNull($activated);

        self::$fakes = FakeChannels::start(self::SKUS, Paths::output() . '/fake-channels-woocommerce.log');
        self::$apiKey = self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify'] + %s);
            return $l->issueApiKey(['name' => 'POS', 'scopes' => ['read', 'write']], random_bytes(32))['key'];
            PHP, var_export(self::$fakes->channels['shopify'], true)));
        self::cron('inventory_sync_full_sync');
        self::cron('inventory_sync_run_queue');
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

    /** Runs PHP in the site with $v bound to $vars. */
    private static function inSite(string $code, array $vars = []): mixed
    {
        return self::$site->eval('$v = ' . var_export($vars, true) . ";\n" . $code);
    }

    private static function cron(string $hook): void
    {
        self::$site->eval(sprintf('do_action(%s); return true;', var_export($hook, true)));
    }

    private static function onHand(string $sku): int
    {
        return self::inSite('return \InventorySync\ledger()->stock($v["sku"])["on_hand"];', ['sku' => $sku]);
    }

    private static function wcStock(string $product): ?int
    {
        return self::inSite('return wc_get_product($v["id"])->get_stock_quantity();', ['id' => self::$ids[$product]]);
    }

    /** @return list<array<string, mixed>> every movement, oldest first */
    private static function movements(?string $sku = null): array
    {
        return array_reverse(self::inSite('return \InventorySync\ledger()->history(array_filter(["sku" => $v["sku"], "limit" => 500]))["movements"];', ['sku' => $sku]));
    }

    /** @return list<array<string, mixed>> */
    private static function jobs(string $channel, ?string $status = null): array
    {
        return self::inSite('return \InventorySync\ledger()->jobs(array_filter(["channel" => $v["channel"], "status" => $v["status"]]))["jobs"];', ['channel' => $channel, 'status' => $status]);
    }

    private static function shopify(string $sku): ?int
    {
        return self::$fakes->state()['shopify'][$sku] ?? null;
    }

    /** Places an order for [product => qty] and returns [order id, [product => line id]]. */
    private static function order(array $lines): array
    {
        return self::inSite(<<<'PHP'
            $order = wc_create_order();
            $ids = [];
            foreach ($v['lines'] as $id => $qty) {
                $ids[$id] = $order->add_product(wc_get_product($id), $qty);
            }
            return [$order->get_id(), $ids];
            PHP, ['lines' => array_combine(array_map(fn ($p) => self::$ids[$p], array_keys($lines)), array_values($lines))]);
    }

    private static function setStatus(int $order, string $status): void
    {
        self::inSite('wc_get_order($v["order"])->update_status($v["status"]); return true;', ['order' => $order, 'status' => $status]);
    }

    /** @return list<array<string, mixed>> the movements of an order, oldest first */
    private static function orderMovements(int $order): array
    {
        return array_values(array_filter(self::movements(), fn ($m) => $m['reference'] === (string) $order));
    }

    public function test_01_the_first_run_import_creates_items_and_opening_balances_once(): void
    {
        $import = self::inSite('return get_option(\InventorySync\OPTION_LAST_IMPORT);');
        self::assertSame(7, $import['products'], 'top-level products read');
        self::assertSame(5, $import['items_created']);
        self::assertSame(5, $import['opening_balances']);
        self::assertSame(0, $import['already_in_ledger']);
        self::assertSame(2, $import['without_sku'], 'the card and the scarf (its parent holds the stock, without SKU)');

        $items = self::inSite('return array_column(\InventorySync\ledger()->items(["limit" => 100])["items"], "product_id", "sku");');
        self::assertSame([
            'WOO-HOODIE-M' => self::$ids['WOO-HOODIE-M'],
            'WOO-HOODIE-S' => self::$ids['WOO-HOODIE-S'],
            'WOO-MUG' => self::$ids['mug'],
            'WOO-SOCKS' => self::$ids['Socks'],
            'WOO-TEE' => self::$ids['tee'],
        ], $items, 'managed stock only; parent-managed variations under the parent; linked to their products');

        $expected = ['WOO-TEE' => 10, 'WOO-MUG' => 6, 'WOO-HOODIE-S' => 3, 'WOO-HOODIE-M' => 5, 'WOO-SOCKS' => 12];
        foreach ($expected as $sku => $quantity) {
            self::assertSame($quantity, self::onHand($sku), $sku);
            $history = self::movements($sku);
            self::assertCount(1, $history, $sku);
            self::assertSame(['wc-opening:' . $sku, 'adjustment', 'MAIN', $quantity, 'woocommerce_local'], [$history[0]['event_id'], $history[0]['kind'], $history[0]['location'], $history[0]['quantity'], $history[0]['origin']]);
            self::assertSame($quantity, self::shopify($sku), "Shopify got $sku from the full sync");
        }
        $local = self::inSite('return \InventorySync\ledger()->channel(\InventorySync\LOCAL_CHANNEL);');
        self::assertSame(['woocommerce_local', 'woocommerce_local', true], [$local['key'], $local['kind'], $local['enabled']]);
        self::assertSame([], self::jobs('woocommerce_local'), 'the store already shows what it has: nothing to write back');

        // Again (the admin button, WP-CLI): nothing changes.
        $before = self::movements();
        $again = self::inSite('return \InventorySync\Store\import_products();');
        self::assertSame([7, 0, 0, 5, 2], [$again['products'], $again['items_created'], $again['opening_balances'], $again['already_in_ledger'], $again['without_sku']]);
        self::assertSame($before, self::movements());
        self::assertSame([], self::jobs('woocommerce_local'));
    }

    public function test_02_products_without_sku_are_skipped_and_listed(): void
    {
        $listed = self::inSite('return \InventorySync\Store\products_without_sku();');
        self::assertSame([
            ['id' => self::$ids['card'], 'name' => 'Handmade card'],
            ['id' => self::$ids['<b>Scarf</b>'], 'name' => '<b>Scarf</b>'],
        ], $listed);

        $count = count(self::movements());
        // Stock changes and orders of products without SKU are not booked (there is no item).
        self::inSite('$p = wc_get_product($v["card"]); $p->set_stock_quantity(9); $p->save(); return true;', ['card' => self::$ids['card']]);
        [$order] = self::order(['WOO-SCARF-RED' => 1]);
        self::setStatus($order, 'processing');
        self::assertSame(1, self::wcStock('<b>Scarf</b>'), 'WooCommerce sold the scarf');
        self::assertCount($count, self::movements(), 'nothing booked');
        self::assertCount(2, self::inSite('return \InventorySync\Store\products_without_sku();'));

        // Given a SKU, the card is tracked from its next stock change on, and drops off the list.
        self::inSite('$p = wc_get_product($v["card"]); $p->set_sku("WOO-CARD"); $p->set_stock_quantity(7); $p->save(); return true;', ['card' => self::$ids['card']]);
        self::assertSame(7, self::onHand('WOO-CARD'));
        self::assertSame(self::$ids['card'], self::inSite('return \InventorySync\ledger()->item("WOO-CARD")["product_id"];'));
        self::assertSame([['id' => self::$ids['<b>Scarf</b>'], 'name' => '<b>Scarf</b>']], self::inSite('return \InventorySync\Store\products_without_sku();'));
        self::assertSame([self::$ids['<b>Scarf</b>']], self::inSite('return get_option(\InventorySync\OPTION_PRODUCTS_WITHOUT_SKU);'));
    }

    public function test_03_stock_written_in_woocommerce_becomes_an_adjustment_and_is_not_written_back(): void
    {
        // An admin edit (a CRUD save, as the product form does).
        self::inSite('$p = wc_get_product($v["id"]); $p->set_stock_quantity(15); $p->save(); return true;', ['id' => self::$ids['tee']]);
        self::assertSame(15, self::onHand('WOO-TEE'));
        $last = self::movements('WOO-TEE')[1];
        self::assertSame(['adjustment', 15, 5, 'MAIN', 'woocommerce_local'], [$last['kind'], $last['quantity'], $last['delta'], $last['location'], $last['origin']]);
        self::assertStringStartsWith('wc-stock:' . self::$ids['tee'] . ':15:after:', $last['event_id']);
        self::assertSame([], self::jobs('woocommerce_local', 'pending'), 'the store has 15 already: not echoed back');
        self::assertSame(15, self::jobs('shopify', 'pending')[0]['desired']);

        // The same hook again (another plugin re-firing it): nothing new.
        self::inSite('do_action("woocommerce_product_set_stock", wc_get_product($v["id"])); return true;', ['id' => self::$ids['tee']]);
        self::assertCount(2, self::movements('WOO-TEE'));

        // Another plugin's writes, absolute and relative: adjustments to the new level.
        self::inSite('wc_update_product_stock($v["id"], 12); wc_update_product_stock($v["id"], 2, "decrease"); return true;', ['id' => self::$ids['tee']]);
        self::assertSame([['adjustment', 12], ['adjustment', 10]], array_map(fn ($m) => [$m['kind'], $m['on_hand']], array_slice(self::movements('WOO-TEE'), 2)));
        self::assertSame(10, self::onHand('WOO-TEE'));

        // A negative level cannot be counted on hand: booked as 0, and 0 is written back.
        self::inSite('wc_update_product_stock($v["id"], -2); return true;', ['id' => self::$ids['tee']]);
        $last = self::movements('WOO-TEE')[4];
        self::assertSame([0, 'WooCommerce stock set to -2 (negative: booked as 0)'], [$last['on_hand'], $last['note']]);
        self::assertSame(0, self::jobs('woocommerce_local', 'pending')[0]['desired']);
        self::cron('inventory_sync_run_queue');
        self::assertSame(0, self::wcStock('tee'));
        self::assertCount(5, self::movements('WOO-TEE'), 'our own write came back as nothing');

        self::inSite('wc_update_product_stock($v["id"], 10); return true;', ['id' => self::$ids['tee']]);
        self::cron('inventory_sync_run_queue');
        self::assertSame(10, self::shopify('WOO-TEE'));
        self::assertSame([], self::jobs('woocommerce_local', 'pending'));
    }

    public function test_04_an_order_placed_and_cancelled_moves_the_ledger_and_reaches_other_channels(): void
    {
        $count = count(self::movements());
        [$order, $lines] = self::order(['tee' => 2, 'WOO-HOODIE-M' => 1]);
        self::setStatus($order, 'processing');

        self::assertSame([8, 4], [self::onHand('WOO-TEE'), self::onHand('WOO-HOODIE-M')]);
        self::assertSame([8, 4], [self::wcStock('tee'), self::wcStock('WOO-HOODIE-M')]);
        $booked = self::orderMovements($order);
        self::assertSame([
            ["wc-order:$order:{$lines[self::$ids['tee']]}:reduce:1", 'WOO-TEE', 'sale', 2, 'woocommerce_local'],
            ["wc-order:$order:{$lines[self::$ids['WOO-HOODIE-M']]}:reduce:1", 'WOO-HOODIE-M', 'sale', 1, 'woocommerce_local'],
        ], array_map(fn ($m) => [$m['event_id'], $m['sku'], $m['kind'], $m['quantity'], $m['origin']], $booked));
        self::assertCount($count + 2, self::movements(), "the order's own stock writes are not adjustments too");
        self::assertSame([], self::jobs('woocommerce_local', 'pending'), 'the store already shows it');

        self::cron('inventory_sync_run_queue');
        self::assertSame([8, 4], [self::shopify('WOO-TEE'), self::shopify('WOO-HOODIE-M')]);

        self::setStatus($order, 'cancelled');
        self::assertSame([10, 5], [self::onHand('WOO-TEE'), self::onHand('WOO-HOODIE-M')]);
        self::assertSame([10, 5], [self::wcStock('tee'), self::wcStock('WOO-HOODIE-M')]);
        self::assertSame(
            [['sale', 'reduce:1'], ['sale', 'reduce:1'], ['return', 'restore:1'], ['return', 'restore:1']],
            array_map(fn ($m) => [$m['kind'], implode(':', array_slice(explode(':', $m['event_id']), 3))], self::orderMovements($order))
        );
        self::cron('inventory_sync_run_queue');
        self::assertSame([10, 5], [self::shopify('WOO-TEE'), self::shopify('WOO-HOODIE-M')]);
        self::assertSame([], self::jobs('woocommerce_local', 'pending'));
    }

    public function test_05_a_duplicate_hook_and_woocommerce_racy_second_reduction_count_once(): void
    {
        [$order] = self::order(['tee' => 1]);
        $result = self::inSite(<<<'PHP'
            // Two requests load the order before either reduces its stock (WooCommerce's race).
            $a = wc_get_order($v['order']);
            $b = wc_get_order($v['order']);
            wc_reduce_stock_levels($a);
            $stock = fn () => [\InventorySync\ledger()->stock('WOO-TEE')['on_hand'], wc_get_product($v['tee'])->get_stock_quantity()];
            $first = $stock();
            // The line hook fired again for the same reduction.
            $fresh = wc_get_order($v['order']);
            $line = array_values($fresh->get_items())[0];
            do_action('woocommerce_reduce_order_item_stock', $line, ['product' => $line->get_product(), 'from' => 10, 'to' => 9], $fresh);
            $duplicate = $stock();
            wc_reduce_stock_levels($b);
            return [$first, $duplicate, $stock()];
            PHP, ['order' => $order, 'tee' => self::$ids['tee']]);
        self::assertSame([9, 9], $result[0]);
        self::assertSame([9, 9], $result[1], 'a duplicate hook counts nothing');
        self::assertSame([9, 8], $result[2], 'WooCommerce reduced its stock twice; the ledger counted one sale');
        self::assertCount(1, self::orderMovements($order));

        // The store shows one unit too few: the local channel writes the ledger's number back.
        self::assertSame(9, self::jobs('woocommerce_local', 'pending')[0]['desired']);
        $count = count(self::movements());
        self::cron('inventory_sync_run_queue');
        self::assertSame(9, self::wcStock('tee'));
        self::assertCount($count, self::movements(), 'the repair is not a movement');
        self::assertSame(9, self::shopify('WOO-TEE'));
    }

    public function test_06_reduce_restore_reduce_counts_twice_sold_and_once_returned(): void
    {
        [$order, $lines] = self::order(['mug' => 2]);
        self::setStatus($order, 'processing');
        self::setStatus($order, 'cancelled');
        self::setStatus($order, 'on-hold');
        // Re-runs and repeats: the reduction again, the status hook again, the restore hook again.
        self::inSite(<<<'PHP'
            wc_maybe_reduce_stock_levels($v['order']);
            $order = wc_get_order($v['order']);
            do_action('woocommerce_order_status_on-hold', $order->get_id(), $order);
            $line = array_values($order->get_items())[0];
            do_action('woocommerce_reduce_order_item_stock', $line, ['product' => $line->get_product(), 'from' => 6, 'to' => 4], $order);
            return true;
            PHP, ['order' => $order]);

        $line = $lines[self::$ids['mug']];
        self::assertSame([
            ["wc-order:$order:$line:reduce:1", 'sale', 2],
            ["wc-order:$order:$line:restore:1", 'return', 2],
            ["wc-order:$order:$line:reduce:2", 'sale', 2],
        ], array_map(fn ($m) => [$m['event_id'], $m['kind'], $m['quantity']], self::orderMovements($order)));
        self::assertSame(4, self::onHand('WOO-MUG'));
        self::assertSame(4, self::wcStock('mug'));
        self::assertSame(['event' => 'reduce', 'n' => 2, 'quantity' => 2], self::inSite(
            'return wc_get_order($v["order"])->get_items()[$v["line"]]->get_meta(\InventorySync\META_ORDER_LINE_STOCK);',
            ['order' => $order, 'line' => $line]
        ));

        // A restore hook repeated after the next restore counts once too.
        self::setStatus($order, 'cancelled');
        self::inSite(<<<'PHP'
            $order = wc_get_order($v['order']);
            do_action('woocommerce_restore_order_item_stock', array_values($order->get_items())[0], 6, 4, $order);
            return true;
            PHP, ['order' => $order]);
        self::assertSame(['sale', 'return', 'sale', 'return'], array_column(self::orderMovements($order), 'kind'));
        self::assertSame(6, self::onHand('WOO-MUG'));
        self::assertSame(6, self::wcStock('mug'));
    }

    public function test_07_a_line_edited_after_the_sale_is_an_adjustment_and_its_restore_returns_what_woocommerce_gave_back(): void
    {
        [$order] = self::order(['mug' => 1]);
        self::setStatus($order, 'processing');
        self::assertSame(5, self::onHand('WOO-MUG'));
        // The admin raises the line to 3 on the processing order; WooCommerce
        // (wc_maybe_adjust_line_item_product_stock) takes 2 more and fires no line hook.
        self::inSite(<<<'PHP'
            $line = array_values(wc_get_order($v['order'])->get_items())[0];
            wc_update_product_stock($line->get_product(), 2, 'decrease');
            $line->update_meta_data('_reduced_stock', 3);
            $line->save();
            return true;
            PHP, ['order' => $order]);
        self::assertSame(3, self::onHand('WOO-MUG'));
        $history = self::movements('WOO-MUG');
        $last = end($history);
        self::assertSame(['adjustment', 3, -2], [$last['kind'], $last['on_hand'], $last['delta']]);

        self::setStatus($order, 'cancelled');
        self::assertSame([['sale', 1], ['return', 3]], array_map(fn ($m) => [$m['kind'], $m['quantity']], self::orderMovements($order)));
        self::assertSame(6, self::onHand('WOO-MUG'));
        self::assertSame(6, self::wcStock('mug'));
        self::assertSame([], self::jobs('woocommerce_local', 'pending'), 'the ledger and the store agree');
    }

    public function test_08_a_change_from_elsewhere_reaches_woocommerce_without_echo(): void
    {
        // A sale at the POS, through the REST API.
        $sale = json_encode(['event_id' => 'pos-1', 'sku' => 'WOO-HOODIE-S', 'kind' => 'sale', 'quantity' => 1, 'location' => 'MAIN']);
        self::assertSame(201, self::$site->request('POST', self::API . '/movements', ['X-API-Key' => self::$apiKey, 'Content-Type' => 'application/json'], $sale)->status);
        self::assertSame(2, self::jobs('woocommerce_local', 'pending')[0]['desired']);
        // A delivery booked by another channel.
        self::inSite('\InventorySync\ledger()->record(["event_id" => "erp-delivery-1", "sku" => "WOO-HOODIE-S", "kind" => "receive", "quantity" => 4, "location" => "MAIN", "origin" => "shopify"]); \InventorySync\Sync\changed(["WOO-HOODIE-S"], "shopify"); return true;');
        $pending = self::jobs('woocommerce_local', 'pending');
        self::assertCount(1, $pending, 'one job per channel and SKU: the newest quantity wins');
        self::assertSame(6, $pending[0]['desired']);

        $count = count(self::movements());
        self::cron('inventory_sync_run_queue');
        self::assertSame(6, self::wcStock('WOO-HOODIE-S'));
        self::assertSame(['adjustment', 'sale', 'receive'], array_column(self::movements('WOO-HOODIE-S'), 'kind'), 'our own write is not a movement');
        self::assertCount($count, self::movements());
        $listing = self::inSite('return \InventorySync\ledger()->listing(\InventorySync\LOCAL_CHANNEL, "WOO-HOODIE-S");');
        self::assertSame(6, $listing['last_pushed_quantity']);
        self::assertSame(['done'], array_column(array_filter(self::jobs('woocommerce_local'), fn ($j) => $j['sku'] === 'WOO-HOODIE-S'), 'status'));

        // The next run finds nothing to do.
        self::cron('inventory_sync_run_queue');
        self::assertCount($count, self::movements());
        self::assertSame([], self::jobs('woocommerce_local', 'pending'));
    }

    public function test_09_variations_with_parent_managed_stock_are_booked_under_the_parent(): void
    {
        [$order] = self::order(['WOO-SOCKS-RED' => 3, 'WOO-SOCKS-BLUE' => 1]);
        self::setStatus($order, 'completed');
        self::assertSame(8, self::onHand('WOO-SOCKS'));
        self::assertSame(['WOO-SOCKS', 'WOO-SOCKS'], array_column(self::orderMovements($order), 'sku'));
        self::assertSame([3, 1], array_column(self::orderMovements($order), 'quantity'));
        self::assertNull(self::inSite('return \InventorySync\ledger()->item("WOO-SOCKS-RED");'));
        self::assertSame([8, 8, 8], [self::wcStock('Socks'), self::wcStock('WOO-SOCKS-RED'), self::wcStock('WOO-SOCKS-BLUE')]);

        // The ledger's change reaches the parent that holds the stock.
        self::inSite('\InventorySync\ledger()->record(["event_id" => "erp-socks", "sku" => "WOO-SOCKS", "kind" => "receive", "quantity" => 10, "location" => "MAIN", "origin" => "erp"]); \InventorySync\Sync\changed(["WOO-SOCKS"], "erp"); return true;');
        $count = count(self::movements());
        self::cron('inventory_sync_run_queue');
        self::assertSame([18, 18], [self::wcStock('Socks'), self::wcStock('WOO-SOCKS-RED')]);
        self::assertCount($count, self::movements());
        self::assertSame(18, self::shopify('WOO-SOCKS'));

        // A variation with its own stock is its own item (WOO-HOODIE-S, test 08); cancelling
        // returns to the parent's SKU.
        self::setStatus($order, 'cancelled');
        self::assertSame(22, self::onHand('WOO-SOCKS'));
        self::assertSame(22, self::wcStock('Socks'));
    }

    public function test_10_local_jobs_that_cannot_be_applied_die_with_a_readable_reason(): void
    {
        // Items linked to a product of the store that no longer fits (deleted, no stock
        // management, stock kept by the parent), and one sold elsewhere only (no product).
        self::inSite(<<<'PHP'
            $l = \InventorySync\ledger();
            $items = ['NOT-IN-STORE' => ['Deleted product', 999999], 'WOO-SOCKS-RED' => ['Red socks', $v['socks-red']], 'WOO-GIFT' => ['Gift wrapping', $v['gift']], 'ERP-ONLY' => ['Sold elsewhere only', null]];
            foreach ($items as $sku => [$name, $product]) {
                $l->upsertItem(['sku' => $sku, 'name' => $name, 'product_id' => $product]);
                $l->record(['event_id' => "count-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => 4, 'location' => 'MAIN', 'origin' => 'erp']);
            }
            \InventorySync\Sync\changed(array_keys($items), 'erp');
            return true;
            PHP, ['socks-red' => self::$ids['WOO-SOCKS-RED'], 'gift' => self::$ids['gift']]);
        $socks = self::wcStock('Socks');
        self::cron('inventory_sync_run_queue');
        self::assertSame([], array_filter(self::jobs('woocommerce_local'), fn ($j) => $j['sku'] === 'ERP-ONLY'), 'a SKU the store does not sell gets no job there');
        $dead = array_column(self::jobs('woocommerce_local', 'dead'), 'last_error', 'sku');
        ksort($dead);
        self::assertSame([
            'NOT-IN-STORE' => 'no WooCommerce product or variation has the SKU NOT-IN-STORE',
            'WOO-GIFT' => sprintf('WooCommerce product #%d (SKU WOO-GIFT) does not manage its stock', self::$ids['gift']),
            'WOO-SOCKS-RED' => sprintf("the stock of WooCommerce variation #%d (SKU WOO-SOCKS-RED) is managed by its parent product #%d: the ledger keeps it under the parent's SKU", self::$ids['WOO-SOCKS-RED'], self::$ids['Socks']),
        ], $dead);
        self::assertSame($socks, self::wcStock('Socks'), 'the parent was not overwritten with the variation item');
        self::assertNull(self::wcStock('gift'));
    }

    public function test_11_orders_and_stock_edits_are_booked_at_the_store_location_the_owner_names(): void
    {
        self::inSite(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertLocation(['code' => 'SHOP', 'name' => 'Shop stock room', 'priority' => 1]);
            $l->record(['event_id' => 'shop-mugs', 'sku' => 'WOO-MUG', 'kind' => 'receive', 'quantity' => 5, 'location' => 'SHOP', 'origin' => 'erp']);
            \InventorySync\Sync\changed(['WOO-MUG'], 'erp');
            update_option('inventory_sync_store_location', 'SHOP');
            return true;
            PHP);
        $at = fn (): array => array_column(self::inSite('return \InventorySync\ledger()->stock("WOO-MUG")["locations"];'), 'on_hand', 'location');
        $before = $at();
        self::cron('inventory_sync_run_queue');
        self::assertSame($before['MAIN'] + 5, self::wcStock('mug'), 'the store sells what both locations hold');

        [$order, $lines] = self::order(['mug' => 2]);
        self::setStatus($order, 'processing');
        self::assertSame(['MAIN' => $before['MAIN'], 'SHOP' => 3], $at(), 'the sale is booked at SHOP, MAIN is untouched');
        self::assertSame([["wc-order:$order:{$lines[self::$ids['mug']]}:reduce:1", 'sale', 2, 'SHOP']], array_map(fn ($m) => [$m['event_id'], $m['kind'], $m['quantity'], $m['location']], self::orderMovements($order)));

        // Back to the default: the next order is booked at MAIN again.
        self::inSite("delete_option('inventory_sync_store_location'); return true;");
        [$second] = self::order(['mug' => 1]);
        self::setStatus($second, 'processing');
        self::assertSame(['MAIN' => $before['MAIN'] - 1, 'SHOP' => 3], $at());
        self::cron('inventory_sync_run_queue');
        self::assertSame($before['MAIN'] - 1 + 3, self::wcStock('mug'));
    }

    public function test_12_the_import_is_an_admin_action_behind_capability_and_nonce(): void
    {
        self::$site->login();
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
        self::assertSame(200, $page->status);
        self::assertStringContainsString('WooCommerce products', $page->body);
        self::assertStringContainsString('&lt;b&gt;Scarf&lt;/b&gt;', $page->body, 'product names are escaped');
        self::assertStringNotContainsString('<b>Scarf</b>', $page->body);
        self::assertSame(1, preg_match('/inventory-sync-import-products.*?name="_wpnonce" value="([0-9a-f]+)"/s', $page->body, $m));

        $post = fn (array $fields): Response => self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($fields), true);
        $before = self::inSite('return get_option(\InventorySync\OPTION_LAST_IMPORT)["time"];');
        self::assertSame(403, $post(['action' => 'inventory_sync_import_products', '_wpnonce' => 'deadbeef00'])->status);
        self::assertSame(400, self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query(['action' => 'inventory_sync_import_products', '_wpnonce' => $m[1]]))->status, 'not logged in: no such action');
        self::assertSame($before, self::inSite('return get_option(\InventorySync\OPTION_LAST_IMPORT)["time"];'), 'refused: nothing ran');

        $count = count(self::movements());
        sleep(1); // the import's time is in seconds
        $done = $post(['action' => 'inventory_sync_import_products', '_wpnonce' => $m[1]]);
        self::assertSame(302, $done->status);
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true)->body;
        self::assertStringContainsString('Imported from WooCommerce: 7 products read, 0 items created, 0 opening balances, 6 SKUs already in the ledger', $page);
        self::assertCount($count, self::movements());
    }

    public function test_13_without_woocommerce_the_plugin_stays_out_of_its_way(): void
    {
        $site = Harness::site('no-woocommerce', ['plugins' => [Site::PLUGIN]]);
        try {
            $result = $site->eval(<<<'PHP'
                do_action('inventory_sync_run_queue');
                do_action('woocommerce_product_set_stock', null);
                do_action('woocommerce_reduce_order_item_stock', null, [], null);
                \InventorySync\ledger()->upsertItem(['sku' => 'A', 'name' => 'A']);
                \InventorySync\ledger()->record(['event_id' => 'a', 'sku' => 'A', 'kind' => 'receive', 'quantity' => 1]);
                \InventorySync\Sync\changed(['A']);
                try { \InventorySync\Store\import_products(); $import = 'ran'; } catch (\RuntimeException $e) { $import = $e->getMessage(); }
                return [
                    'import' => $import,
                    'channel' => \InventorySync\ledger()->channel(\InventorySync\LOCAL_CHANNEL),
                    'without_sku' => \InventorySync\Store\products_without_sku(),
                    'jobs' => \InventorySync\ledger()->jobCounts()['pending'],
                ];
                PHP);
            self::assertSame(['import' => 'WooCommerce is not active.', 'channel' => null, 'without_sku' => [], 'jobs' => 0], $result);
            // Without WooCommerce nobody has its capability: give it, to see the page.
            $site->eval("get_role('administrator')->add_cap('manage_woocommerce'); return true;");
            $site->login();
            $page = $site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
            self::assertSame(200, $page->status);
            self::assertStringNotContainsString('WooCommerce products', $page->body);
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }
}
