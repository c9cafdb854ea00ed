<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Response;
use InventorySync\Tests\Harness\Senders;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * The REST API over real HTTP: stock reads and search, movements (one and batch), reserve /
 * release / commit, history, health; API keys with scopes, expiry, revocation, supplier and
 * location limits, optional request signing, a rate limit shared by all PHP workers; the admin's
 * cookie + nonce; errors in WordPress's shape with the right status; refusals in the security log.
 */
final class RestApiTest extends TestCase
{
    private const API = '/wp-json/inventory-sync/v1';

    private static Site $site;
    /** @var array<string, string> name => plaintext key */
    private static array $keys = [];
    private static string $signingSecret = 'per-key-signing-secret-0123456789';
    private static int $expiresBy = 0;

    public static function setUpBeforeClass(): void
    {
        self::$site = Harness::site('rest-api');
        self::$keys = self::$site->eval(sprintf(<<<'PHP'
            $l = \InventorySync\ledger();
            // This store has its own warehouses: the default location made at activation steps aside.
            $l->upsertLocation(['code' => 'MAIN', 'name' => 'Main warehouse', 'priority' => 0, 'active' => false]);
            $l->upsertLocation(['code' => 'WH1', 'name' => 'Main', 'priority' => 1]);
            $l->upsertLocation(['code' => 'WH2', 'name' => 'Second', 'priority' => 2]);
            $l->upsertItem(['sku' => 'A', 'name' => 'Apple crate', 'supplier' => 'Orchard']);
            $l->upsertItem(['sku' => 'B', 'name' => 'Banana box', 'supplier' => 'Tropics']);
            $l->upsertItem(['sku' => 'C', 'name' => 'Cherry tin', 'supplier' => 'Orchard']);
            $l->upsertItem(['sku' => 'D', 'name' => 'Date jar', 'supplier' => 'Tropics']);
            $l->recordBatch([
                ['event_id' => 's1', 'sku' => 'A', 'kind' => 'receive', 'quantity' => 40, 'location' => 'WH1'],
                ['event_id' => 's2', 'sku' => 'A', 'kind' => 'receive', 'quantity' => 5, 'location' => 'WH2'],
                ['event_id' => 's3', 'sku' => 'B', 'kind' => 'receive', 'quantity' => 3, 'location' => 'WH1'],
                ['event_id' => 's4', 'sku' => 'C', 'kind' => 'receive', 'quantity' => 100, 'location' => 'WH1'],
            ]);
            $issue = fn (array $spec) => $l->issueApiKey($spec, random_bytes(32))['key'];
            $keys = [
                'read' => $issue(['name' => 'Reporting', 'scopes' => ['read']]),
                'write' => $issue(['name' => 'ERP', 'scopes' => ['read', 'write']]),
                'expired' => $issue(['name' => 'Old', 'scopes' => ['read'], 'expires_at' => time() + 1]),
                'revoked' => $issue(['name' => 'Gone', 'scopes' => ['read']]),
                'orchard' => $issue(['name' => 'Orchard portal', 'scopes' => ['read', 'write'], 'supplier' => 'Orchard']),
                'wh2' => $issue(['name' => 'WH2 scanner', 'scopes' => ['read', 'write'], 'locations' => ['WH2']]),
                'signed' => $issue(['name' => 'Signed', 'scopes' => ['read', 'write'], 'signing_secret' => %s]),
                'limited' => $issue(['name' => 'Rate test', 'scopes' => ['read']]),
                'spare' => $issue(['name' => 'Untouched', 'scopes' => ['read']]),
            ];
            foreach ($l->apiKeys() as $k) {
                if ($k['name'] === 'Gone') {
                    $l->revokeApiKey($k['id']);
                }
            }
            return $keys;
            PHP, var_export(self::$signingSecret, true)));
        self::$expiresBy = time() + 1;
    }

    public static function tearDownAfterClass(): void
    {
        self::$site->stop();
    }

    protected function tearDown(): void
    {
        self::assertSame('', self::$site->errorLog(), 'PHP/WordPress logged problems');
    }

    /** @param array<string, string> $headers */
    private static function call(string $method, string $path, ?string $key = null, ?array $json = null, array $headers = []): Response
    {
        if ($key !== null) {
            $headers += ['X-API-Key' => self::$keys[$key]];
        }
        if ($json !== null) {
            $headers += ['Content-Type' => 'application/json'];
        }
        return self::$site->request($method, self::API . $path, $headers, $json === null ? null : json_encode($json));
    }

    private static function assertError(Response $response, int $status, string $code): void
    {
        self::assertSame($status, $response->status, $response->body);
        $body = $response->json();
        self::assertSame($code, $body['code'], $response->body);
        self::assertIsString($body['message']);
        self::assertSame($status, $body['data']['status']);
    }

    public function test_stock_by_sku_per_location(): void
    {
        $response = self::call('GET', '/stock/A', 'read');
        self::assertSame(200, $response->status, $response->body);
        self::assertSame(['sku' => 'A', 'on_hand' => 45, 'reserved' => 0, 'incoming' => 0, 'available' => 45], array_intersect_key($response->json(), array_flip(['sku', 'on_hand', 'reserved', 'incoming', 'available'])));
        self::assertSame('Apple crate', $response->json()['name']);
        self::assertSame(['WH1', 'WH2'], array_column($response->json()['locations'], 'location'));
        // Authorization: Bearer works as well as X-API-Key.
        $bearer = self::$site->request('GET', self::API . '/stock/A', ['Authorization' => 'Bearer ' . self::$keys['read']]);
        self::assertSame(200, $bearer->status);
        self::assertError(self::call('GET', '/stock/NOPE', 'read'), 404, 'inventory_sync_not_found');
    }

    public function test_stock_search_low_stock_and_paging(): void
    {
        $low = self::call('GET', '/stock?low_stock=true', 'read')->json();
        self::assertSame(['B', 'D'], array_column($low['items'], 'sku'), 'B has 3, D has none; A (45) and C (100) are fine');
        $page1 = self::call('GET', '/stock?per_page=2', 'read');
        self::assertSame(['A', 'B'], array_column($page1->json()['items'], 'sku'));
        self::assertSame('B', $page1->json()['next_after']);
        self::assertStringContainsString('rel="next"', (string) $page1->header('link'));
        $page2 = self::call('GET', '/stock?per_page=2&after=B', 'read')->json();
        self::assertSame(['C', 'D'], array_column($page2['items'], 'sku'));
        self::assertSame(['A'], array_column(self::call('GET', '/stock?search=Apple', 'read')->json()['items'], 'sku'));
        self::assertError(self::call('GET', '/stock?per_page=1000', 'read'), 400, 'rest_invalid_param');
    }

    public function test_movements_one_batch_and_replay(): void
    {
        $movement = ['event_id' => 'api-sale-1', 'sku' => 'C', 'kind' => 'sale', 'quantity' => 4, 'location' => 'WH1', 'reference' => 'order 9'];
        $created = self::call('POST', '/movements', 'write', $movement);
        self::assertSame(201, $created->status, $created->body);
        self::assertSame(96, $created->json()['levels'][0]['on_hand']);
        self::assertSame('api:' . substr(self::$keys['write'], 0, 12), $created->json()['movements'][0]['origin']);
        $replayed = self::call('POST', '/movements', 'write', $movement);
        self::assertSame(200, $replayed->status);
        self::assertTrue($replayed->json()['replayed']);
        self::assertSame(96, self::call('GET', '/stock/C', 'read')->json()['on_hand']);

        $batch = self::call('POST', '/movements', 'write', ['movements' => [
            ['event_id' => 'api-b1', 'sku' => 'C', 'kind' => 'receive', 'quantity' => 10],
            ['event_id' => 'api-b2', 'sku' => 'NOPE', 'kind' => 'sale', 'quantity' => 1],
            ['event_id' => 'api-sale-1', 'sku' => 'C', 'kind' => 'sale', 'quantity' => 4, 'location' => 'WH1', 'reference' => 'order 9'],
        ]]);
        self::assertSame(200, $batch->status, $batch->body);
        self::assertSame([true, false, true], array_column($batch->json()['results'], 'ok'));
        self::assertSame('not_found', $batch->json()['results'][1]['error']['code']);
        self::assertSame(106, self::call('GET', '/stock/C', 'read')->json()['on_hand']);
    }

    /**
     * @return array<string, array{0: array<string, mixed>, 1: int, 2: string}>
     */
    public static function badMovements(): array
    {
        return [
            'negative quantity' => [['event_id' => 'bad-1', 'sku' => 'A', 'kind' => 'sale', 'quantity' => -1], 400, 'rest_invalid_param'],
            'absurd quantity' => [['event_id' => 'bad-2', 'sku' => 'A', 'kind' => 'receive', 'quantity' => 5000000000], 400, 'rest_invalid_param'],
            'quantity as text' => [['event_id' => 'bad-3', 'sku' => 'A', 'kind' => 'sale', 'quantity' => 'many'], 400, 'rest_invalid_param'],
            'unknown kind' => [['event_id' => 'bad-4', 'sku' => 'A', 'kind' => 'steal', 'quantity' => 1], 400, 'rest_invalid_param'],
            'missing event id' => [['sku' => 'A', 'kind' => 'sale', 'quantity' => 1], 400, 'inventory_sync_invalid'],
            'unknown field' => [['event_id' => 'bad-5', 'sku' => 'A', 'kind' => 'sale', 'quantity' => 1, 'price' => 3], 400, 'inventory_sync_invalid'],
            'unknown sku' => [['event_id' => 'bad-6', 'sku' => 'ZZZ', 'kind' => 'sale', 'quantity' => 1], 404, 'inventory_sync_not_found'],
            'unknown location' => [['event_id' => 'bad-7', 'sku' => 'A', 'kind' => 'sale', 'quantity' => 1, 'location' => 'MARS'], 404, 'inventory_sync_not_found'],
        ];
    }

    /**
     * @dataProvider badMovements
     * @param array<string, mixed> $movement
     */
    public function test_bad_movements_are_refused_and_change_nothing(array $movement, int $status, string $code): void
    {
        $before = self::call('GET', '/history?limit=1000', 'read')->json();
        self::assertError(self::call('POST', '/movements', 'write', $movement), $status, $code);
        self::assertSame($before, self::call('GET', '/history?limit=1000', 'read')->json());
    }

    public function test_malformed_json_and_oversized_bodies(): void
    {
        $malformed = self::$site->request('POST', self::API . '/movements', ['X-API-Key' => self::$keys['write'], 'Content-Type' => 'application/json'], '{"event_id":');
        self::assertError($malformed, 400, 'rest_invalid_json');
        $big = self::$site->request('POST', self::API . '/movements', ['X-API-Key' => self::$keys['write'], 'Content-Type' => 'application/json'], str_repeat(' ', 1048577));
        self::assertError($big, 413, 'inventory_sync_too_large');
    }

    public function test_reserve_release_commit(): void
    {
        self::assertError(self::call('POST', '/reserve', 'write', ['event_id' => 'r-too-many', 'sku' => 'B', 'quantity' => 4, 'location' => 'WH1']), 409, 'inventory_sync_conflict');
        $held = self::call('POST', '/reserve', 'write', ['event_id' => 'r-1', 'sku' => 'B', 'quantity' => 3, 'location' => 'WH1']);
        self::assertSame(201, $held->status, $held->body);
        self::assertSame(0, self::call('GET', '/stock/B', 'read')->json()['available']);
        self::assertError(self::call('POST', '/reserve', 'write', ['event_id' => 'r-2', 'sku' => 'B', 'quantity' => 1, 'location' => 'WH1']), 409, 'inventory_sync_conflict');
        self::assertSame(201, self::call('POST', '/release', 'write', ['event_id' => 'r-1-release', 'sku' => 'B', 'reservation' => 'r-1', 'quantity' => 1])->status);
        self::assertSame(201, self::call('POST', '/commit', 'write', ['event_id' => 'r-1-commit', 'sku' => 'B', 'reservation' => 'r-1'])->status);
        $stock = self::call('GET', '/stock/B', 'read')->json();
        self::assertSame([1, 0, 1], [$stock['on_hand'], $stock['reserved'], $stock['available']]);
    }

    public function test_history_pages_by_cursor(): void
    {
        $first = self::call('GET', '/history?sku=A&limit=1', 'read')->json();
        self::assertCount(1, $first['movements']);
        self::assertIsInt($first['next_before']);
        $second = self::call('GET', '/history?sku=A&limit=1&before=' . $first['next_before'], 'read')->json();
        self::assertLessThan($first['movements'][0]['id'], $second['movements'][0]['id']);
    }

    public function test_health(): void
    {
        $health = self::call('GET', '/health', 'read');
        self::assertSame(200, $health->status, $health->body);
        self::assertSame(['ok', phpversion('inventory_sync'), true], [$health->json()['status'], $health->json()['extension'], $health->json()['ledger']['ok']]);
    }

    public function test_authentication_failures(): void
    {
        // The 'expired' key was issued to expire a second after set-up.
        while (time() <= self::$expiresBy) {
            usleep(200_000);
        }
        self::assertError(self::call('GET', '/stock/A'), 401, 'inventory_sync_unauthorized');
        self::assertError(self::$site->request('GET', self::API . '/stock/A', ['X-API-Key' => 'isk_' . str_repeat('x', 43)]), 401, 'inventory_sync_unauthorized');
        self::assertError(self::call('GET', '/stock/A', 'expired'), 401, 'inventory_sync_unauthorized');
        self::assertError(self::call('GET', '/stock/A', 'revoked'), 401, 'inventory_sync_unauthorized');
        self::assertError(self::call('POST', '/movements', 'read', ['event_id' => 'scope-1', 'sku' => 'A', 'kind' => 'sale', 'quantity' => 1]), 403, 'inventory_sync_scope');
        self::assertSame(45, self::call('GET', '/stock/A', 'read')->json()['on_hand']);
    }

    public function test_supplier_and_location_limits(): void
    {
        self::assertSame(200, self::call('GET', '/stock/A', 'orchard')->status);
        self::assertError(self::call('GET', '/stock/B', 'orchard'), 403, 'inventory_sync_scope');
        self::assertSame(['A', 'C'], array_column(self::call('GET', '/stock', 'orchard')->json()['items'], 'sku'));
        self::assertError(self::call('POST', '/movements', 'orchard', ['event_id' => 'lim-1', 'sku' => 'B', 'kind' => 'receive', 'quantity' => 1]), 403, 'inventory_sync_scope');
        self::assertError(self::call('POST', '/movements', 'wh2', ['event_id' => 'lim-2', 'sku' => 'A', 'kind' => 'receive', 'quantity' => 1, 'location' => 'WH1']), 403, 'inventory_sync_scope');
        self::assertSame(201, self::call('POST', '/movements', 'wh2', ['event_id' => 'lim-3', 'sku' => 'D', 'kind' => 'receive', 'quantity' => 2, 'location' => 'WH2'])->status);
    }

    public function test_keys_that_require_signed_requests(): void
    {
        $body = json_encode(['event_id' => 'signed-1', 'sku' => 'D', 'kind' => 'receive', 'quantity' => 1, 'location' => 'WH2']);
        $path = self::API . '/movements';
        $unsigned = self::$site->request('POST', $path, ['X-API-Key' => self::$keys['signed'], 'Content-Type' => 'application/json'], $body);
        self::assertError($unsigned, 401, 'inventory_sync_bad_signature');
        $wrong = self::$site->request('POST', $path, Senders::signedApi(self::$keys['signed'], 'not-it', 'POST', $path, $body) + ['Content-Type' => 'application/json'], $body);
        self::assertError($wrong, 401, 'inventory_sync_bad_signature');
        $stale = self::$site->request('POST', $path, Senders::signedApi(self::$keys['signed'], self::$signingSecret, 'POST', $path, $body, time() - 900) + ['Content-Type' => 'application/json'], $body);
        self::assertError($stale, 401, 'inventory_sync_bad_signature');
        $signed = self::$site->request('POST', $path, Senders::signedApi(self::$keys['signed'], self::$signingSecret, 'POST', $path, $body) + ['Content-Type' => 'application/json'], $body);
        self::assertSame(201, $signed->status, $signed->body);
    }

    public function test_rate_limit_per_key_across_workers(): void
    {
        self::$site->eval("update_option('inventory_sync_rate_limit_per_minute', 5); return true;");
        try {
            $statuses = [];
            for ($i = 0; $i < 8; $i++) {
                $statuses[] = self::call('GET', '/stock/A', 'limited');
            }
            // The window may roll over mid-loop; then the count restarts. At most 5 per window pass.
            $codes = array_map(fn (Response $r) => $r->status, $statuses);
            self::assertSame([200, 200, 200, 200, 200], array_slice($codes, 0, 5), implode(',', $codes));
            $limited = array_values(array_filter($statuses, fn (Response $r) => $r->status === 429));
            self::assertNotEmpty($limited, implode(',', $codes));
            self::assertError($limited[0], 429, 'inventory_sync_rate_limited');
            self::assertGreaterThanOrEqual(1, (int) $limited[0]->header('retry-after'));
            self::assertLessThanOrEqual(60, (int) $limited[0]->header('retry-after'));
            // Another key has its own budget.
            self::assertSame(200, self::call('GET', '/stock/A', 'spare')->status);
        } finally {
            self::$site->eval("delete_option('inventory_sync_rate_limit_per_minute'); return true;");
        }
    }

    public function test_admin_cookie_needs_the_rest_nonce(): void
    {
        self::$site->login();
        $withoutNonce = self::$site->request('GET', self::API . '/stock/A', [], null, true);
        self::assertError($withoutNonce, 401, 'inventory_sync_unauthorized');
        // The REST nonce is tied to this login session: take it from the plugin's admin page.
        $page = self::$site->request('GET', '/wp-admin/admin.php?page=inventory-sync', [], null, true);
        self::assertSame(1, preg_match('/data-rest-nonce="([0-9a-f]+)"/', $page->body, $m), 'REST nonce on the admin page');
        $withNonce = self::$site->request('GET', self::API . '/stock/A', ['X-WP-Nonce' => $m[1]], null, true);
        self::assertSame(200, $withNonce->status, $withNonce->body);
        $forged = self::$site->request('GET', self::API . '/stock/A', ['X-WP-Nonce' => 'deadbeef00'], null, true);
        self::assertError($forged, 403, 'rest_cookie_invalid_nonce');
    }

    public function test_refusals_reach_the_security_log_without_key_material(): void
    {
        self::call('GET', '/stock/A', 'revoked');
        self::call('GET', '/stock/A');
        $log = self::$site->eval("return \\InventorySync\\ledger()->securityEvents(['limit' => 1000])['events'];");
        $reasons = array_column($log, 'reason');
        foreach (['revoked_key', 'missing_key'] as $reason) {
            self::assertContains($reason, $reasons);
        }
        $dump = json_encode($log);
        foreach (self::$keys as $plaintext) {
            self::assertStringNotContainsString($plaintext, $dump);
        }
        self::assertStringNotContainsString(self::$signingSecret, $dump);
    }
}
