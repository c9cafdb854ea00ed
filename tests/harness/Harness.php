<?php
/**
 * The end-to-end harness's front door: `Harness::site()` gives a fresh WordPress site,
 * `$site->stop()` (or `Harness::shutdown()`) stops it. One MariaDB serves every site of a run and
 * is stopped at the end; nothing is left running.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

require_once __DIR__ . '/Paths.php';
require_once __DIR__ . '/Process.php';
require_once __DIR__ . '/Http.php';
require_once __DIR__ . '/MariaDb.php';
require_once __DIR__ . '/Site.php';
require_once __DIR__ . '/Browser.php';
require_once __DIR__ . '/Senders.php';
require_once __DIR__ . '/FakeChannels.php';

final class Harness
{
    private static ?MariaDb $db = null;
    /** @var list<Site> */
    private static array $sites = [];
    private static ?string $runDir = null;

    /**
     * A fresh, installed and running site (options: see Site::create()).
     *
     * @param array<string, mixed> $options
     */
    public static function site(string $name, array $options = []): Site
    {
        $site = Site::create(self::db(), self::runDir() . '/' . $name, $options);
        self::$sites[] = $site;
        return $site;
    }

    private static function db(): MariaDb
    {
        if (self::$db === null) {
            self::$db = MariaDb::start(self::runDir() . '/mariadb');
            register_shutdown_function([self::class, 'shutdown']);
        }
        return self::$db;
    }

    private static function runDir(): string
    {
        if (self::$runDir === null) {
            self::$runDir = sys_get_temp_dir() . '/inventory-sync-e2e-' . getmypid();
            @mkdir(self::$runDir, 0755, true);
        }
        return self::$runDir;
    }

    /** Stops every site and the database server. Safe to call more than once. */
    public static function shutdown(): void
    {
        foreach (self::$sites as $site) {
            $site->stop();
        }
        self::$sites = [];
        self::$db?->stop();
        self::$db = null;
        if (self::$runDir !== null && getenv('INVENTORY_SYNC_KEEP_SITES') === false) {
            Process::run(['rm', '-rf', self::$runDir]);
            self::$runDir = null;
        }
    }
}
