<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Senders;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * Four parallel clients send 2,000 signed deliveries — warehouse receipts (Standard Webhooks) and
 * Shopify orders — a fifth of them duplicates, in shuffled order, into four PHP workers sharing
 * one ledger. The ledger must end exactly at the expected totals: nothing lost, nothing counted
 * twice. Bounded: 2,000 requests on loopback, 4 at a time, with a 20 s timeout each. Run on
 * `php -S` and on php-fpm (opcache on) behind nginx, as in production.
 */
final class InboundConcurrencyTest extends TestCase
{
    private const CLIENTS = 4;
    private const UNIQUE = 1600;
    private const DUPLICATES = 400;
    private const SKUS = ['P1', 'P2', 'P3', 'P4', 'P5'];
    private const SHOPIFY_SECRET = 'shpss_concurrency';

    /** @return array<string, array{0: string}> */
    public static function servers(): array
    {
        return ['php -S' => ['php'], 'php-fpm behind nginx' => ['fpm']];
    }

    /** @dataProvider servers */
    public function test_parallel_signed_deliveries_with_duplicates_end_in_exact_totals(string $server): void
    {
        $site = Harness::site("inbound-concurrency-$server", ['server' => $server]);
        try {
            $whsec = Senders::whsec();
            $site->eval(sprintf(<<<'PHP'
                update_option(\InventorySync\webhook_secret_option('erp'), %s);
                update_option(\InventorySync\webhook_secret_option('shopify'), %s);
                $l = \InventorySync\ledger();
                $l->upsertLocation(['code' => 'WH1', 'name' => 'Main', 'priority' => 1]);
                foreach (%s as $sku) { $l->upsertItem(['sku' => $sku, 'name' => $sku]); }
                return true;
                PHP, var_export($whsec, true), var_export(self::SHOPIFY_SECRET, true), var_export(self::SKUS, true)));

            // Build the deliveries and the expected on-hand per SKU (each unique event once).
            mt_srand(20261122);
            $expected = array_fill_keys(self::SKUS, 0);
            $deliveries = [];
            for ($i = 0; $i < self::UNIQUE; $i++) {
                $sku = self::SKUS[mt_rand(0, count(self::SKUS) - 1)];
                $qty = mt_rand(1, 9);
                if ($i % 3 === 0) {
                    $body = json_encode(['id' => 500000 + $i, 'name' => '#' . (500000 + $i), 'line_items' => [['id' => 1, 'sku' => $sku, 'quantity' => $qty]]]);
                    $deliveries[] = ['shopify', $body, Senders::shopify($body, self::SHOPIFY_SECRET, 'orders/create', "wh-$i")];
                    $expected[$sku] -= $qty;
                } else {
                    $body = json_encode(['type' => 'stock.received', 'data' => ['items' => [['sku' => $sku, 'location' => 'WH1', 'quantity' => $qty]]]]);
                    $deliveries[] = ['erp', $body, Senders::standard($body, $whsec, "msg_$i")];
                    $expected[$sku] += $qty;
                }
            }
            for ($d = 0; $d < self::DUPLICATES; $d++) {
                $deliveries[] = $deliveries[mt_rand(0, self::UNIQUE - 1)];
            }
            shuffle($deliveries);
            self::assertCount(2000, $deliveries);

            $results = $this->sendInParallel($site, $deliveries);
            $statuses = array_count_values(array_column($results, 'status'));
            ksort($statuses);
            self::assertSame([200, 202], array_keys($statuses), json_encode($statuses));
            self::assertSame(self::UNIQUE, $statuses[202], 'each unique delivery accepted once as new');
            self::assertSame(self::DUPLICATES, $statuses[200], 'each duplicate acknowledged as a duplicate');

            $onHand = $site->eval(sprintf('$l = \InventorySync\ledger(); $out = []; foreach (%s as $s) { $out[$s] = $l->stock($s)["on_hand"]; } return $out;', var_export(self::SKUS, true)));
            self::assertSame($expected, $onHand);
            $movements = $site->eval("\$n = 0; \$b = null; do { \$p = \\InventorySync\\ledger()->history(['limit' => 1000] + (\$b === null ? [] : ['before' => \$b])); \$n += count(\$p['movements']); \$b = \$p['next_before']; } while (\$b !== null); return \$n;");
            self::assertSame(self::UNIQUE, $movements);
            // Every delivery was counted once in the API metrics, by provider, across the workers.
            $routes = $site->eval('return \InventorySync\ledger()->apiRoutes(time() - 86400, time() + 3600);');
            $counted = array_column($routes, 'requests', 'route');
            ksort($counted);
            $sent = array_count_values(array_map(fn ($d) => '/inventory-sync/v1/webhooks/' . $d[0], $deliveries));
            ksort($sent);
            self::assertSame($sent, $counted);
            self::assertSame(0, array_sum(array_column($routes, 'client_errors')) + array_sum(array_column($routes, 'server_errors')));
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }

    /**
     * Sends every delivery with CLIENTS requests in flight at any time.
     *
     * @param list<array{0: string, 1: string, 2: array<string, string>}> $deliveries
     * @return list<array{status: int, body: string}>
     */
    private function sendInParallel(Site $site, array $deliveries): array
    {
        $multi = curl_multi_init();
        $results = [];
        $queue = $deliveries;
        $active = [];
        $start = function () use (&$queue, &$active, $multi, $site): void {
            [$provider, $body, $headers] = array_shift($queue);
            $ch = curl_init("{$site->url}/wp-json/inventory-sync/v1/webhooks/$provider");
            $lines = ['Expect:'];
            foreach ($headers as $name => $value) {
                $lines[] = "$name: $value";
            }
            curl_setopt_array($ch, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $body, CURLOPT_HTTPHEADER => $lines, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 20]);
            curl_multi_add_handle($multi, $ch);
            $active[spl_object_id($ch)] = $ch;
        };
        for ($i = 0; $i < self::CLIENTS && $queue !== []; $i++) {
            $start();
        }
        $deadline = microtime(true) + 240;
        while ($active !== [] && microtime(true) < $deadline) {
            curl_multi_exec($multi, $running);
            curl_multi_select($multi, 0.5);
            while (($info = curl_multi_info_read($multi)) !== false) {
                $ch = $info['handle'];
                $results[] = ['status' => (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE), 'body' => (string) curl_multi_getcontent($ch)];
                curl_multi_remove_handle($multi, $ch);
                unset($active[spl_object_id($ch)]);
                curl_close($ch);
                if ($queue !== []) {
                    $start();
                }
            }
        }
        curl_multi_close($multi);
        self::assertSame([], $active, 'requests still running at the deadline');
        return $results;
    }
}
