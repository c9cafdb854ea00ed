<?php
/**
 * Signed webhooks through WordPress: a throw-away site from the test harness (WordPress, MariaDB,
 * the plugin and the extension, served as in production by php-fpm — a static pool of 4, opcache
 * on — behind nginx; `--server=php` uses `php -S` with 4 workers instead), fed signed `inventory.updated`
 * deliveries on `POST /wp-json/inventory-sync/v1/webhooks/generic`, against an empty REST route
 * on the same server (`POST /wp-json/bench/v1/empty`, a must-use plugin this program writes into
 * the site) given the same bodies and headers. Same count of requests, same concurrency, on
 * loopback. Every delivery must be accepted and applied once, and the ledger must hold exactly
 * one movement per delivery afterwards (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/webhook.php [--server=fpm|php] [--json=PATH]
 *
 * The site loads the extension from $INVENTORY_SYNC_EXTENSION (bench/run.php sets it), else
 * target/release/libinventory_sync.so. The site and MariaDB are stopped and their directory
 * removed at the end, whatever happens.
 *
 * The plugin's overhead is the extra cost of a webhook over a REST request that does nothing,
 * with the plugin loaded for both: checking the signature, taking the delivery into the ledger
 * (movement, inbound log) and the receipt option. Stated as `(empty route requests/s ÷ webhook
 * requests/s − 1) × 100` % on the medians of the runs (the table's ratio, turned around; the runs
 * paired give its spread), and as the difference of the median latencies in ms.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Senders;
use InventorySync\Tests\Harness\Site;

require __DIR__ . '/lib/bench.php';
require __DIR__ . '/lib/load.php';
require dirname(__DIR__) . '/tests/harness/Harness.php';

require_extension();
if (!extension_loaded('curl') || !extension_loaded('mysqli') || !is_dir(Paths::wordpress()) || !on_path('mariadb-install-db')) {
    fwrite(STDERR, "This benchmark needs PHP's curl and mysqli, Debian's wordpress and mariadb-server (./build.sh deps installs them).\n");
    exit(2);
}

const RUNS = 8;
const REQUESTS_PER_RUN = 50;
const WARM_UP = 20;
const CONCURRENCY = 4;
const SKUS = 8;
const SECRET = 'bench-generic-secret-c41d9e07a2f3';
const EMPTY_ROUTE = '/wp-json/bench/v1/empty';
const WEBHOOK_ROUTE = '/wp-json/inventory-sync/v1/webhooks/generic';

$report = new Report('webhook');
$started = now();
$problem = null;
$site = null;
try {
    $server = 'fpm';
    foreach ($argv as $arg) {
        if (str_starts_with($arg, '--server=')) {
            $server = substr($arg, 9);
        }
    }
    $site = Harness::site('bench-webhook', ['server' => $server]);
    $site->eval(sprintf(<<<'PHP'
        update_option(\InventorySync\webhook_secret_option('generic'), %s);
        $ledger = \InventorySync\ledger();
        for ($i = 0; $i < %d; $i++) {
            $ledger->upsertItem(['sku' => sprintf('BENCH-%%02d', $i), 'name' => "Benchmark item $i"]);
        }
        return true;
        PHP, var_export(SECRET, true), SKUS));
    install_empty_route($site);
    $report->note(sprintf(
        'site: WordPress + MariaDB + %s on %s, extension %s; %d SKUs, generic secret set; set up in %.1f s',
        $server === 'fpm' ? 'php-fpm (static pool of 4, opcache on) behind nginx' : 'php -S with 4 workers',
        $site->url,
        Paths::extension(),
        SKUS,
        now() - $started
    ));

    // Deliveries: each with its own id (so each is applied), SKUs in turn, a level that changes.
    $deliveries = [];
    for ($i = 0; $i < WARM_UP + RUNS * REQUESTS_PER_RUN; $i++) {
        $body = json_encode(['event' => 'inventory.updated', 'id' => sprintf('bench-%04d', $i), 'sku' => sprintf('BENCH-%02d', $i % SKUS), 'quantity' => 10 + $i % 90]);
        $deliveries[] = ['body' => $body, 'headers' => Senders::generic($body, SECRET)];
    }
    $sizes = array_map(static fn (array $d): int => strlen($d['body']), $deliveries);
    $report->note(sprintf(
        'requests: %d runs × %d per side, %d in flight (curl_multi), after %d warm-up requests per side; bodies of %s bytes (JSON), signed by PHP\'s hash_hmac (tests/harness/Senders.php); the empty route gets the same bodies and headers',
        RUNS,
        REQUESTS_PER_RUN,
        CONCURRENCY,
        WARM_UP,
        min($sizes) === max($sizes) ? min($sizes) : min($sizes) . '–' . max($sizes)
    ));

    $answers = ['webhook' => [], 'empty' => []];
    $warmUp = array_slice($deliveries, 0, WARM_UP);
    $answers['webhook'] = array_merge($answers['webhook'], fire($site->url . WEBHOOK_ROUTE, $warmUp, CONCURRENCY)['answers']);
    $answers['empty'] = array_merge($answers['empty'], fire($site->url . EMPTY_ROUTE, $warmUp, CONCURRENCY)['answers']);

    // php -S follows opcache.enable (not opcache.enable_cli), as PHP-FPM does: say whether it is
    // on, since compiling WordPress on every request would dominate both routes.
    $opcache = $site->request('GET', '/wp-json/bench/v1/opcache')->json();
    $report->note(sprintf('OPcache in the web server after the warm-up: %s', ($opcache['cached_scripts'] ?? 0) > 0 ? "on, {$opcache['cached_scripts']} scripts cached" : 'off (WordPress is compiled on every request)'));

    // Timed runs, alternating which route goes first.
    $rates = $latencies = ['webhook' => [], 'empty' => []];
    for ($run = 0; $run < RUNS; $run++) {
        $batch = array_slice($deliveries, WARM_UP + $run * REQUESTS_PER_RUN, REQUESTS_PER_RUN);
        $routes = ['webhook' => WEBHOOK_ROUTE, 'empty' => EMPTY_ROUTE];
        if ($run % 2 === 1) {
            $routes = array_reverse($routes, true);
        }
        foreach ($routes as $side => $route) {
            $result = fire($site->url . $route, $batch, CONCURRENCY);
            $rates[$side][] = count($batch) / $result['seconds'];
            $times = array_column($result['answers'], 'ms');
            $latencies[$side] = array_merge($latencies[$side], $times);
            $answers[$side] = array_merge($answers[$side], $result['answers']);
        }
    }

    // Every answer as expected: each delivery applied once (202, one movement), the empty route
    // answering []. Then the ledger: exactly the deliveries' movements, each once.
    $problem = check_answers($answers, count($deliveries));
    if ($problem === null) {
        $recorded = $site->eval(<<<'PHP'
            $ids = [];
            $before = null;
            do {
                $page = \InventorySync\ledger()->history(['limit' => 1000] + ($before === null ? [] : ['before' => $before]));
                foreach ($page['movements'] as $movement) {
                    $ids[] = $movement['event_id'];
                }
                $before = $page['next_before'];
            } while ($before !== null);
            return $ids;
            PHP);
        $expected = array_map(static fn (int $i): string => sprintf('generic:bench-%04d:0', $i), range(0, count($deliveries) - 1));
        sort($recorded);
        if ($recorded !== $expected) {
            $problem = sprintf(
                'the ledger holds %d movements, expected %d (one per delivery); missing: %s; unexpected: %s',
                count($recorded),
                count($expected),
                json_encode(array_slice(array_values(array_diff($expected, $recorded)), 0, 5)),
                json_encode(array_slice(array_values(array_diff($recorded, $expected)), 0, 5))
            );
        } else {
            $report->note(sprintf('checked: all %d deliveries answered 202 and applied, the empty route answered [] %d times; the ledger holds exactly %d movements, one per delivery id', count($deliveries), count($deliveries), count($recorded)));
        }
    }
    $log = $site->errorLog();
    $report->note($log === '' ? 'PHP/WordPress error log: empty' : 'PHP/WordPress error log: ' . count(explode("\n", $log)) . ' lines, first: ' . strtok($log, "\n"));
} finally {
    $site?->stop();
    Harness::shutdown();
}
if ($problem !== null) {
    disagree($problem);
}

// The overhead from the same medians as the table's ratio; the runs, paired, give its spread.
$overhead = (median($rates['empty']) / median($rates['webhook']) - 1) * 100;
$paired = array_map(static fn (float $webhook, float $empty): float => ($empty / $webhook - 1) * 100, $rates['webhook'], $rates['empty']);
$report->note(sprintf(
    'plugin overhead: %.0f %% = (empty route requests/s ÷ webhook requests/s − 1) × 100 on the medians (run by run: %.0f to %.0f %%); at the median latency a webhook takes %.1f ms more',
    $overhead,
    min($paired),
    max($paired),
    percentile($latencies['webhook'], 50) - percentile($latencies['empty'], 50)
));
$report->figure(
    sprintf('signed webhook through WordPress, %d in flight', CONCURRENCY),
    'requests/s',
    'higher',
    $rates['webhook'],
    'empty REST route, same server',
    $rates['empty'],
    // Overhead ≤ 15 % ⇔ webhook requests/s ≥ empty route's ÷ 1.15.
    ['kind' => 'ratio', 'min' => 1 / 1.15, 'text' => '≤ 15 % overhead, i.e. ratio ≥ 0.87× (on the same php-fpm pool)'],
    [
        'plugin overhead, % ((empty route ÷ webhook requests/s − 1) × 100)' => $overhead,
        'latency difference ms, p50 webhook − p50 empty route' => percentile($latencies['webhook'], 50) - percentile($latencies['empty'], 50),
        'latency p50 ms, webhook' => percentile($latencies['webhook'], 50),
        'latency p95 ms, webhook' => percentile($latencies['webhook'], 95),
        'latency p50 ms, empty route' => percentile($latencies['empty'], 50),
        'latency p95 ms, empty route' => percentile($latencies['empty'], 95),
    ]
);
$report->finish();

function on_path(string $tool): bool
{
    foreach (explode(PATH_SEPARATOR, (string) getenv('PATH')) as $dir) {
        if ($dir !== '' && is_executable("$dir/$tool")) {
            return true;
        }
    }
    return false;
}

/**
 * What is wrong with the answers, or null: every webhook 202 with one movement recorded, every
 * empty-route answer 200 `[]`, as many of each as deliveries.
 *
 * @param array{webhook: list<array{status: int, body: string, ms: float}>, empty: list<array{status: int, body: string, ms: float}>} $answers
 */
function check_answers(array $answers, int $deliveries): ?string
{
    foreach ($answers as $side => $list) {
        if (count($list) !== $deliveries) {
            return sprintf('%s: %d answers to %d requests', $side, count($list), $deliveries);
        }
    }
    foreach ($answers['webhook'] as $answer) {
        $receipt = json_decode($answer['body'], true);
        if ($answer['status'] !== 202 || !is_array($receipt) || ($receipt['outcome'] ?? null) !== 'applied' || ($receipt['recorded'] ?? null) !== 1) {
            return "a webhook was not applied once: HTTP {$answer['status']} {$answer['body']}";
        }
    }
    foreach ($answers['empty'] as $answer) {
        if ($answer['status'] !== 200 || $answer['body'] !== '[]') {
            return "the empty route answered HTTP {$answer['status']} {$answer['body']}";
        }
    }
    return null;
}
