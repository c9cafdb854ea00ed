<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\ValidationException;
use InventorySync\Ledger;
use PHPUnit\Framework\TestCase;

/**
 * Ledger::recordApiRequest(), apiActivity() and apiRoutes(): the inbound API's request counts,
 * error rates and latency as the Reports page reads them, and refusals of bad input that count
 * nothing.
 */
final class ApiMetricsTest extends TestCase
{
    private string $dir;
    private Ledger $ledger;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/inventory-sync-api-metrics-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        $this->ledger = new Ledger($this->dir . '/ledger.sqlite');
    }

    protected function tearDown(): void
    {
        unset($this->ledger);
        foreach (glob($this->dir . '/*') ?: [] as $file) {
            unlink($file);
        }
        rmdir($this->dir);
    }

    /** @return array{since: int, until: int, bucket: string} Today and yesterday (UTC days). */
    private static function twoDays(): array
    {
        $today = intdiv(time(), 86400) * 86400;
        return ['since' => $today - 86400, 'until' => $today + 86400, 'bucket' => 'day'];
    }

    public function test_requests_are_counted_with_their_errors_and_latency(): void
    {
        $l = $this->ledger;
        foreach ([[201, 18.0], [201, 22.4], [200, 7], [409, 3.2], [401, 1], [503, 740.0]] as [$status, $ms]) {
            $l->recordApiRequest(['route' => '/inventory-sync/v1/movements', 'method' => 'post', 'status' => $status, 'duration_ms' => $ms]);
        }
        foreach ([...array_fill(0, 19, 4), 30] as $ms) {
            $l->recordApiRequest(['route' => '/inventory-sync/v1/stock/{sku}', 'method' => 'GET', 'status' => 200, 'duration_ms' => $ms]);
        }

        [$yesterday, $today] = $l->apiActivity(self::twoDays());
        self::assertSame(['start' => self::twoDays()['since'], 'requests' => 0, 'client_errors' => 0, 'server_errors' => 0, 'error_rate' => 0.0, 'avg_ms' => 0.0, 'p95_ms' => null, 'max_ms' => 0.0], $yesterday);
        self::assertSame(26, $today['requests']);
        self::assertSame([2, 1], [$today['client_errors'], $today['server_errors']]);
        self::assertSame(0.1154, $today['error_rate'], '3 of 26 answered with an error');
        self::assertSame(34.5, $today['avg_ms']);
        self::assertSame(50.0, $today['p95_ms'], 'the 25th fastest of 26 took 30 ms: at most 50, its histogram bucket');
        self::assertSame(740.0, $today['max_ms']);

        $routes = $l->apiRoutes(self::twoDays()['since'], self::twoDays()['until']);
        self::assertSame(['/inventory-sync/v1/stock/{sku}', '/inventory-sync/v1/movements'], array_column($routes, 'route'), 'busiest first');
        self::assertSame(['GET', 'POST'], array_column($routes, 'method'));
        self::assertSame([20, 6], array_column($routes, 'requests'));
        self::assertSame([0.0, 0.5], array_column($routes, 'error_rate'));
        self::assertSame(5.0, $routes[0]['p95_ms'], '19 of 20 took 4 ms: at most 5 ms, their histogram bucket');
        self::assertSame(740.0, $routes[1]['p95_ms'], 'the slowest of 6, below its bucket bound of 1,000');
        self::assertSame(30.0, $routes[0]['max_ms']);
    }

    /** @return iterable<string, array{0: array<string, mixed>, 1: string}> */
    public static function badRequests(): iterable
    {
        $ok = ['route' => '/inventory-sync/v1/stock', 'method' => 'GET', 'status' => 200, 'duration_ms' => 5];
        yield 'no route' => [['route' => ''] + $ok, 'route'];
        yield 'unknown method' => [['method' => 'BREW'] + $ok, 'method'];
        yield 'status too low' => [['status' => 99] + $ok, 'status'];
        yield 'status too high' => [['status' => 600] + $ok, 'status'];
        yield 'status not a number' => [['status' => 'ok'] + $ok, 'status'];
        yield 'negative duration' => [['duration_ms' => -1] + $ok, 'duration_ms'];
        yield 'endless duration' => [['duration_ms' => INF] + $ok, 'duration_ms'];
        yield 'not a number' => [['duration_ms' => NAN] + $ok, 'duration_ms'];
        yield 'over a day' => [['duration_ms' => 86_400_001] + $ok, 'duration_ms'];
        yield 'missing duration' => [array_diff_key($ok, ['duration_ms' => 0]), 'duration_ms'];
        yield 'unknown field' => [['path' => '/x'] + $ok, 'path'];
    }

    /**
     * @dataProvider badRequests
     * @param array<string, mixed> $request
     */
    public function test_bad_input_is_refused_naming_the_field_and_counts_nothing(array $request, string $field): void
    {
        try {
            $this->ledger->recordApiRequest($request);
            self::fail('accepted');
        } catch (ValidationException $e) {
            self::assertStringStartsWith($field, $e->getMessage());
        }
        self::assertSame(0, $this->ledger->apiActivity(self::twoDays())[1]['requests']);
    }

    public function test_bad_queries_are_refused(): void
    {
        foreach ([['bucket' => 'year'] + self::twoDays(), ['until' => 0] + self::twoDays()] as $query) {
            try {
                $this->ledger->apiActivity($query);
                self::fail('accepted ' . json_encode($query));
            } catch (ValidationException $e) {
                self::assertMatchesRegularExpression('/^(bucket|until)/', $e->getMessage());
            }
        }
        $this->expectException(ValidationException::class);
        $this->ledger->apiRoutes(100, 100);
    }
}
