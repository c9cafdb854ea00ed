<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Senders;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The Logs page in a real WordPress: inbound webhooks (real signed deliveries over HTTP, a
 * replay, a refused body) with provider / outcome filters and cursor paging; sync runs with kind
 * filter; the errors tab; the security log of refused API requests (no key material). Output is
 * escaped; a subscriber gets nothing.
 */
final class LogsPageTest extends TestCase
{
    private const SECRET = 'logs-page-generic-secret-0a1b2c';
    private static Site $site;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('logs-page');
        self::$site->eval(sprintf(<<<'PHP'
            update_option(\InventorySync\webhook_secret_option('generic'), %s);
            $l = \InventorySync\ledger();
            $l->upsertItem(['sku' => 'LOG-TEE', 'name' => 'Log tee']);
            // 55 older deliveries: more than one page.
            for ($i = 0; $i < 55; $i++) {
                $l->ingest('generic', json_encode(['event' => 'inventory.updated', 'id' => "old-$i", 'sku' => 'LOG-TEE', 'quantity' => $i]), []);
            }
            $l->syncFull();
            return true;
            PHP, var_export(self::SECRET, true)));
        $deliver = function (string $body): int {
            return self::$site->request('POST', '/wp-json/inventory-sync/v1/webhooks/generic', Senders::generic($body, self::SECRET) + ['Content-Type' => 'application/json'], $body)->status;
        };
        self::assertSame(202, $deliver(json_encode(['event' => 'inventory.updated', 'id' => 'live-1', 'sku' => 'LOG-TEE', 'quantity' => 70])));
        self::assertSame(200, $deliver(json_encode(['event' => 'inventory.updated', 'id' => 'live-1', 'sku' => 'LOG-TEE', 'quantity' => 70])), 'a replay');
        $deliver(json_encode(['event' => 'inventory.updated', 'id' => 'live-2', 'sku' => '<script>alert(1)</script>', 'quantity' => 3]));
        $deliver('{"event": "inventory.updated", "id": "live-3", "quantity": "lots"}');
        // Refused API requests: the security log.
        self::$site->request('GET', '/wp-json/inventory-sync/v1/stock/LOG-TEE', ['X-API-Key' => 'isk_not_a_real_key_1234567890abcdef']);
        self::$site->request('GET', '/wp-json/inventory-sync/v1/stock/LOG-TEE');
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

    private static function page(string $query): string
    {
        $response = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync-logs' . $query, [], null, true);
        self::assertSame(200, $response->status);
        return $response->body;
    }

    /** @return list<list<string>> the cells of the table with this class */
    private static function rows(string $html, string $class): array
    {
        $doc = new \DOMDocument();
        @$doc->loadHTML($html);
        $rows = [];
        foreach ((new \DOMXPath($doc))->query(sprintf('//table[contains(@class, "%s")]/tbody/tr', $class)) as $tr) {
            $rows[] = array_map(fn ($td) => trim($td->textContent), iterator_to_array($tr->getElementsByTagName('td')));
        }
        return $rows;
    }

    public function test_inbound_webhooks_newest_first_filtered_and_paged(): void
    {
        $html = self::page('');
        $rows = self::rows($html, 'inventory-sync-log-inbound');
        self::assertCount(50, $rows, 'one page');
        self::assertSame(['generic', 'rejected'], [$rows[0][1], $rows[0][3]], 'newest first: the unreadable body');
        self::assertStringContainsString('&lt;script&gt;alert(1)&lt;/script&gt;', $html, 'an unknown SKU is shown escaped');
        self::assertStringNotContainsString('<script>alert(1)</script>', $html);
        self::assertSame(1, count(array_filter($rows, fn ($r) => $r[6] === 'live-1')), 'the replay was logged once');

        // Page 2 by cursor: the rest of the 58 deliveries (55 + 3 live; the replay is not a new one), none twice.
        self::assertSame(1, preg_match('#class="button inventory-sync-older" href="([^"]+)"#', $html, $older));
        $second = self::rows(self::page(substr(html_entity_decode($older[1]), strpos(html_entity_decode($older[1]), '&'))), 'inventory-sync-log-inbound');
        self::assertCount(58 - 50, $second);
        self::assertSame([], array_intersect(array_column($rows, 6), array_column($second, 6)));

        $rejected = self::rows(self::page('&tab=inbound&outcome=rejected'), 'inventory-sync-log-inbound');
        self::assertSame(['rejected'], array_values(array_unique(array_column($rejected, 3))));
        self::assertCount(50, self::rows(self::page('&tab=inbound&outcome=not-an-outcome'), 'inventory-sync-log-inbound'), 'an unknown filter value shows everything');
    }

    public function test_sync_runs_errors_and_the_security_log(): void
    {
        $runs = self::rows(self::page('&tab=runs&kind=full'), 'inventory-sync-log-runs');
        self::assertCount(1, $runs);
        self::assertSame(['full', 'done'], [$runs[0][1], $runs[0][2]]);
        self::assertSame('Nothing logged.', self::rows(self::page('&tab=runs&kind=reconcile'), 'inventory-sync-log-runs')[0][0]);

        $errors = self::page('&tab=errors');
        $refused = self::rows($errors, 'inventory-sync-log-inbound-errors');
        self::assertNotEmpty($refused);
        self::assertSame([], array_diff(array_unique(array_column($refused, 2)), ['rejected', 'partial']));

        $security = self::rows(self::page('&tab=security'), 'inventory-sync-log-security');
        self::assertSame(['missing_key', 'unknown_key'], array_column(array_slice($security, 0, 2), 1));
        $all = implode(' ', array_merge(...$security));
        self::assertStringNotContainsString('isk_not_a_real_key_1234567890abcdef', $all, 'no key material');
        self::assertSame(['unknown_key'], array_column(self::rows(self::page('&tab=security&reason=unknown_key'), 'inventory-sync-log-security'), 1));
    }

    public function test_in_chromium_and_not_for_subscribers(): void
    {
        foreach ([1280 => 'logs-1280', 390 => 'logs-390'] as $width => $name) {
            Browser::screenshotAdminPage(self::$site, '/wp-admin/admin.php?page=inventory-sync-logs', ['Inbound webhooks', 'Sync runs', 'Security', 'rejected'], $name, $width);
        }
        self::$site->eval("wp_insert_user(['user_login' => 'log-reader', 'user_pass' => 'log-reader-pass', 'role' => 'subscriber']); return true;");
        self::$site->login('log-reader', 'log-reader-pass');
        try {
            foreach (['', '&tab=security', '&tab=errors'] as $tab) {
                self::assertSame(403, self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync-logs' . $tab, [], null, true)->status);
            }
        } finally {
            self::$site->login();
        }
    }
}
