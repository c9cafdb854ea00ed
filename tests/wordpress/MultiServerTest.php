<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\FakeChannels;
use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Senders;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * One store served by two web servers, as behind a load balancer: two `php -S` (4 workers each,
 * own port, own process group) on the same WordPress directory and database, the ledger in that
 * database (INVENTORY_SYNC_LEDGER = 'mysql').
 *
 * 2,000 signed deliveries — warehouse receipts (Standard Webhooks) and Shopify orders over 320
 * SKUs — go to both servers, 8 at a time. A fifth are exact duplicates (same delivery id, same
 * body) sent to the other server than their original: half together with it (the two servers
 * race), half after everything else (a replay). Then four queue runners, two on each server,
 * start at once and push to fake Shopify, remote WooCommerce and ERP channels (Shopify and
 * WooCommerce slowed, so the runners overlap); each channel has more jobs than one runner claims
 * at a time, so the servers share every channel's queue.
 *
 * The ledger must end at the exact totals with one movement per unique event, each duplicate
 * answered as one; every job must be claimed once and pushed once: each channel was sent each
 * SKU's final quantity exactly once, by whichever server claimed it. Bounded: 2,000 deliveries
 * and 4 queue kicks to the site (20 s timeout each), all on loopback. Measurements go to
 * tests/output/multi-server.json.
 */
final class MultiServerTest extends TestCase
{
    private const API = '/wp-json/inventory-sync/v1';
    private const SERVERS = 2;
    private const IN_FLIGHT = 8;
    private const UNIQUE = 1600;
    private const DUPLICATES = 400;
    /** More jobs per channel than a runner claims at once (about 200), so runners share each channel. */
    private const SKU_COUNT = 320;
    /** Every SKU's opening stock: more than its sales can take, so every channel is shown on hand. */
    private const OPENING = 50;
    private const RUNNERS_PER_SERVER = 2;
    /** channel key => kind; none is the origin of the inbound events (no echo suppression). */
    private const CHANNELS = ['shopify' => 'shopify', 'wholesale' => 'woocommerce_remote', 'distributor' => 'webhook'];
    private const BATCH_SIZE = 50;
    /** Shopify's and WooCommerce's answers wait this long, so a queue pass lasts long enough to overlap. */
    private const CHANNEL_DELAY_MS = 200;
    private const SHOPIFY_SECRET = 'shpss_multi_server';
    private const TIMEOUT_SECONDS = 20;
    /** A must-use plugin that logs each queue pass with the port of the server that ran it. */
    private const PROBE = <<<'PHP'
        <?php
        add_action( 'inventory_sync_queue_ran', static function ( $report ) {
            $run = array( 'port' => (int) $_SERVER['SERVER_PORT'], 'ended' => microtime( true ), 'report' => $report );
            file_put_contents( WP_CONTENT_DIR . '/queue-runs.jsonl', wp_json_encode( $run ) . "\n", FILE_APPEND | LOCK_EX );
        } );
        PHP;

    public function test_two_servers_share_one_ledger_and_one_queue_exactly(): void
    {
        $skus = array_map(static fn (int $i): string => sprintf('MS-%03d', $i), range(1, self::SKU_COUNT));
        $started = microtime(true);
        $site = Harness::site('multi-server', ['servers' => self::SERVERS]);
        $fakes = null;
        try {
            self::assertCount(self::SERVERS, array_unique($site->urls));
            self::assertCount(self::SERVERS, $site->pgids(), 'a process group per server');
            self::assertStringStartsWith('mysql://', (string) $site->eval('return \InventorySync\ledger()->path();'), 'the ledger is in the database');
            foreach ($site->urls as $server => $url) {
                $index = $site->request('GET', '/wp-json/', server: $server);
                self::assertSame(200, $index->status);
                self::assertSame($url, $index->json()['home'], "server $server answers with its own URL");
            }

            $fakes = FakeChannels::start($skus, Paths::output() . '/fake-channels-multi-server.log');
            $whsec = Senders::whsec();
            $site->eval(sprintf(<<<'PHP'
                update_option(\InventorySync\webhook_secret_option('erp'), %s);
                update_option(\InventorySync\webhook_secret_option('shopify'), %s);
                $l = \InventorySync\ledger();
                $opening = [];
                foreach (%s as $sku) {
                    $l->upsertItem(['sku' => $sku, 'name' => $sku]);
                    $opening[] = ['event_id' => "opening-$sku", 'sku' => $sku, 'kind' => 'receive', 'quantity' => %d, 'location' => 'MAIN'];
                }
                $l->recordBatch($opening);
                $fakes = %s;
                foreach (%s as $key => $kind) {
                    $l->saveChannel(['key' => $key, 'kind' => $kind, 'name' => $key, 'batch_size' => %d] + $fakes[$kind]);
                }
                // This store sells none of these SKUs: its own channel (made at activation) is off.
                $l->saveChannel(['key' => 'woocommerce_local', 'kind' => 'woocommerce_local', 'name' => 'This store', 'enabled' => false]);
                return true;
                PHP,
                var_export($whsec, true),
                var_export(self::SHOPIFY_SECRET, true),
                var_export($skus, true),
                self::OPENING,
                var_export($fakes->channels, true),
                var_export(self::CHANNELS, true),
                self::BATCH_SIZE,
            ));
            file_put_contents($site->root . '/wp-content/mu-plugins/multi-server-probe.php', self::PROBE);

            // The deliveries, each unique one to alternate servers, and the expected on hand.
            mt_srand(20261210);
            $expected = array_fill_keys($skus, self::OPENING);
            $unique = [];
            for ($i = 0; $i < self::UNIQUE; $i++) {
                $sku = $skus[$i % self::SKU_COUNT];
                $qty = mt_rand(1, 9);
                if (mt_rand(0, 2) === 0) {
                    $body = json_encode(['id' => 700000 + $i, 'name' => '#' . (700000 + $i), 'line_items' => [['id' => 1, 'sku' => $sku, 'quantity' => $qty]]]);
                    $unique[] = ['id' => "wh-$i", 'server' => $i % self::SERVERS, 'path' => self::API . '/webhooks/shopify', 'body' => $body, 'headers' => Senders::shopify($body, self::SHOPIFY_SECRET, 'orders/create', "wh-$i")];
                    $expected[$sku] -= $qty;
                } else {
                    $body = json_encode(['type' => 'stock.received', 'data' => ['items' => [['sku' => $sku, 'location' => 'MAIN', 'quantity' => $qty]]]]);
                    $unique[] = ['id' => "msg_$i", 'server' => $i % self::SERVERS, 'path' => self::API . '/webhooks/erp', 'body' => $body, 'headers' => Senders::standard($body, $whsec, "msg_$i")];
                    $expected[$sku] += $qty;
                }
            }
            self::assertGreaterThan(0, min($expected), 'every SKU ends in stock: each channel is shown its on hand');
            shuffle($unique);
            $duplicated = array_rand($unique, self::DUPLICATES); // distinct originals, each duplicated once
            shuffle($duplicated);
            $together = array_fill_keys(array_slice($duplicated, 0, intdiv(self::DUPLICATES, 2)), true);
            $other = static fn (array $delivery): array => ['server' => ($delivery['server'] + 1) % self::SERVERS] + $delivery;
            $deliveries = [];
            $later = [];
            foreach ($unique as $u => $delivery) {
                $deliveries[] = $delivery;
                if (isset($together[$u])) {
                    $deliveries[] = $other($delivery); // in flight at the same time as the original
                }
            }
            foreach (array_slice($duplicated, intdiv(self::DUPLICATES, 2)) as $u) {
                $later[] = $other($unique[$u]);
            }
            shuffle($later);
            $deliveries = array_merge($deliveries, $later);
            self::assertCount(self::UNIQUE + self::DUPLICATES, $deliveries);

            $loadStarted = microtime(true);
            $results = $this->sendInParallel($site, $deliveries);
            $loadSeconds = microtime(true) - $loadStarted;

            // Each delivery id: answered 202 (taken) once, 200 (a duplicate) for its copy, by
            // whichever server came second; every request answered by the server it went to.
            $byId = [];
            $served = array_fill(0, self::SERVERS, 0);
            foreach ($results as $result) {
                $delivery = $deliveries[$result['index']];
                $byId[$delivery['id']][] = $result['status'];
                if ($result['status'] === 200) {
                    self::assertTrue($result['json']['duplicate'] ?? null, $result['body']);
                }
                if (in_array($result['status'], [200, 202], true)) {
                    $served[$delivery['server']]++;
                }
            }
            self::assertCount(self::UNIQUE, $byId);
            $answers = [];
            foreach ($byId as $statuses) {
                sort($statuses);
                $answer = json_encode($statuses);
                $answers[$answer] = ($answers[$answer] ?? 0) + 1;
            }
            ksort($answers);
            self::assertSame(['[200,202]' => self::DUPLICATES, '[202]' => self::UNIQUE - self::DUPLICATES], $answers, 'one acceptance per delivery id');
            $sent = array_count_values(array_column($deliveries, 'server'));
            ksort($sent);
            self::assertSame($sent, $served, 'every request answered, by the server it was sent to');
            self::assertGreaterThan(0, min($served), 'both servers served');

            // The ledger: exact totals, one movement per unique event, one log record per delivery id.
            $ledger = $site->eval(sprintf(<<<'PHP'
                $l = \InventorySync\ledger();
                $onHand = [];
                foreach (%s as $sku) { $onHand[$sku] = $l->stock($sku)['on_hand']; }
                $movements = 0;
                $before = null;
                do {
                    $page = $l->history(['limit' => 1000] + (null === $before ? [] : ['before' => $before]));
                    $movements += count($page['movements']);
                    $before = $page['next_before'];
                } while (null !== $before);
                $records = [];
                $before = null;
                do {
                    $page = $l->inboundEvents(['limit' => 1000] + (null === $before ? [] : ['before' => $before]));
                    $records = array_merge($records, $page['events']);
                    $before = $page['next_before'];
                } while (null !== $before);
                return [
                    'on_hand' => $onHand,
                    'movements' => $movements,
                    'records' => count($records),
                    'record_keys' => count(array_unique(array_map(fn ($r) => $r['provider'] . ' ' . $r['dedup_key'], $records))),
                    'record_movements' => array_sum(array_column($records, 'recorded')) + array_sum(array_column($records, 'replayed')),
                    'jobs' => $l->jobCounts(),
                ];
                PHP, var_export($skus, true)));
            self::assertSame($expected, $ledger['on_hand']);
            self::assertSame(self::SKU_COUNT + self::UNIQUE, $ledger['movements'], 'the openings and one movement per unique event');
            self::assertSame(self::UNIQUE, $ledger['records'], 'one inbound record per delivery id');
            self::assertSame(self::UNIQUE, $ledger['record_keys']);
            self::assertSame(self::UNIQUE, $ledger['record_movements']);
            $jobs = self::SKU_COUNT * count(self::CHANNELS);
            self::assertSame(['pending' => $jobs, 'retrying' => 0, 'running' => 0, 'done' => 0, 'failed' => 0, 'dead' => 0], $ledger['jobs'], 'one job per channel and SKU, coalesced');
            // Both servers counted their requests into the same API metrics, exactly.
            $routes = $site->eval('return \InventorySync\ledger()->apiRoutes(time() - 86400, time() + 3600);');
            $counted = array_column($routes, 'requests', 'route');
            ksort($counted);
            $perRoute = array_count_values(array_map(static fn (array $d): string => substr($d['path'], strlen('/wp-json')), $deliveries));
            ksort($perRoute);
            self::assertSame($perRoute, $counted);

            // Four queue runners at once, two on each server, through the queue kick route.
            $fakes->delay('shopify', self::CHANNEL_DELAY_MS);
            $fakes->delay('woocommerce_remote', self::CHANNEL_DELAY_MS);
            $kick = http_build_query($site->eval('$e = time() + 60; return ["expires" => $e, "token" => \InventorySync\Cron\kick_token($e)];'));
            $kicks = [];
            for ($r = 0; $r < self::SERVERS * self::RUNNERS_PER_SERVER; $r++) {
                $kicks[] = ['server' => $r % self::SERVERS, 'path' => self::API . '/queue/kick', 'body' => $kick, 'headers' => ['Content-Type' => 'application/x-www-form-urlencoded']];
            }
            $runStarted = microtime(true);
            foreach ($this->sendInParallel($site, $kicks) as $result) {
                self::assertSame(200, $result['status'], $result['body']);
                self::assertSame(1, $result['json']['passes'], 'one pass: no kick asked for more');
            }
            $runSeconds = microtime(true) - $runStarted;

            // Every job done once: claimed once (attempts 1) with the SKU's final quantity ...
            $after = $site->eval(<<<'PHP'
                $l = \InventorySync\ledger();
                $jobs = [];
                $before = null;
                do {
                    $page = $l->jobs(['limit' => 1000] + (null === $before ? [] : ['before' => $before]));
                    foreach ($page['jobs'] as $job) {
                        $jobs[] = [$job['channel'], $job['sku'], $job['desired'], $job['status'], $job['attempts']];
                    }
                    $before = $page['next_before'];
                } while (null !== $before);
                return ['counts' => $l->jobCounts(), 'jobs' => $jobs];
                PHP);
            self::assertSame(['pending' => 0, 'retrying' => 0, 'running' => 0, 'done' => $jobs, 'failed' => 0, 'dead' => 0], $after['counts'], 'nothing left, nothing failed: done = enqueued');
            $expectedJobs = [];
            foreach (array_keys(self::CHANNELS) as $channel) {
                foreach ($expected as $sku => $quantity) {
                    $expectedJobs[] = [$channel, $sku, $quantity, 'done', 1];
                }
            }
            sort($expectedJobs);
            $doneJobs = $after['jobs'];
            sort($doneJobs);
            self::assertSame($expectedJobs, $doneJobs, 'each (channel, SKU) job: the final quantity, done, claimed once');

            // ... and sent once: every channel was sent each SKU's final quantity, and nothing else.
            $writes = $fakes->writes();
            $expectedWrites = [];
            foreach ($expected as $sku => $quantity) {
                $expectedWrites[$sku] = array_fill_keys(self::CHANNELS, [$quantity]);
                ksort($expectedWrites[$sku]);
                ksort($writes[$sku]);
            }
            self::assertSame($expectedWrites, $writes);
            $calls = $fakes->calls();
            self::assertSame(0, $calls['webhook']['duplicates'], 'no ERP delivery was sent twice');

            // The runners overlapped in time, and each server's runners pushed a share.
            $runs = array_map(
                static fn (string $line): array => json_decode($line, true, 512, JSON_THROW_ON_ERROR),
                file($site->root . '/wp-content/queue-runs.jsonl', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [],
            );
            self::assertCount(self::SERVERS * self::RUNNERS_PER_SERVER, $runs);
            $ports = array_map(static fn (string $url): int => (int) parse_url($url, PHP_URL_PORT), $site->urls);
            $pushedBy = array_fill_keys($ports, 0);
            $windows = [];
            foreach ($runs as $run) {
                $report = $run['report'];
                self::assertSame([0, 0, 0], [$report['failed'], $report['retried'], $report['dead']], json_encode($report));
                self::assertSame(0, array_sum(array_column($report['channels'], 'lost_claims')), json_encode($report));
                $pushedBy[$run['port']] += $report['pushed'];
                $windows[$run['port']][] = [$run['ended'] - $report['elapsed_ms'] / 1000, $run['ended']];
            }
            self::assertSame($ports, array_keys($pushedBy), 'runs only on the two servers');
            self::assertSame($jobs, array_sum($pushedBy));
            self::assertGreaterThan(0, min($pushedBy), "both servers' runners pushed: " . json_encode($pushedBy));
            $overlap = false;
            foreach ($windows[$ports[0]] as [$from, $to]) {
                foreach ($windows[$ports[1]] as [$otherFrom, $otherTo]) {
                    $overlap = $overlap || ($from < $otherTo && $otherFrom < $to);
                }
            }
            self::assertTrue($overlap, 'a runner on each server at the same time: ' . json_encode($windows));
            self::assertSame('', $site->errorLog());

            file_put_contents(Paths::output() . '/multi-server.json', json_encode([
                'requests' => count($deliveries),
                'duplicates' => self::DUPLICATES,
                'served_per_server' => $served,
                'load_s' => round($loadSeconds, 2),
                'load_requests_per_s' => round(count($deliveries) / $loadSeconds, 1),
                'jobs' => $jobs,
                'pushed_per_server' => array_values($pushedBy),
                'queue_runners_s' => round($runSeconds, 2),
                'runs' => array_map(static fn (array $run): array => ['port' => $run['port'], 'elapsed_ms' => $run['report']['elapsed_ms'], 'pushed' => array_map(static fn (array $channel): int => $channel['pushed'], $run['report']['channels'])], $runs),
                'channel_calls' => $calls,
                'test_s' => round(microtime(true) - $started, 2),
            ], JSON_PRETTY_PRINT) . "\n");
        } finally {
            $fakes?->stop();
            $site->stop();
        }
    }

    /**
     * Sends every request to its server with IN_FLIGHT in flight at any time, in order.
     *
     * @param list<array{server: int, path: string, body: string, headers: array<string, string>}> $requests
     * @return list<array{index: int, status: int, body: string, json: mixed}> in the order answered
     */
    private function sendInParallel(Site $site, array $requests): array
    {
        $multi = curl_multi_init();
        $results = [];
        $next = 0;
        $active = [];
        $start = function () use (&$next, &$active, $requests, $multi, $site): void {
            $request = $requests[$next];
            $ch = curl_init($site->urls[$request['server']] . $request['path']);
            $lines = ['Expect:'];
            foreach ($request['headers'] as $name => $value) {
                $lines[] = "$name: $value";
            }
            curl_setopt_array($ch, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $request['body'], CURLOPT_HTTPHEADER => $lines, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => self::TIMEOUT_SECONDS]);
            curl_multi_add_handle($multi, $ch);
            $active[spl_object_id($ch)] = [$ch, $next];
            $next++;
        };
        while ($next < count($requests) && count($active) < self::IN_FLIGHT) {
            $start();
        }
        $deadline = microtime(true) + 120;
        while ($active !== [] && microtime(true) < $deadline) {
            curl_multi_exec($multi, $running);
            curl_multi_select($multi, 0.5);
            while (($info = curl_multi_info_read($multi)) !== false) {
                $ch = $info['handle'];
                $body = (string) curl_multi_getcontent($ch);
                $results[] = ['index' => $active[spl_object_id($ch)][1], 'status' => (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE), 'body' => $body, 'json' => json_decode($body, true)];
                curl_multi_remove_handle($multi, $ch);
                unset($active[spl_object_id($ch)]);
                curl_close($ch);
                if ($next < count($requests)) {
                    $start();
                }
            }
        }
        curl_multi_close($multi);
        self::assertSame([], $active, 'requests still running at the deadline');
        return $results;
    }
}
