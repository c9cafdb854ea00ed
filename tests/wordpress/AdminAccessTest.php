<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Response;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The minimal admin for inbound access: API keys created (shown once, stored hashed) and revoked,
 * per-provider webhook secrets pasted or generated, settings saved through the Settings API —
 * each action behind capability and nonce, post/redirect/get — on the Settings page's tabs.
 */
final class AdminAccessTest extends TestCase
{
    /** The Settings page; its tabs: general (the Settings API form), webhooks, api-keys. */
    private const PAGE = '/wp-admin/admin.php?page=inventory-sync-settings';

    private static Site $site;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('admin-access');
        self::$site->eval("\\InventorySync\\ledger()->upsertItem(['sku' => 'A', 'name' => 'Apple']); return true;");
        self::$site->login();
    }

    public static function tearDownAfterClass(): void
    {
        self::$site->stop();
    }

    protected function tearDown(): void
    {
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    private static function page(string $tab): Response
    {
        $page = self::$site->request('GET', self::PAGE . '&tab=' . $tab, [], null, true);
        self::assertSame(200, $page->status);
        return $page;
    }

    /** The nonce of the form whose marker appears before it on the page. */
    private static function nonce(string $body, string $marker): string
    {
        self::assertSame(1, preg_match('/' . preg_quote($marker, '/') . '.*?name="_wpnonce" value="([0-9a-f]+)"/s', $body, $m), "nonce after $marker");
        return $m[1];
    }

    /** @param array<string, mixed> $fields */
    private static function post(array $fields): Response
    {
        return self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($fields), true);
    }

    public function test_create_use_and_revoke_an_api_key(): void
    {
        $nonce = self::nonce(self::page('api-keys')->body, 'inventory-sync-create-key');
        $created = self::post(['action' => 'inventory_sync_create_api_key', '_wpnonce' => $nonce, 'name' => 'Warehouse scanner', 'scopes' => ['read', 'write'], 'locations' => '']);
        self::assertSame(302, $created->status);

        $shown = self::page('api-keys')->body;
        self::assertSame(1, preg_match('#<code class="inventory-sync-new-secret">(isk_[A-Za-z0-9_-]+)</code>#', $shown, $m), 'the key is shown once');
        $key = $m[1];
        self::assertStringNotContainsString($key, self::page('api-keys')->body, 'and never again');
        $ledgerFile = (string) file_get_contents(self::$site->eval('return \InventorySync\ledger_path();'));
        self::assertStringNotContainsString($key, $ledgerFile, 'only the hash is stored');

        $stock = self::$site->request('GET', '/wp-json/inventory-sync/v1/stock/A', ['X-API-Key' => $key]);
        self::assertSame(200, $stock->status, $stock->body);

        $id = self::$site->eval("foreach (\\InventorySync\\ledger()->apiKeys() as \$k) { if (\$k['name'] === 'Warehouse scanner') { return \$k['id']; } } return null;");
        $page = self::page('api-keys')->body;
        $forged = self::post(['action' => 'inventory_sync_revoke_api_key', 'key_id' => $id, '_wpnonce' => 'deadbeef00']);
        self::assertSame(403, $forged->status);
        self::assertSame(200, self::$site->request('GET', '/wp-json/inventory-sync/v1/stock/A', ['X-API-Key' => $key])->status);

        self::assertSame(1, preg_match('/data-key-id="' . $id . '".*?name="_wpnonce" value="([0-9a-f]+)"/s', $page, $r));
        self::assertSame(302, self::post(['action' => 'inventory_sync_revoke_api_key', 'key_id' => $id, '_wpnonce' => $r[1]])->status);
        self::assertStringContainsString('was revoked', self::page('api-keys')->body);
        self::assertSame(401, self::$site->request('GET', '/wp-json/inventory-sync/v1/stock/A', ['X-API-Key' => $key])->status);
    }

    public function test_invalid_key_forms_create_nothing(): void
    {
        $before = count(self::$site->eval('return \InventorySync\ledger()->apiKeys();'));
        $nonce = self::nonce(self::page('api-keys')->body, 'inventory-sync-create-key');
        self::post(['action' => 'inventory_sync_create_api_key', '_wpnonce' => $nonce, 'name' => 'No scopes']);
        self::assertStringContainsString('No key was created', self::page('api-keys')->body);
        $nonce = self::nonce(self::page('api-keys')->body, 'inventory-sync-create-key');
        self::post(['action' => 'inventory_sync_create_api_key', '_wpnonce' => $nonce, 'name' => 'Bad date', 'scopes' => ['read'], 'expires' => 'tomorrow']);
        self::assertStringContainsString('The expiry date must look like', self::page('api-keys')->body);
        self::assertSame($before, count(self::$site->eval('return \InventorySync\ledger()->apiKeys();')));
    }

    public function test_webhook_secrets_per_provider(): void
    {
        // Shopify's secret is the app's client secret: pasted, never shown back.
        $nonce = self::nonce(self::page('webhooks')->body, 'inventory-sync-webhook-shopify');
        self::assertSame(302, self::post(['action' => 'inventory_sync_rotate_secret', 'provider' => 'shopify', 'secret' => 'shpss_pasted_client_secret_1234', '_wpnonce' => $nonce])->status);
        $page = self::page('webhooks')->body;
        self::assertStringNotContainsString('shpss_pasted_client_secret_1234', $page);
        self::assertStringContainsString('1234', $page);
        self::assertSame('shpss_pasted_client_secret_1234', self::$site->eval("return get_option('inventory_sync_webhook_secret_shopify');"));

        // The ERP's secret is generated in Standard Webhooks form and shown once.
        $nonce = self::nonce($page, 'inventory-sync-webhook-erp');
        self::post(['action' => 'inventory_sync_rotate_secret', 'provider' => 'erp', 'secret' => '', '_wpnonce' => $nonce]);
        self::assertSame(1, preg_match('#<code class="inventory-sync-new-secret">(whsec_[A-Za-z0-9+/=]+)</code>#', self::page('webhooks')->body, $m));
        self::assertSame($m[1], self::$site->eval("return get_option('inventory_sync_webhook_secret_erp');"));

        // A nonce for one provider does not change another; a short pasted secret is refused.
        self::assertSame(403, self::post(['action' => 'inventory_sync_rotate_secret', 'provider' => 'generic', 'secret' => '', '_wpnonce' => $nonce])->status);
        $nonce = self::nonce(self::page('webhooks')->body, 'inventory-sync-webhook-woocommerce');
        self::post(['action' => 'inventory_sync_rotate_secret', 'provider' => 'woocommerce', 'secret' => 'short', '_wpnonce' => $nonce]);
        self::assertStringContainsString('must be 16 to 256 printable characters', self::page('webhooks')->body);
        self::assertFalse(self::$site->eval("return get_option('inventory_sync_webhook_secret_woocommerce', false);"));
    }

    public function test_settings_are_saved_and_sanitized(): void
    {
        $page = self::page('general')->body;
        self::assertSame(1, preg_match('/class="inventory-sync-settings".*?name="_wpnonce" value="([0-9a-f]+)"/s', $page, $m));
        $saved = self::$site->request('POST', '/wp-admin/options.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query([
            'option_page' => 'inventory_sync_settings',
            'action' => 'update',
            '_wpnonce' => $m[1],
            '_wp_http_referer' => self::PAGE . '&tab=general',
            'inventory_sync_auto_create_skus' => '1',
            'inventory_sync_rate_limit_per_minute' => '-50',
        ]), true);
        self::assertSame(302, $saved->status);
        self::assertSame([true, 1], self::$site->eval("return [(bool) get_option('inventory_sync_auto_create_skus'), (int) get_option('inventory_sync_rate_limit_per_minute')];"));
    }

    public function test_admin_page_in_chromium_at_desktop_and_phone_width(): void
    {
        foreach ([1280 => 'admin-access-desktop', 390 => 'admin-access-phone'] as $width => $name) {
            $file = Browser::screenshotAdminPage(self::$site, self::PAGE . '&tab=api-keys', ['Webhooks', 'API keys', 'Create an API key', 'Settings'], $name, $width);
            self::assertFileExists($file);
        }
    }
}
