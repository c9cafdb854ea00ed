<?php
/**
 * Order to channels: the time from placing an order in the store to every fake channel holding
 * the new quantity, with the queue kick and with cron alone.
 *
 * A throw-away site from the test harness (WordPress, MariaDB, `php -S` with 4 workers, the
 * WooCommerce stand-in, the plugin and the extension) with one product per SKU (managed stock,
 * OPENING units each, booked at MAIN by the plugin) and four fake channels on loopback (Shopify,
 * eBay, a remote WooCommerce store, a webhook ERP), all in shared mode, so each must show the
 * SKU's available quantity. An order is one HTTP request to a checkout route this program writes
 * into the site as a must-use plugin (it creates a WooCommerce order for one unit and sets it to
 * processing, as a checkout does: WooCommerce reduces the stock and the plugin books the sale);
 * each order buys a SKU no other order touched, so "done" is unambiguous: all four channels show
 * OPENING − 1 for it. The clock starts before the checkout request is sent and stops at the first
 * poll of the fakes (every POLL_MS) that sees all four.
 *
 * - With the kick (the default setting): orders one after another, each waiting for its result.
 * - With cron alone (the kick setting off): a system cron requests wp-cron.php every 60 s (the
 *   setup README.md recommends; WP-Cron's own spawn has the same one-minute tick for the queue
 *   event), while orders arrive every CRON_ORDER_SPACING seconds, so they land at every point of
 *   the minute.
 *
 * Exits 1 when an order does not reach every channel within its deadline, or the ledger does not
 * hold exactly one sale per order afterwards; never because of a time.
 *
 *   php -d extension=target/release/libinventory_sync.so bench/order.php [--json=PATH] [--orders=N]
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Site;

require __DIR__ . '/lib/bench.php';
require dirname(__DIR__) . '/tests/harness/Harness.php';

require_extension();
if (!extension_loaded('curl') || !extension_loaded('mysqli') || !is_dir(Paths::wordpress()) || !is_executable(FakeChannels::binary())) {
    fwrite(STDERR, "This benchmark needs PHP's curl and mysqli, Debian's wordpress and mariadb-server (./build.sh deps) and the fake channels (cargo build --release --example fake_channels).\n");
    exit(2);
}

$orders = 50;
foreach ($argv as $arg) {
    if (str_starts_with($arg, '--orders=')) {
        $orders = max(1, (int) substr($arg, 9));
    }
}
const WARM_UP = 3;
const OPENING = 100;
const POLL_MS = 25;
const KICK_DEADLINE_S = 30;
const CRON_INTERVAL_S = 60;
const CRON_FIRST_TICK_S = 20;
const CRON_ORDER_SPACING_S = 2.4;
const CHANNELS = ['shopify' => 'Shopify', 'ebay' => 'eBay', 'woocommerce_remote' => 'Wholesale WooCommerce', 'webhook' => 'ERP webhook'];
const CHECKOUT_ROUTE = '/wp-json/bench/v1/checkout';

$report = new Report('order');
$skus = [];
for ($i = 0; $i < WARM_UP + 2 * $orders; $i++) {
    $skus[] = sprintf('ORDER-%03d', $i);
}
$token = bin2hex(random_bytes(16));
$started = now();
$problem = null;
$site = $fakes = null;
$latency = ['kick' => [], 'cron' => []];
$answered = [];
try {
    // No INVENTORY_SYNC_QUEUE_KICK constant: the setting decides, and the phases switch it.
    $site = Harness::site('bench-order', ['constants' => ['INVENTORY_SYNC_QUEUE_KICK' => null]]);
    install_checkout_route($site, $token);
    $fakes = FakeChannels::start($skus, temp_dir('order') . '/fake-channels.log');
    $products = $site->eval(sprintf(<<<'PHP'
        update_option('inventory_sync_queue_kick', false);
        $ids = [];
        foreach (%s as $sku) {
            $p = new WC_Product_Simple();
            $p->set_name("Benchmark $sku");
            $p->set_sku($sku);
            $p->set_manage_stock(true);
            $p->set_stock_quantity(%d);
            $ids[$sku] = $p->save();
        }
        $l = \InventorySync\ledger();
        $c = %s;
        $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify'] + $c['shopify']);
        $l->saveChannel(['key' => 'ebay', 'kind' => 'ebay', 'name' => 'eBay'] + $c['ebay']);
        $l->saveChannel(['key' => 'wholesale', 'kind' => 'woocommerce_remote', 'name' => 'Wholesale'] + $c['woocommerce_remote']);
        $l->saveChannel(['key' => 'erp', 'kind' => 'webhook', 'name' => 'ERP'] + $c['webhook']);
        $l->syncFull();
        do {
            $run = $l->runQueue(['budget_ms' => 20000]);
        } while ($run['pushed'] > 0);
        return $ids;
        PHP, var_export($skus, true), OPENING, var_export($fakes->channels, true)));
    $state = $fakes->state();
    foreach (array_keys(CHANNELS) as $kind) {
        foreach ($skus as $sku) {
            if (($state[$kind][$sku] ?? null) !== OPENING) {
                throw new \RuntimeException("after the full sync $kind shows " . json_encode($state[$kind][$sku] ?? null) . " for $sku, expected " . OPENING);
            }
        }
    }
    $report->note(sprintf(
        'site: WordPress + MariaDB + php -S with 4 workers on %s (WooCommerce stand-in, plugin, extension %s); %d products with %d units each at MAIN; channels: %s, shared allocation, fakes on loopback with no added latency; set up and fully synced in %.1f s',
        $site->url,
        Paths::extension(),
        count($skus),
        OPENING,
        implode(', ', CHANNELS),
        now() - $started
    ));

    // Phase 1: the kick (the plugin's default).
    $site->eval("update_option('inventory_sync_queue_kick', true); return true;");
    $next = 0;
    for ($i = 0; $i < WARM_UP + $orders; $i++) {
        $sku = $skus[$next++];
        $t = now();
        $answered[] = checkout($site, $token, $products[$sku]);
        $seconds = wait_for($fakes, [$sku => $t], KICK_DEADLINE_S)[$sku] ?? null;
        if ($seconds === null) {
            throw new \RuntimeException(sprintf('with the kick, the order for %s did not reach every channel within %d s: %s', $sku, KICK_DEADLINE_S, json_encode(channel_view($fakes->state(), $sku))));
        }
        if ($i >= WARM_UP) {
            $latency['kick'][] = $seconds;
        }
    }

    // Phase 2: cron alone. The kick is turned off; a runner still at work finishes first.
    $site->eval("update_option('inventory_sync_queue_kick', false); return true;");
    $deadline = now() + 30;
    while ((float) $site->eval("return (float) get_option('inventory_sync_kick_runner');") > microtime(true) && now() < $deadline) {
        usleep(200_000);
    }
    $latency['cron'] = cron_phase($site, $fakes, $token, $products, array_slice($skus, $next, $orders), $answered);
    if (count($latency['cron']) !== $orders) {
        throw new \RuntimeException(sprintf('with cron alone, %d of %d orders reached every channel', count($latency['cron']), $orders));
    }

    // The ledger: exactly one sale of one unit per order, booked at MAIN, nothing else moved.
    $sales = $site->eval(<<<'PHP'
        $sales = [];
        foreach (\InventorySync\ledger()->history(['limit' => 1000])['movements'] as $m) {
            if ($m['kind'] !== 'adjustment') {
                $sales[] = [$m['sku'], $m['kind'], $m['quantity'], $m['location']];
            }
        }
        return $sales;
        PHP);
    $expected = array_map(static fn (string $sku): array => [$sku, 'sale', 1, 'MAIN'], array_slice($skus, 0, WARM_UP + 2 * $orders));
    sort($sales);
    sort($expected);
    if ($sales !== $expected) {
        $problem = sprintf('the ledger holds %d movements besides the opening balances, expected %d sales of one unit each at MAIN', count($sales), count($expected));
    } else {
        $report->note(sprintf('checked: every order answered 201 (%d checkouts, median %.0f ms); the ledger holds exactly one sale of one unit per order at MAIN and nothing else besides the opening balances', count($answered), median($answered) * 1000));
    }
    $log = $site->errorLog();
    $report->note($log === '' ? 'PHP/WordPress error log: empty' : 'PHP/WordPress error log: ' . count(explode("\n", $log)) . ' lines, first: ' . strtok($log, "\n"));
} catch (\Throwable $e) {
    $problem = $e->getMessage();
} finally {
    $fakes?->stop();
    $site?->stop();
    Harness::shutdown();
}
if ($problem !== null) {
    disagree($problem);
}

$report->note(sprintf(
    'with the kick: %d orders one after another (after %d warm-up orders), each timed from sending the checkout request until a poll (every %d ms) saw all four channels at the new quantity',
    $orders,
    WARM_UP,
    POLL_MS
));
$report->note(sprintf(
    'with cron alone: the kick setting off; a system cron requests wp-cron.php every %d s (first after %d s) while %d orders arrive %.1f s apart, so they land at every point of the minute; expected median about half a minute',
    CRON_INTERVAL_S,
    CRON_FIRST_TICK_S,
    $orders,
    CRON_ORDER_SPACING_S
));
$report->figure(
    sprintf('order placed → %d fake channels hold the new quantity, with the queue kick', count(CHANNELS)),
    's',
    'lower',
    $latency['kick'],
    'cron alone (every minute)',
    $latency['cron'],
    null,
    [
        'p95 s, with the kick' => percentile($latency['kick'], 95),
        'max s, with the kick' => max($latency['kick']),
        'median s, cron alone' => median($latency['cron']),
        'p95 s, cron alone' => percentile($latency['cron'], 95),
        'max s, cron alone' => max($latency['cron']),
    ]
);
$report->finish();

/**
 * Writes the checkout route into the site as a must-use plugin (never part of php-plugin/): one
 * request creates a WooCommerce order for one unit of a product and sets it to processing. It
 * answers only requests carrying this run's token.
 */
function install_checkout_route(Site $site, string $token): void
{
    $code = sprintf(<<<'PHP'
        <?php
        /**
         * Plugin Name: Inventory Sync benchmark: checkout route (written by bench/order.php)
         */

        defined( 'ABSPATH' ) || exit;

        add_action(
        	'rest_api_init',
        	static function () {
        		register_rest_route(
        			'bench/v1',
        			'/checkout',
        			array(
        				'methods'             => 'POST',
        				'permission_callback' => static fn ( WP_REST_Request $request ) => hash_equals( %s, (string) $request->get_header( 'X-Bench-Token' ) ),
        				'callback'            => static function ( WP_REST_Request $request ) {
        					$order = wc_create_order();
        					$order->add_product( wc_get_product( (int) $request['product'] ), 1 );
        					$order->update_status( 'processing' );
        					return new WP_REST_Response( array( 'order' => $order->get_id() ), 201 );
        				},
        			)
        		);
        	}
        );

        PHP, var_export($token, true));
    if (file_put_contents($site->root . '/wp-content/mu-plugins/inventory-sync-bench-checkout.php', $code) === false) {
        throw new \RuntimeException('cannot write the must-use plugin into ' . $site->root);
    }
}

/**
 * Places an order for one unit of $product; returns the seconds the checkout took.
 */
function checkout(Site $site, string $token, int $product): float
{
    $t = now();
    $response = $site->request('POST', CHECKOUT_ROUTE, ['X-Bench-Token' => $token, 'Content-Type' => 'application/json'], json_encode(['product' => $product]));
    if ($response->status !== 201) {
        throw new \RuntimeException("the checkout answered HTTP {$response->status}: {$response->body}");
    }
    return now() - $t;
}

/**
 * What each channel shows for $sku.
 *
 * @return array<string, int|null>
 */
function channel_view(array $state, string $sku): array
{
    $view = [];
    foreach (array_keys(CHANNELS) as $kind) {
        $view[$kind] = $state[$kind][$sku] ?? null;
    }
    return $view;
}

/**
 * Polls the fakes once: takes out of $waiting (sku => start time) every SKU for which every
 * channel shows OPENING − 1, and returns those as sku => seconds since their start.
 *
 * @param array<string, float> $waiting
 * @return array<string, float>
 */
function arrivals(FakeChannels $fakes, array &$waiting): array
{
    $state = $fakes->state();
    $seen = now();
    $arrived = [];
    foreach ($waiting as $sku => $t) {
        if (array_unique(channel_view($state, $sku)) === [array_key_first(CHANNELS) => OPENING - 1]) {
            $arrived[$sku] = $seen - $t;
            unset($waiting[$sku]);
        }
    }
    return $arrived;
}

/**
 * Polls the fakes every POLL_MS until every SKU in $waiting (sku => start time) arrived or
 * $within seconds pass; returns sku => seconds for those that arrived.
 *
 * @param array<string, float> $waiting
 * @return array<string, float>
 */
function wait_for(FakeChannels $fakes, array $waiting, float $within): array
{
    $arrived = [];
    $deadline = now() + $within;
    while ($waiting !== [] && now() < $deadline) {
        $arrived += arrivals($fakes, $waiting);
        usleep(POLL_MS * 1000);
    }
    return $arrived;
}

/**
 * Cron alone: orders every CRON_ORDER_SPACING_S seconds, wp-cron.php every CRON_INTERVAL_S
 * seconds (sent without waiting for its answer, as a crontab's curl would run beside the shop),
 * polling the fakes in between. Returns each order's seconds to every channel.
 *
 * @param array<string, int> $products sku => product id
 * @param list<string> $skus one per order
 * @param list<float> $answered checkout times, appended to
 * @return list<float>
 */
function cron_phase(Site $site, FakeChannels $fakes, string $token, array $products, array $skus, array &$answered): array
{
    $multi = curl_multi_init();
    $ticks = 0;
    $start = now();
    $deadline = $start + CRON_FIRST_TICK_S + CRON_ORDER_SPACING_S * count($skus) + 2 * CRON_INTERVAL_S + 10;
    $placed = 0;
    $waiting = [];
    $arrived = [];
    $lastPoll = 0.0;
    while (($placed < count($skus) || $waiting !== []) && now() < $deadline) {
        $now = now();
        if ($placed < count($skus) && $now >= $start + $placed * CRON_ORDER_SPACING_S) {
            $sku = $skus[$placed++];
            $waiting[$sku] = now();
            $answered[] = checkout($site, $token, $products[$sku]);
        }
        if ($now >= $start + CRON_FIRST_TICK_S + $ticks * CRON_INTERVAL_S) {
            $ticks++;
            $ch = curl_init($site->url . '/wp-cron.php');
            curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 120]);
            curl_multi_add_handle($multi, $ch);
        }
        curl_multi_exec($multi, $running);
        while (($info = curl_multi_info_read($multi)) !== false) {
            curl_multi_remove_handle($multi, $info['handle']);
            curl_close($info['handle']);
        }
        if ($waiting !== [] && now() - $lastPoll >= POLL_MS / 1000) {
            $lastPoll = now();
            $arrived += arrivals($fakes, $waiting);
        }
        usleep(5_000);
    }
    curl_multi_close($multi);
    return array_values($arrived);
}
