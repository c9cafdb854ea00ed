<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use PHPUnit\Framework\TestCase;

/**
 * The plugin's requirement gate's version rule, tested as plain PHP.
 */
final class RequirementsTest extends TestCase
{
    public static function setUpBeforeClass(): void
    {
        if (!defined('ABSPATH')) {
            define('ABSPATH', '/nonexistent/');
        }
        require_once dirname(__DIR__, 2) . '/php-plugin/includes/constants.php';
        require_once dirname(__DIR__, 2) . '/php-plugin/includes/requirements.php';
    }

    /**
     * @return array<string, array{0:string, 1:string, 2:bool}>
     */
    public static function versions(): array
    {
        return [
            'same' => ['0.1.0', '0.1.0', true],
            'newer patch' => ['0.1.7', '0.1.0', true],
            'older patch' => ['0.1.0', '0.1.2', false],
            'other minor' => ['0.2.0', '0.1.0', false],
            'other major' => ['1.1.0', '0.1.0', false],
            'pre-release suffix' => ['0.1.3-dev', '0.1.0', true],
            'garbage' => ['banana', '0.1.0', false],
            'empty' => ['', '0.1.0', false],
        ];
    }

    /**
     * @dataProvider versions
     */
    public function test_extension_version_compatibility(string $loaded, string $required, bool $ok): void
    {
        self::assertSame($ok, \InventorySync\extension_version_compatible($loaded, $required));
    }

    public function test_plugin_requires_the_crate_version(): void
    {
        preg_match('/^version\s*=\s*"([^"]+)"/m', (string) file_get_contents(dirname(__DIR__, 2) . '/Cargo.toml'), $m);
        self::assertSame($m[1], \InventorySync\REQUIRED_EXTENSION_VERSION);
        $header = (string) file_get_contents(dirname(__DIR__, 2) . '/php-plugin/inventory-sync.php');
        self::assertMatchesRegularExpression('/^ \* Version:\s+' . preg_quote($m[1], '/') . '$/m', $header);
        self::assertMatchesRegularExpression('/^ \* Requires PHP:\s+8\.1$/m', $header);
        self::assertMatchesRegularExpression('/^ \* WC tested up to:\s+\S+$/m', $header);
    }
}
