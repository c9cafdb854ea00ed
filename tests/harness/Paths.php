<?php
/**
 * Where things are: the repository, the built extension, WordPress, outputs.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class Paths
{
    public static function repo(): string
    {
        return dirname(__DIR__, 2);
    }

    public static function harness(): string
    {
        return __DIR__;
    }

    /** The built extension; INVENTORY_SYNC_EXTENSION overrides. */
    public static function extension(): string
    {
        $env = getenv('INVENTORY_SYNC_EXTENSION');
        return $env !== false && $env !== '' ? $env : self::repo() . '/target/release/libinventory_sync.so';
    }

    public static function wordpress(): string
    {
        return '/usr/share/wordpress';
    }

    public static function plugin(): string
    {
        return self::repo() . '/php-plugin';
    }

    public static function standIn(): string
    {
        return self::repo() . '/tests/stand-ins/woocommerce-stand-in';
    }

    /** Test artifacts (screenshots, logs of failed runs). */
    public static function output(): string
    {
        $dir = getenv('INVENTORY_SYNC_TEST_OUTPUT') ?: self::repo() . '/tests/output';
        @mkdir($dir, 0755, true);
        return $dir;
    }
}
