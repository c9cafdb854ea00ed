<?php
/**
 * `./build.sh demo`: a local WordPress store with the plugin and the extension, left running on a
 * free port, and the main job run against it. Process groups are recorded in <dir>/pgids for
 * `./build.sh stop`.
 *
 * Today's main job (grows with each issue): configure the signing secret, deliver a signed
 * webhook over HTTP, see a forged one refused, run WP-Cron, and read the status page.
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

step('Configure the generic webhook secret');
$secret = bin2hex(random_bytes(16));
$site->eval(sprintf("update_option('inventory_sync_webhook_secret_generic', %s); return true;", var_export($secret, true)));
echo "secret set (shown masked in wp-admin)\n";

step('Deliver a signed webhook');
$body = json_encode(['event' => 'inventory.updated', 'sku' => 'DEMO-TEE-RED-M', 'quantity' => 12]);
$signature = hash_hmac('sha256', $body, $secret);
$ok = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/generic', ['Content-Type' => 'application/json', 'X-Webhook-Signature' => $signature], $body);
printf("POST /wp-json/inventory-sync/v1/webhooks/generic → HTTP %d %s\n", $ok->status, $ok->body);

step('Deliver a forged webhook (wrong signature)');
$bad = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/generic', ['Content-Type' => 'application/json', 'X-Webhook-Signature' => str_repeat('0', 64)], $body);
printf("→ HTTP %d %s\n", $bad->status, $bad->body);

step('Run WP-Cron (the health check calls the extension)');
$site->eval("wp_clear_scheduled_hook('inventory_sync_health_check'); return wp_schedule_event(time() - 1, 'hourly', 'inventory_sync_health_check');");
$site->runCron();
echo 'last health check: ' . json_encode($site->eval("return get_option('inventory_sync_last_health_check');")) . "\n";

step('Try it yourself');
printf("curl -i -X POST %s/wp-json/inventory-sync/v1/webhooks/generic \\\n  -H 'Content-Type: application/json' \\\n  -H 'X-Webhook-Signature: %s' \\\n  --data '%s'\n", $site->url, $signature, $body);

$ready = $ok->status === 202 && $bad->status === 401;
printf(
    "\n\033[1mDemo store %s\033[0m\n  URL:    %s/wp-admin/admin.php?page=inventory-sync\n  Login:  %s / %s\n  Stop:   ./build.sh stop\n",
    $ready ? 'is running' : 'is running, but the main job FAILED (see above)',
    $site->url,
    Site::ADMIN_USER,
    Site::ADMIN_PASSWORD
);
exit($ready ? 0 : 1);
