<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The plugin skeleton in a real WordPress with the extension loaded: the signed webhook route
 * over HTTP, WP-Cron through wp-cron.php, the admin page after a cookie login, and a Chromium
 * screenshot of it.
 */
final class SkeletonTest extends TestCase
{
    private const SECRET = 'e2e-generic-secret-0123456789abcdef';
    private const ROUTE = '/wp-json/inventory-sync/v1/webhooks/generic';
    /** Webhook URLs and secrets: the Settings page's Webhooks tab. */
    private const WEBHOOKS_TAB = '/wp-admin/admin.php?page=inventory-sync-settings&tab=webhooks';

    private static Site $site;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('skeleton');
        self::$site->eval(sprintf("update_option('inventory_sync_webhook_secret_generic', %s); return true;", var_export(self::SECRET, true)));
    }

    public static function tearDownAfterClass(): void
    {
        self::$site->stop();
    }

    protected function tearDown(): void
    {
        // Nothing any test did may leave a notice, warning or error behind.
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    public function test_plugin_is_active_and_declares_hpos_compatibility(): void
    {
        $state = self::$site->eval(<<<'PHP'
            return [
                'active' => is_plugin_active('inventory-sync/inventory-sync.php'),
                'hpos' => inventory_sync_stand_in_declarations()['custom_order_tables']['inventory-sync/inventory-sync.php'] ?? null,
                'extension' => \InventorySync\version(),
            ];
            PHP);
        self::assertSame(['active' => true, 'hpos' => true, 'extension' => phpversion('inventory_sync')], $state);
    }

    public function test_activation_scheduled_the_health_check(): void
    {
        $next = self::$site->eval("return wp_next_scheduled('inventory_sync_health_check');");
        self::assertIsInt($next);
        self::assertEqualsWithDelta(time(), $next, 3700);
    }

    public function test_signed_webhook_is_accepted(): void
    {
        $body = json_encode(['event' => 'inventory.updated', 'sku' => 'TEE-RED-M', 'quantity' => 7]);
        $response = self::$site->request('POST', self::ROUTE, [
            'Content-Type' => 'application/json',
            // Signed independently of the extension, as a sender would.
            'X-Webhook-Signature' => hash_hmac('sha256', $body, self::SECRET),
        ], $body);
        self::assertSame(202, $response->status, $response->body);
        self::assertTrue($response->json()['accepted']);
        self::assertSame(['inventory.updated', 'generic', false], [$response->json()['topic'], $response->json()['provider'], $response->json()['duplicate']]);
        // The SKU is not in this store's ledger: reported, nothing recorded.
        self::assertSame(['TEE-RED-M'], $response->json()['unknown_skus']);
        $last = self::$site->eval("return \\InventorySync\\ledger()->inboundEvents(['limit' => 1])['events'][0];");
        self::assertSame(['generic', 'inventory.updated', 'ignored'], [$last['provider'], $last['topic'], $last['outcome']]);
        self::assertSame(['TEE-RED-M'], $last['unknown_skus']);
    }

    /**
     * @return array<string, array{0: array<string,string>, 1: string, 2: int, 3: string}>
     */
    public static function refusedDeliveries(): array
    {
        $body = json_encode(['event' => 'inventory.updated', 'sku' => 'REFUSED', 'quantity' => 1]);
        return [
            'wrong secret' => [['X-Webhook-Signature' => hash_hmac('sha256', $body, 'not-the-secret')], $body, 401, 'inventory_sync_bad_signature'],
            'body changed after signing' => [['X-Webhook-Signature' => hash_hmac('sha256', $body, self::SECRET)], $body . ' ', 401, 'inventory_sync_bad_signature'],
            'no signature' => [[], $body, 401, 'inventory_sync_bad_signature'],
            'malformed signature' => [['X-Webhook-Signature' => 'sha256=xyz'], $body, 401, 'inventory_sync_bad_signature'],
            'oversized body' => [['X-Webhook-Signature' => hash_hmac('sha256', str_repeat('a', 1048577), self::SECRET)], str_repeat('a', 1048577), 413, 'inventory_sync_too_large'],
            'bad signature on a body that is not JSON' => [['X-Webhook-Signature' => hash_hmac('sha256', '{"event":', 'wrong')], '{"event":', 401, 'inventory_sync_bad_signature'],
            'signed but not JSON (WordPress parses application/json)' => [['X-Webhook-Signature' => hash_hmac('sha256', '{"event":', self::SECRET)], '{"event":', 400, 'rest_invalid_json'],
            'signed but not JSON (plain text)' => [['X-Webhook-Signature' => hash_hmac('sha256', '[1,', self::SECRET), 'Content-Type' => 'text/plain'], '[1,', 400, 'inventory_sync_invalid'],
        ];
    }

    /**
     * @dataProvider refusedDeliveries
     * @param array<string,string> $headers
     */
    public function test_bad_deliveries_are_refused_and_change_nothing(array $headers, string $body, int $status, string $code): void
    {
        $ledger = "return \\InventorySync\\ledger()->history(['limit' => 1000]);";
        $before = self::$site->eval($ledger);
        $response = self::$site->request('POST', self::ROUTE, $headers + ['Content-Type' => 'application/json'], $body);
        self::assertSame($status, $response->status, $response->body);
        self::assertSame($code, $response->json()['code']);
        self::assertSame($status, $response->json()['data']['status']);
        self::assertSame($before, self::$site->eval($ledger));
    }

    public function test_wp_cron_runs_the_health_check_through_the_extension(): void
    {
        self::$site->eval("delete_option('inventory_sync_last_health_check'); wp_clear_scheduled_hook('inventory_sync_health_check'); return wp_schedule_event(time() - 60, 'hourly', 'inventory_sync_health_check');");
        $response = self::$site->runCron();
        self::assertSame(200, $response->status);
        $check = self::$site->eval("return get_option('inventory_sync_last_health_check');");
        self::assertIsArray($check, 'the cron event did not run');
        self::assertSame(phpversion('inventory_sync'), $check['extension']);
        self::assertEqualsWithDelta(time(), $check['time'], 30);
        self::assertGreaterThan(time(), self::$site->eval("return wp_next_scheduled('inventory_sync_health_check');"), 'rescheduled for the next hour');
    }

    public function test_admin_page_after_cookie_login_reports_the_extension(): void
    {
        self::$site->login();
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
        self::assertSame(200, $page->status);
        self::assertStringContainsString('inventory_sync ' . phpversion('inventory_sync') . ' loaded', $page->body);
        self::assertMatchesRegularExpression('#Signature engine</th>\s*<td>OK</td>#', $page->body);
        self::assertStringNotContainsString(self::SECRET, $page->body);
        // The webhook URL and secret are on the Settings page; the secret is masked: only its
        // last four characters appear.
        $webhooks = self::$site->request('GET', self::WEBHOOKS_TAB, [], null, true);
        self::assertSame(200, $webhooks->status);
        self::assertStringContainsString('/wp-json/inventory-sync/v1/webhooks/generic', $webhooks->body);
        self::assertStringNotContainsString(self::SECRET, $webhooks->body);
        self::assertStringContainsString(substr(self::SECRET, -4), $webhooks->body);
    }

    public function test_rotating_the_secret_needs_a_valid_nonce_and_shows_the_new_one_once(): void
    {
        self::$site->login();
        $page = self::$site->request('GET', self::WEBHOOKS_TAB, [], null, true);
        self::assertSame(1, preg_match('/inventory-sync-webhook-generic.*?name="_wpnonce" value="([0-9a-f]+)"/s', $page->body, $m));
        $nonce = $m[1];

        $forged = self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'],
            http_build_query(['action' => 'inventory_sync_rotate_secret', 'provider' => 'generic', '_wpnonce' => 'deadbeef00']), true);
        self::assertSame(403, $forged->status);
        self::assertSame(self::SECRET, self::$site->eval("return get_option('inventory_sync_webhook_secret_generic');"));

        $rotate = self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'],
            http_build_query(['action' => 'inventory_sync_rotate_secret', 'provider' => 'generic', 'secret' => '', '_wpnonce' => $nonce, '_wp_http_referer' => self::WEBHOOKS_TAB]), true);
        self::assertSame(302, $rotate->status);
        self::assertStringEndsWith('page=inventory-sync-settings&tab=webhooks', (string) $rotate->header('location'), 'back to the tab it came from');
        $secrets = self::$site->eval("return [get_option('inventory_sync_webhook_secret_generic'), get_option('inventory_sync_webhook_secret_generic_previous')];");
        self::assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $secrets[0]);
        self::assertSame(self::SECRET, $secrets[1]);

        $shown = self::$site->request('GET', self::WEBHOOKS_TAB, [], null, true);
        self::assertStringContainsString($secrets[0], $shown->body, 'shown once after rotation');
        $again = self::$site->request('GET', self::WEBHOOKS_TAB, [], null, true);
        self::assertStringNotContainsString($secrets[0], $again->body, 'never shown again');

        // Both the new and (during rotation) the previous secret verify.
        foreach ([$secrets[0], self::SECRET] as $secret) {
            $body = json_encode(['event' => 'inventory.low_stock', 'sku' => 'CHECK-' . substr($secret, 0, 4)]);
            $ok = self::$site->request('POST', self::ROUTE, ['Content-Type' => 'application/json', 'X-Webhook-Signature' => hash_hmac('sha256', $body, $secret)], $body);
            self::assertSame(202, $ok->status, $ok->body);
        }
        self::$site->eval(sprintf("update_option('inventory_sync_webhook_secret_generic', %s); delete_option('inventory_sync_webhook_secret_generic_previous'); return true;", var_export(self::SECRET, true)));
    }

    public function test_a_subscriber_gets_no_access(): void
    {
        self::$site->eval("if (!username_exists('sub')) { wp_insert_user(['user_login' => 'sub', 'user_pass' => 'sub-password-1', 'role' => 'subscriber']); } return true;");
        self::$site->login('sub', 'sub-password-1');
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
        self::assertSame(403, $page->status);
        self::assertStringNotContainsString('Signature engine', $page->body);
    }

    public function test_admin_page_in_headless_chromium(): void
    {
        $file = Browser::screenshotAdminPage(self::$site, '/wp-admin/admin.php?page=inventory-sync', [
            'Inventory Sync',
            'inventory_sync ' . phpversion('inventory_sync') . ' loaded',
            'Signature engine',
        ], 'admin-status-page');
        self::assertFileExists($file);
        self::assertSame("\x89PNG", substr((string) file_get_contents($file), 0, 4));
        self::assertGreaterThan(10_000, filesize($file));
    }
}
