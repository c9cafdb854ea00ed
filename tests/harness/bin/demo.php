<?php
/**
 * `./build.sh demo`: a local WordPress store with the plugin and the extension, left running on a
 * free port, and the main job run against it. Process groups are recorded in <dir>/pgids for
 * `./build.sh stop`.
 *
 * Today's main job (grows with each issue): a WooCommerce store (the test stand-in, since
 * WooCommerce itself cannot be installed here) whose four products are kept by the plugin; seed a
 * small catalogue over two warehouses into the store's ledger and show a SKU's stock, history and
 * channel allocation with explanations, alerts and reorder advice; then configure the signing
 * secret, deliver a signed webhook over HTTP, see a forged one refused, and run WP-Cron; then
 * start fake Shopify, eBay, wholesale-WooCommerce and ERP servers, connect them as channels, run
 * a full sync, sell a unit through the REST API, and place an order in the store: each time every
 * channel, the store included, shows the ledger's allocation seconds later, pushed by the queue
 * kick (no cron run in between).
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

require_once dirname(__DIR__) . '/Harness.php';

$dir = rtrim($argv[1] ?? (Paths::repo() . '/.demo'), '/');
Process::run(['rm', '-rf', $dir]);
mkdir($dir, 0755, true);
$pgids = $dir . '/pgids';

function step(string $text): void
{
    fwrite(STDOUT, "\n\033[1m-- $text\033[0m\n");
}

$db = MariaDb::start($dir . '/mariadb');
file_put_contents($pgids, $db->pgid() . "\n", FILE_APPEND);
try {
    // The queue kick on, as in a real store (the harness turns it off for tests by default).
    $site = Site::create($db, $dir . '/site', ['constants' => ['INVENTORY_SYNC_QUEUE_KICK' => true]]);
} catch (\Throwable $e) {
    $db->stop();
    throw $e;
}
file_put_contents($pgids, $site->pgid() . "\n", FILE_APPEND);

step('The store: four WooCommerce products with managed stock; the ledger: two warehouses, receipts, sales, a reservation');
$seeded = $site->eval(<<<'PHP'
    $ledger = \InventorySync\ledger();
    // Two named warehouses replace the default location made at activation; the web shop
    // ships from WH1, so its orders and stock edits are booked there.
    $ledger->upsertLocation(['code' => 'MAIN', 'name' => 'Main warehouse', 'priority' => 0, 'active' => false]);
    $ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main warehouse', 'priority' => 1]);
    $ledger->upsertLocation(['code' => 'WH2', 'name' => 'Overflow store room', 'priority' => 2]);
    update_option('inventory_sync_store_location', 'WH1');
    $items = [
        ['sku' => 'TEE-RED-M', 'name' => 'Red tee, M', 'lead_time_days' => 10, 'moq' => 24, 'pack_size' => 12, 'supplier' => 'Threadworks'],
        ['sku' => 'TEE-RED-L', 'name' => 'Red tee, L', 'lead_time_days' => 10, 'moq' => 24, 'pack_size' => 12, 'supplier' => 'Threadworks'],
        ['sku' => 'MUG-BLUE', 'name' => 'Blue mug', 'lead_time_days' => 21, 'pack_size' => 36, 'supplier' => 'Kiln & Co'],
        ['sku' => 'CAP-BLACK', 'name' => 'Black cap', 'lead_time_days' => 7, 'supplier' => 'Capital Caps', 'thresholds' => ['critical' => 2, 'low' => 5, 'warning' => 10]],
    ];
    $products = [];
    foreach ($items as $item) {
        // The shop's product, made as an admin would (managed stock, none on the shelf yet: the
        // plugin books that 0 at WH1 and from then on writes the ledger's allocation into it).
        $product = new WC_Product_Simple();
        $product->set_name($item['name']);
        $product->set_sku($item['sku']);
        $product->set_manage_stock(true);
        $product->set_stock_quantity(0);
        $products[$item['sku']] = $product->save();
        $ledger->upsertItem($item + ['product_id' => $products[$item['sku']]]);
    }
    $day = 86400;
    $now = time();
    $moves = [
        ['event_id' => 'demo-po-1001-1', 'sku' => 'TEE-RED-M', 'kind' => 'receive', 'quantity' => 40, 'location' => 'WH1', 'reference' => 'PO-1001'],
        ['event_id' => 'demo-po-1001-2', 'sku' => 'TEE-RED-M', 'kind' => 'receive', 'quantity' => 12, 'location' => 'WH2', 'reference' => 'PO-1001'],
        ['event_id' => 'demo-po-1001-3', 'sku' => 'TEE-RED-L', 'kind' => 'receive', 'quantity' => 30, 'location' => 'WH1', 'reference' => 'PO-1001'],
        ['event_id' => 'demo-po-1002-1', 'sku' => 'MUG-BLUE', 'kind' => 'receive', 'quantity' => 72, 'location' => 'WH2', 'reference' => 'PO-1002'],
        ['event_id' => 'demo-po-1003-1', 'sku' => 'CAP-BLACK', 'kind' => 'receive', 'quantity' => 6, 'location' => 'WH1', 'reference' => 'PO-1003'],
        ['event_id' => 'demo-order-5001-1', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 3, 'location' => 'WH1', 'origin' => 'shopify', 'reference' => 'order 5001'],
        ['event_id' => 'demo-order-5002-1', 'sku' => 'TEE-RED-M', 'kind' => 'sale', 'quantity' => 2, 'location' => 'WH1', 'origin' => 'ebay', 'reference' => 'order 5002'],
        ['event_id' => 'demo-order-5003-1', 'sku' => 'CAP-BLACK', 'kind' => 'sale', 'quantity' => 4, 'location' => 'WH1', 'origin' => 'woocommerce', 'reference' => 'order 5003'],
        ['event_id' => 'demo-return-5001-1', 'sku' => 'TEE-RED-M', 'kind' => 'return', 'quantity' => 1, 'location' => 'WH1', 'origin' => 'shopify', 'reference' => 'order 5001'],
        ['event_id' => 'demo-count-wh2', 'sku' => 'MUG-BLUE', 'kind' => 'adjustment', 'quantity' => 70, 'location' => 'WH2', 'note' => 'cycle count: 2 broken'],
        ['event_id' => 'demo-incoming-po-1004', 'sku' => 'TEE-RED-M', 'kind' => 'incoming', 'quantity' => 48, 'location' => 'WH1', 'reference' => 'PO-1004'],
    ];
    $results = $ledger->recordBatch($moves);
    // The same batch again: every event is a replay and nothing changes.
    $replays = $ledger->recordBatch($moves);
    $held = $ledger->reserve(['event_id' => 'demo-cart-77', 'sku' => 'TEE-RED-M', 'quantity' => 2, 'location' => 'WH1', 'expires_at' => $now + 900, 'reference' => 'checkout 77']);
    return [
        'recorded' => count(array_filter($results, fn ($r) => $r['ok'] && !$r['replayed'])),
        'replayed' => count(array_filter($replays, fn ($r) => $r['ok'] && $r['replayed'])),
        'reserved' => $held['levels'][0]['reserved'],
        'products' => $products,
    ];
    PHP);
printf("WooCommerce products: %s\n", implode(', ', array_map(fn ($sku, $id) => "#$id $sku", array_keys($seeded['products']), $seeded['products'])));
printf("recorded %d movements; the same batch sent again: %d replays, nothing changed; reserved %d for a checkout\n", $seeded['recorded'], $seeded['replayed'], $seeded['reserved']);

step('Stock of TEE-RED-M');
$stock = $site->eval("return \\InventorySync\\ledger()->stock('TEE-RED-M');");
printf("%-6s %8s %9s %9s %10s\n", 'where', 'on hand', 'reserved', 'incoming', 'available');
foreach ($stock['locations'] as $l) {
    printf("%-6s %8d %9d %9d %10d\n", $l['location'], $l['on_hand'], $l['reserved'], $l['incoming'], $l['available']);
}
printf("%-6s %8d %9d %9d %10d\n", 'total', $stock['on_hand'], $stock['reserved'], $stock['incoming'], $stock['available']);

step('History of TEE-RED-M (newest first)');
foreach ($site->eval("return \\InventorySync\\ledger()->history(['sku' => 'TEE-RED-M', 'limit' => 10])['movements'];") as $m) {
    $effect = match ($m['kind']) {
        'reserve', 'release' => sprintf('%s %d → reserved %d', $m['kind'] === 'reserve' ? '+' : '−', $m['quantity'], $m['reserved']),
        'incoming' => sprintf('expected → incoming %d', $m['incoming']),
        default => sprintf('%+d → on hand %d', $m['delta'], $m['on_hand']),
    };
    printf("#%-3d %-10s %-4s %-24s %-22s %s\n", $m['id'], $m['kind'], $m['location'], $effect, $m['event_id'], trim(($m['origin'] ?? '') . ' ' . ($m['reference'] ?? '')));
}

step('What each channel is shown for TEE-RED-M');
$rules = [
    ['channel_id' => 1, 'name' => 'This WooCommerce store'],
    ['channel_id' => 2, 'name' => 'Shopify', 'buffer' => 2, 'max' => 30],
    ['channel_id' => 3, 'name' => 'eBay', 'mode' => 'partitioned', 'weight' => 2, 'priority' => 1, 'zero_threshold' => 2],
    ['channel_id' => 4, 'name' => 'Amazon', 'mode' => 'partitioned', 'weight' => 1, 'priority' => 2],
    ['channel_id' => 5, 'name' => 'Outlet (WH2 only)', 'locations' => ['WH2'], 'percent' => 50],
];
$allocation = $site->eval('return \\InventorySync\\ledger()->allocate("TEE-RED-M", ' . var_export($rules, true) . ');');
foreach ($allocation as $i => $a) {
    printf("%-24s %3d   %s\n", $rules[$i]['name'], $a['quantity'], $a['explanation']);
}

step('Alerts and reorder advice');
foreach ($site->eval('return \\InventorySync\\ledger()->alerts();') as $a) {
    printf("%-10s %-9s %s\n", $a['sku'], $a['level'], $a['reason']);
}
foreach ($site->eval('return \\InventorySync\\ledger()->reorderSuggestions(["TEE-RED-M", "CAP-BLACK"]);') as $r) {
    printf("%-10s order %3d from %-13s %s\n", $r['sku'], $r['quantity'], $r['supplier'] ?? '—', $r['explanation']);
}

step('Configure the generic webhook secret');
$secret = bin2hex(random_bytes(16));
$site->eval(sprintf("update_option('inventory_sync_webhook_secret_generic', %s); return true;", var_export($secret, true)));
echo "secret set (shown masked in wp-admin)\n";

step('Deliver a signed webhook: the warehouse counted 30 TEE-RED-M in WH2');
$wh2 = fn () => array_column($site->eval("return \\InventorySync\\ledger()->stock('TEE-RED-M')['locations'];"), 'on_hand', 'location')['WH2'];
printf("on hand in WH2 before: %d\n", $wh2());
$body = json_encode(['event' => 'inventory.updated', 'id' => 'demo-count-' . date('YmdHis'), 'sku' => 'TEE-RED-M', 'location' => 'WH2', 'quantity' => 30]);
$signature = hash_hmac('sha256', $body, $secret);
$ok = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/generic', ['Content-Type' => 'application/json', 'X-Webhook-Signature' => $signature], $body);
printf("POST /wp-json/inventory-sync/v1/webhooks/generic → HTTP %d outcome %s, recorded %d\n", $ok->status, $ok->json()['outcome'] ?? '?', $ok->json()['recorded'] ?? 0);
printf("on hand in WH2 after:  %d\n", $wh2());
$again = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/generic', ['Content-Type' => 'application/json', 'X-Webhook-Signature' => $signature], $body);
printf("the same delivery again → HTTP %d duplicate=%s; on hand in WH2: %d\n", $again->status, json_encode($again->json()['duplicate'] ?? null), $wh2());

step('Deliver a forged webhook (wrong signature)');
$bad = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/generic', ['Content-Type' => 'application/json', 'X-Webhook-Signature' => str_repeat('0', 64)], $body);
printf("→ HTTP %d %s\n", $bad->status, $bad->body);

step('Run WP-Cron (the health check calls the extension)');
$site->eval("wp_clear_scheduled_hook('inventory_sync_health_check'); return wp_schedule_event(time() - 1, 'hourly', 'inventory_sync_health_check');");
$site->runCron();
echo 'last health check: ' . json_encode($site->eval("return get_option('inventory_sync_last_health_check');")) . "\n";

step('Connect the channels: fake Shopify, eBay, a wholesale WooCommerce store and the ERP on loopback');
$skus = ['TEE-RED-M', 'TEE-RED-L', 'MUG-BLUE', 'CAP-BLACK'];
$fakes = FakeChannels::start($skus, $dir . '/fake-channels.log');
file_put_contents($pgids, $fakes->pgid() . "\n", FILE_APPEND);
$connected = $site->eval(sprintf(<<<'PHP'
    $l = \InventorySync\ledger();
    $c = %s;
    // This store's own channel was made at activation: it is listed with the others below.
    $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify', 'allocation' => ['buffer' => 2, 'max' => 30]] + $c['shopify']);
    $l->saveChannel(['key' => 'ebay', 'kind' => 'ebay', 'name' => 'eBay', 'allocation' => ['mode' => 'partitioned', 'weight' => 2, 'priority' => 1]] + $c['ebay']);
    $l->saveChannel(['key' => 'wholesale', 'kind' => 'woocommerce_remote', 'name' => 'Wholesale store', 'allocation' => ['mode' => 'partitioned', 'weight' => 1, 'priority' => 2]] + $c['woocommerce_remote']);
    $l->saveChannel(['key' => 'erp', 'kind' => 'webhook', 'name' => 'ERP (stock feed)'] + $c['webhook']);
    return array_map(fn ($ch) => [$ch['name'], $ch['kind'], json_encode($ch['allocation']['mode']), $ch['credentials']], array_values(array_filter($l->channels(), fn ($ch) => $ch['enabled'])));
    PHP, var_export($fakes->channels, true)));
foreach ($connected as [$name, $kind, $mode, $credentials]) {
    printf("%-18s %-19s %-14s credentials %s\n", $name, $kind, trim($mode, '"'), json_encode($credentials, JSON_UNESCAPED_UNICODE));
}
echo "(credentials are stored encrypted in the ledger and shown masked)\n";

// What each channel should show, from the ledger's own allocation of the saved channel rules.
$expected = function () use ($site, $skus): array {
    return $site->eval(sprintf(<<<'PHP'
        $l = \InventorySync\ledger();
        $channels = array_values(array_filter($l->channels(), fn ($ch) => $ch['enabled']));
        $rules = array_map(fn ($ch) => array_filter(['channel_id' => $ch['id'], 'name' => $ch['name']] + $ch['allocation'], fn ($v) => $v !== null), $channels);
        $out = [];
        foreach (%s as $sku) {
            foreach ($l->allocate($sku, $rules) as $i => $a) {
                $out[$channels[$i]['kind']][$sku] = $a['quantity'];
            }
        }
        return $out;
        PHP, var_export($skus, true)));
};
$kinds = ['woocommerce_local' => 'This store', 'shopify' => 'Shopify', 'ebay' => 'eBay', 'woocommerce_remote' => 'Wholesale', 'webhook' => 'ERP'];
// What every channel shows now: the fakes' state, and this store's WooCommerce stock.
$remote = function () use ($site, $fakes, $seeded): array {
    $state = $fakes->state();
    $state['woocommerce_local'] = $site->eval(sprintf('return array_map(fn ($id) => wc_get_product($id)->get_stock_quantity(), %s);', var_export($seeded['products'], true)));
    return $state;
};
// Waits (at most 20 s) until every channel shows what the ledger allocates; returns the seconds.
$converge = function () use ($remote, $expected, $skus, $kinds): ?float {
    $started = microtime(true);
    do {
        $now = $remote();
        $want = $expected();
        $same = true;
        foreach ($skus as $sku) {
            foreach (array_keys($kinds) as $kind) {
                $same = $same && ($now[$kind][$sku] ?? null) === $want[$kind][$sku];
            }
        }
        if ($same) {
            return microtime(true) - $started;
        }
        usleep(100_000);
    } while (microtime(true) - $started < 20);
    return null;
};
$table = function (array $remote, array $want) use ($skus, $kinds): bool {
    printf("%-10s", 'SKU');
    foreach ($kinds as $label) {
        printf(" %13s", $label);
    }
    echo "\n";
    $all = true;
    foreach ($skus as $sku) {
        printf("%-10s", $sku);
        foreach (array_keys($kinds) as $kind) {
            $ok = ($remote[$kind][$sku] ?? null) === $want[$kind][$sku];
            $all = $all && $ok;
            printf(" %7s %s", json_encode($remote[$kind][$sku] ?? null) . '/' . $want[$kind][$sku], $ok ? 'ok   ' : 'DIFF ');
        }
        echo "\n";
    }
    echo "(remote / what the ledger allocates)\n";
    return $all;
};

step('Full sync: plan every SKU for every channel, then run the queue (as WP-Cron does)');
[$plan, $run, $local] = $site->eval(<<<'PHP'
    $l = \InventorySync\ledger();
    return [$l->syncFull(), $l->runQueue(['budget_ms' => 20000]), \InventorySync\Store\apply_local_jobs()];
    PHP);
printf("planned %d jobs; queue run: pushed %d in %d HTTP calls, %d failed, %d ms; this store: %d products set\n", $plan['enqueued'], $run['pushed'], $run['calls'], $run['failed'], $run['elapsed_ms'], $local['applied']);
$synced = $converge() !== null;
$table($remote(), $expected());

step('Sell a unit: a POS sale of TEE-RED-L through the REST API; the queue kick pushes it');
$posKey = $site->eval("return \\InventorySync\\ledger()->issueApiKey(['name' => 'POS till', 'scopes' => ['read', 'write']], random_bytes(32))['key'];");
$saleBody = json_encode(['event_id' => 'pos-till-1-' . date('YmdHis'), 'sku' => 'TEE-RED-L', 'kind' => 'sale', 'quantity' => 1, 'location' => 'WH1', 'reference' => 'till 1']);
$sale = $site->request('POST', '/wp-json/inventory-sync/v1/movements', ['X-API-Key' => $posKey, 'Content-Type' => 'application/json'], $saleBody);
printf("POST /wp-json/inventory-sync/v1/movements (sale of 1) → HTTP %d\n", $sale->status);
$waited = $converge();
$after = $remote();
$sold = $table($after, $expected()) && $waited !== null;
printf("every channel showed it %s after the sale was answered (no cron run in between)\n", $waited === null ? 'NOT within 20 s' : sprintf('%.1f s', $waited));
$changed = [];
foreach ($kinds as $kind => $label) {
    $changed[] = sprintf('%s %d', $label, $after[$kind]['TEE-RED-L']);
}
echo 'TEE-RED-L now shows: ' . implode(', ', $changed) . "\n";
step('A customer orders 2 × TEE-RED-M and 1 × CAP-BLACK in the store (WooCommerce checkout, order paid)');
$order = $site->eval(sprintf(<<<'PHP'
    $order = wc_create_order();
    foreach (%s as $id => $qty) {
        $order->add_product(wc_get_product($id), $qty);
    }
    $order->update_status('processing');
    return $order->get_id();
    PHP, var_export([$seeded['products']['TEE-RED-M'] => 2, $seeded['products']['CAP-BLACK'] => 1], true)));
foreach ($site->eval(sprintf('return \\InventorySync\\ledger()->history(["limit" => 5])["movements"];')) as $m) {
    if ($m['reference'] === (string) $order) {
        printf("booked: %s %d × %s at %s (%s, event %s)\n", $m['kind'], $m['quantity'], $m['sku'], $m['location'], $m['origin'], $m['event_id']);
    }
}
$waited = $converge();
$ordered = $table($remote(), $expected()) && $waited !== null;
printf("every channel showed it %s after the order was placed (no cron run in between)\n", $waited === null ? 'NOT within 20 s' : sprintf('%.1f s', $waited));

step('Reconcile: read every channel back and compare with what it was sent (daily at 02:30)');
$reconciled = $site->eval('return \\InventorySync\\ledger()->reconcile();');
printf("read %d listings from %d channels: %d showed another number (drift); channels that cannot be read: %s\n", $reconciled['read'], $reconciled['channels'], $reconciled['drift'] ?? 0, implode(', ', $reconciled['skipped']) ?: 'none');

$lastRuns = $site->eval("return \\InventorySync\\ledger()->syncRuns(['limit' => 3])['runs'];");
foreach ($lastRuns as $r) {
    printf("sync run #%d %-6s %-5s pushed %d, calls %d\n", $r['id'], $r['kind'], $r['status'], $r['pushed'], $r['calls']);
}

step('wp-admin: every page of the plugin shows the data of this run');
// Logged in as the store owner; each page must answer 200 and carry figures read from the
// ledger just now (so a page showing stale or empty data fails the demo).
$site->login();
$live = $site->eval(<<<'PHP'
    $l = \InventorySync\ledger();
    return [
        'available' => $l->stock('TEE-RED-L')['available'],
        'done' => $l->jobCounts()['done'],
        'runs' => count($l->syncRuns(['limit' => 100])['runs']),
        'delivery' => $l->inboundEvents(['limit' => 1])['events'][0]['dedup_key'] ?? '?',
        'today' => wp_date(get_option('date_format')),
    ];
    PHP);
$pages = [
    'Dashboard' => ['', ['Sync activity, last 7 days', 'CAP-BLACK', 'critical', 'Drift: 0 listings', 'inventory_sync 0.']],
    'Stock' => ['-stock', ['TEE-RED-M', 'TEE-RED-L', 'MUG-BLUE', 'CAP-BLACK']],
    'Stock, one SKU' => ['-stock&sku=TEE-RED-L', [sprintf('available %d (WH1 %d)', $live['available'], $live['available']), 'buffer 2', 'largest remainder', 'pos-till-1-']],
    'Channels' => ['-channels', ['Shopify', 'eBay', 'Wholesale store', 'ERP (stock feed)', 'This store (WooCommerce)', '••••']],
    'Queue' => ['-queue', [sprintf('Done (%d)', $live['done']), 'Dead (0)']],
    'Logs' => ['-logs', [$live['delivery'], 'applied']],
    'Reports, sync activity' => ['-reports&report=activity', [sprintf('%s %d ', $live['today'], $live['runs'])]],
    'Reports, API by route' => ['-reports&report=routes', ['/inventory-sync/v1/webhooks/generic POST', '/inventory-sync/v1/movements POST']],
    'Settings' => ['-settings', ['Store location', 'Main warehouse (WH1)']],
];
$shown = 0;
foreach ($pages as $name => [$suffix, $wanted]) {
    $page = $site->request('GET', '/wp-admin/admin.php?page=inventory-sync' . $suffix, [], null, true);
    $text = preg_replace('/\s+/u', ' ', html_entity_decode(strip_tags(preg_replace('#<(script|style)\b[^>]*>.*?</\1>#s', '', $page->body)), ENT_QUOTES | ENT_HTML5, 'UTF-8'));
    $missing = array_values(array_filter($wanted, fn ($w) => !str_contains($text, $w)));
    $pageOk = $page->status === 200 && $missing === [];
    $shown += $pageOk ? 1 : 0;
    printf("%-24s %s\n", $name, $pageOk ? 'ok' : sprintf('MISSING (HTTP %d): %s', $page->status, implode(' | ', $missing)));
}
$problems = trim($site->errorLog());
printf("wp-admin: %d of %d pages show the demo's data; PHP/WordPress log: %s\n", $shown, count($pages), $problems === '' ? 'empty' : "\n$problems");
$adminOk = $shown === count($pages) && $problems === '';

step('Try it yourself');
$tryBody = json_encode(['event' => 'inventory.updated', 'id' => 'try-it-1', 'sku' => 'MUG-BLUE', 'location' => 'WH2', 'quantity' => 64]);
printf("curl -i -X POST %s/wp-json/inventory-sync/v1/webhooks/generic \\\n  -H 'Content-Type: application/json' \\\n  -H 'X-Webhook-Signature: %s' \\\n  --data '%s'\n", $site->url, hash_hmac('sha256', $tryBody, $secret), $tryBody);
echo "(sets MUG-BLUE in WH2 to 64; sending it twice changes stock once)\n";

$ready = $ok->status === 202 && $bad->status === 401 && $seeded['recorded'] === 11 && $seeded['replayed'] === 11
    && $synced && $sale->status === 201 && $sold && $ordered && $adminOk;
echo "\nwp-admin shows all of it live: Dashboard (queue, activity, alerts), Stock (per location and channel, with the\n"
    . "explanations), Channels (test connection, SKU mappings), Logs, Reports (CSV, API requests), Queue and Settings.\n";
printf(
    "\n\033[1mDemo store %s\033[0m\n  URL:    %s/wp-admin/admin.php?page=inventory-sync\n  Login:  %s / %s\n  Stop:   ./build.sh stop\n",
    $ready ? 'is running' : 'is running, but the main job FAILED (see above)',
    $site->url,
    Site::ADMIN_USER,
    Site::ADMIN_PASSWORD
);
exit($ready ? 0 : 1);
