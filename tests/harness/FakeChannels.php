<?php
/**
 * The fake channel servers (examples/fake_channels.rs: Shopify, eBay, a remote WooCommerce store
 * and an ERP webhook receiver, each speaking its real wire format on 127.0.0.1) as one background
 * process for end-to-end tests and the demo, started in its own process group and stopped by it.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class FakeChannels
{
    /** @var array<string, array{settings: array, credentials: array}> kind => what a channel needs */
    public readonly array $channels;
    /** @var array<string, array{url: string, secret: string}> supplier name => its order endpoint */
    public readonly array $suppliers;

    private function __construct(private readonly int $pgid, private readonly string $control, array $channels, array $suppliers)
    {
        $this->channels = $channels;
        $this->suppliers = $suppliers;
    }

    /** The built binary (`cargo build --release --example fake_channels`). */
    public static function binary(): string
    {
        return Paths::repo() . '/target/release/examples/fake_channels';
    }

    /**
     * Starts the fakes stocking $skus and $count more (`SKU-000001` …; remote quantity 0 each);
     * waits for their addresses.
     *
     * @param list<string> $skus
     */
    public static function start(array $skus, string $log, int $count = 0): self
    {
        if (!is_executable(self::binary())) {
            throw new \RuntimeException(self::binary() . ' is missing: cargo build --release --example fake_channels');
        }
        file_put_contents($log, ''); // the first line must be this run's
        $pgid = Process::start(array_merge([self::binary(), '--stay'], $count > 0 ? ["--count=$count"] : [], $skus), $log);
        $started = microtime(true);
        $deadline = $started + 20;
        while (microtime(true) < $deadline) {
            $first = strtok((string) @file_get_contents($log), "\n");
            $info = is_string($first) ? json_decode($first, true) : null;
            if (is_array($info) && isset($info['control'], $info['channels'])) {
                return new self($pgid, $info['control'], $info['channels'], $info['suppliers'] ?? []);
            }
            // (Right after the start the child may not have made its group yet.)
            if (microtime(true) - $started > 2 && Process::members($pgid) === []) {
                break;
            }
            usleep(50_000);
        }
        Process::stop($pgid);
        throw new \RuntimeException("the fake channels did not start:\n" . @file_get_contents($log));
    }

    public function pgid(): int
    {
        return $this->pgid;
    }

    /** @return array<string, array<string, int|null>> kind => sku => remote quantity */
    public function state(): array
    {
        return $this->call('GET', '/state');
    }

    /** One unit sold on the channel (shopify): the fake's remote quantity drops by one. */
    public function sell(string $channel, string $sku): array
    {
        return $this->call('POST', '/sell?' . http_build_query(['channel' => $channel, 'sku' => $sku]));
    }

    /** Every request to $channel answers $status until called with null. */
    public function outage(string $channel, ?int $status): void
    {
        $query = ['channel' => $channel] + ($status === null ? [] : ['status' => $status]);
        $this->call('POST', '/outage?' . http_build_query($query));
    }

    /** Every answer of $channel (shopify, woocommerce_remote) waits $ms first, until called with null. */
    public function delay(string $channel, ?int $ms): void
    {
        $query = ['channel' => $channel] + ($ms === null ? [] : ['ms' => $ms]);
        $this->call('POST', '/delay?' . http_build_query($query));
    }

    /** @return list<int> the quantities Shopify was sent for $sku, in order */
    public function shopifyWrites(string $sku): array
    {
        return $this->call('GET', '/writes?' . http_build_query(['sku' => $sku]))['shopify'];
    }

    /**
     * What every stocked SKU was sent, in order, by the fakes that log writes per SKU: Shopify
     * (an idempotent replay is not a write), the remote WooCommerce store, and the ERP (the
     * events it took; redeliveries are counted in calls()).
     *
     * @return array<string, array{shopify: list<int>, woocommerce_remote: list<int>, webhook: list<int>}> sku => kind => quantities
     */
    public function writes(): array
    {
        return $this->call('GET', '/writes');
    }

    /** @return array<string, array{requests: int, writes: int, duplicates?: int}> kind => the requests each fake got, its write calls (and the ERP's redeliveries of a webhook-id it had taken) */
    public function calls(): array
    {
        return $this->call('GET', '/calls');
    }

    /** How many OAuth access tokens eBay's fake handed out. */
    public function ebayTokenRequests(): int
    {
        return $this->call('GET', '/tokens')['ebay'];
    }

    /** @return list<array{id: string, status: string, messages: int}> the feeds Amazon's fake was sent */
    public function amazonFeeds(): array
    {
        return $this->call('GET', '/amazon/feeds');
    }

    /**
     * Amazon's next feeds stay IN_PROGRESS for $polls polls; $twist (fatal, cancel, drop, issue)
     * makes the next one go that way.
     */
    public function amazonFeedsBehave(int $polls, ?string $twist = null): void
    {
        $this->call('POST', '/amazon/feeds?' . http_build_query(['polls' => $polls] + ($twist === null ? [] : ['twist' => $twist])));
    }

    /** @return array{events: list<array>, attempts: int, duplicates: int} what supplier $name received */
    public function supplier(string $name): array
    {
        return $this->call('GET', '/supplier?' . http_build_query(['name' => $name]));
    }

    /** Supplier $name answers its next $count deliveries with $status. */
    public function refuse(string $name, int $status, int $count): void
    {
        $this->call('POST', '/refuse?' . http_build_query(['name' => $name, 'status' => $status, 'count' => $count]));
    }

    public function stop(): void
    {
        Process::stop($this->pgid);
    }

    private function call(string $method, string $path): array
    {
        $response = Http::request($method, $this->control . $path);
        if ($response->status !== 200) {
            throw new \RuntimeException("fake channels $method $path: HTTP {$response->status} {$response->body}");
        }
        return $response->json();
    }
}
