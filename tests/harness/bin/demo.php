<?php
/**
 * `./build.sh demo`: a local WordPress store with the plugin and the extension, left running on a
 * free port, and the main job run against it. Process groups are recorded in <dir>/pgids for
 * `./build.sh stop`.
 *
 * Today's main job (grows with each issue): seed a small catalogue over two warehouses into the
 * store's ledger and show a SKU's stock, history and channel allocation with explanations, alerts
 * and reorder advice; then configure the signing secret, deliver a signed webhook over HTTP, see a
 * forged one refused, and run WP-Cron; then start fake Shopify, eBay, wholesale-WooCommerce and
 * ERP servers, connect them as channels, run a full sync, sell a unit through the REST API and
 * show every channel updated to the ledger's allocation.
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
    $site = Site::create($db, $dir . '/site');
} catch (\Throwable $e) {
    $db->stop();
    throw $e;
}
file_put_contents($pgids, $site->pgid() . "\n", FILE_APPEND);

step('Seed the ledger: two warehouses, four SKUs, receipts, sales, a reservation');
$seeded = $site->eval(<<<'PHP'
    $ledger = \InventorySync\ledger();
    // Two named warehouses replace the default location made at activation.
    $ledger->upsertLocation(['code' => 'MAIN', 'name' => 'Main warehouse', 'priority' => 0, 'active' => false]);
    $ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main warehouse', 'priority' => 1]);
    $ledger->upsertLocation(['code' => 'WH2', 'name' => 'Overflow store room', 'priority' => 2]);
    $items = [
        ['sku' => 'TEE-RED-M', 'name' => 'Red tee, M', 'lead_time_days' => 10, 'moq' => 24, 'pack_size' => 12, 'supplier' => 'Threadworks'],
        ['sku' => 'TEE-RED-L', 'name' => 'Red tee, L', 'lead_time_days' => 10, 'moq' => 24, 'pack_size' => 12, 'supplier' => 'Threadworks'],
        ['sku' => 'MUG-BLUE', 'name' => 'Blue mug', 'lead_time_days' => 21, 'pack_size' => 36, 'supplier' => 'Kiln & Co'],
        ['sku' => 'CAP-BLACK', 'name' => 'Black cap', 'lead_time_days' => 7, 'supplier' => 'Capital Caps', 'thresholds' => ['critical' => 2, 'low' => 5, 'warning' => 10]],
    ];
    foreach ($items as $item) {
        $ledger->upsertItem($item);
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
    ];
    PHP);
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
    // This store's own channel stays off here: the demo catalogue has no WooCommerce products.
    $l->saveChannel(['key' => 'woocommerce_local', 'kind' => 'woocommerce_local', 'name' => 'This store', 'enabled' => false]);
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
$kinds = ['shopify' => 'Shopify', 'ebay' => 'eBay', 'woocommerce_remote' => 'Wholesale', 'webhook' => 'ERP'];
$table = function (array $remote, array $want) use ($skus, $kinds): bool {
    printf("%-10s", 'SKU');
    foreach ($kinds as $label) {
        printf(" %16s", $label);
    }
    echo "\n";
    $all = true;
    foreach ($skus as $sku) {
        printf("%-10s", $sku);
        foreach (array_keys($kinds) as $kind) {
            $ok = ($remote[$kind][$sku] ?? null) === $want[$kind][$sku];
            $all = $all && $ok;
            printf(" %10s %s", json_encode($remote[$kind][$sku] ?? null) . '/' . $want[$kind][$sku], $ok ? 'ok   ' : 'DIFF ');
        }
        echo "\n";
    }
    echo "(remote / what the ledger allocates)\n";
    return $all;
};

step('Full sync: plan every SKU for every channel, then run the queue (as WP-Cron does)');
$plan = $site->eval('return \\InventorySync\\ledger()->syncFull();');
$run = $site->eval("return \\InventorySync\\ledger()->runQueue(['budget_ms' => 20000]);");
printf("planned %d jobs; queue run: pushed %d in %d HTTP calls, %d failed, %d ms\n", $plan['enqueued'], $run['pushed'], $run['calls'], $run['failed'], $run['elapsed_ms']);
$synced = $table($fakes->state(), $expected());

step('Sell a unit: a POS sale of TEE-RED-L through the REST API, then the queue run');
$posKey = $site->eval("return \\InventorySync\\ledger()->issueApiKey(['name' => 'POS till', 'scopes' => ['read', 'write']], random_bytes(32))['key'];");
$saleBody = json_encode(['event_id' => 'pos-till-1-' . date('YmdHis'), 'sku' => 'TEE-RED-L', 'kind' => 'sale', 'quantity' => 1, 'location' => 'WH1', 'reference' => 'till 1']);
$sale = $site->request('POST', '/wp-json/inventory-sync/v1/movements', ['X-API-Key' => $posKey, 'Content-Type' => 'application/json'], $saleBody);
printf("POST /wp-json/inventory-sync/v1/movements (sale of 1) → HTTP %d; jobs waiting: %d\n", $sale->status, $site->eval("return \\InventorySync\\ledger()->jobCounts()['pending'];"));
$site->eval("do_action('inventory_sync_run_queue'); return true;");
$after = $fakes->state();
$sold = $table($after, $expected());
$changed = [];
foreach ($kinds as $kind => $label) {
    $changed[] = sprintf('%s %d', $label, $after[$kind]['TEE-RED-L']);
}
echo 'TEE-RED-L now shows: ' . implode(', ', $changed) . "\n";
$lastRuns = $site->eval("return \\InventorySync\\ledger()->syncRuns(['limit' => 3])['runs'];");
foreach ($lastRuns as $r) {
    printf("sync run #%d %-6s %-5s pushed %d, calls %d\n", $r['id'], $r['kind'], $r['status'], $r['pushed'], $r['calls']);
}

step('Try it yourself');
$tryBody = json_encode(['event' => 'inventory.updated', 'id' => 'try-it-1', 'sku' => 'MUG-BLUE', 'location' => 'WH2', 'quantity' => 64]);
printf("curl -i -X POST %s/wp-json/inventory-sync/v1/webhooks/generic \\\n  -H 'Content-Type: application/json' \\\n  -H 'X-Webhook-Signature: %s' \\\n  --data '%s'\n", $site->url, hash_hmac('sha256', $tryBody, $secret), $tryBody);
echo "(sets MUG-BLUE in WH2 to 64; sending it twice changes stock once)\n";

$ready = $ok->status === 202 && $bad->status === 401 && $seeded['recorded'] === 11 && $seeded['replayed'] === 11
    && $synced && $sale->status === 201 && $sold;
printf(
    "\n\033[1mDemo store %s\033[0m\n  URL:    %s/wp-admin/admin.php?page=inventory-sync\n  Login:  %s / %s\n  Stop:   ./build.sh stop\n",
    $ready ? 'is running' : 'is running, but the main job FAILED (see above)',
    $site->url,
    Site::ADMIN_USER,
    Site::ADMIN_PASSWORD
);
exit($ready ? 0 : 1);
