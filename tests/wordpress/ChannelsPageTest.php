<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The Channels page in a real WordPress with fake channels on loopback: in Chromium, add a
 * Shopify channel through its form (fields from the extension), see it listed with its token
 * masked, test its connection, see the SKUs pushed; a refused form comes back with what was typed
 * and the field named; editing keeps a credential left blank; a wrong token fails the test with
 * the channel's answer and never the token; a forged nonce or a subscriber changes nothing.
 */
final class ChannelsPageTest extends TestCase
{
    private const PAGE = '/wp-admin/admin.php?page=inventory-sync-channels';
    private static Site $site;
    private static FakeChannels $fakes;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('channels-page', ['constants' => ['INVENTORY_SYNC_QUEUE_KICK' => true]]);
        self::$fakes = FakeChannels::start(['CHAN-TEE', 'CHAN-MUG'], Paths::output() . '/fake-channels-channels-page.log');
        self::$site->eval(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertLocation(['code' => 'WH2', 'name' => 'Overflow', 'priority' => 2]);
            foreach (['CHAN-TEE' => 9, 'CHAN-MUG' => 4] as $sku => $q) {
                $l->upsertItem(['sku' => $sku, 'name' => $sku]);
                $l->record(['event_id' => "in-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => $q, 'location' => 'MAIN']);
            }
            return true;
            PHP);
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

    private static function channel(string $key): ?array
    {
        return self::$site->eval(sprintf('return \InventorySync\ledger()->channel(%s);', var_export($key, true)));
    }

    public function test_01_add_a_shopify_channel_in_chromium_and_test_its_connection(): void
    {
        $shopify = self::$fakes->channels['shopify'];
        $token = $shopify['credentials']['access_token'];
        $result = Browser::run(self::$site, [
            ['goto' => self::PAGE],
            ['expect' => ['Channels', 'Add a channel', 'shopify', 'webhook']],
            ['click' => '.inventory-sync-add-channel a[href$="new=shopify"]'],
            ['expect' => ['New shopify channel', 'shop_url', 'access_token', 'Eligible locations']],
            // A shop address the extension refuses: the form comes back with the field named and
            // what was typed kept (the token excepted: it is typed again).
            ['fill' => '#inventory-sync-channel-key', 'value' => 'main-shopify'],
            ['fill' => '#inventory-sync-channel-name', 'value' => 'Main Shopify'],
            ['fill' => '#inventory-sync-channel-settings-shop_url', 'value' => 'ftp://shop.example'],
            ['fill' => '#inventory-sync-channel-credentials-access_token', 'value' => $token],
            ['click' => '#submit'],
            ['expect' => ['Nothing was saved: settings.shop_url']],
            ['screenshot' => 'channels-refused'],
            ['fill' => '#inventory-sync-channel-settings-shop_url', 'value' => $shopify['settings']['shop_url']],
            ['fill' => '#inventory-sync-channel-credentials-access_token', 'value' => $token],
            ['fill' => '#inventory-sync-channel-allocation-buffer', 'value' => '1'],
            ['check' => 'input[name="channel[allocation][locations][]"][value="MAIN"]'],
            ['click' => '#submit'],
            ['expect' => ['Channel "Main Shopify" saved; 2 pushes queued.', 'main-shopify', 'buffer 1', 'MAIN']],
            ['expectNo' => [$token]],
            ['click' => 'tr[data-channel="main-shopify"] input[type=submit]'],
            ['expect' => ['Test of main-shopify: connected: 2 of 2 SKUs asked for are listed there']],
            ['fitsWidth' => true],
            ['screenshot' => 'channels-desktop'],
            ['width' => 390],
            ['goto' => self::PAGE],
            ['expect' => ['Main Shopify', 'main-shopify', 'Edit']],
            ['fitsWidth' => true],
            ['screenshot' => 'channels-phone'],
        ], ['name' => 'channels-add']);
        self::assertSame([], $result['consoleErrors']);

        $saved = self::channel('main-shopify');
        self::assertSame(['shopify', 'Main Shopify', true], [$saved['kind'], $saved['name'], $saved['enabled']]);
        self::assertSame(['mode' => 'shared', 'buffer' => 1, 'locations' => ['MAIN']], array_intersect_key($saved['allocation'], ['mode' => 0, 'buffer' => 0, 'locations' => 0]));
        self::assertSame('••••' . substr($token, -4), $saved['credentials']['access_token']);
        // The kick pushed what the save planned: available − buffer 1.
        $deadline = microtime(true) + 15;
        while ((self::$fakes->state()['shopify']['CHAN-TEE'] ?? null) !== 8 && microtime(true) < $deadline) {
            usleep(200_000);
        }
        self::assertSame([8, 3], [self::$fakes->state()['shopify']['CHAN-TEE'], self::$fakes->state()['shopify']['CHAN-MUG']]);
    }

    public function test_02_editing_keeps_a_blank_credential_and_a_wrong_token_fails_the_test_without_showing_it(): void
    {
        self::$site->login();
        $form = self::hidden(self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync-channels&edit=main-shopify', [], null, true)->body);
        $post = fn (array $fields) => self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($fields), true);
        $response = $post($form + ['channel' => ['name' => 'Shopify (renamed)', 'enabled' => '1', 'settings' => ['shop_url' => self::$fakes->channels['shopify']['settings']['shop_url']], 'credentials' => ['access_token' => ''], 'allocation' => ['mode' => 'shared']]]);
        self::assertSame(302, $response->status);
        $test = fn () => self::hidden(self::$site->request('GET', self::PAGE, [], null, true)->body, 'tr[data-channel="main-shopify"]');
        self::assertSame('Shopify (renamed)', self::channel('main-shopify')['name']);
        $tested = $post($test());
        self::assertSame(302, $tested->status);
        self::assertStringContainsString('connected: 2 of 2', self::$site->request('GET', self::PAGE, [], null, true)->body, 'the blank field kept the stored token');

        $wrong = 'shpat_wrong_token_00000000000';
        $post($form + ['channel' => ['name' => 'Shopify (renamed)', 'enabled' => '1', 'settings' => ['shop_url' => self::$fakes->channels['shopify']['settings']['shop_url']], 'credentials' => ['access_token' => $wrong], 'allocation' => ['mode' => 'shared']]]);
        $post($test());
        $page = self::$site->request('GET', self::PAGE, [], null, true)->body;
        self::assertStringContainsString('Test of main-shopify: ', $page);
        self::assertStringContainsString('401', $page);
        self::assertStringNotContainsString($wrong, $page);
        self::assertStringNotContainsString(self::$fakes->channels['shopify']['credentials']['access_token'], $page);
    }

    public function test_03_forged_nonces_and_subscribers_change_nothing(): void
    {
        self::$site->login();
        $before = self::channel('main-shopify');
        $form = self::hidden(self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync-channels&edit=main-shopify', [], null, true)->body);
        $change = ['channel' => ['name' => 'Hijacked', 'enabled' => '1', 'settings' => ['shop_url' => 'https://attacker.example'], 'allocation' => ['mode' => 'shared']]];
        $forged = self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query(['_wpnonce' => 'forged'] + $form + $change), true);
        self::assertSame(403, $forged->status);
        self::$site->eval("wp_insert_user(['user_login' => 'chan-reader', 'user_pass' => 'chan-reader-pass', 'role' => 'subscriber']); return true;");
        self::$site->login('chan-reader', 'chan-reader-pass');
        try {
            self::assertSame(403, self::$site->request('GET', self::PAGE, [], null, true)->status);
            $response = self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($form + $change), true);
            self::assertSame(403, $response->status);
        } finally {
            self::$site->login();
        }
        self::assertSame($before, self::channel('main-shopify'));
    }

    public function test_04_sku_mappings_auto_map_by_sku_and_map_one_by_hand(): void
    {
        self::$site->login();
        // Put the right token back (test_02 left a wrong one) and add a SKU Shopify does not sell.
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->saveChannel(['key' => 'main-shopify', 'kind' => 'shopify', 'name' => 'Main Shopify'] + %s);
            $l->upsertItem(['sku' => 'CHAN-LOCAL-ONLY', 'name' => 'Sold here only']);
            return true;
            PHP, var_export(self::$fakes->channels['shopify'], true)));
        $edit = '/wp-admin/admin.php?page=inventory-sync-channels&edit=main-shopify';
        $result = Browser::run(self::$site, [
            ['goto' => $edit],
            ['expect' => ['SKU mappings', 'Unmapped SKUs', 'CHAN-LOCAL-ONLY']],
            ['click' => '#auto-map'],
            ['expect' => ['Auto-map: 1 unmapped SKUs looked up, 0 found and mapped, 1 not listed on the channel.']],
            ['goto' => $edit],
            ['fill' => '#inventory-sync-map-sku', 'value' => 'CHAN-LOCAL-ONLY'],
            ['fill' => '#inventory-sync-map-remote', 'value' => 'gid://shopify/InventoryItem/999|gid://shopify/Location/1'],
            ['click' => '#map'],
            ['expect' => ['CHAN-LOCAL-ONLY is mapped to gid://shopify/InventoryItem/999|gid://shopify/Location/1.']],
            ['goto' => $edit],
            ['expect' => ['Every SKU is mapped.']],
            ['screenshot' => 'channels-mappings'],
        ], ['name' => 'channels-mappings']);
        self::assertSame([], $result['consoleErrors']);
        self::assertSame('gid://shopify/InventoryItem/999|gid://shopify/Location/1', self::$site->eval('return \InventorySync\ledger()->listing("main-shopify", "CHAN-LOCAL-ONLY")["remote_id"];'));
        self::assertSame([], self::$site->eval('return \InventorySync\ledger()->unmappedSkus("main-shopify")["skus"];'));
    }

    /** @return array<string, string> the hidden inputs of the first form (inside $scope, a simple CSS-like selector of one tr) */
    private static function hidden(string $html, ?string $scope = null): array
    {
        $doc = new \DOMDocument();
        @$doc->loadHTML($html);
        $query = $scope === null
            ? '//form[contains(@class, "inventory-sync-channel-form")]//input[@type="hidden"]'
            : '//tr[@data-channel="main-shopify"]//form//input[@type="hidden"]';
        $fields = [];
        foreach ((new \DOMXPath($doc))->query($query) as $input) {
            $fields[$input->getAttribute('name')] = $input->getAttribute('value');
        }
        return $fields;
    }
}
