<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Process;
use InventorySync\Tests\Harness\Senders;
use PHPUnit\Framework\TestCase;

/**
 * The production-like serving the load tests use: Debian's php-fpm (static pool of 4, opcache on)
 * behind nginx, each started from the site directory in a process group of its own. The worker
 * runs the extension with opcache; a signed webhook is applied through nginx; an oversized body
 * reaches the plugin (its 413, not nginx's); the ledger file lies outside the web root; stopping the site
 * leaves no process of either group.
 */
final class FpmSiteTest extends TestCase
{
    public function test_php_fpm_behind_nginx_serves_the_plugin_with_the_extension_and_opcache(): void
    {
        $site = Harness::site('fpm-site', ['server' => 'fpm']);
        $groups = $site->pgids();
        try {
            self::assertSame('fpm', $site->server);
            self::assertCount(2, $groups, 'php-fpm and nginx');
            // What the web worker runs (a probe file next to WordPress).
            file_put_contents($site->root . '/serving-probe.php', '<?php header("Content-Type: application/json"); echo json_encode(["sapi" => PHP_SAPI, "extension" => extension_loaded("inventory_sync"), "opcache" => function_exists("opcache_get_status") && (opcache_get_status(false)["opcache_enabled"] ?? false), "server" => $_SERVER["SERVER_SOFTWARE"] ?? ""]);');
            $probe = json_decode($site->request('GET', '/serving-probe.php')->body, true);
            self::assertSame(['sapi' => 'fpm-fcgi', 'extension' => true, 'opcache' => true], array_intersect_key($probe, ['sapi' => 1, 'extension' => 1, 'opcache' => 1]), json_encode($probe));
            self::assertStringStartsWith('nginx/', $probe['server']);

            // Pretty permalinks through nginx's try_files, and a signed delivery applied.
            $whsec = Senders::whsec();
            $site->eval(sprintf(<<<'PHP'
                update_option(\InventorySync\webhook_secret_option('erp'), %s);
                $l = \InventorySync\ledger();
                $l->upsertLocation(['code' => 'WH1', 'name' => 'Main', 'priority' => 1]);
                $l->upsertItem(['sku' => 'FPM-1', 'name' => 'FPM']);
                return true;
                PHP, var_export($whsec, true)));
            $body = json_encode(['type' => 'stock.received', 'data' => ['items' => [['sku' => 'FPM-1', 'location' => 'WH1', 'quantity' => 7]]]]);
            $response = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/erp', Senders::standard($body, $whsec, 'msg_fpm_1'), $body);
            self::assertSame(202, $response->status, $response->body);
            $again = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/erp', Senders::standard($body, $whsec, 'msg_fpm_1'), $body);
            self::assertSame(200, $again->status, 'the replay is a duplicate');
            self::assertSame(7, $site->eval("return \\InventorySync\\ledger()->stock('FPM-1')['on_hand'];"));

            // 1.5 MiB: under nginx's 2 MiB, over the plugin's 1 MiB — the plugin answers.
            $big = str_repeat('x', 1_572_864);
            $refused = $site->request('POST', '/wp-json/inventory-sync/v1/webhooks/erp', Senders::standard($big, $whsec, 'msg_fpm_big'), $big);
            self::assertSame(413, $refused->status);
            self::assertStringContainsString('"code":"', $refused->body, 'a WordPress REST error, not nginx\'s page');
            self::assertSame(7, $site->eval("return \\InventorySync\\ledger()->stock('FPM-1')['on_hand'];"), 'nothing changed');

            // The ledger file is never served, whatever the web server: nginx reads no .htaccess,
            // so it must not lie under the web root at all.
            $path = (string) $site->eval('return \InventorySync\ledger_path();');
            self::assertFileExists($path);
            self::assertStringStartsNotWith(realpath($site->root) . '/', (string) realpath($path), 'the ledger lies outside the web root');
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
        foreach ($groups as $pgid) {
            self::assertSame([], Process::members($pgid), "process group $pgid is gone");
        }
    }
}
