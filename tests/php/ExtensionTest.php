<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\ChannelException;
use InventorySync\Exception\ConflictException;
use InventorySync\Exception\LedgerException;
use InventorySync\Exception\NotFoundException;
use InventorySync\Exception\SignatureException;
use InventorySync\Exception\SyncException;
use InventorySync\Exception\ValidationException;
use PHPUnit\Framework\TestCase;

/**
 * The built extension as PHP sees it: module, version, signature functions, exception tree.
 */
final class ExtensionTest extends TestCase
{
    public function test_module_is_loaded_under_its_fixed_name_with_the_crate_version(): void
    {
        self::assertTrue(extension_loaded('inventory_sync'));
        preg_match('/^version\s*=\s*"([^"]+)"/m', (string) file_get_contents(dirname(__DIR__, 2) . '/Cargo.toml'), $m);
        self::assertSame($m[1], phpversion('inventory_sync'));
        self::assertSame($m[1], \InventorySync\version());
    }

    public function test_phpinfo_shows_the_version(): void
    {
        ob_start();
        phpinfo(INFO_MODULES);
        $info = (string) ob_get_clean();
        self::assertMatchesRegularExpression('/inventory_sync support => enabled/', $info);
        self::assertStringContainsString('version => ' . phpversion('inventory_sync'), $info);
    }

    public function test_github_published_vector(): void
    {
        self::assertSame(
            '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
            \InventorySync\sign_generic('Hello, World!', "It's a Secret to Everybody")
        );
        self::assertTrue(\InventorySync\verify_generic(
            'Hello, World!',
            'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
            "It's a Secret to Everybody"
        ));
    }

    public function test_signatures_agree_with_php_hash_hmac_on_binary_bodies(): void
    {
        mt_srand(7);
        foreach ([0, 1, 63, 64, 65, 1000, 70_000] as $length) {
            $body = $length === 0 ? '' : random_bytes($length);
            $secret = random_bytes(32);
            $expected = hash_hmac('sha256', $body, $secret);
            self::assertSame($expected, \InventorySync\sign_generic($body, $secret), "length $length");
            self::assertTrue(\InventorySync\verify_generic($body, $expected, $secret));
        }
    }

    public function test_previous_secret_is_accepted_during_rotation(): void
    {
        $body = '{"event":"inventory.updated"}';
        $old = hash_hmac('sha256', $body, 'old-secret');
        self::assertTrue(\InventorySync\verify_generic($body, $old, 'new-secret', 'old-secret'));
        $this->assertRefused(fn () => \InventorySync\verify_generic($body, $old, 'new-secret'), 'does not match');
        $this->assertRefused(fn () => \InventorySync\verify_generic($body, $old, 'new-secret', null), 'does not match');
    }

    /**
     * @return array<string, array{0:string, 1:string}>
     */
    public static function refusals(): array
    {
        $body = '{"sku":"A","quantity":1}';
        $good = hash_hmac('sha256', $body, 'k');
        return [
            'changed body' => [$body . ' ', $good, 'does not match'],
            'flipped digit' => [$body, ($good[0] === 'a' ? 'b' : 'a') . substr($good, 1), 'does not match'],
            'missing' => [$body, '', 'missing'],
            'too short' => [$body, substr($good, 0, 40), 'expected 64 hex digits'],
            'not hex' => [$body, str_repeat('g', 64), 'not hexadecimal'],
            'binary junk' => [$body, "\xff\xfe\x00", 'not ASCII'],
        ];
    }

    /**
     * @dataProvider refusals
     */
    public function test_bad_signatures_throw_signature_exception(string $body, string $header, string $reason): void
    {
        $this->assertRefused(fn () => \InventorySync\verify_generic($body, $header, 'k'), $reason);
    }

    public function test_no_secret_refuses_everything(): void
    {
        $this->assertRefused(fn () => \InventorySync\verify_generic('x', hash_hmac('sha256', 'x', ''), ''), 'no secret');
    }

    public function test_signing_with_an_empty_secret_is_a_validation_error(): void
    {
        try {
            \InventorySync\sign_generic('x', '');
            self::fail('expected ValidationException');
        } catch (ValidationException $e) {
            self::assertSame(1, $e->getCode());
            self::assertSame('secret: must not be empty', $e->getMessage());
        }
    }

    public function test_exception_tree(): void
    {
        $parents = [
            SyncException::class => \Exception::class,
            ValidationException::class => SyncException::class,
            SignatureException::class => SyncException::class,
            LedgerException::class => SyncException::class,
            NotFoundException::class => LedgerException::class,
            ConflictException::class => LedgerException::class,
            ChannelException::class => SyncException::class,
        ];
        foreach ($parents as $class => $parent) {
            self::assertTrue(class_exists($class), $class);
            self::assertSame($parent, get_parent_class($class), $class);
        }
    }

    public function test_wrong_argument_types_are_type_errors_not_crashes(): void
    {
        $this->expectException(\TypeError::class);
        /** @phpstan-ignore-next-line deliberately wrong type */
        \InventorySync\verify_generic('x', 12345, 'k');
    }

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
}
