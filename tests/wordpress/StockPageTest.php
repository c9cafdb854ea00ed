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
 * The Stock page in a real WordPress: search; one SKU's quantities per location, what each
 * channel is shown with the allocation's explanation and what it shows now; the history with
 * its timeline; the adjust / receive / transfer / reserve forms, each a movement — sent twice it
 * counts once, with a forged nonce or by a subscriber it changes nothing, bad input is refused
 * with the field named. Screenshots at desktop and phone width.
 */
final class StockPageTest extends TestCase
{
    private const SKU = 'PAGE-TEE';
    private static Site $site;
    private static FakeChannels $fakes;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('stock-page');
        self::$fakes = FakeChannels::start([self::SKU], Paths::output() . '/fake-channels-stock-page.log');
        self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            $l->upsertLocation(['code' => 'WH2', 'name' => 'Overflow', 'priority' => 2]);
            $l->upsertItem(['sku' => %1$s, 'name' => 'Page <b>tee</b>']);
            $l->upsertItem(['sku' => 'PAGE-MUG', 'name' => 'Page mug']);
            $l->recordBatch([
                ['event_id' => 'p1', 'sku' => %1$s, 'kind' => 'receive', 'quantity' => 20, 'location' => 'MAIN'],
                ['event_id' => 'p2', 'sku' => %1$s, 'kind' => 'receive', 'quantity' => 5, 'location' => 'WH2'],
                ['event_id' => 'p3', 'sku' => %1$s, 'kind' => 'sale', 'quantity' => 2, 'location' => 'MAIN', 'origin' => 'pos'],
            ]);
            $l->saveChannel(['key' => 'shopify', 'kind' => 'shopify', 'name' => 'Shopify', 'allocation' => ['buffer' => 2]] + %2$s);
            $l->syncFull();
            $l->runQueue(['budget_ms' => 20000]);
            return true;
            PHP, var_export(self::SKU, true), var_export(self::$fakes->channels['shopify'], true)));
        self::$site->login();
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

    private static function page(string $query): string
    {
        $response = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync-stock' . $query, [], null, true);
        self::assertSame(200, $response->status);
        return $response->body;
    }

    /** @return array<string, int> location => on hand */
    private static function onHand(): array
    {
        return array_column(self::$site->eval(sprintf('return \InventorySync\ledger()->stock(%s)["locations"];', var_export(self::SKU, true))), 'on_hand', 'location');
    }

    /** @return array<string, string> the hidden fields of the page's form for $kind */
    private static function form(string $kind): array
    {
        $doc = new \DOMDocument();
        @$doc->loadHTML(self::page('&sku=' . self::SKU));
        $fields = [];
        foreach ((new \DOMXPath($doc))->query(sprintf('//form[contains(@class, "inventory-sync-form-%s")]//input[@type="hidden"]', $kind)) as $input) {
            $fields[$input->getAttribute('name')] = $input->getAttribute('value');
        }
        self::assertNotEmpty($fields['_wpnonce'] ?? '', "the $kind form has a nonce");
        return $fields;
    }

    /** Posts a form to admin-post.php; returns the status and where it redirects. */
    private static function post(array $fields, bool $withCookies = true): array
    {
        $response = self::$site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($fields), $withCookies);
        return [$response->status, (string) $response->header('location'), $response->body];
    }

    public function test_01_search_finds_skus_by_sku_or_name(): void
    {
        $html = self::page('&s=PAGE');
        self::assertStringContainsString('<code>PAGE-TEE</code>', $html);
        self::assertStringContainsString('<code>PAGE-MUG</code>', $html);
        self::assertStringContainsString('Page &lt;b&gt;tee&lt;/b&gt;', $html, 'names are escaped');
        self::assertStringNotContainsString('<b>tee</b>', $html);
        self::assertStringContainsString('No SKU matches.', self::page('&s=NOTHING-LIKE-THIS'));
    }

    public function test_02_one_sku_per_location_per_channel_with_explanation_and_history(): void
    {
        $html = self::page('&sku=' . self::SKU);
        self::assertMatchesRegularExpression('#<td>MAIN</td>\s*<td class="num">18</td>#', $html);
        self::assertMatchesRegularExpression('#<td>WH2</td>\s*<td class="num">5</td>#', $html);
        // Shopify: available 23 − buffer 2 = 21, and it shows 21 after the sync.
        self::assertMatchesRegularExpression('#<tr data-channel="shopify">.*?<strong>21</strong>.*?available 23 \(MAIN 18 \+ WH2 5\) − buffer 2 = 21.*?<td class="num">21</td>#s', $html);
        self::assertSame(21, self::$fakes->state()['shopify'][self::SKU]);
        // History, newest first, and the timeline with one line per location.
        self::assertMatchesRegularExpression('#sale 2.*?receive 5.*?receive 20#s', $html);
        self::assertSame(1, preg_match('#<svg [^>]*role="img"[^>]*>.*?</svg>#s', $html, $svg));
        self::assertSame(2, substr_count($svg[0], '<path '), 'one line per location');
        self::assertStringContainsString('The ledger has no SKU NOPE.', self::page('&sku=NOPE'));
    }

    public function test_03_each_form_records_one_movement_even_when_sent_twice(): void
    {
        $receive = self::form('receive') + ['location' => 'WH2', 'quantity' => '7', 'reference' => 'PO-9'];
        [$status, $location] = self::post($receive);
        self::assertSame(302, $status);
        self::assertStringContainsString('page=inventory-sync-stock&sku=PAGE-TEE', $location);
        self::assertSame(['MAIN' => 18, 'WH2' => 12], self::onHand());
        self::assertStringContainsString('Recorded: receive of PAGE-TEE.', self::page('&sku=' . self::SKU));

        // The same form again (a double click, a reload): nothing new.
        self::post($receive);
        self::assertSame(['MAIN' => 18, 'WH2' => 12], self::onHand());
        self::assertStringContainsString('This form was sent before: nothing was recorded twice.', self::page('&sku=' . self::SKU));

        self::post(self::form('adjustment') + ['location' => 'MAIN', 'quantity' => '15', 'note' => 'cycle count']);
        self::post(self::form('transfer') + ['location' => 'WH2', 'to_location' => 'MAIN', 'quantity' => '2']);
        self::assertSame(['MAIN' => 17, 'WH2' => 10], self::onHand());
        self::post(self::form('reserve') + ['location' => 'MAIN', 'quantity' => '3', 'expires_minutes' => '30', 'reference' => 'phone order']);
        $stock = self::$site->eval(sprintf('return \InventorySync\ledger()->stock(%s);', var_export(self::SKU, true)));
        self::assertSame([27, 3, 24], [$stock['on_hand'], $stock['reserved'], $stock['available']]);

        // Each movement is planned: Shopify gets the new allocation at the next queue run.
        self::$site->eval("do_action('inventory_sync_run_queue'); return true;");
        self::assertSame(22, self::$fakes->state()['shopify'][self::SKU]);
        $kinds = array_column(self::$site->eval(sprintf('return \InventorySync\ledger()->history(["sku" => %s, "limit" => 4])["movements"];', var_export(self::SKU, true))), 'kind');
        self::assertSame(['reserve', 'transfer', 'transfer', 'adjustment'], $kinds);
    }

    public function test_04_bad_input_forged_nonces_and_subscribers_change_nothing(): void
    {
        $before = self::onHand();
        // Not a number, and more reserved than available: refused with the reason, nothing recorded.
        self::post(self::form('receive') + ['location' => 'MAIN', 'quantity' => 'abc']);
        self::assertStringContainsString('Nothing was recorded: quantity', self::page('&sku=' . self::SKU));
        self::post(self::form('reserve') + ['location' => 'WH2', 'quantity' => '999']);
        self::assertStringContainsString('Nothing was recorded:', self::page('&sku=' . self::SKU));
        // A forged nonce.
        [$status] = self::post(['_wpnonce' => 'forged'] + self::form('adjustment') + ['location' => 'MAIN', 'quantity' => '0']);
        self::assertSame(403, $status);
        self::assertSame($before, self::onHand());

        // A subscriber: no page, no action.
        $form = self::form('adjustment') + ['location' => 'MAIN', 'quantity' => '0'];
        self::$site->eval("wp_insert_user(['user_login' => 'stock-reader', 'user_pass' => 'stock-reader-pass', 'role' => 'subscriber']); return true;");
        self::$site->login('stock-reader', 'stock-reader-pass');
        try {
            self::assertSame(403, self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync-stock&sku=' . self::SKU, [], null, true)->status);
            [$status] = self::post($form);
            self::assertSame(403, $status);
        } finally {
            self::$site->login();
        }
        self::assertSame($before, self::onHand());
    }

    public function test_05_the_page_in_chromium_at_desktop_and_phone_width(): void
    {
        foreach ([1280 => 'stock-1280', 390 => 'stock-390'] as $width => $name) {
            $file = Browser::screenshotAdminPage(self::$site, '/wp-admin/admin.php?page=inventory-sync-stock&sku=' . self::SKU, ['Per location', 'Per channel', 'buffer 2', 'Record a movement'], $name, $width);
            self::assertGreaterThan(10_000, filesize($file));
        }
    }
}
