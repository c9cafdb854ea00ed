<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * Without the extension the plugin activates, shows a notice, stays inert and breaks nothing.
 */
final class MissingExtensionTest extends TestCase
{
    private static Site $site;

    public static function setUpBeforeClass(): void
    {
        // Installed and activated with the extension absent from every PHP process of the site.
        self::$site = Harness::site('no-extension', ['extension' => false]);
    }

    public static function tearDownAfterClass(): void
    {
        self::$site->stop();
    }

    public function test_plugin_is_active_but_inert(): void
    {
        $state = self::$site->eval(<<<'PHP'
            return [
                'extension' => extension_loaded('inventory_sync'),
                'active' => is_plugin_active('inventory-sync/inventory-sync.php'),
                'bootstrapped' => function_exists('InventorySync\\bootstrap'),
                'cron' => wp_next_scheduled('inventory_sync_health_check'),
                'hpos' => inventory_sync_stand_in_declarations()['custom_order_tables']['inventory-sync/inventory-sync.php'] ?? null,
            ];
            PHP);
        self::assertSame(['extension' => false, 'active' => true, 'bootstrapped' => false, 'cron' => false, 'hpos' => true], $state);
    }

    public function test_admin_shows_the_notice_and_no_php_error(): void
    {
        self::$site->login();
        foreach (['/wp-admin/', '/wp-admin/plugins.php'] as $path) {
            $page = self::$site->request('GET', $path, [], null, true);
            self::assertSame(200, $page->status, $path);
            self::assertStringContainsString('Inventory Sync is inactive:', $page->body, $path);
            self::assertStringContainsString('the PHP extension inventory_sync is not loaded', $page->body, $path);
        }
        $front = self::$site->request('GET', '/');
        self::assertSame(200, $front->status);
        self::assertSame('', self::$site->errorLog());
    }

    public function test_routes_are_not_registered(): void
    {
        $response = self::$site->request('POST', '/wp-json/inventory-sync/v1/webhooks/generic', ['Content-Type' => 'application/json'], '{}');
        self::assertSame(404, $response->status);
        self::assertSame('rest_no_route', $response->json()['code']);
        self::assertSame('', self::$site->errorLog());
    }

    public function test_notice_in_headless_chromium(): void
    {
        $file = Browser::screenshotAdminPage(self::$site, '/wp-admin/plugins.php', ['Inventory Sync is inactive:'], 'missing-extension-notice');
        self::assertFileExists($file);
        self::assertSame('', self::$site->errorLog());
    }
}
