<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Response;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The Settings page (wp-admin → Inventory Sync → Settings): in Chromium at desktop and phone
 * width, settings changed and saved through the Settings API (retention, alert recipients, the
 * store location chosen among the ledger's active locations, which then books the store's stock
 * there), the webhooks, API keys and ledger tabs; over HTTP, invalid values sanitized, settings
 * a wp-config.php constant overrides shown disabled and left unchanged by a forged form, the
 * schedules, a subscriber kept out, forged nonces changing nothing, actions redirecting back to
 * their tab. The PHP debug log stays empty throughout.
 */
final class SettingsPageTest extends TestCase
{
    private const PAGE = '/wp-admin/admin.php?page=inventory-sync-settings';

    private static Site $site;

    public static function setUpBeforeClass(): void
    {
        // The queue kick is off by constant on every test site (Site::DEFAULT_CONSTANTS); the
        // stock alert level is too, here.
        self::$site = Harness::site('settings-page', ['constants' => ['INVENTORY_SYNC_ALERT_STOCK_LEVEL' => 'critical']]);
        self::$site->eval(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertLocation(['code' => 'WEST', 'name' => 'West warehouse', 'priority' => 1]);
            $l->upsertLocation(['code' => 'OLD', 'name' => 'Closed shop', 'priority' => 2, 'active' => false]);
            wp_insert_user(['user_login' => 'subscriber', 'user_pass' => 'subscriber-password', 'user_email' => 'sub@example.test', 'role' => 'subscriber']);
            return true;
            PHP);
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

    private static function page(string $tab = 'general'): Response
    {
        $page = self::$site->request('GET', self::PAGE . '&tab=' . $tab, [], null, true);
        self::assertSame(200, $page->status);
        return $page;
    }

    /** The nonce of the first form after $marker. */
    private static function nonce(string $body, string $marker): string
    {
        self::assertSame(1, preg_match('/' . preg_quote($marker, '/') . '.*?name="_wpnonce" value="([0-9a-f]+)"/s', $body, $m), "nonce after $marker");
        return $m[1];
    }

    /** @param array<string, mixed> $fields */
    private static function post(string $path, array $fields): Response
    {
        return self::$site->request('POST', $path, ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($fields), true);
    }

    /**
     * Saves the general form as options.php gets it: every field of the page (a checkbox only
     * when ticked), $fields changed.
     *
     * @param array<string, string> $fields
     */
    private static function save(array $fields, ?string $nonce = null): Response
    {
        return self::post('/wp-admin/options.php', $fields + [
            'option_page' => 'inventory_sync_settings',
            'action' => 'update',
            '_wpnonce' => $nonce ?? self::nonce(self::page()->body, 'class="inventory-sync-settings"'),
            '_wp_http_referer' => self::PAGE . '&tab=general',
            'inventory_sync_rate_limit_per_minute' => '60',
            'inventory_sync_retention_days' => '30',
            'inventory_sync_alert_recipients' => '',
            'inventory_sync_alert_sync' => '1',
            'inventory_sync_store_location' => 'MAIN',
        ]);
    }

    /** The page a post/redirect/get leads to (options.php's notices are shown only there). */
    private static function follow(Response $redirect): string
    {
        self::assertSame(302, $redirect->status);
        $location = (string) $redirect->header('location');
        $path = str_starts_with($location, self::$site->url) ? substr($location, strlen(self::$site->url)) : $location;
        $page = self::$site->request('GET', $path, [], null, true);
        self::assertSame(200, $page->status, $location);
        return $page->body;
    }

    /** @return mixed */
    private static function option(string $name)
    {
        return self::$site->eval(sprintf('return get_option(%s, "unset");', var_export($name, true)));
    }

    public function test_01_change_settings_in_chromium_at_desktop_and_phone_width(): void
    {
        $result = Browser::run(self::$site, [
            ['goto' => self::PAGE],
            ['expect' => ['Settings', 'General', 'Webhooks', 'API keys', 'Ledger', 'Keep logs for (days)', 'Alert e-mails to', 'Store location', 'Schedules', 'inventory_sync_run_queue']],
            ['expect' => ['Set by INVENTORY_SYNC_QUEUE_KICK in wp-config.php', 'Set by INVENTORY_SYNC_ALERT_STOCK_LEVEL in wp-config.php']],
            ['fill' => '#inventory-sync-inventory_sync_retention_days', 'value' => '45'],
            ['fill' => '#inventory-sync-inventory_sync_alert_recipients', 'value' => 'ops@example.test, buyer@example.test'],
            ['select' => '#inventory-sync-inventory_sync_store_location', 'value' => 'WEST'],
            ['click' => '#inventory-sync-save-settings'],
            ['expect' => 'Settings saved.'],
            ['fitsWidth' => true],
            ['screenshot' => 'settings-desktop'],
            ['width' => 390],
            ['goto' => self::PAGE],
            ['fill' => '#inventory-sync-inventory_sync_retention_days', 'value' => '60'],
            ['check' => '#inventory-sync-inventory_sync_alert_daily_summary'],
            ['click' => '#inventory-sync-save-settings'],
            ['expect' => 'Settings saved.'],
            ['fitsWidth' => true],
            ['screenshot' => 'settings-phone'],
            ['goto' => self::PAGE . '&tab=webhooks'],
            ['expect' => ['generic', 'woocommerce', 'shopify', 'erp', 'not set — deliveries are refused', 'Copy']],
            ['click' => '.inventory-sync-webhook-erp .inventory-sync-copy', 'navigates' => false],
            ['fitsWidth' => true],
            ['screenshot' => 'settings-webhooks-phone'],
            ['goto' => self::PAGE . '&tab=api-keys'],
            ['expect' => ['No API keys yet.', 'Create an API key']],
            ['fitsWidth' => true],
            ['screenshot' => 'settings-api-keys-phone'],
            ['goto' => self::PAGE . '&tab=ledger'],
            ['expect' => ['Ledger file', 'Ledger download check', 'outside the web root — cannot be downloaded']],
            ['fitsWidth' => true],
            ['screenshot' => 'settings-ledger-phone'],
        ], ['name' => 'settings-change']);
        self::assertSame([], $result['consoleErrors'], 'the browser console stayed free of errors');
        foreach (['settings-desktop', 'settings-phone', 'settings-webhooks-phone', 'settings-api-keys-phone', 'settings-ledger-phone'] as $name) {
            self::assertFileExists(Browser::screenshots() . "/$name.png");
        }

        self::assertSame(
            [60, 'ops@example.test, buyer@example.test', true, 'WEST'],
            self::$site->eval("return [(int) get_option('inventory_sync_retention_days'), get_option('inventory_sync_alert_recipients'), (bool) get_option('inventory_sync_alert_daily_summary'), \\InventorySync\\Store\\store_location()];")
        );
        // The form shows the values saved.
        $page = self::page()->body;
        self::assertMatchesRegularExpression('/id="inventory-sync-inventory_sync_retention_days"[^>]*value="60"/', $page);
        self::assertStringContainsString('value="ops@example.test, buyer@example.test"', $page);
        self::assertMatchesRegularExpression('/<option value="WEST"\s+selected/', $page);
    }

    public function test_02_the_store_location_lists_active_locations_and_books_the_store_there(): void
    {
        $page = self::page()->body;
        self::assertSame(1, preg_match('#<select id="inventory-sync-inventory_sync_store_location".*?</select>#s', $page, $select));
        self::assertStringContainsString('West warehouse (WEST)', $select[0]);
        self::assertStringContainsString('value="MAIN"', $select[0]);
        self::assertStringNotContainsString('OLD', $select[0], 'an inactive location is not offered');

        // An inactive location sent anyway is refused, and the store stays where it was.
        $refused = self::follow(self::save(['inventory_sync_store_location' => 'OLD', 'inventory_sync_retention_days' => '60']));
        self::assertStringContainsString('The store location was not changed: &quot;OLD&quot; is not an active location of the ledger.', $refused);
        self::assertStringNotContainsString('Settings saved.', $refused);
        self::assertSame('WEST', self::$site->eval('return \InventorySync\Store\store_location();'));

        self::assertSame(302, self::save(['inventory_sync_store_location' => 'MAIN', 'inventory_sync_retention_days' => '60'])->status);
        self::assertSame('MAIN', self::$site->eval('return \InventorySync\Store\store_location();'));
    }

    public function test_03_invalid_values_are_sanitized(): void
    {
        $saved = self::save([
            'inventory_sync_retention_days' => '0',
            'inventory_sync_rate_limit_per_minute' => '-50',
            'inventory_sync_alert_recipients' => 'good@example.test, not-an-email; <script>x</script>@bad',
        ]);
        self::assertStringContainsString('page=inventory-sync-settings&tab=general', (string) $saved->header('location'));
        self::assertStringContainsString('Settings saved.', self::follow($saved));
        self::assertSame(
            [1, 1, 'good@example.test', false],
            self::$site->eval("return [(int) get_option('inventory_sync_retention_days'), (int) get_option('inventory_sync_rate_limit_per_minute'), get_option('inventory_sync_alert_recipients'), (bool) get_option('inventory_sync_alert_daily_summary')];"),
            'retention and rate limit at least 1, the bad address dropped, an unticked box off'
        );
        self::save(['inventory_sync_retention_days' => '99999']);
        self::assertSame(3650, (int) self::option('inventory_sync_retention_days'));
    }

    public function test_04_a_setting_set_by_a_constant_is_disabled_and_cannot_be_changed(): void
    {
        self::$site->eval("update_option('inventory_sync_queue_kick', '0'); return true;");
        $page = self::page()->body;
        self::assertMatchesRegularExpression('/<input type="checkbox" id="inventory-sync-inventory_sync_queue_kick"[^>]*\sdisabled/', $page);
        self::assertDoesNotMatchRegularExpression('/id="inventory-sync-inventory_sync_queue_kick"[^>]*checked/', $page, 'shows the constant: off');
        self::assertMatchesRegularExpression('/<select id="inventory-sync-inventory_sync_alert_stock_level"[^>]*\sdisabled/', $page);
        self::assertMatchesRegularExpression('/<option value="critical"\s+selected/', $page, 'shows the constant: critical');
        self::assertStringContainsString('Set by INVENTORY_SYNC_QUEUE_KICK in wp-config.php', $page);

        // A form that sends them anyway changes neither option.
        self::assertSame(302, self::save(['inventory_sync_queue_kick' => '1', 'inventory_sync_alert_stock_level' => 'warning'])->status);
        self::assertFalse((bool) self::option('inventory_sync_queue_kick'));
        self::assertNotSame('warning', self::option('inventory_sync_alert_stock_level'));
        self::assertSame('critical', self::$site->eval('return \InventorySync\Alerts\stock_level();'));
    }

    public function test_05_schedules_list_every_event_with_its_next_run(): void
    {
        $page = self::page()->body;
        self::assertSame(1, preg_match('#<table class="widefat striped inventory-sync-schedules">.*?</table>#s', $page, $table));
        $hooks = self::$site->eval('return array_keys(\InventorySync\cron_hooks());');
        self::assertCount(8, $hooks);
        foreach ($hooks as $hook) {
            self::assertSame(1, preg_match('#<tr data-hook="' . $hook . '">(.*?)</tr>#s', $table[0], $row), $hook);
            self::assertStringNotContainsString('not scheduled', $row[1], "$hook is scheduled");
        }
        self::assertMatchesRegularExpression('#data-hook="inventory_sync_full_sync">.*?<td>daily at 02:00 site time</td>#s', $table[0]);
        self::assertMatchesRegularExpression('#data-hook="inventory_sync_run_queue">.*?<td>Every minute \(Inventory Sync\)</td>#s', $table[0]);
        self::assertMatchesRegularExpression('#data-hook="inventory_sync_health_check">.*?<td>Once Hourly</td>#s', $table[0]);
    }

    public function test_06_actions_redirect_back_to_their_tab(): void
    {
        $rotate = self::post('/wp-admin/admin-post.php', ['action' => 'inventory_sync_rotate_secret', 'provider' => 'generic', 'secret' => '', '_wpnonce' => self::nonce(self::page('webhooks')->body, 'inventory-sync-webhook-generic')]);
        self::assertSame(302, $rotate->status);
        self::assertStringEndsWith('page=inventory-sync-settings&tab=webhooks', (string) $rotate->header('location'));
        self::assertStringContainsString('The generic webhook secret was changed.', self::page('webhooks')->body);

        $create = self::post('/wp-admin/admin-post.php', ['action' => 'inventory_sync_create_api_key', 'name' => 'Settings test', 'scopes' => ['read'], '_wpnonce' => self::nonce(self::page('api-keys')->body, 'inventory-sync-create-key')]);
        self::assertSame(302, $create->status);
        self::assertStringEndsWith('page=inventory-sync-settings&tab=api-keys', (string) $create->header('location'));
        self::assertStringContainsString('API key &quot;Settings test&quot; was created.', self::page('api-keys')->body);
    }

    public function test_07_forged_nonces_change_nothing(): void
    {
        $before = self::$site->eval("return [get_option('inventory_sync_retention_days'), get_option('inventory_sync_webhook_secret_shopify', ''), count(\\InventorySync\\ledger()->apiKeys())];");
        self::assertSame(403, self::save(['inventory_sync_retention_days' => '7'], 'deadbeef00')->status);
        self::assertSame(403, self::post('/wp-admin/admin-post.php', ['action' => 'inventory_sync_rotate_secret', 'provider' => 'shopify', 'secret' => 'shpss_forged_secret_0000', '_wpnonce' => 'deadbeef00'])->status);
        self::assertSame(403, self::post('/wp-admin/admin-post.php', ['action' => 'inventory_sync_create_api_key', 'name' => 'Forged', 'scopes' => ['write'], '_wpnonce' => 'deadbeef00'])->status);
        // A nonce of another form does not do either.
        $webhookNonce = self::nonce(self::page('webhooks')->body, 'inventory-sync-webhook-generic');
        self::assertSame(403, self::save(['inventory_sync_retention_days' => '7'], $webhookNonce)->status);
        self::assertSame($before, self::$site->eval("return [get_option('inventory_sync_retention_days'), get_option('inventory_sync_webhook_secret_shopify', ''), count(\\InventorySync\\ledger()->apiKeys())];"));
    }

    public function test_08_a_subscriber_gets_403_everywhere(): void
    {
        $nonce = self::nonce(self::page()->body, 'class="inventory-sync-settings"');
        self::$site->login('subscriber', 'subscriber-password');
        try {
            foreach (['general', 'webhooks', 'api-keys', 'ledger'] as $tab) {
                $page = self::$site->request('GET', self::PAGE . '&tab=' . $tab, [], null, true);
                self::assertSame(403, $page->status, $tab);
                self::assertStringNotContainsString('inventory_sync_settings', $page->body);
            }
            self::assertSame(403, self::save(['inventory_sync_retention_days' => '7'], $nonce)->status);
            self::assertSame(403, self::post('/wp-admin/admin-post.php', ['action' => 'inventory_sync_create_api_key', 'name' => 'Sub', 'scopes' => ['read'], '_wpnonce' => $nonce])->status);
        } finally {
            self::$site->login();
        }
        self::assertNotSame('7', (string) self::option('inventory_sync_retention_days'));
    }
}
