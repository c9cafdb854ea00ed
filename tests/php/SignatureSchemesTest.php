<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\SignatureException;
use InventorySync\Exception\ValidationException;
use PHPUnit\Framework\TestCase;

use function InventorySync\is_woocommerce_ping;
use function InventorySync\sign_api_request;
use function InventorySync\sign_standard_webhook;
use function InventorySync\standard_webhooks_secret;
use function InventorySync\verify_api_request;
use function InventorySync\verify_standard_webhook;

/**
 * The WooCommerce, Shopify, Standard Webhooks and signed-API-request schemes through the built
 * extension. Every expected signature is computed here with PHP's own hash_hmac() and
 * base64_encode(), so the vectors do not depend on the code under test.
 */
final class SignatureSchemesTest extends TestCase
{
    private const NOW = 1_700_000_000;
    private const BODY = '{"id":42,"sku":"TSHIRT-RED-M","stock_quantity":7}';

    // -----------------------------------------------------------------------------------------
    // WooCommerce and Shopify: base64 HMAC-SHA256 of the raw body
    // -----------------------------------------------------------------------------------------

    private static function base64Hmac(string $body, string $secret): string
    {
        return base64_encode(hash_hmac('sha256', $body, $secret, true));
    }

    /**
     * @return array<string, array{0: callable}>
     */
    public static function base64Schemes(): array
    {
        return [
            'woocommerce' => ['InventorySync\verify_woocommerce'],
            'shopify' => ['InventorySync\verify_shopify'],
        ];
    }

    /**
     * @dataProvider base64Schemes
     */
    public function test_base64_schemes_accept_php_signatures_with_current_or_previous_secret(callable $verify): void
    {
        $good = self::base64Hmac(self::BODY, 'current');
        self::assertTrue($verify(self::BODY, $good, 'current'));
        self::assertTrue($verify(self::BODY, $good, 'current', 'previous'));
        self::assertTrue($verify(self::BODY, self::base64Hmac(self::BODY, 'previous'), 'current', 'previous'));
        self::assertTrue($verify(self::BODY, " $good\r\n", 'current'));
    }

    /**
     * @dataProvider base64Schemes
     */
    public function test_base64_schemes_agree_with_hash_hmac_on_binary_bodies(callable $verify): void
    {
        foreach ([0, 1, 63, 64, 65, 1000, 70_000] as $length) {
            $body = $length === 0 ? '' : random_bytes($length);
            $secret = random_bytes(32);
            self::assertTrue($verify($body, self::base64Hmac($body, $secret), $secret), "length $length");
        }
    }

    /**
     * @return array<string, array{0: callable, 1: string, 2: string, 3: string, 4: ?string, 5: string}>
     */
    public static function base64Refusals(): array
    {
        $good = self::base64Hmac(self::BODY, 'current');
        $cases = [
            'wrong secret' => [self::BODY, self::base64Hmac(self::BODY, 'wrong'), 'current', null, 'does not match'],
            'previous secret no longer configured' => [self::BODY, self::base64Hmac(self::BODY, 'previous'), 'current', null, 'does not match'],
            'changed body' => [self::BODY . ' ', $good, 'current', null, 'does not match'],
            'missing' => [self::BODY, '', 'current', null, 'missing'],
            'hex instead of base64' => [self::BODY, hash_hmac('sha256', self::BODY, 'current'), 'current', null, 'expected 44 base64 characters'],
            'unpadded' => [self::BODY, rtrim($good, '='), 'current', null, 'expected 44 base64 characters'],
            'url-safe alphabet' => [self::BODY, substr($good, 0, 10) . '-' . substr($good, 11), 'current', null, 'not base64'],
            'binary junk' => [self::BODY, "\xff\xfe\x00", 'current', null, 'not ASCII'],
            'no secret' => [self::BODY, $good, '', null, 'no secret'],
        ];
        $out = [];
        foreach (self::base64Schemes() as $scheme => [$verify]) {
            foreach ($cases as $name => $case) {
                $out["$scheme: $name"] = [$verify, ...$case];
            }
        }
        return $out;
    }

    /**
     * @dataProvider base64Refusals
     */
    public function test_base64_schemes_refuse(callable $verify, string $body, string $header, string $secret, ?string $previous, string $reason): void
    {
        $this->assertRefused(fn () => $verify($body, $header, $secret, $previous), $reason);
    }

    public function test_woocommerce_ping(): void
    {
        self::assertTrue(is_woocommerce_ping('webhook_id=12'));
        self::assertTrue(is_woocommerce_ping('webhook_id=12', null));
        self::assertTrue(is_woocommerce_ping('webhook_id=12', ''));
        self::assertTrue(is_woocommerce_ping('webhook_id=' . PHP_INT_MAX));
        // What WooCommerce sends, built the way it builds it.
        self::assertTrue(is_woocommerce_ping(http_build_query(['webhook_id' => 7])));

        self::assertFalse(is_woocommerce_ping('webhook_id=12', self::base64Hmac('webhook_id=12', 's')));
        self::assertFalse(is_woocommerce_ping('webhook_id=12&x=1'));
        self::assertFalse(is_woocommerce_ping("webhook_id=12\n"));
        self::assertFalse(is_woocommerce_ping('webhook_id=0'));
        self::assertFalse(is_woocommerce_ping('webhook_id=012'));
        self::assertFalse(is_woocommerce_ping('webhook_id=abc'));
        self::assertFalse(is_woocommerce_ping('{"webhook_id":12}'));
        self::assertFalse(is_woocommerce_ping(''));
    }

    // -----------------------------------------------------------------------------------------
    // Standard Webhooks
    // -----------------------------------------------------------------------------------------

    /** The Standard Webhooks published vector (standard-webhooks/standard-webhooks, library tests). */
    private const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    private const SW_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    private const SW_TIMESTAMP = 1614265330;
    private const SW_BODY = '{"test": 2432232314}';
    private const SW_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

    /** A Standard Webhooks v1 signature computed with PHP alone. */
    private static function standardSignature(string $secret, string $id, int $timestamp, string $body): string
    {
        $key = base64_decode(substr($secret, strlen('whsec_')), true);
        self::assertIsString($key);
        return 'v1,' . base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", $key, true));
    }

    public function test_standard_webhooks_published_vector(): void
    {
        self::assertSame(self::SW_SIGNATURE, self::standardSignature(self::SW_SECRET, self::SW_ID, self::SW_TIMESTAMP, self::SW_BODY));
        self::assertSame(
            ['webhook-id' => self::SW_ID, 'webhook-timestamp' => '1614265330', 'webhook-signature' => self::SW_SIGNATURE],
            sign_standard_webhook(self::SW_ID, self::SW_BODY, self::SW_SECRET, null, self::SW_TIMESTAMP)
        );
        self::assertTrue(verify_standard_webhook(self::SW_BODY, self::SW_ID, '1614265330', self::SW_SIGNATURE, self::SW_SECRET, null, self::SW_TIMESTAMP));
        // The prefix is optional, as in the reference libraries.
        self::assertTrue(verify_standard_webhook(self::SW_BODY, self::SW_ID, '1614265330', self::SW_SIGNATURE, 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', null, self::SW_TIMESTAMP));
    }

    public function test_standard_webhooks_with_a_generated_secret_and_the_real_clock(): void
    {
        $secret = standard_webhooks_secret(random_bytes(32));
        self::assertMatchesRegularExpression('#^whsec_[A-Za-z0-9+/]{43}=$#', $secret);
        $body = random_bytes(500);
        $headers = sign_standard_webhook('evt_1', $body, $secret);
        self::assertSame(['webhook-id', 'webhook-timestamp', 'webhook-signature'], array_keys($headers));
        self::assertEqualsWithDelta(time(), (int) $headers['webhook-timestamp'], 5);
        self::assertSame(
            self::standardSignature($secret, 'evt_1', (int) $headers['webhook-timestamp'], $body),
            $headers['webhook-signature']
        );
        self::assertTrue(verify_standard_webhook($body, $headers['webhook-id'], $headers['webhook-timestamp'], $headers['webhook-signature'], $secret));
    }

    public function test_standard_webhooks_rotation(): void
    {
        $current = standard_webhooks_secret(str_repeat("\x01", 32));
        $previous = standard_webhooks_secret(str_repeat("\x02", 32));
        $old = self::standardSignature($previous, 'msg_1', self::NOW, self::BODY);
        self::assertTrue(verify_standard_webhook(self::BODY, 'msg_1', (string) self::NOW, $old, $current, $previous, self::NOW));
        $this->assertRefused(fn () => verify_standard_webhook(self::BODY, 'msg_1', (string) self::NOW, $old, $current, null, self::NOW), 'does not match');

        // Signing during a rotation carries both signatures; either secret alone verifies it.
        $headers = sign_standard_webhook('msg_1', self::BODY, $current, $previous, self::NOW);
        self::assertSame(
            self::standardSignature($current, 'msg_1', self::NOW, self::BODY) . ' ' . $old,
            $headers['webhook-signature']
        );
        foreach ([$current, $previous] as $secret) {
            self::assertTrue(verify_standard_webhook(self::BODY, 'msg_1', (string) self::NOW, $headers['webhook-signature'], $secret, null, self::NOW));
        }
    }

    /**
     * @return array<string, array{0: string, 1: string, 2: string, 3: string, 4: string, 5: ?string, 6: int, 7: string}>
     */
    public static function standardRefusals(): array
    {
        $secret = 'whsec_' . base64_encode(str_repeat('k', 32));
        $other = 'whsec_' . base64_encode(str_repeat('o', 32));
        $ts = (string) self::NOW;
        $sig = self::standardSignature($secret, 'msg_1', self::NOW, self::BODY);
        $at = fn (int $t) => self::standardSignature($secret, 'msg_1', $t, self::BODY);
        return [
            'wrong secret' => [self::BODY, 'msg_1', $ts, $sig, $other, null, self::NOW, 'does not match'],
            'changed body' => [self::BODY . ' ', 'msg_1', $ts, $sig, $secret, null, self::NOW, 'does not match'],
            'changed id' => [self::BODY, 'msg_2', $ts, $sig, $secret, null, self::NOW, 'does not match'],
            'only other versions' => [self::BODY, 'msg_1', $ts, 'v1a,' . substr($sig, 3), $secret, null, self::NOW, 'no v1 signature'],
            'expired' => [self::BODY, 'msg_1', (string) (self::NOW - 301), $at(self::NOW - 301), $secret, null, self::NOW, 'signature expired: timestamp is 301 s old'],
            'from the future' => [self::BODY, 'msg_1', (string) (self::NOW + 301), $at(self::NOW + 301), $secret, null, self::NOW, 'timestamp is from the future: 301 s ahead'],
            'missing id' => [self::BODY, '', $ts, $sig, $secret, null, self::NOW, 'webhook-id header is missing'],
            'missing timestamp' => [self::BODY, 'msg_1', '', $sig, $secret, null, self::NOW, 'webhook-timestamp header is missing'],
            'missing signature' => [self::BODY, 'msg_1', $ts, '', $secret, null, self::NOW, 'signature header is missing'],
            'dot in id' => [self::BODY, 'msg.1', $ts, $sig, $secret, null, self::NOW, "must not contain '.'"],
            'timestamp not a number' => [self::BODY, 'msg_1', 'hello', $sig, $secret, null, self::NOW, 'digits only'],
            'fractional timestamp' => [self::BODY, 'msg_1', "$ts.5", $sig, $secret, null, self::NOW, 'digits only'],
            'partial signature' => [self::BODY, 'msg_1', $ts, substr($sig, 0, 8), $secret, null, self::NOW, 'expected 44 base64 characters'],
            'entry without version' => [self::BODY, 'msg_1', $ts, substr($sig, 3), $secret, null, self::NOW, '<version>,<base64>'],
            'no secret' => [self::BODY, 'msg_1', $ts, $sig, '', null, self::NOW, 'no secret'],
            'secret not base64' => [self::BODY, 'msg_1', $ts, $sig, 'whsec_not base64!', null, self::NOW, 'configured secret is invalid'],
        ];
    }

    /**
     * @dataProvider standardRefusals
     */
    public function test_standard_webhooks_refuse(string $body, string $id, string $timestamp, string $signature, string $secret, ?string $previous, int $now, string $reason): void
    {
        $this->assertRefused(fn () => verify_standard_webhook($body, $id, $timestamp, $signature, $secret, $previous, $now), $reason);
    }

    public function test_standard_webhooks_window_is_300_seconds_either_way_inclusive(): void
    {
        $secret = 'whsec_' . base64_encode(str_repeat('k', 32));
        $sig = self::standardSignature($secret, 'msg_1', self::NOW, self::BODY);
        foreach ([self::NOW - 300, self::NOW, self::NOW + 300] as $now) {
            self::assertTrue(verify_standard_webhook(self::BODY, 'msg_1', (string) self::NOW, $sig, $secret, null, $now), "now $now");
        }
    }

    public function test_standard_webhooks_signing_refuses_bad_arguments(): void
    {
        $secret = standard_webhooks_secret(str_repeat('k', 32));
        $this->assertInvalid(fn () => sign_standard_webhook('msg.1', '', $secret), "id: webhook-id must not contain '.'");
        $this->assertInvalid(fn () => sign_standard_webhook("msg\r\nX-Evil: 1", '', $secret), 'id: webhook-id must be 1 to 256 visible ASCII characters');
        $this->assertInvalid(fn () => sign_standard_webhook('msg_1', '', ''), 'secret: must not be empty');
        $this->assertInvalid(fn () => sign_standard_webhook('msg_1', '', 'not base64!'), 'secret: expected whsec_ followed by base64');
        $this->assertInvalid(fn () => sign_standard_webhook('msg_1', '', $secret, 'not base64!'), 'previous_secret: expected whsec_ followed by base64');
        $this->assertInvalid(fn () => sign_standard_webhook('msg_1', '', $secret, null, -1), 'timestamp: must not be negative');
        $this->assertInvalid(fn () => standard_webhooks_secret(random_bytes(16)), 'random_bytes: a new secret needs 24 to 64 random bytes');
        $this->assertInvalid(fn () => standard_webhooks_secret(random_bytes(65)), 'random_bytes: a new secret needs 24 to 64 random bytes');
    }

    // -----------------------------------------------------------------------------------------
    // Signed API requests
    // -----------------------------------------------------------------------------------------

    private const PATH = '/wp-json/inventory-sync/v1/movements?dry_run=1';

    /** X-Signature computed with PHP alone: strtoupper(method) . path . timestamp . body, no separators. */
    private static function apiSignature(string $method, string $path, int $timestamp, string $body, string $secret): string
    {
        return hash_hmac('sha256', strtoupper($method) . $path . $timestamp . $body, $secret);
    }

    public function test_api_request_signing_matches_php_and_verifies(): void
    {
        $headers = sign_api_request('post', self::PATH, self::BODY, 'ak_live_1', 'api-secret', self::NOW);
        self::assertSame(
            [
                'X-API-Key' => 'ak_live_1',
                'X-Timestamp' => (string) self::NOW,
                'X-Signature' => self::apiSignature('POST', self::PATH, self::NOW, self::BODY, 'api-secret'),
            ],
            $headers
        );
        self::assertTrue(verify_api_request('POST', self::PATH, self::BODY, $headers['X-Timestamp'], $headers['X-Signature'], 'api-secret', null, self::NOW));
        self::assertTrue(verify_api_request('post', self::PATH, self::BODY, $headers['X-Timestamp'], strtoupper($headers['X-Signature']), 'api-secret', null, self::NOW));

        // Default time: the real clock.
        $now = sign_api_request('GET', '/wp-json/inventory-sync/v1/stock/A', '', 'ak_live_1', 'api-secret');
        self::assertEqualsWithDelta(time(), (int) $now['X-Timestamp'], 5);
        self::assertTrue(verify_api_request('GET', '/wp-json/inventory-sync/v1/stock/A', '', $now['X-Timestamp'], $now['X-Signature'], 'api-secret'));
    }

    public function test_api_request_previous_secret(): void
    {
        $old = self::apiSignature('POST', self::PATH, self::NOW, self::BODY, 'old-secret');
        self::assertTrue(verify_api_request('POST', self::PATH, self::BODY, (string) self::NOW, $old, 'new-secret', 'old-secret', self::NOW));
        $this->assertRefused(fn () => verify_api_request('POST', self::PATH, self::BODY, (string) self::NOW, $old, 'new-secret', null, self::NOW), 'does not match');
    }

    /**
     * @return array<string, array{0: string, 1: string, 2: string, 3: string, 4: string, 5: string, 6: int, 7: string}>
     */
    public static function apiRefusals(): array
    {
        $ts = (string) self::NOW;
        $sig = self::apiSignature('POST', self::PATH, self::NOW, self::BODY, 'k');
        $at = fn (int $t) => self::apiSignature('POST', self::PATH, $t, self::BODY, 'k');
        return [
            'wrong secret' => ['POST', self::PATH, self::BODY, $ts, $sig, 'wrong', self::NOW, 'does not match'],
            'changed body' => ['POST', self::PATH, self::BODY . ' ', $ts, $sig, 'k', self::NOW, 'does not match'],
            'changed method' => ['PUT', self::PATH, self::BODY, $ts, $sig, 'k', self::NOW, 'does not match'],
            'changed query string' => ['POST', '/wp-json/inventory-sync/v1/movements?dry_run=0', self::BODY, $ts, $sig, 'k', self::NOW, 'does not match'],
            'query string dropped' => ['POST', '/wp-json/inventory-sync/v1/movements', self::BODY, $ts, $sig, 'k', self::NOW, 'does not match'],
            'expired' => ['POST', self::PATH, self::BODY, (string) (self::NOW - 301), $at(self::NOW - 301), 'k', self::NOW, 'signature expired'],
            'from the future' => ['POST', self::PATH, self::BODY, (string) (self::NOW + 301), $at(self::NOW + 301), 'k', self::NOW, 'from the future'],
            'missing timestamp' => ['POST', self::PATH, self::BODY, '', $sig, 'k', self::NOW, 'X-Timestamp header is missing'],
            'missing signature' => ['POST', self::PATH, self::BODY, $ts, '', 'k', self::NOW, 'signature header is missing'],
            'malformed timestamp' => ['POST', self::PATH, self::BODY, '2023-11-14T22:13:20Z', $sig, 'k', self::NOW, 'digits only'],
            'malformed signature' => ['POST', self::PATH, self::BODY, $ts, base64_encode(hex2bin($sig)), 'k', self::NOW, 'expected 64 hex digits'],
            'no secret' => ['POST', self::PATH, self::BODY, $ts, $sig, '', self::NOW, 'no secret'],
        ];
    }

    /**
     * @dataProvider apiRefusals
     */
    public function test_api_requests_refuse(string $method, string $path, string $body, string $timestamp, string $signature, string $secret, int $now, string $reason): void
    {
        $this->assertRefused(fn () => verify_api_request($method, $path, $body, $timestamp, $signature, $secret, null, $now), $reason);
    }

    public function test_api_request_signing_refuses_bad_arguments(): void
    {
        $this->assertInvalid(fn () => sign_api_request('GET', 'stock', '', 'ak_1', 'k'), "request: request path must start with '/'");
        $this->assertInvalid(fn () => sign_api_request('GE T', '/stock', '', 'ak_1', 'k'), 'request: request method must be 1 to 32 ASCII letters');
        $this->assertInvalid(fn () => sign_api_request('GET', '/stock', '', "ak_1\r\nX-Evil: 1", 'k'), 'api_key: must be 1 to 256 visible ASCII characters');
        $this->assertInvalid(fn () => sign_api_request('GET', '/stock', '', 'ak_1', ''), 'secret: must not be empty');
        $this->assertInvalid(fn () => sign_api_request('GET', '/stock', '', 'ak_1', 'k', -5), 'timestamp: must not be negative');
    }

    // -----------------------------------------------------------------------------------------

    private function assertRefused(callable $call, string $reason): void
    {
        try {
            $call();
            self::fail('expected SignatureException');
        } catch (SignatureException $e) {
            self::assertSame(2, $e->getCode());
            self::assertStringContainsString($reason, $e->getMessage());
        }
    }

    private function assertInvalid(callable $call, string $message): void
    {
        try {
            $call();
            self::fail('expected ValidationException');
        } catch (ValidationException $e) {
            self::assertSame(1, $e->getCode());
            self::assertStringStartsWith($message, $e->getMessage());
        }
    }
}
